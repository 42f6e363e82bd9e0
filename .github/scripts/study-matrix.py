"""The matrix of .github/workflows/study.yml, as lines for $GITHUB_OUTPUT:
  runs=[...]    every run of params.yaml, named and ordered by stages.study_runs (the names
                study-worker.sh takes)
  runner=...    the runner input as JSON for runs-on: a label ("gpu") or a JSON list of labels
usage: python .github/scripts/study-matrix.py RUNNER [PARAMS]   (PARAMS: params.yaml)
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/

from stages.common.layout import load_params  # noqa: E402
from stages.study_runs import study_runs  # noqa: E402


def runs(params: dict) -> list[str]:
    return [run.name for run in study_runs(params)]


def runner(label: str) -> str:
    label = label.strip()
    if label.startswith("["):
        try:
            labels = json.loads(label)
        except json.JSONDecodeError as e:
            raise SystemExit(f"runner: {label!r} is not valid JSON ({e})") from None
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
            raise SystemExit(f"runner: {label!r} is not a JSON list of labels")
        return json.dumps(labels)
    if not label:
        raise SystemExit("runner: empty; give a label (ubuntu-latest, gpu) or a JSON list of labels")
    return json.dumps(label)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    labels = runner(sys.argv[1])
    print(f"runs={json.dumps(runs(load_params(sys.argv[2] if len(sys.argv) == 3 else 'params.yaml')))}")
    print(f"runner={labels}")
