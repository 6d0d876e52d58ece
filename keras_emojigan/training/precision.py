"""``precision=auto``: mixed_bfloat16 where the CPU computes bfloat16 natively, float32 elsewhere.

Decided each time a run starts or resumes (the variables are float32 in both, so a checkpoint
moves between precisions unchanged) and recorded per epoch in history.csv (``bfloat16``): on a
CPU without avx512_bf16 or amx_bf16, TensorFlow emulates bfloat16 and a step is 12-30x slower,
so a run that moves to such a machine keeps its speed by training in float32 there.
"""

from __future__ import annotations

from pathlib import Path

BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    return flags


def resolve_precision(precision: str, flags: set[str] | None = None) -> str:
    """The Keras policy for a config's ``precision``: ``auto`` becomes mixed_bfloat16 when
    ``flags`` (default: this CPU's) include a native bfloat16 instruction set, else float32."""
    if precision != "auto":
        return precision
    flags = cpu_flags() if flags is None else flags
    return "mixed_bfloat16" if BF16_FLAGS & set(flags) else "float32"
