"""Maintenance commands (python -m stages.tools.<name>): dvc.yaml generation, progress, workers, plots."""
