"""Fail fast on a broken params.yaml: every error at once, each naming its place.

A typo in params.yaml would otherwise surface as a Keras traceback an hour into
`dvc repro`, or, in the `report` section, as a report error after every model has
trained. This stage checks the file against the rules of `stages.params.schema` (the
vocabulary of `stages.model.layers`, the shape inference of `stages.model.shapes`, the
report's comparisons against the architecture ids); it imports neither Keras nor
TensorFlow, so it runs in a fraction of a second.

    python -m stages.validate [--params PATH] [--stamp PATH]

Every error reads `<place>: <key> <bad value> <problem>; allowed: <what is>`, e.g.
`architectures.conv2_k3.layers[3] (dropout): rate 1.5 is out of range; allowed: 0 <= rate < 1`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stages.common.atomic import write_text
from stages.common.cpu import isa_problem
from stages.common.layout import PARAMS_FILE
from stages.params.architectures import architectures_errors
from stages.params.checks import found
from stages.params.loading import ParamsError, display, load_with_duplicates
from stages.params.schema import (
    MNIST_TRAIN_SIZE,
    SECTIONS,
    comparison_errors,
    data_errors,
    flat_errors,
    missing_section,
    report_errors,
    seeds_errors,
)

__all__ = [
    "STAMP_TEXT",
    "ParamsError",
    "check",
    "comparison_errors",
    "load_with_duplicates",
    "main",
    "report_errors",
    "validate_params",
]

# Constant on purpose: downstream stages depend on the stamp, so its content must
# not change when one architecture does (the others would retrain).
STAMP_TEXT = "params.yaml validated\n"


def validate_params(params, mnist_train_size: int = MNIST_TRAIN_SIZE) -> list[str]:
    """Every error of loaded params, one line each, section by section; [] if valid."""
    if not isinstance(params, dict):
        return [f"top level: expected a mapping with sections {', '.join(SECTIONS)}, got {found(params)}"]
    errors = [missing_section(name) for name in SECTIONS if name not in params]
    errors += data_errors(params["data"], mnist_train_size) if "data" in params else []
    flat, valid = flat_errors(params)  # train, model, numerics, and their valid values
    errors += flat
    model = valid.get("model", {})
    if "architectures" in params:
        errors += architectures_errors(params["architectures"], model.get("input_shape"), model.get("num_classes"))
    if "report" in params:
        errors += report_errors(params)
    return errors + seeds_errors(params, valid["train"])


def check(path: Path | str = PARAMS_FILE) -> dict:
    """The params of `path`, loaded strictly and validated; ParamsError lists every error
    (duplicate keys first, then what validate_params finds in what YAML kept)."""
    params, duplicates = load_with_duplicates(path)
    errors = duplicates + validate_params(params)
    if errors:
        raise ParamsError(errors)
    return params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="the file to check (default: params.yaml)")
    parser.add_argument("--stamp", type=Path, help=f"on success, write {STAMP_TEXT.strip()!r} here for DVC")
    args = parser.parse_args(argv)
    name = display(args.params)
    try:
        params = check(args.params)
    except ParamsError as error:
        print(f"{name}: {len(error.errors)} error(s):", file=sys.stderr)
        for message in error.errors:
            print(f"  {message}", file=sys.stderr)
        return 1
    # the one check of the machine, not the file: a CPU below the cap must stop before any training
    problem = isa_problem(params["numerics"]["onednn_max_cpu_isa"])
    if problem:
        print(f"{name}: 1 error(s):\n  {problem}", file=sys.stderr)
        return 1
    if args.stamp is not None:
        write_text(args.stamp, STAMP_TEXT)
    print(f"{name}: OK ({len(params['architectures'])} architectures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
