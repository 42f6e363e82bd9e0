"""Kept for old imports (`stages.tools.readme_results`): the statistics live in `stages.statistics`."""

from stages.statistics.classic import holm, mean_ci, welch  # noqa: F401
