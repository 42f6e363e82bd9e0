"""stages.tools.readme_results on synthetic results: the README's study table is what the
committed files say, with "—" for what has not run yet."""

from __future__ import annotations

import json

import pytest
import yaml

from stages.tools import readme_results
from stages.tools.readme_results import END, START

ARCHS = ["net_a", "net_b"]


def _params(extra_seeds: list[int]) -> dict:
    return {"train": {"seed": 0, "extra_seeds": extra_seeds}, "architectures": {arch: {} for arch in ARCHS}}


def _run(accuracy: float, best_epoch: int, seconds: float, **more) -> dict:
    return {"test_accuracy": accuracy, "best_epoch": best_epoch, "train_seconds": seconds, "params": 1234, **more}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "notebook" / "metrics").mkdir(parents=True)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "reference").mkdir()
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params([1, 2])))
    (tmp_path / "notebook" / "params.yaml").write_text(yaml.safe_dump(_params([])))
    (tmp_path / "reference" / "notebook.yaml").write_text(
        yaml.safe_dump({"net_a": {"final_test_accuracy": 0.9905}, "net_b": {"final_test_accuracy": 0.9950}})
    )
    runs = {
        "net_a": _run(0.9900, 12, 600),
        "net_a-seed1": _run(0.9920, 9, 1200),
        "net_a-seed2": _run(0.9910, 14, 900),
        "net_b": _run(0.9870, 13, 60),
    }
    (tmp_path / "metrics" / "runs.json").write_text(json.dumps(runs))
    # the report's interval over seeds and test images, and rank set (net_b has one seed: none)
    study = {"net_a": {"mean": 0.991, "runs": 3, "ci_low": 0.9885, "ci_high": 0.9935, "rank_best": 1, "rank_worst": 2}}
    (tmp_path / "metrics" / "study.json").write_text(json.dumps(study))
    # the notebook pipeline's report waits for all its runs: the table reads their records
    (tmp_path / "notebook" / "metrics" / "record" / "net_a").mkdir(parents=True)
    (tmp_path / "notebook" / "metrics" / "record" / "net_a" / "metrics.json").write_text(
        json.dumps(_run(0.9930, 15, 1500, last_val_accuracy=0.9926))
    )
    (tmp_path / "README.md").write_text(f"# Title\n\nbefore\n\n{START}\nold table\n{END}\n\nafter\n")
    return tmp_path


def _rows(block: str) -> dict[str, list[str]]:
    lines = [line for line in block.splitlines() if line.startswith("| `")]
    return {
        cells[0].strip("`"): cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    }


def test_three_seeds_give_mean_sd_interval_and_the_notebook_comparison(project):
    rows = _rows(readme_results.render(project))
    # mean 99.10, sd 0.10; t(0.975, 2) = 4.303 -> half-width 0.2484 points
    assert rows["net_a"] == [
        "1,234",
        "3 of 3",
        "99.10 ± 0.10",
        "[98.85, 99.35]",  # study.json's, as the report computed it
        "1–2",
        "12, 9, 14",
        "15",  # (600 + 1200 + 900) / 3 s = 15 min
        "99.26",
        "99.05",
        "+0.21",
    ]


def test_an_unfinished_architecture_shows_what_it_has_and_dashes_for_the_rest(project):
    rows = _rows(readme_results.render(project))
    assert rows["net_b"] == ["1,234", "1 of 3", "98.70", "—", "—", "13", "1", "—", "99.50", "—"]


def test_the_totals_count_runs_and_training_time_of_both_pipelines(project):
    block = readme_results.render(project)
    assert "**4 of 6** of the study" in block and "**1 of 2** of the notebook's protocol" in block
    assert "2,760 s (0 h 46 min) for the study, 1,500 s (0 h 25 min) for the notebook's protocol" in block
    assert "Training time so far (sum" in block


def test_the_training_time_is_no_longer_so_far_once_every_run_is_in(project):
    runs = json.loads((project / "metrics" / "runs.json").read_text())
    runs |= {"net_b-seed1": _run(0.9880, 11, 70), "net_b-seed2": _run(0.9890, 10, 80)}
    (project / "metrics" / "runs.json").write_text(json.dumps(runs))
    assert "Training time so far" in readme_results.render(project)  # net_b's notebook run is missing
    (project / "notebook" / "metrics" / "record" / "net_b").mkdir()
    (project / "notebook" / "metrics" / "record" / "net_b" / "metrics.json").write_text(
        json.dumps(_run(0.9940, 15, 100, last_val_accuracy=0.9940))
    )
    block = readme_results.render(project)
    assert "**6 of 6** of the study" in block and "**2 of 2** of the notebook's protocol" in block
    assert "Training time (sum of `train_seconds`): 2,910 s" in block


def test_writing_replaces_only_the_block_and_check_then_passes(project):
    assert readme_results.main(["--root", str(project), "--check"]) == 1  # "old table"
    assert readme_results.main(["--root", str(project)]) == 0
    text = (project / "README.md").read_text()
    assert text.startswith("# Title\n\nbefore\n\n" + START + "\n| Architecture |")
    assert text.endswith(END + "\n\nafter\n") and "old table" not in text
    assert readme_results.main(["--root", str(project), "--check"]) == 0


def test_a_new_run_makes_the_committed_table_stale(project):
    readme_results.main(["--root", str(project)])
    runs = json.loads((project / "metrics" / "runs.json").read_text())
    runs["net_b-seed1"] = _run(0.9880, 11, 70)
    (project / "metrics" / "runs.json").write_text(json.dumps(runs))
    assert readme_results.main(["--root", str(project), "--check"]) == 1


def test_no_results_yet_is_a_table_of_dashes(project):
    (project / "metrics" / "runs.json").unlink()
    (project / "metrics" / "study.json").unlink()
    (project / "notebook" / "metrics" / "record" / "net_a" / "metrics.json").unlink()
    rows = _rows(readme_results.render(project))
    assert rows["net_a"] == ["—", "0 of 3", "—", "—", "—", "—", "—", "—", "99.05", "—"]


def test_a_readme_without_the_markers_is_an_error_naming_them(project, capsys):
    (project / "README.md").write_text("# Title\n")
    assert readme_results.main(["--root", str(project)]) == 2
    assert f"README.md: no block between {START} and {END}" in capsys.readouterr().err
    assert (project / "README.md").read_text() == "# Title\n"
