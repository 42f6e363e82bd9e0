"""params.yaml is written the way `dvc exp run -S` writes it back, so an experiment's
`git diff` of params.yaml shows only the values it set."""

from __future__ import annotations

import difflib
import shutil

from dvc.utils.serialize import modify_yaml

from stages.config import PARAMS_FILE


def test_set_param_changes_one_line(tmp_path):
    copy = tmp_path / "params.yaml"
    shutil.copy(PARAMS_FILE, copy)
    with modify_yaml(copy) as params:  # what `dvc exp run -S` does
        params["architectures"]["conv3_k5"]["optimizer"]["learning_rate"] = 0.002
    changed = [line for line in difflib.unified_diff(PARAMS_FILE.read_text().splitlines(),
                                                      copy.read_text().splitlines(), n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-      learning_rate: 0.001", "+      learning_rate: 0.002"], (
        "params.yaml is not in the layout DVC writes back (list items at the key's indent, "
        "lines under 80 characters): rewrite it so `dvc exp run -S` gives a one-line diff")
