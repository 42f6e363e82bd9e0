"""The rules of params.yaml, in one place: each section's keys and the checks across keys.

`stages.validate` checks a whole file with them and with `stages.params.architectures`;
the splits (`stages.mnist.splits`) check `data_errors` against the arrays they cut, and the
report `report_errors` before it reads a run.
"""

from __future__ import annotations

import re

from stages.common.cpu import NATIVE, ONEDNN_ISAS
from stages.model.layers import Choice, Flag, Integer, Number
from stages.params.checks import found, is_int_list, mapping_errors, plain, show, type_name, wrong_type

SECTIONS = ("data", "train", "model", "numerics", "architectures", "report")  # and `seeds`, optional
MNIST_TRAIN_SIZE, MNIST_TEST_SIZE = 60000, 10000
# The only input the models ever get: stages.train feeds the prepared 28x28 grayscale
# images with one channel axis added; any other shape fails only inside Keras' fit.
MNIST_INPUT_SHAPE = (28, 28, 1)


def _input_shape(key, value):
    if is_int_list(value, 3) and tuple(value) == MNIST_INPUT_SHAPE:
        return None
    return (
        f"{key} {show(value)} is invalid; allowed: {show(list(MNIST_INPUT_SHAPE))} only "
        "(height, width, channels of MNIST's grayscale images, the only data the stages prepare and feed)"
    )


def _version(key, value):  # major.minor at least: a number such as 2 or YAML's string 1e-7 is no version
    if not isinstance(value, str):
        return wrong_type(key, value, "a version string such as 2.21.0")
    ok = re.fullmatch(r"\d+(\.\d+)+\S*", value)
    return None if ok else f"{key} {show(value)} is invalid; allowed: a version string such as 2.21.0"


def _seed_list(key, value):
    ok = is_int_list(value)
    return None if ok else f"{key} {show(value)} is invalid; allowed: a list of distinct integers >= 0, e.g. [1, 2]"


def _title(key, value):  # a comparison's title heads a Markdown section
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value:
        return None
    return f"{key} {show(value)} is invalid; allowed: a non-empty one-line text"


def data_rules(train_size: int = MNIST_TRAIN_SIZE, test_size: int = MNIST_TEST_SIZE) -> dict:
    validation = Choice(("holdout", "test"))
    return dict(
        subset=Integer(0), validation=validation, val_size=Integer(1, train_size - 1), test_subset=Integer(0, test_size)
    )


# The other flat sections' rules (data's depend on MNIST's sizes: data_rules); None: checked
# across keys below. Every key is required.
RULES = {
    "train": {
        **dict(epochs=Integer(1), batch_size=Integer(1), seed=Integer(0), extra_seeds=_seed_list, restore_best=Flag()),
        **dict(monitor=Choice(("val_loss", "val_accuracy")), eval_batch_size=Integer(1)),
    },
    "model": {"input_shape": _input_shape, "num_classes": Integer(2)},
    "numerics": {
        **dict(threads=Integer(1), onednn=Flag(), device=Choice(("cpu", "gpu"))),
        **dict(onednn_max_cpu_isa=Choice((*ONEDNN_ISAS, NATIVE)), tensorflow=_version, keras=_version, numpy=_version),
    },
    "report": {
        "alpha": Number(0, low_inclusive=False, high=1),  # significance level of the Holm-adjusted tests
        "reproduction_tolerance": Number(0),  # a fraction: 0.003 = 0.3 points
        "comparisons": None,
        "margin": Number(0, low_inclusive=False, high=100),  # accuracy points
    },
}
OPTIONAL: tuple[str, ...] = ()  # every key of a section is required


def missing_section(name: str) -> str:
    return f"top level: missing section {name!r}; needs: {', '.join(SECTIONS)}"


def section_errors(name: str, section, rules: dict | None = None) -> tuple[list[str], dict]:
    """(errors, valid values) of one flat section."""
    rules = RULES[name] if rules is None else rules
    return mapping_errors(name, section, rules, required=[k for k in rules if k not in OPTIONAL], owner=name)


def training_pool(validation: str, val_size: int, train_size: int) -> tuple[int, str]:
    """How many training images `subset` draws from, and why: holdout keeps the last
    `val_size` out of training; test (the notebook's protocol) trains on every image."""
    if validation == "test":
        return train_size, f"the {train_size} training images (validation: test)"
    return train_size - val_size, f"{train_size} training images - val_size {val_size} held out"


def data_errors(data, train_size: int = MNIST_TRAIN_SIZE, test_size: int = MNIST_TEST_SIZE) -> list[str]:
    """Every error of a `data` section, for `train_size` training and `test_size` test images."""
    errors, valid = section_errors("data", data, data_rules(train_size, test_size))
    if {"subset", "validation"} <= valid.keys() and ("val_size" in valid or valid["validation"] == "test"):
        pool, why = training_pool(valid["validation"], valid.get("val_size", 0), train_size)
        if valid["subset"] > pool:
            allowed = f"0 <= subset <= {pool} ({why})"
            errors.append(f"data: subset {valid['subset']} is larger than the training pool; allowed: {allowed}")
    return errors


def _seeds_errors(where: str, key, seeds, taken: dict) -> list[str]:
    """A list of distinct seeds >= 0, none of `taken` ({seed: whose}): two runs with one seed write the same files."""
    if message := _seed_list(key, seeds):
        return [f"{where}: {message}"]
    shown, repeated = f"{where}: {key} {show(seeds)}", sorted({s for s in seeds if seeds.count(s) > 1})
    errors = [f"{shown} repeats {', '.join(map(str, repeated))}; allowed: distinct seeds"] if repeated else []
    clash = sorted(set(seeds) & taken.keys())
    return errors + [f"{shown} contains seed {s}, {taken[s]}; allowed: other seeds" for s in clash]


def _id_errors(where: str, arch, arch_ids) -> list[str]:
    """An architecture id named outside `architectures`; `arch_ids` None: that section is
    broken (reported there), so only the type is checked."""
    if not isinstance(arch, str):
        return [f"{where}: architecture {show(arch)} must be an architecture id, got {type_name(arch)}"]
    if arch_ids is not None and arch not in arch_ids:
        allowed = ", ".join(map(plain, arch_ids))
        return [f"{where}: architecture {show(arch)} is not in the architectures section; allowed: {allowed}"]
    return []


def _ids_errors(where: str, key: str, ids, arch_ids, allowed: str, size: int | None = None) -> list[str]:
    """A comparison's rows (any number, each named `<where>.architectures[j]`) or one of its pairs (`size` 2)."""
    if not (isinstance(ids, list) and ids and size in (None, len(ids))):
        return [f"{where}: {key} {show(ids)} is invalid; allowed: {allowed}"]
    errors = [e for j, a in enumerate(ids) for e in _id_errors(where if size else f"{where}.{key}[{j}]", a, arch_ids)]
    named = [a for a in ids if isinstance(a, str)]
    repeated = sorted({a for a in named if named.count(a) > 1})  # a row twice, a model compared with itself
    if repeated and not errors:
        errors.append(f"{where}: {key} {show(ids)} repeats {', '.join(repeated)}; allowed: distinct ids")
    return errors


def comparison_errors(comparisons, arch_ids) -> list[str]:
    """Every error of `report.comparisons`: a list (maybe empty) of {title, architectures,
    pairs}, every id in `arch_ids` (None skips that check), each pair two different ids. A
    pair may repeat another, in either order, and need not be among its comparison's rows."""
    if not isinstance(comparisons, list):
        allowed = "a list of {title, architectures, pairs} entries ([] for none)"
        return [f"report.comparisons: expected {allowed}, got {found(comparisons)}"]
    arch_ids, errors = None if arch_ids is None else list(arch_ids), []
    for i, entry in enumerate(comparisons):
        where, rules = f"report.comparisons[{i}]", {"title": _title, "architectures": None, "pairs": None}
        errors += mapping_errors(where, entry, rules, owner="a comparison")[0]
        if isinstance(entry, dict) and "architectures" in entry:
            allowed = "a non-empty list of architecture ids (the rows of its table)"
            errors += _ids_errors(where, "architectures", entry["architectures"], arch_ids, allowed)
        pairs = entry.get("pairs", []) if isinstance(entry, dict) else []
        if not isinstance(pairs, list):
            errors.append(
                f"{where}: pairs {show(pairs)} is invalid; allowed: a list of [a, b] pairs of ids ([] for none)"
            )
        for j, pair in enumerate(pairs if isinstance(pairs, list) else []):
            allowed = "two architecture ids [a, b], e.g. [conv2_k5, conv2_k3]"
            errors += _ids_errors(f"{where}.pairs[{j}]", "pair", pair, arch_ids, allowed, size=2)
    return errors


def _arch_ids(params: dict) -> list | None:
    archs = params.get("architectures")
    return list(archs) if isinstance(archs, dict) and archs else None


def report_errors(params: dict) -> list[str]:
    """Every error of the `report` section of loaded params, [] if valid (what stages.report relies on)."""
    if "report" not in params:
        return [missing_section("report")]
    errors, _ = section_errors("report", params["report"])
    if isinstance(params["report"], dict) and "comparisons" in params["report"]:
        errors += comparison_errors(params["report"]["comparisons"], _arch_ids(params))
    return errors


def flat_errors(params: dict) -> tuple[list[str], dict]:
    """The errors of the train, model and numerics sections (and extra_seeds against train.seed),
    and the valid values of each, for the checks across sections."""
    errors, valid = [], {}
    for name in ("train", "model", "numerics"):
        if name in params:
            section, valid[name] = section_errors(name, params[name])
            errors += section
    train = valid.setdefault("train", {})
    if "extra_seeds" in train:
        taken = {train["seed"]: "the seed of the main run"} if "seed" in train else {}
        errors += _seeds_errors("train", "extra_seeds", train["extra_seeds"], taken)
    return errors, valid


def seeds_errors(params: dict, train: dict) -> list[str]:
    """The optional `seeds` section, {<id>: [seeds]}: more runs of some architectures, with
    seeds none of them runs already (`train`: the valid values of the train section)."""
    seeds = {} if params.get("seeds") is None else params["seeds"]  # `seeds:` with every line commented out
    if not isinstance(seeds, dict):
        return [f"seeds: expected a mapping like {{conv2_k3: [3, 4]}}, got {found(seeds)}"]
    taken = dict.fromkeys(train.get("extra_seeds", []), "already a seed of every architecture (train.extra_seeds)")
    taken |= {train["seed"]: "the seed of the main runs (train.seed)"} if "seed" in train else {}
    errors, ids = [], _arch_ids(params)
    for arch, listed in seeds.items():
        errors += _id_errors("seeds", arch, ids) + _seeds_errors("seeds", plain(arch), listed, taken)
    return errors
