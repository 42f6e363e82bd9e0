"""What the CPU offers oneDNN, and the instruction-set caps params.yaml may pin it to.

oneDNN picks its kernels at run time from the CPU's instruction sets: the same code, data
and thread count give other numbers on an AVX-512 CPU than on an AVX2 one (seen here: a
run of conv2_k3 differed from its first epoch on). `numerics.onednn_max_cpu_isa` caps
the kernels (oneDNN's ONEDNN_MAX_CPU_ISA), so every CPU that has the capped instruction
sets computes the same numbers and DVC's run-cache, keyed on params, can serve a run to
any of them. A CPU below the cap would quietly fall back to other kernels: refused.
"""

from __future__ import annotations

import platform

# oneDNN's names for its caps -> the /proc/cpuinfo flags a CPU needs for that cap to apply
_AVX512_CORE = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq")
ONEDNN_ISAS = {
    "SSE41": ("sse4_1",),
    "AVX": ("avx",),
    "AVX2": ("avx2", "fma"),
    "AVX2_VNNI": ("avx2", "fma", "avx_vnni"),
    "AVX512_CORE": _AVX512_CORE,
    "AVX512_CORE_VNNI": (*_AVX512_CORE, "avx512_vnni"),
    "AVX512_CORE_BF16": (*_AVX512_CORE, "avx512_vnni", "avx512_bf16"),
}
NATIVE = "native"  # no cap: the fastest kernels of each CPU, so numbers that depend on the CPU
# CPU features worth recording beside a run (they decide which oneDNN kernels exist)
ISA_FLAGS = ("avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def _cpuinfo_value(key: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == key:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo_value("model name") or platform.processor() or platform.machine()


def all_cpu_flags() -> set[str]:
    """Every instruction-set flag of the CPU (x86 Linux; empty where /proc/cpuinfo has none)."""
    return set((_cpuinfo_value("flags") or "").split())


def cpu_flags() -> list[str]:
    """The ISA_FLAGS the CPU has, for the run's record."""
    flags = all_cpu_flags()
    return [flag for flag in ISA_FLAGS if flag in flags]


def isa_problem(isa: str, flags: set[str] | None = None) -> str | None:
    """Why this CPU cannot compute with oneDNN capped at `isa`, or None when it can."""
    if isa == NATIVE:
        return None
    missing = [flag for flag in ONEDNN_ISAS[isa] if flag not in (all_cpu_flags() if flags is None else flags)]
    if not missing:
        return None
    return (
        f"numerics.onednn_max_cpu_isa is {isa} but this CPU ({cpu_model()}) lacks {', '.join(missing)}: "
        f"oneDNN would fall back to other kernels, other numerics. Run on a CPU with {isa}, or set the "
        f"key to a cap this CPU has (or {NATIVE}), which retrains every run instead of reusing results "
        "of other numerics"
    )
