#!/usr/bin/env bash
# The aggregator of a study spread over machines: fetch the run-cache the workers pushed
# (study-worker.sh) and let `dvc repro --pull` restore every train/evaluate stage from it, then
# fail if any of those stages ran instead of being restored (a worker's push is missing, or the
# aggregator's params, code or numerics differ from the workers'). The check reads dvc.lock and
# the run-cache as data (stages/tools/restored.py), not DVC's log. Used by .github/workflows/study.yml
# and tests/test_remote.py.
#   usage: study-aggregate.sh [TARGET...]   targets for dvc repro; default dvc.yaml, the main
#   pipeline as in `make run` (a bare `dvc repro` would also run notebook/dvc.yaml's); without
#   targets every run of params.yaml must end in dvc.lock
set -euo pipefail
targets=("$@")
[ $# -gt 0 ] || targets=(dvc.yaml)
state=$(mktemp -d)
dvc fetch --run-cache
python -m stages.tools.restored snapshot "$state"
dvc repro --pull "${targets[@]}"
if [ $# -eq 0 ]; then
  python -m stages.tools.restored check "$state" --all
else
  python -m stages.tools.restored check "$state"
fi
