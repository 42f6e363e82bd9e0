"""params.yaml is written the way `dvc exp run -S` writes it back, so an experiment's
`git diff` of params.yaml shows only the values it set.

`-S` goes through Hydra: DVC merges the overridden config back into the file and
replaces every list wholesale, so a list written in flow style (`[28, 28, 1]`,
`- {type: conv, ...}`) comes back in block style and comments inside lists are
dropped (treeverse/dvc#8720). Hence the block-style lists in params.yaml."""

from __future__ import annotations

import difflib
import shutil

import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from stages.common.layout import PARAMS_FILE


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


TEXT = PARAMS_FILE.read_text()  # read once: the module's cases are all built from it
PARAMS = yaml.safe_load(TEXT)


def value_change(key: str, new) -> tuple[str, list[str]]:
    """An override of params.yaml's `key` (dotted) and the two lines its diff must be: the line
    holding the old value, and the same line with the new one."""
    value = PARAMS
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    name = key.rsplit(".", 1)[1]
    old_line = next(line for line in TEXT.splitlines() if line.strip() == f"{name}: {value}")
    return f"{key}={new}", [f"-{old_line}", f"+{old_line.replace(f'{name}: {value}', f'{name}: {new}')}"]


# the ids come from params.yaml: the first architecture with a block-style optimizer, the first
# whose first layer has filters (any architecture, ours or a user's, is laid out alike)
ARCHS = PARAMS["architectures"]
BLOCK_OPTIMIZER = next(
    a for a in ARCHS if f"  {a}:\n    optimizer:\n      name:" in TEXT and "learning_rate" in ARCHS[a]["optimizer"]
)
WITH_FILTERS = next(a for a in ARCHS if "filters" in ARCHS[a]["layers"][0])


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            "data.validation=test",
            [
                "-  validation: holdout    # holdout: last `val_size` training images, never trained on",
                "+  validation: test       # holdout: last `val_size` training images, never trained on",
            ],
        ),
        value_change(
            f"architectures.{BLOCK_OPTIMIZER}.optimizer.learning_rate",
            2 * ARCHS[BLOCK_OPTIMIZER]["optimizer"]["learning_rate"],
        ),
        value_change(
            f"architectures.{WITH_FILTERS}.layers.0.filters", ARCHS[WITH_FILTERS]["layers"][0]["filters"] // 2
        ),
        (
            "train.extra_seeds=[1,2,3]",
            ["+  - 3"],
        ),
    ],
)
def test_set_param_changes_only_what_it_sets(tmp_path, override, expected):
    copy = tmp_path / "params.yaml"
    shutil.copy(PARAMS_FILE, copy)
    apply_overrides(copy, [override])  # what `dvc exp run -S <override>` does to the file
    assert changed_lines(PARAMS_FILE.read_text(), copy.read_text()) == expected, (
        "params.yaml is not in the layout DVC writes back (lists in block style, list items at "
        "the key's indent, no comments inside lists): rewrite it so `dvc exp run -S` gives a minimal diff"
    )


def test_every_comment_survives_a_set_param(tmp_path):
    copy = tmp_path / "params.yaml"
    shutil.copy(PARAMS_FILE, copy)
    apply_overrides(copy, ["report.alpha=0.05"])  # same value: the file must come back unchanged
    assert copy.read_text() == PARAMS_FILE.read_text()
    assert yaml.safe_load(copy.read_text()) == yaml.safe_load(PARAMS_FILE.read_text())
