"""What the machine's CPU can do for training (no torch import needed)."""

from __future__ import annotations

import sys
from functools import lru_cache

# x86 flags of CPUs that multiply bf16 in hardware: AVX-512 BF16 (Cooper Lake, Zen 4 and later)
# and AMX (Sapphire Rapids and later). Without them torch emulates bf16, slower than fp32.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_bf16_units(cpuinfo: str | None = None) -> bool:
    """True where the CPU has bf16 matrix units (from /proc/cpuinfo on Linux; False elsewhere,
    where it cannot be told without a benchmark)."""
    if cpuinfo is None:
        return _linux_cpu_bf16()
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and ":" in line:
            return bool(BF16_FLAGS & set(line.split(":", 1)[1].split()))
    return False


@lru_cache(maxsize=1)
def _linux_cpu_bf16() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return cpu_bf16_units(handle.read())
    except OSError:
        return False
