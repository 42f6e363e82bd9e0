#!/usr/bin/env bash
# One worker of a study spread over machines: train and evaluate the runs it is given, then send
# their outputs and run-cache entries to the default DVC remote, from where study-aggregate.sh
# restores them on another machine without training. Used by .github/workflows/study.yml and
# tests/test_remote.py.
#   usage: study-worker.sh RUN...   RUN = a run of params.yaml, as study-matrix.py names them
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 RUN... (e.g. conv2_k3 conv2_k5 conv2_k3-seed1)" >&2; exit 2; }

targets=$(python "$(dirname "$0")/study-targets.py" "$@")   # each run's evaluate stage
# shellcheck disable=SC2086  # one stage name a line, no spaces in them
dvc repro $targets

# DVC's own error for a failed push can be many lines of a network stack; keep them in a file
# and end with one line that says what failed and what to do. Outputs stay in the local cache,
# so rerunning the push is all it takes.
remote=$(dvc remote default || true)
[ -n "$remote" ] || { echo "study-worker: no default DVC remote (see README: dvc remote add -d ...)" >&2; exit 1; }
log=$(mktemp)
if ! dvc push --run-cache >"$log" 2>&1; then
  where=$(dvc config "remote.$remote.url")$(dvc config "remote.$remote.endpointurl" 2>/dev/null | sed 's/^/ at /' || true)
  reason=$(grep '^ERROR' "$log" | tail -n1 | sed 's/^ERROR: \(unexpected error - \)\{0,1\}//' || true)
  cause=$(grep -m1 "^ERROR: failed to transfer" "$log" | sed "s/^[^']*'[^']*' - //" || true)   # the first file's why
  if [ -n "$cause" ] && [[ "$reason" != *"${cause%%: \"*}"* ]]; then reason="$reason ($cause)"; fi
  echo "study-worker: dvc push --run-cache to remote '$remote' ($where) failed: ${reason:-see $log}." \
       "The outputs are kept here: rerun 'dvc push --run-cache' when the remote is reachable (DVC's output: $log)" >&2
  exit 1
fi
cat "$log" && rm -f "$log"
