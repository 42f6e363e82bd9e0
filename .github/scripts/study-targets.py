"""The DVC target of each run named (the run's evaluate stage, which needs its train stage), one
a line, for study-worker.sh. Names are those of stages.study_runs over params.yaml (study-matrix.py's).
usage: python .github/scripts/study-targets.py RUN...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: stages/

from stages.common.layout import load_params  # noqa: E402
from stages.study_runs import stage_name, study_runs  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    params = load_params("params.yaml")
    runs = {run.name: run for run in study_runs(params)}
    unknown = [name for name in sys.argv[1:] if name not in runs]
    if unknown:
        raise SystemExit(f"study-targets: not a run of params.yaml: {', '.join(unknown)} (runs: {', '.join(runs)})")
    print("\n".join(stage_name(params, "evaluate", runs[name]) for name in sys.argv[1:]))
