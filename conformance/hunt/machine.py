"""What a sweep's numbers depend on besides the software versions: the machine's CPU.

NumPy and the frameworks pick their vectorized kernels at run time by the CPU's instruction
sets, and those kernels round differently. Measured: our kernel's float32 input gradient of
the with-logits loss at target 0 (sigma(x) through a float64 exp, rounded once) is not
correctly rounded at 81 of the 2^32 logits on an AVX-512 machine and at 78 on the machine of
the earlier published table, with the same NumPy 2.4.6; on the AVX-512 machine the logits in
[-2^-17, -2^-18) give 21 such results with NumPy's dispatch as it is and 19 (the earlier
table's count) with ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"``. So every
sweep cell records the fingerprints of the machines its chunks ran on.

``fingerprint()``: ``"x86_64 · AMD EPYC · avx2 avx512f fma · numpy X86_V3 X86_V4"``: the
architecture, the CPU model, the vector extensions the kernels dispatch on, and NumPy's
enabled dispatch targets (after any ``NPY_DISABLE_CPU_FEATURES``); ``ATEN_CPU_CAPABILITY``
(torch's override) is appended when set.
"""

from __future__ import annotations

import functools
import os
import platform

_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16")


def _cpuinfo() -> tuple[str, set[str]]:
    """The CPU's model name and flags from /proc/cpuinfo (Linux; else the platform's names)."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                generic = model in ("", "unknown CPU", platform.machine())
                if key in ("model name", "Model") and generic:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _numpy_dispatch() -> list[str]:
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [t for t in __cpu_dispatch__ if __cpu_features__.get(t, False)]


@functools.cache
def fingerprint() -> str:
    """This machine's fingerprint (module docstring)."""
    model, flags = _cpuinfo()
    parts = [platform.machine() or "unknown", model]
    parts.append(" ".join(e for e in _EXTENSIONS if e in flags) or "no vector extensions listed")
    parts.append("numpy " + (" ".join(_numpy_dispatch()) or "baseline only"))
    if os.environ.get("ATEN_CPU_CAPABILITY"):
        parts.append(f"ATEN_CPU_CAPABILITY={os.environ['ATEN_CPU_CAPABILITY']}")
    return " · ".join(parts)
