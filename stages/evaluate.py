"""The `evaluate@<id>` stage: the saved model, once, on the test set.

    python -m stages.evaluate conv2_k3            # main run
    python -m stages.evaluate conv2_k3 --seed 1   # one of `train.extra_seeds`

Writes the run's metrics (test figures, the training record, cost), its confusion
pairs (actual, predicted: one row per test image, which the report also uses for
paired significance tests) and the notebook's train-vs-validation loss figure.
"""

from __future__ import annotations

from stages.common import layout
from stages.common.atomic import read_json, write_json
from stages.common.cli import run_stage
from stages.evaluation.loss_figure import save_loss_figure
from stages.evaluation.scoring import evaluate, latency_ms, save_confusion
from stages.mnist.arrays import load_split
from stages.model.shapes import forward_flops
from stages.training import numerics
from stages.training.history import read_history


def run(arch_id: str, seed: int | None = None, params_file=layout.PARAMS_FILE) -> dict:
    params = layout.load_params(params_file)
    numerics.configure(params["numerics"])  # the same kernels and threads as training, by choice
    import keras

    paths = layout.RunPaths(arch_id, seed)
    model = keras.models.load_model(paths.model)
    x_test, y_test = load_split(layout.TEST_FILE)

    figures, predicted = evaluate(model, x_test, y_test, params["train"]["eval_batch_size"])
    arch = params["architectures"][arch_id]
    metrics = {
        **figures,
        "params": int(model.count_params()),
        **read_json(paths.train_info),
        "flops": forward_flops(arch["layers"], params["model"]["input_shape"]),
        "latency_ms": round(latency_ms(model, x_test[0]), 3),
        "model_bytes": paths.model.stat().st_size,
    }
    metrics.pop("arch", None)
    save_confusion(paths.confusion, y_test, predicted)
    save_loss_figure(paths.loss_figure, read_history(paths.history), f"{paths.name}: train vs validation")
    write_json(paths.metrics, metrics)
    return metrics


def main(argv=None) -> None:
    paths, metrics = run_stage(__doc__, "evaluate", run, argv)
    print(
        f"{paths.name}: test accuracy {metrics['test_accuracy']:.4f}, "
        f"test loss {metrics['test_loss']:.4f}, {metrics['params']:,} params"
    )


if __name__ == "__main__":
    main()
