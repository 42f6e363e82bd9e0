"""Writes dvc.yaml from params.yaml, or checks that it is in sync (`--check`).

Per-architecture stages use DVC's own `foreach`/`matrix`, so `dvc exp run -S` needs
nothing from here, and the report depends on the runs' records as one folder. One part of
dvc.yaml cannot be templated by DVC and is spelled out per architecture: the top-level
plots. Adding an architecture to params.yaml therefore means running this command once;
the `validate` stage and the test suite fail until you do.

    python -m stages.tools.dvc_sync           # rewrite dvc.yaml
    python -m stages.tools.dvc_sync --check   # exit 1 if dvc.yaml is stale
"""

from __future__ import annotations

import argparse
import copy
import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from stages.common import layout
from stages.common.atomic import write_text
from stages.common.imports import closure_paths
from stages.common.records import RECORD_DIRNAME, copy_command, record_files, sources
from stages.model.layers import as_pair, resolved_arguments
from stages.model.shapes import layer_shapes
from stages.tools.dvc_plots import errors, overlays, plots
from stages.train import TRAINED_BY

HEADER = (
    "# Generated from params.yaml by `python -m stages.tools.dvc_sync`: edit stages/tools/dvc_sync.py\n"
    "# (or params.yaml, then rerun it), not this file. `--check` tells whether it is stale.\n"
)


@dataclass(frozen=True)
class Pipeline:
    """A dvc.yaml of the study: the main one at the repository's root, or a second one in a
    folder of its own (its own params.yaml, data/, models/, metrics/, plots/), run by the same
    code: the stages work on the folder DVC runs them in (`stages.common.layout.project_root`)."""

    folder: str = ""  # "" is the repository's root
    overrides: tuple = ()  # ((section, {key: value}), ...) applied to the main params.yaml
    replaced: tuple = ()  # ((section, value), ...): whole sections replaced

    @property
    def up(self) -> str:  # from the folder back to the repository's root
        return "../" * len(Path(self.folder).parts) if self.folder else ""

    @property
    def python(self) -> str:  # the stages' package lives at the root, not in the folder
        return f"PYTHONPATH={self.up.rstrip('/')} python" if self.folder else "python"

    def path(self, name: str) -> Path:
        return layout.CODE_ROOT / self.folder / name

    def params(self, main: dict) -> dict:
        params = copy.deepcopy(main)
        for section, values in self.overrides:
            params[section].update(values)
        for section, value in self.replaced:
            params[section] = copy.deepcopy(value)
        return params


MAIN = Pipeline()
# The notebook's own protocol, to compare like with like with its figures: all 60,000 training
# images, the test set as validation set, one seed. `make run` leaves it out (`make run-notebook`).
NOTEBOOK = Pipeline("notebook", (("data", {"validation": "test"}), ("train", {"extra_seeds": []})), (("seeds", {}),))
PIPELINES = (MAIN, NOTEBOOK)
PARAMS_HEADER = (
    "# Generated from ../params.yaml by `python -m stages.tools.dvc_sync` with the notebook's protocol\n"
    "# (data.validation: test, one seed): edit ../params.yaml or stages/tools/dvc_sync.py, not this file.\n"
)

STAMP = layout.PARAMS_CHECKED_FILE.relative_to(layout.ROOT).as_posix()  # relative to each pipeline's folder
# Only the train keys that change what is trained (train.TRAINED_BY): adding an extra seed must not
# retrain the main runs. `model` goes before eval_batch_size, where dvc.yaml has always had it.
TRAIN_PARAMS = [*(f"train.{key}" for key in TRAINED_BY if key != "eval_batch_size"), "model", "train.eval_batch_size"]
NO_CACHE = {"cache": False}


def code_deps(*entries: str, up: str = "") -> list[str]:
    """The project files the stage's command imports (`stages.common.imports`): never a missing
    one, and no more, so an edit to the report's code does not retrain anything."""
    return [up + path for path in closure_paths(list(entries), layout.CODE_ROOT)]


def _train_stage(key: str, seed_arg: str, run: str, prefix: str, seed_param: list[str], pipe: Pipeline) -> dict:
    # Every output is DVC-cached, so the run-cache can restore the stage anywhere it was
    # pushed; git gets the study-level files the report writes from them.
    return {
        "cmd": f"{pipe.python} -m stages.train {key}{seed_arg}",
        "deps": [STAMP, "data/prepared/train.npz", "data/prepared/val.npz", *code_deps("stages.train", up=pipe.up)],
        "params": [f"architectures.{key}", *seed_param, *TRAIN_PARAMS, "numerics"],
        "outs": [
            f"models/{prefix}{run}.keras",
            f"plots/{prefix}{run}/history.csv",
            f"plots/{prefix}{run}/live",
            f"metrics/{prefix}train/{run}.json",
        ],
    }


def _evaluate_stage(key: str, seed_arg: str, run: str, prefix: str, pipe: Pipeline) -> dict:
    return {
        "cmd": f"{pipe.python} -m stages.evaluate {key}{seed_arg}",
        "deps": [
            f"models/{prefix}{run}.keras",
            f"plots/{prefix}{run}/history.csv",
            f"metrics/{prefix}train/{run}.json",
            "data/prepared/test.npz",
            *code_deps("stages.evaluate", up=pipe.up),
        ],
        "params": [f"architectures.{key}", "train.eval_batch_size", "model", "numerics"],
        "outs": [f"metrics/{prefix}{run}.json", f"plots/{prefix}{run}/confusion.csv", f"plots/{prefix}{run}/loss.png"],
    }


def _record_stage(run: layout.RunPaths) -> dict:
    # What git keeps of the run (stages.common.records): uncached copies of its small files,
    # which the report reads. Uncached plain outputs keep DVC from run-caching this stage, which
    # costs nothing here (it copies four small files) and leaves the train and evaluate stages'
    # run-cache as it was.
    targets = [path.as_posix() for path in record_files("", run).values()]
    return {"cmd": copy_command(run), "deps": list(sources(run).values()), "outs": [{t: NO_CACHE} for t in targets]}


def seed_stages(params: dict, pipe: Pipeline = MAIN) -> dict:
    """The runs of params.yaml's `seeds` section ({<id>: [3, 4]}): their own stages, named
    `train_more@<id>-<seed>` and so on, so that adding seeds leaves every existing stage's name,
    command, deps and params as they were (a key under `architectures.<id>` or a longer
    `train.extra_seeds` would not). They write the same files as `train_seed`'s runs."""
    more = {
        f"{arch}-{seed}": {"arch": arch, "seed": seed}
        for arch, seeds in (params.get("seeds") or {}).items()
        for seed in seeds or []
    }
    if not more:
        return {}
    run = "${item.arch}-seed${item.seed}"
    return {
        "train_more": {
            "foreach": more,
            "do": _train_stage("${item.arch}", " --seed ${item.seed}", run, "seeds/", [], pipe),
        },
        "evaluate_more": {
            "foreach": more,
            "do": _evaluate_stage("${item.arch}", " --seed ${item.seed}", run, "seeds/", pipe),
        },
        "record_more": {"foreach": more, "do": _record_stage(layout.RunPaths("${item.arch}", "${item.seed}"))},
    }


def stages(pipe: Pipeline = MAIN, params: dict | None = None) -> dict:
    seed_matrix = {"arch": "${architectures}", "seed": "${train.extra_seeds}"}
    seed_run = "${item.arch}-seed${item.seed}"
    return {
        # Upstream of every training stage: `dvc repro` deletes a stage's outputs before
        # running it, so a bad edit must fail here, before any model is touched.
        "validate": {
            # the main pipeline also checks that every generated file (both pipelines) is current
            "cmd": (
                f"python -m stages.tools.dvc_sync --check && python -m stages.validate --stamp {STAMP}"
                if pipe is MAIN
                else f"{pipe.python} -m stages.validate --stamp {STAMP}"
            ),
            "deps": code_deps(*(["stages.tools.dvc_sync"] if pipe is MAIN else []), "stages.validate", up=pipe.up),
            "params": ["data", "train", "model", "numerics", "architectures", "report"],
            "outs": [STAMP],
        },
        "prepare": {
            "cmd": f"{pipe.python} -m stages.prepare",
            "deps": [STAMP, *code_deps("stages.prepare", up=pipe.up)],
            "params": ["data"],
            "outs": ["data/prepared"],
        },
        "train": {"foreach": "${architectures}", "do": _train_stage("${key}", "", "${key}", "", ["train.seed"], pipe)},
        "evaluate": {"foreach": "${architectures}", "do": _evaluate_stage("${key}", "", "${key}", "", pipe)},
        "train_seed": {
            "matrix": seed_matrix,
            **_train_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/", [], pipe),
        },
        "evaluate_seed": {
            "matrix": seed_matrix,
            **_evaluate_stage("${item.arch}", " --seed ${item.seed}", seed_run, "seeds/", pipe),
        },
        "record": {"foreach": "${architectures}", "do": _record_stage(layout.RunPaths("${key}"))},
        "record_seed": {"matrix": seed_matrix, **_record_stage(layout.RunPaths("${item.arch}", "${item.seed}"))},
        **seed_stages(params or {}, pipe),
        # The report is cheap and reads only the runs' records, which git keeps: a clone of
        # main reruns it without the weights. Its outputs stay where users read them, uncached.
        "report": {
            "cmd": f"{pipe.python} -m stages.report",
            "deps": [
                f"metrics/{RECORD_DIRNAME}",  # every run's record, main runs and extra seeds
                f"{pipe.up}reference/notebook.yaml",
                *code_deps("stages.report", up=pipe.up),
            ],
            "params": [
                "report",
                "architectures",
                "data",
                "train.epochs",
                "train.seed",
                "train.extra_seeds",
                "train.restore_best",
                "train.monitor",
                "seeds",
            ],
            "outs": [
                {"metrics/summary.md": NO_CACHE},
                # every pair's verdict and price (a list: an output, not a DVC metrics file)
                {"metrics/comparisons.json": NO_CACHE},
                {"plots/comparison.png": NO_CACHE},
                {"plots/pareto.png": NO_CACHE},
                {"plots/study/predictions.csv": NO_CACHE},
                # read by the top-level plots (stages/tools/dvc_plots.py) with their own
                # templates; as stage plots DVC would draw them a second time, unreadably
                {"plots/study/history.csv": NO_CACHE},
                {"plots/study/errors.csv": NO_CACHE},
            ],
            "metrics": [{"metrics/study.json": NO_CACHE}, {"metrics/runs.json": NO_CACHE}],
        },
    }


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # repeated values written out, no &anchors
        return True


def notebook_plots() -> list:
    """The notebook's-protocol pipeline shows only its study-level plots, under their own ids and
    titles, so that `dvc plots show` tells them from the main pipeline's."""
    renamed = []
    for entry in [*overlays(), errors()]:
        ((plot_id, definition),) = entry.items()
        renamed.append({f"notebook_{plot_id}": {**definition, "title": f"Notebook's protocol: {definition['title']}"}})
    return [*renamed, "plots/comparison.png", "plots/pareto.png"]


# --- artifacts: each architecture's main model, for `dvc artifacts get` and Studio's model registry

# DVC's artifact names (gto's rule, checked by `dvc artifacts`): letters, digits, "-", "_", "/",
# at least two characters, a letter or digit at each end. DVC's documentation and Studio's
# model registry use "-" as the separator, so an id's underscores become dashes (conv2_k3 ->
# conv2-k3); ids are [a-z][a-z0-9_]* (stages.params.architectures), so that is one-to-one
# unless an id has a doubled or trailing underscore, which render() refuses by name.
ARTIFACT_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)+|[a-z][a-z0-9]+")


class ArtifactNameError(ValueError):
    pass


def artifact_name(arch_id: str) -> str:
    name = arch_id.replace("_", "-")
    if not ARTIFACT_NAME.fullmatch(name):
        raise ArtifactNameError(
            f"params.yaml: architectures: id {arch_id!r} gives no valid DVC artifact name ({name!r}): "
            "use at least two characters, no doubled or trailing underscore"
        )
    return name


def parameter_count(layers: list[dict], input_shape) -> int:
    """Weights of the model Keras builds from `layers` (count_params(): batch norm's moving mean
    and variance included), from the shapes alone: no TensorFlow."""
    total, shape = 0, tuple(input_shape)
    for spec, out in zip(layers, layer_shapes(layers, input_shape), strict=True):
        if spec["type"] == "conv":
            kh, kw = as_pair(spec["kernel_size"])
            total += (kh * kw * shape[-1] + 1) * out[-1]
        elif spec["type"] == "dense":
            total += (shape[-1] + 1) * out[-1]
        elif spec["type"] == "batchnorm":
            total += 4 * shape[-1]  # gamma, beta, moving mean, moving variance
        shape = out
    return total


def _model_traits(arch: dict) -> dict:
    layers = [(spec["type"], resolved_arguments(spec)) for spec in arch["layers"]]
    convs = [args for kind, args in layers if kind == "conv"]
    dense = [args for kind, args in layers if kind == "dense"]
    hidden = convs + dense[:-1]  # the last dense layer is the classifier
    paddings = sorted({args["padding"] for args in convs})
    return {
        "kernels": ["x".join(map(str, as_pair(args["kernel_size"]))) for args in convs],
        "padding": paddings[0] if len(paddings) == 1 else "mixed",
        "activations": sorted({args["activation"] for args in hidden}),
        "strided": any(as_pair(args["strides"]) != (1, 1) for args in convs),
        "batchnorm": any(kind == "batchnorm" for kind, _ in layers),
        "dense": [str(args["units"]) for args in dense[:-1]],
        "optimizer": arch["optimizer"]["name"],
    }


def model_description(arch: dict, input_shape) -> str:
    """E.g. "3 conv (7x7, 5x5, 3x3), valid padding, relu, dense 512, adadelta; 722,186 parameters"."""
    traits = _model_traits(arch)
    parts = [f"{len(traits['kernels'])} conv ({', '.join(traits['kernels'])})" if traits["kernels"] else "no conv"]
    parts.append(f"{traits['padding']} padding" + (", strided conv" if traits["strided"] else ""))
    parts.append("/".join(traits["activations"]) or "no hidden activation")
    parts += ["batchnorm"] * traits["batchnorm"]
    if traits["dense"]:
        parts.append(f"dense {'+'.join(traits['dense'])}")
    parts.append(traits["optimizer"])
    return f"{', '.join(parts)}; {parameter_count(arch['layers'], input_shape):,} parameters"


def model_labels(arch: dict) -> list[str]:
    traits = _model_traits(arch)
    labels = [traits["optimizer"], f"conv-depth-{len(traits['kernels'])}", f"padding-{traits['padding']}"]
    labels += [f"activation-{name}" for name in traits["activations"]]
    return labels + ["batchnorm"] * traits["batchnorm"]


def artifacts(params: dict, pipe: Pipeline = MAIN) -> dict:
    """dvc.yaml's `artifacts:` section: every architecture's main model (train@<id>'s
    models/<id>.keras, path relative to the dvc.yaml), named by artifact_name()."""
    input_shape = params["model"]["input_shape"]
    protocol = " (the notebook's protocol)" if pipe is NOTEBOOK else ""
    section = {}
    for arch_id, arch in params["architectures"].items():
        name = artifact_name(arch_id)
        if name in section:
            raise ArtifactNameError(f"params.yaml: architectures: two ids give the artifact name {name!r}")
        section[name] = {
            "path": f"models/{arch_id}.keras",
            "type": "model",
            "desc": f"{arch_id}{protocol}: {model_description(arch, input_shape)}",
            "labels": model_labels(arch) + (["notebook-protocol"] if protocol else []),
            "meta": {"architecture": arch_id, "parameters": parameter_count(arch["layers"], input_shape)},
        }
    return section


def render(params: dict, pipe: Pipeline = MAIN) -> str:
    arch_ids = list(params["architectures"])
    body = yaml.dump(
        {
            "stages": stages(pipe, params),
            "plots": plots(arch_ids) if pipe is MAIN else notebook_plots(),
            "artifacts": artifacts(params, pipe),
        },
        Dumper=_PlainDumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    return HEADER + body


def render_params(params: dict) -> str:
    body = yaml.dump(params, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=100)
    return PARAMS_HEADER + body


def expected_files(main_params: dict, regenerate_params: bool) -> dict[Path, str]:
    """Every generated file, with the text it must have. Each dvc.yaml follows its own folder's
    params.yaml; the notebook's params.yaml follows the main one only when regenerated (not under
    `--check`), so that `dvc exp run -S` on the main params leaves the notebook's pipeline alone."""
    files = {}
    for pipe in PIPELINES:
        if pipe is MAIN:
            params = main_params
        elif regenerate_params or not pipe.path("params.yaml").is_file():
            params = pipe.params(main_params)
            files[pipe.path("params.yaml")] = render_params(params)
        else:
            params = layout.load_params(pipe.path("params.yaml"))
        files[pipe.path("dvc.yaml")] = render(params, pipe)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a dvc.yaml is not what its params.yaml gives")
    args = parser.parse_args(argv)
    params_file = MAIN.path("params.yaml")
    try:
        expected = expected_files(layout.load_params(params_file), regenerate_params=not args.check)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as error:
        print(f"dvc_sync: cannot read {params_file.name}: {error}", file=sys.stderr)
        return 1
    stale = [path for path, text in expected.items() if not path.is_file() or path.read_text() != text]
    names = ", ".join(str(path.relative_to(layout.CODE_ROOT)) for path in stale)
    if args.check:
        if stale:
            print(
                f"{names} out of date with params.yaml or the stages' imports: "
                "run `python -m stages.tools.dvc_sync` and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    for path in stale:
        write_text(path, expected[path])
    print(f"wrote {names}" if stale else "dvc.yaml files are up to date")
    return _after_sync()


def _after_sync() -> int:
    """What follows the new dvc.yaml files: dvc.lock entries and records of removed runs pruned
    (stages/tools/prune.py), and the README's study table, which lists params.yaml's architectures
    (stages/tools/readme_results.py), rewritten where the README has one. Imported by name, so that
    they stay out of the validate stage's code deps (stages.common.imports reads import statements):
    that stage runs `--check`, never this."""
    status = importlib.import_module("stages.tools.prune").main()
    readme_results = importlib.import_module("stages.tools.readme_results")
    readme = layout.CODE_ROOT / readme_results.README
    if readme.is_file() and readme_results.START in readme.read_text():
        status = readme_results.main([]) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
