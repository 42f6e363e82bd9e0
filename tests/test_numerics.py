"""stages.training.numerics: one TensorFlow configuration, from params.yaml, whatever the import order.

Each case runs in a fresh interpreter: TensorFlow reads its oneDNN switch and thread pools
once per process, which is exactly what is being tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NUMERICS = yaml.safe_load((ROOT / "params.yaml").read_text())["numerics"]


def python(code: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

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


def test_tensorflow_imported_first_with_other_settings_is_refused():
    code = (
        "import os; os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'; import tensorflow; "
        "from stages.training import numerics; "
        "numerics.configure({'threads': 1, 'onednn': True, 'device': 'cpu', "
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
