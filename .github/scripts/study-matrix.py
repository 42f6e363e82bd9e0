"""The matrix of .github/workflows/study.yml, as lines for $GITHUB_OUTPUT:
  runs=[...]    every run of params.yaml: each architecture id (its main run), then ID-seedN for
                each of train.extra_seeds, the names study-worker.sh takes
  runner=...    the runner input as JSON for runs-on: a label ("gpu") or a JSON list of labels
usage: python .github/scripts/study-matrix.py RUNNER [PARAMS]   (PARAMS: params.yaml)
"""

import json
import sys

import yaml


def runs(params: dict) -> list[str]:
    archs = list(params["architectures"])
    return archs + [f"{arch}-seed{seed}" for arch in archs for seed in params["train"].get("extra_seeds") or []]


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
    with open(sys.argv[2] if len(sys.argv) == 3 else "params.yaml") as f:
        print(f"runs={json.dumps(runs(yaml.safe_load(f)))}")
    print(f"runner={labels}")
