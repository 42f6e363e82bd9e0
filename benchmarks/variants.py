"""The train stage's alternatives that lost, kept here so that benchmarks can measure them again.

The stage runs one way: `stages.training.numerics.configure(params["numerics"])`, then
`stages.training.loop.train()` with its tf.data `Feed`. A `Variant` changes one thing about that:

  numerics             params.yaml `numerics` keys overridden, e.g. {"onednn": False}
  intra_op_threads     thread pools set one by one (numerics.threads sets both alike);
  inter_op_threads     0 = TensorFlow's default (one per core), None = numerics.threads
  feed                 "dataset" (the stage's Feed) or "arrays" (numpy arrays to fit())
  steps_per_execution  training steps per call into TensorFlow (the stage: 1)

`configure()` stands in for the stage's numerics.configure(); `patched()` puts the feed and
steps_per_execution in place around calls of train(). Figures: benchmarks/README.md, "Levers".
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

FEEDS = ("dataset", "arrays")


@dataclass(frozen=True)
class Variant:
    numerics: dict = field(default_factory=dict)
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    feed: str = "dataset"
    steps_per_execution: int = 1

    def __post_init__(self):
        if self.feed not in FEEDS:
            raise ValueError(f"unknown feed {self.feed!r}; one of: {', '.join(FEEDS)}")
        if self.steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be at least 1, not {self.steps_per_execution}")


def configure(numerics_params: dict, variant: Variant = Variant()) -> None:
    """The stage's numerics with the variant's overrides; call before TensorFlow is imported."""
    from stages.training import numerics

    numerics.configure({**numerics_params, **variant.numerics})
    import tensorflow as tf

    # still possible: configure() sets the pools without starting TensorFlow's runtime
    if variant.intra_op_threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(variant.intra_op_threads)
    if variant.inter_op_threads is not None:
        tf.config.threading.set_inter_op_parallelism_threads(variant.inter_op_threads)


class ArraysFeed:
    """numpy arrays straight to fit(): Keras' adapter copies the shuffled training set and builds
    a parallel-map pipeline every epoch (the stage's first feed: 1.09x slower, 290 MB more)."""

    def __init__(self, train_data, val_data, batch_size: int, eval_batch_size: int):
        (self.x, self.y), (self.x_val, self.y_val) = train_data, val_data
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size

    def fit_arguments(self, order: np.ndarray) -> dict:
        return {
            "x": self.x[order],
            "y": self.y[order],
            "batch_size": self.batch_size,
            "shuffle": False,
            "validation_data": (self.x_val, self.y_val),
            "validation_batch_size": self.eval_batch_size,
        }


@contextmanager
def patched(variant: Variant):
    """stages.training.loop.train() with the variant's feed and steps_per_execution, restored after.

    train() looks `Feed` up in its module and `compile_model` in the builder's (imported when
    called), so replacing those names is enough; steps_per_execution is set on the compiled
    model, before fit() reads it."""
    from stages.model import builder
    from stages.training import loop

    compile_model = builder.compile_model

    def compile_with_steps(model, optimizer_spec):
        model = compile_model(model, optimizer_spec)
        model.steps_per_execution = variant.steps_per_execution
        return model

    # compile_model in loop's namespace too, should loop one day import it at the top
    targets = [module for module in (builder, loop) if hasattr(module, "compile_model")]
    replaced = [(loop, "Feed", ArraysFeed if variant.feed == "arrays" else loop.Feed)]
    replaced += [(module, "compile_model", compile_with_steps) for module in targets]
    saved = [(module, name, getattr(module, name)) for module, name, _ in replaced]
    for module, name, value in replaced:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
