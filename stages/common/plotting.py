"""matplotlib for files, never a window: every figure of the pipeline is drawn through this."""

from __future__ import annotations


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use: most stages draw nothing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
