"""`dvc exp run -S key=value` works on every key of params.yaml and notebook/params.yaml.

DVC applies `-S` with `dvc.utils.hydra.apply_overrides`, which rewrites the file through
ruamel's round-trip dumper to keep its comments. Some comment layouts do not survive that:
a block list whose key carries a trailing comment, replaced by `[]`, loses a line break and
glues the next key onto the previous line ("YAML file structure is corrupted"). So every
key is overridden here through that same function, on a copy, with another value of its own
type, and the file must still parse and hold exactly that change.

Fast: no TensorFlow, no `dvc` process; one call of DVC's override code per key.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import apply_overrides

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILES = ["params.yaml", "notebook/params.yaml"]
PROBE = "probe"  # the key added to an empty mapping
ONE_BY_ONE = os.environ.get("PARAMS_OVERRIDES_ONE_BY_ONE") == "1"


def _quoted(text: str) -> str:
    # Hydra's override grammar: a quoted string stays a string, whatever it looks like
    assert "'" not in text, text
    return f"'{text}'"


def _other_value(value) -> tuple[str, object]:
    """Another value of the same type: (how `-S` spells it, what the file must then hold)."""
    if isinstance(value, bool):  # before int: bool is an int
        return str(not value).lower(), not value
    if isinstance(value, int):
        return str(value + 1), value + 1
    if isinstance(value, float):
        other = value * 2 + 0.5
        return repr(other), other
    if isinstance(value, str):
        return _quoted(value + "_x"), value + "_x"
    if isinstance(value, list):
        return ("[]", []) if value else ("[0]", [0])
    raise TypeError(f"no other value of type {type(value).__name__} ({value!r}): extend _other_value")


def overrides(data, path: tuple = ()) -> list[tuple[str, tuple, object]]:
    """(override, path of the changed node, its new value) for every leaf of `data`: each scalar,
    each list (as a whole, and each of its elements), and each empty mapping (by adding a key,
    as `-S +key.name=value` does: Hydra refuses to replace a mapping by one with new keys)."""
    found = []
    dotted = ".".join(str(part) for part in path)
    if isinstance(data, dict):
        if not data and path:
            found.append((f"+{dotted}.{PROBE}=0", path, {PROBE: 0}))
        for key, value in data.items():
            found += overrides(value, (*path, key))
        return found
    spelled, new = _other_value(data)
    found.append((f"{dotted}={spelled}", path, new))
    if isinstance(data, list):
        for index, element in enumerate(data):
            found += overrides(element, (*path, index))
    return found


def with_value(data: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(data)
    node = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _breaks(params_file: Path, original: dict, batch: list, scratch: Path) -> str | None:
    """Why DVC's code, given the overrides of `batch` at once (as `-S a -S b`), breaks the file."""
    copy_ = scratch / "params.yaml"
    shutil.copyfile(params_file, copy_)
    apply_overrides(copy_, [override for override, _, _ in batch])
    try:
        got = yaml.safe_load(copy_.read_text())
    except yaml.YAMLError as error:
        return f"no longer parses ({str(error).splitlines()[0]})"
    expected = original
    for _, path, new in batch:
        expected = with_value(expected, path, new)
    return None if got == expected else "parses, but changes more or less than that key"


def override_failures(params_file: Path, scratch: Path, one_by_one: bool = ONE_BY_ONE) -> list[str]:
    """Every override of `params_file` that DVC's code breaks, each named alone.

    DVC's round trip of this file costs about 0.3 s (ruamel, pure Python), and the two files
    have some 930 leaves: one call per leaf takes minutes. So the leaves of one depth go in one
    call (no path of a depth is inside another of that depth, so the changes are independent),
    and a batch that breaks is halved until the keys that break the file alone are found; if
    none does alone, the smallest breaking combination is reported. PARAMS_OVERRIDES_ONE_BY_ONE=1
    makes one call per leaf instead, exactly as `dvc exp run -S key=value` does."""
    original = yaml.safe_load(params_file.read_text())
    by_depth: dict[int, list] = {}
    for found in overrides(original):
        by_depth.setdefault(len(found[1]), []).append(found)
    batches = [[found] for found in overrides(original)] if one_by_one else list(by_depth.values())
    failures = []

    def check(batch: list) -> bool:  # True if the batch broke the file
        reason = _breaks(params_file, original, batch, scratch)
        if reason is None:
            return False
        if len(batch) == 1:
            failures.append(f"{batch[0][0]}: {reason}")
            return True
        half = len(batch) // 2
        found_alone = [check(batch[:half]), check(batch[half:])]
        if not any(found_alone):
            failures.append(f"{' '.join(o for o, _, _ in batch)} (together): {reason}")
        return True

    for batch in batches:
        check(batch)
    return failures


@pytest.mark.parametrize("name", PARAMS_FILES)
def test_every_key_survives_dvc_exp_run_set_param(name, tmp_path):
    params_file = ROOT / name
    count = len(overrides(yaml.safe_load(params_file.read_text())))
    failures = override_failures(params_file, tmp_path)
    assert not failures, f"{name}: {len(failures)} of {count} `dvc exp run -S` overrides break it:\n" + "\n".join(
        failures
    )


def test_the_walk_covers_lists_their_elements_and_nested_mappings():
    data = {"train": {"seeds": [1, 2], "on": True, "name": "a"}, "empty": {}, "pairs": [[{"x": 1.5}]]}
    found = {override for override, _, _ in overrides(data)}
    assert found == {
        "train.seeds=[]",
        "train.seeds.0=2",
        "train.seeds.1=3",
        "train.on=false",
        "train.name='a_x'",
        f"+empty.{PROBE}=0",
        "pairs=[]",
        "pairs.0=[]",
        "pairs.0.0.x=3.5",
    }


def test_the_check_catches_a_trailing_comment_on_a_block_list(tmp_path):
    """The layout that broke the README's quick look: it must fail here."""
    bad = tmp_path / "bad" / "params.yaml"
    bad.parent.mkdir()
    bad.write_text("train:\n  extra_seeds:  # more seeds\n  - 1\n  - 2\nmodel:\n  input_shape:\n  - 28\n")
    failures = override_failures(bad, tmp_path)
    assert [f.split(":")[0] for f in failures] == ["train.extra_seeds=[]"]
    # the same content, its comment on a line of its own, passes
    bad.write_text("train:\n  # more seeds\n  extra_seeds:\n  - 1\n  - 2\nmodel:\n  input_shape:\n  - 28\n")
    assert override_failures(bad, tmp_path) == []
