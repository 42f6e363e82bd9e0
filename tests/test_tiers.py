"""The test tiers: `make test-fast` (`-m "not slow and not tensorflow"`) runs every test that
carries neither marker and imports no TensorFlow; `make test` (CI) runs them all."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The marker expression of the Makefile's test-fast target
FAST = re.search(r'^test-fast:.*\n\tpython -m pytest -q -m "([^"]+)"', (ROOT / "Makefile").read_text(), re.M).group(1)
TIERS = ("slow", "tensorflow")

# Collects in a fresh interpreter and prints one line per test: its id and its tier markers,
# then whether collecting imported TensorFlow.
COLLECT = """
import sys, pytest
class Spy:
    def pytest_collection_finish(self, session):
        for item in session.items:
            marks = sorted({m.name for m in item.iter_markers()} & {"slow", "tensorflow"})
            print("ITEM", item.nodeid, ",".join(marks), sep="\t")
        print("TENSORFLOW", "tensorflow" in sys.modules)
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[Spy()]))
"""


def collect(*runs: tuple[str, ...]) -> list[tuple[dict[str, set], bool]]:
    """For each argument list: {test id: its tier markers} of a collection with it, and whether it
    imported TensorFlow. The collections run side by side (each is seconds of imports)."""
    processes = [
        subprocess.Popen([sys.executable, "-c", COLLECT, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for args in runs
    ]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out[-3000:]
        lines = out.splitlines()
        items = {}
        for line in lines:
            if line.startswith("ITEM\t"):
                _, test, marks = line.split("\t")
                items[test] = set(filter(None, marks.split(",")))
        results.append((items, "TENSORFLOW True" in lines))
    return results


def test_the_fast_tier_is_every_test_without_a_tier_marker():
    (everything, _), (fast, imported_tensorflow) = collect((), ("-m", FAST))
    unmarked = {test for test, marks in everything.items() if not marks}
    assert set(fast) == unmarked
    counts = {tier: sum(tier in marks for marks in everything.values()) for tier in TIERS}
    both = sum(marks == set(TIERS) for marks in everything.values())
    assert len(fast) + counts["slow"] + counts["tensorflow"] - both == len(everything)
    assert len(fast) > 0 and counts["slow"] > 0 and counts["tensorflow"] > 0
    assert not imported_tensorflow  # no test module imports it at collection


def run_example(folder: Path, test: str, *args: str) -> subprocess.CompletedProcess:
    """pytest on `test` written as test_example.py in `folder`, beside a copy of our conftest.py."""
    shutil.copy(ROOT / "tests" / "conftest.py", folder / "conftest.py")
    (folder / "test_example.py").write_text(test)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_example.py"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)


def test_an_unmarked_test_that_imports_tensorflow_fails(tmp_path):
    """conftest.py fails a test that imports TensorFlow without the marker, so the fast tier
    stays free of it (a stub module stands in for TensorFlow: no seconds spent importing it)."""
    (tmp_path / "tensorflow.py").write_text("")
    test = "def test_plain():\n    pass\n\n\ndef test_uses_tf():\n    import tensorflow  # noqa\n"
    result = run_example(tmp_path, test, "-m", FAST)
    assert result.returncode == 1, result.stdout
    assert "2 passed, 1 error" in result.stdout  # test_uses_tf passes, then errors at teardown
    assert "test_example.py::test_uses_tf imports TensorFlow: mark it @pytest.mark.tensorflow" in result.stdout


def test_an_unmarked_test_that_runs_the_dvc_cli_fails(tmp_path):
    """conftest.py fails an unmarked test that starts the dvc CLI, directly (`dvc`, `python -m
    dvc`) or from a process it starts (through the `dvc` it finds on PATH); marked slow, it runs."""
    test = """import subprocess, sys
import pytest

def test_direct():
    subprocess.run(["dvc", "--version"])

def test_module():
    subprocess.run([sys.executable, "-m", "dvc", "--version"])

def test_through_a_shell():
    assert subprocess.run("sh -c 'dvc --version'", shell=True).returncode == 97

def test_plain():
    subprocess.run([sys.executable, "-c", "pass"], check=True)

@pytest.mark.slow
def test_marked():
    subprocess.run([sys.executable, "-m", "dvc", "--version"], check=True)
"""
    result = run_example(tmp_path, test)
    assert "2 failed, 3 passed" in result.stdout, result.stdout[-3000:]
    for name in ("test_direct", "test_module"):
        assert f"test_example.py::{name} runs the dvc CLI" in result.stdout
