"""stages.training.numerics: one TensorFlow configuration, from params.yaml, whatever the import order.

Each case runs in a fresh interpreter: TensorFlow reads its oneDNN switch and thread pools
once per process, which is exactly what is being tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stages.common.cpu import all_cpu_flags  # noqa: E402

NUMERICS = yaml.safe_load((ROOT / "params.yaml").read_text())["numerics"]


def python(code: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True, capture_output=True, timeout=300)


def test_importing_the_stages_loads_no_tensorflow():
    """So that configure() always comes first: the stages import TensorFlow only inside run()."""
    result = python(
        "import sys, stages.train, stages.evaluate, stages.prepare, stages.validate, stages.report; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.tensorflow  # in a subprocess
def test_train_and_evaluate_get_the_same_settings_from_params():
    for stage in ("train", "evaluate"):
        code = (
            f"import json, os, stages.{stage}; from stages.common.layout import load_params; "
            "from stages.training import numerics; numerics.configure(load_params()['numerics']); "
            "record = numerics.record(); print(json.dumps(record))"
        )
        # An environment that asks for the opposite is overridden: params.yaml decides.
        result = python(code, {"TF_ENABLE_ONEDNN_OPTS": "0" if NUMERICS["onednn"] else "1"})
        assert result.returncode == 0, result.stderr
        record = json.loads(result.stdout.strip().splitlines()[-1])
        assert record["onednn"] is NUMERICS["onednn"], stage
        assert record["intra_op_threads"] == record["inter_op_threads"] == NUMERICS["threads"], stage
        assert record["tensorflow"] == NUMERICS["tensorflow"] and record["keras"] == NUMERICS["keras"]
        assert record["device"] == "cpu" and record["cpu"]


@pytest.mark.tensorflow  # in a subprocess
def test_tensorflow_imported_first_with_other_settings_is_refused():
    code = (
        "import os; os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'; import tensorflow; "
        "from stages.training import numerics; "
        "numerics.configure({'threads': 1, 'onednn': True, 'device': 'cpu', 'onednn_max_cpu_isa': 'AVX2', "
        f"'tensorflow': '{NUMERICS['tensorflow']}', 'keras': '{NUMERICS['keras']}', "
        f"'numpy': '{NUMERICS['numpy']}'}})"
    )
    result = python(code)
    assert result.returncode != 0
    assert "NumericsError: TensorFlow was imported before numerics.configure()" in result.stderr


def test_other_installed_versions_are_refused_naming_the_key():
    from stages.training import numerics

    wrong = {**NUMERICS, "tensorflow": "1.15.0"}
    try:
        numerics.check_versions(wrong)
    except numerics.NumericsError as error:
        assert "numerics.tensorflow is 1.15.0 but TensorFlow" in str(error)
    else:
        raise AssertionError("a version mismatch passed")
    numerics.check_versions(NUMERICS)  # the pinned ones are the installed ones


def test_params_versions_are_the_pinned_ones():
    pins = dict(
        line.strip().split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    )
    for key in ("tensorflow", "keras", "numpy"):
        assert str(NUMERICS[key]) == pins[key], f"params.yaml numerics.{key} != requirements.txt"


@pytest.mark.tensorflow  # in a subprocess
def test_the_instruction_set_cap_comes_from_params_whatever_the_environment():
    code = (
        "import json, os; from stages.common.layout import load_params; from stages.training import numerics; "
        "numerics.configure(load_params()['numerics']); "
        "print(json.dumps([os.environ.get('ONEDNN_MAX_CPU_ISA'), numerics.record()['onednn_max_cpu_isa']]))"
    )
    result = python(code, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"})
    assert result.returncode == 0, result.stderr
    cap = NUMERICS["onednn_max_cpu_isa"]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [cap, cap]


def test_a_cpu_below_the_cap_is_refused_naming_the_key_and_what_it_lacks():
    from stages.common import cpu

    problem = cpu.isa_problem("AVX512_CORE", flags={"avx2", "fma", "avx512f"})
    assert problem.startswith("numerics.onednn_max_cpu_isa is AVX512_CORE but this CPU")
    assert "lacks avx512bw, avx512vl, avx512dq" in problem
    assert cpu.isa_problem("AVX2", flags={"avx2", "fma", "sse4_1"}) is None
    assert cpu.isa_problem(cpu.NATIVE, flags=set()) is None


# One epoch of a small convolutional net on fixed data, in a fresh interpreter with the given cap:
# the weights' digest, so that two caps can be compared exactly.
TINY_FIT = """
import hashlib, json, sys
from stages.common.layout import load_params
from stages.training import numerics
params = load_params()["numerics"]
numerics.configure({**params, "onednn_max_cpu_isa": sys.argv[1]})
import numpy as np, keras
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((512, 28, 28, 1), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, 512)
layers = keras.layers
model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 5, activation="relu"),
    layers.Conv2D(64, 3, activation="relu"), layers.Flatten(), layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, batch_size=64, epochs=1, verbose=0)
print(hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
"""


def _tiny_fit(cap: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", TINY_FIT, cap],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        text=True,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.tensorflow  # in a subprocess
@pytest.mark.skipif("avx512f" not in all_cpu_flags(), reason="the CPU has no kernels above the cap")
def test_the_cap_gives_other_numbers_than_the_cpus_own_kernels_and_the_same_every_time():
    """Why the cap is a numerics key: on an AVX-512 CPU the uncapped kernels compute other weights."""
    capped = _tiny_fit("AVX2")
    assert _tiny_fit("AVX2") == capped
    assert _tiny_fit("native") != capped
