"""The rules of params.yaml, in one place: each section's keys and the checks across keys, read by
`stages.validate` (with `stages.params.architectures`), the splits (`stages.mnist.splits`:
`data_errors`, on the arrays they cut) and the report (`report_errors`, before it reads a run)."""

from __future__ import annotations

import re

from stages.common.cpu import NATIVE, ONEDNN_ISAS
from stages.model.layers import Choice, Flag, Integer, Number
from stages.params.checks import Rule, found, is_int_list, mapping_errors, problem, show

SECTIONS = ("data", "train", "model", "numerics", "architectures", "report")  # and `seeds`, optional
MNIST_TRAIN_SIZE, MNIST_TEST_SIZE = 60000, 10000
# The only input the models ever get: stages.train feeds the prepared 28x28 grayscale
# images with one channel axis added; any other shape fails only inside Keras' fit.
MNIST_INPUT_SHAPE = (28, 28, 1)
INPUT_SHAPE = Rule(
    lambda v: is_int_list(v) and tuple(v) == MNIST_INPUT_SHAPE,
    f"{list(MNIST_INPUT_SHAPE)} only (height, width, channels of MNIST's grayscale images, "
    "the only data the stages prepare and feed)",
)
SEEDS = Rule(lambda v: is_int_list(v) and len(set(v)) == len(v), "a list of distinct integers >= 0, e.g. [1, 2]")
VERSION = Rule(re.compile(r"\d+(\.\d+)+\S*").fullmatch, "a version string such as 2.21.0", str)  # major.minor at least
# Every key is required; None: checked across keys below.
RULES = {
    "train": {
        **dict(epochs=Integer(1), batch_size=Integer(1), seed=Integer(0), extra_seeds=SEEDS, restore_best=Flag()),
        **dict(monitor=Choice(("val_loss", "val_accuracy")), eval_batch_size=Integer(1)),
    },
    "model": {"input_shape": INPUT_SHAPE, "num_classes": Integer(2)},
    "numerics": {
        **dict(threads=Integer(1), onednn=Flag(), device=Choice(("cpu", "gpu"))),
        **dict(onednn_max_cpu_isa=Choice((*ONEDNN_ISAS, NATIVE)), tensorflow=VERSION, keras=VERSION, numpy=VERSION),
    },
    "report": {
        "alpha": Number(0, low_inclusive=False, high=1),  # significance level of the Holm-adjusted tests
        "reproduction_tolerance": Number(0),  # a fraction: 0.003 = 0.3 points
        "comparisons": None,
        "margin": Number(0, low_inclusive=False, high=100),  # accuracy points
    },
}
# report.comparisons: each entry's keys, its rows and pairs, ids of the architectures section
TITLE = Rule(lambda v: isinstance(v, str) and v.strip() and not {"\n", "\r"} & set(v), "a non-empty one-line text")
PAIRS = Rule(lambda v: isinstance(v, list), "a list of [a, b] pairs of ids ([] for none)")
COMPARISON = {"title": TITLE, "architectures": None, "pairs": PAIRS}
ROWS = Rule(lambda v: isinstance(v, list) and v, "a non-empty list of architecture ids (the rows of its table)")
PAIR = Rule(lambda v: isinstance(v, list) and len(v) == 2, "two architecture ids [a, b], e.g. [conv2_k5, conv2_k3]")
ARCH_REF = Rule(lambda v: True, "an architecture id", str)  # when the architectures section is broken


def missing_section(name: str) -> str:
    return f"top level: missing section {name!r}; needs: {', '.join(SECTIONS)}"


def training_pool(validation: str, val_size: int, train_size: int) -> int:
    """How many training images `subset` draws from: holdout keeps the last `val_size` out of
    training; test (the notebook's protocol) trains on every image."""
    return train_size if validation == "test" else train_size - val_size


def data_errors(data, train_size: int = MNIST_TRAIN_SIZE, test_size: int = MNIST_TEST_SIZE) -> list[str]:
    """Every error of a `data` section, for `train_size` training and `test_size` test images."""
    rules = dict(subset=Integer(0), validation=Choice(("holdout", "test")), val_size=Integer(1, train_size - 1))
    errors, valid = mapping_errors("data", data, rules | {"test_subset": Integer(0, test_size)})
    if {"subset", "validation"} <= valid.keys() and ("val_size" in valid or valid["validation"] == "test"):
        pool = training_pool(valid["validation"], valid.get("val_size", 0), train_size)
        why = "validation: test" if valid["validation"] == "test" else f"val_size {valid['val_size']} held out"
        if valid["subset"] > pool:
            allowed = f"0 <= subset <= {pool} ({train_size} training images, {why})"
            errors.append(f"data: subset {valid['subset']} is larger than the training pool; allowed: {allowed}")
    return errors


def flat_errors(params: dict) -> tuple[list[str], dict]:
    """The errors of the train, model and numerics sections, and the valid values of each."""
    errors, valid = [], {}
    for name in ("train", "model", "numerics"):
        section, valid[name] = mapping_errors(name, params[name], RULES[name]) if name in params else ([], {})
        errors += section
    return errors, valid


def ids_errors(where: str, key: str, ids, arch_ids, rule=None, indexed: bool = False) -> list[str]:
    """`key`, a list of ids (by `rule`), each of `arch_ids` (None: that section is broken, so the type
    only) and none twice, each reported at `where` (`where.key[j]` if `indexed`)."""
    if message := problem(rule, key, ids):
        return [f"{where}: {message}"]
    known = ARCH_REF if arch_ids is None else Choice(tuple(arch_ids))
    places = [f"{where}.{key}[{j}]" if indexed else where for j in range(len(ids))]
    errors = [f"{p}: {m}" for p, arch in zip(places, ids, strict=True) if (m := problem(known, "architecture", arch))]
    repeated = [] if errors else sorted({arch for arch in ids if ids.count(arch) > 1})  # a row twice, a model vs itself
    if repeated:
        errors.append(f"{where}: {key} {show(ids)} repeats {', '.join(repeated)}; allowed: distinct ids")
    return errors


def comparison_errors(comparisons, arch_ids) -> list[str]:
    """Every error of `report.comparisons`: a list (maybe empty) of {title, architectures,
    pairs}, every id in `arch_ids` (None skips that check), each pair two different ids. A
    pair may repeat another, in either order, and need not be among its comparison's rows."""
    if not isinstance(comparisons, list):
        allowed = "a list of {title, architectures, pairs} entries ([] for none)"
        return [f"report.comparisons: expected {allowed}, got {found(comparisons)}"]
    errors = []
    for i, entry in enumerate(comparisons):
        where = f"report.comparisons[{i}]"
        entry_errors, valid = mapping_errors(where, entry, COMPARISON, owner="a comparison")
        errors += entry_errors
        if "architectures" in valid:
            errors += ids_errors(where, "architectures", valid["architectures"], arch_ids, ROWS, indexed=True)
        for j, pair in enumerate(valid.get("pairs", [])):
            errors += ids_errors(f"{where}.pairs[{j}]", "pair", pair, arch_ids, PAIR)
    return errors


def _arch_ids(params: dict) -> list | None:
    archs = params.get("architectures")
    return list(archs) if isinstance(archs, dict) and archs else None


def report_errors(params: dict) -> list[str]:
    """Every error of the `report` section of loaded params, [] if valid (what stages.report relies on)."""
    if "report" not in params:
        return [missing_section("report")]
    errors, valid = mapping_errors("report", params["report"], RULES["report"])
    return errors + (comparison_errors(valid["comparisons"], _arch_ids(params)) if "comparisons" in valid else [])


def seeds_errors(params: dict, train: dict) -> list[str]:
    """train.extra_seeds against train.seed, then the optional `seeds` section, {<id>: [seeds]}: more
    runs of some architectures, with seeds none of their runs has (`train`: that section's valid values)."""
    main = {train["seed"]: "the seed of the main run"} if "seed" in train else {}
    seeds = {} if params.get("seeds") is None else params["seeds"]  # `seeds:` with every line commented out
    ids = _arch_ids(params) or (seeds if isinstance(seeds, dict) else [])  # no valid ids: the lists only
    errors, valid = mapping_errors("seeds", seeds, dict.fromkeys(ids, SEEDS), (), example="{conv2_k3: [3, 4]}")
    taken = dict.fromkeys(train.get("extra_seeds", []), "already a seed of every architecture (train.extra_seeds)")
    taken |= {seed: "the seed of the main runs (train.seed)" for seed in main}
    lists = [("train", "extra_seeds", train.get("extra_seeds", []), main)]  # two runs, one seed: the same files
    lists += [("seeds", arch, listed, taken) for arch, listed in valid.items()]
    clash = "{}: {} {} contains seed {}, {}; allowed: other seeds"
    return errors + [clash.format(w, k, show(v), s, t[s]) for w, k, v, t in lists for s in sorted(set(v) & t.keys())]
