#!/usr/bin/env bash
# The aggregator of a study spread over machines: fetch the run-cache the workers pushed
# (study-worker.sh) and let `dvc repro --pull` restore every train/evaluate stage from it, then
# fail if any of those stages ran instead of being restored (a worker's push is missing, or the
# aggregator's params, code or numerics differ from the workers'). Used by
# .github/workflows/study.yml and tests/test_remote.py.
#   usage: study-aggregate.sh [TARGET...]   targets for dvc repro; default dvc.yaml, the main
#   pipeline as in `make run` (a bare `dvc repro` would also run notebook/dvc.yaml's)
set -euo pipefail
targets=("$@")
[ $# -gt 0 ] || targets=(dvc.yaml)
log=$(mktemp)
dvc fetch --run-cache
dvc repro --pull "${targets[@]}" 2>&1 | tee "$log"

per_run="(train|evaluate|train_seed|evaluate_seed)@"
if grep -E "^Running stage '$per_run" "$log" >&2; then
  echo "study-aggregate: the stages above ran here instead of being restored from the run-cache" >&2
  exit 1
fi
# restored from the run-cache, up to date, or (dvc.lock already lists it) pulled: each stage once
restored=$({ grep -oE "^(Stage '${per_run}[^']*' (is cached - skipping run, checking out outputs|didn't change, skipping)|Pulling data for stage: '${per_run}[^']*')" "$log" || true; } \
  | { grep -oE "'[^']*'" || true; } | sort -u | wc -l)
if [ $# -eq 0 ]; then   # the main pipeline: every per-run stage must have been restored or up to date
  expected=$(dvc stage list --name-only dvc.yaml | grep -cE "^$per_run" || true)
  if [ "$restored" -ne "$expected" ]; then
    echo "study-aggregate: $restored of $expected train/evaluate stages were restored or up to date" >&2
    exit 1
  fi
fi
echo "study-aggregate: $restored train/evaluate stages restored from the run-cache or up to date, none ran"
