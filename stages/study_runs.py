"""The runs of a study, from params.yaml: the one place that lists them.

Every architecture has its main run (`train.seed`, `RunPaths(arch)`), one run per seed of
`train.extra_seeds` and one per seed that the optional `seeds` section adds for it
(`seeds: {<id>: [3, 4]}`), each `RunPaths(arch, seed)`. Tools, the report and CI's scripts
take their list of runs from here, so a run name is built in one place (`layout.RunPaths`).
"""

from __future__ import annotations

from stages.common.layout import RunPaths


def extra_seeds(params: dict, arch: str) -> list[int]:
    """The seeds of `arch` besides `train.seed`, in order: `train.extra_seeds`, then `seeds.<arch>`."""
    train = params["train"]
    added = (params.get("seeds") or {}).get(arch) or []
    return [s for s in dict.fromkeys([*(train.get("extra_seeds") or []), *added]) if s != train["seed"]]


def study_runs(params: dict) -> list[RunPaths]:
    """Every run, in params order: each architecture's main run, then its extra seeds."""
    return [RunPaths(arch, seed) for arch in params["architectures"] for seed in (None, *extra_seeds(params, arch))]


def stage_name(params: dict, kind: str, run: RunPaths) -> str:
    """The dvc.yaml stage of `kind` ("train", "evaluate", "record") that makes `run`, as DVC names
    the items `stages.tools.dvc_sync` generates: `train@<id>` (foreach), `train_seed@<id>-<n>`
    (the matrix over `train.extra_seeds`), `train_more@<id>-<n>` (the `seeds` section)."""
    if run.seed is None:
        return f"{kind}@{run.arch}"
    group = "seed" if run.seed in (params["train"].get("extra_seeds") or []) else "more"
    return f"{kind}_{group}@{run.arch}-{run.seed}"
