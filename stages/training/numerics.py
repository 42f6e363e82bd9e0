"""One deliberate TensorFlow configuration for every stage that runs TensorFlow.

The trained numbers depend on more than code, data and params: on the TensorFlow, Keras
and numpy versions, on oneDNN (its CPU kernels round differently from Eigen's), on the
instruction sets oneDNN's kernels use (`stages.common.cpu`) and on the thread count (a
reduction split over more threads adds in another order). params.yaml's `numerics` section
names all of these; the training and evaluation stages depend on it,
so DVC's run-cache, keyed on params, never serves a result computed with other numerics.
`configure()` applies it before TensorFlow starts, whatever was imported first, and
refuses to run under versions other than the ones it names, or on a CPU below its
instruction-set cap; `record()` is what each run
writes down beside its results.
"""

from __future__ import annotations

import os
import platform
import sys

from stages.common.cli import StageError
from stages.common.cpu import NATIVE, cpu_flags, cpu_model, isa_problem

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
ISA_VARIABLE = "ONEDNN_MAX_CPU_ISA"  # read by oneDNN when it first dispatches a kernel
VERSIONED = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "numpy"}


class NumericsError(StageError):
    """The environment cannot give the numerics params.yaml asks for."""


def _installed_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {key: version(key) for key in VERSIONED}


def check_versions(numerics: dict) -> None:
    installed = _installed_versions()
    wrong = [
        f"numerics.{key} is {numerics[key]} but {VERSIONED[key]} {installed[key]} is installed"
        for key in VERSIONED
        if str(numerics[key]) != installed[key]
    ]
    if wrong:
        raise NumericsError(
            "params.yaml: " + "; ".join(wrong) + ". Install the pinned versions "
            "(requirements.txt), or set these keys to the installed ones, which "
            "retrains every run instead of reusing results of other numerics"
        )


def configure(numerics: dict) -> None:
    """Set oneDNN, thread pools, op determinism and the device before TensorFlow computes anything."""
    check_versions(numerics)
    onednn = "1" if numerics["onednn"] else "0"
    if "tensorflow" in sys.modules and os.environ.get(ONEDNN_VARIABLE) != onednn:
        # TensorFlow reads the variable once, when it loads: too late to change it now.
        raise NumericsError(
            f"TensorFlow was imported before numerics.configure() with "
            f"{ONEDNN_VARIABLE}={os.environ.get(ONEDNN_VARIABLE)!r}; params.yaml asks for "
            f"numerics.onednn: {numerics['onednn']}"
        )
    os.environ[ONEDNN_VARIABLE] = onednn
    _cap_instruction_sets(numerics["onednn_max_cpu_isa"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep Keras' progress, drop TF's start-up chatter

    import tensorflow as tf

    threads = numerics["threads"]
    threading = tf.config.threading
    for get, set_ in (
        (threading.get_intra_op_parallelism_threads, threading.set_intra_op_parallelism_threads),
        (threading.get_inter_op_parallelism_threads, threading.set_inter_op_parallelism_threads),
    ):
        if get() != threads:
            try:
                set_(threads)
            except RuntimeError as error:  # TensorFlow's runtime has started with other pools
                raise NumericsError(
                    f"TensorFlow already runs with {get()} threads; params.yaml asks for "
                    f"numerics.threads: {threads} ({error})"
                ) from None
    if numerics["device"] == "cpu":
        tf.config.set_visible_devices([], "GPU")
    elif not tf.config.list_physical_devices("GPU"):
        raise NumericsError("params.yaml: numerics.device is gpu but TensorFlow sees no GPU")
    tf.config.experimental.enable_op_determinism()


def _cap_instruction_sets(isa: str) -> None:
    problem = isa_problem(isa)
    if problem:
        raise NumericsError("params.yaml: " + problem)
    wanted = None if isa == NATIVE else isa
    if "tensorflow" in sys.modules and os.environ.get(ISA_VARIABLE) != wanted:
        raise NumericsError(
            f"TensorFlow was imported before numerics.configure() with {ISA_VARIABLE}="
            f"{os.environ.get(ISA_VARIABLE)!r}; params.yaml asks for numerics.onednn_max_cpu_isa: {isa}"
        )
    if wanted is None:
        os.environ.pop(ISA_VARIABLE, None)
    else:
        os.environ[ISA_VARIABLE] = wanted


def record() -> dict:
    """What the numbers of this process were computed with (call after `configure`)."""
    import tensorflow as tf

    gpus = [device.name for device in tf.config.get_visible_devices("GPU")]
    return {
        **_installed_versions(),
        "python": platform.python_version(),
        "onednn": os.environ.get(ONEDNN_VARIABLE) == "1",
        "onednn_max_cpu_isa": os.environ.get(ISA_VARIABLE, NATIVE),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "device": "gpu" if gpus else "cpu",
        "gpus": gpus,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "machine": platform.machine(),
    }
