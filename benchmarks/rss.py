"""This process's resident memory from /proc (Linux), for the memory probes."""

from __future__ import annotations

from pathlib import Path


def status_kb(field: str) -> int:
    """A /proc/self/status figure in kB, e.g. "VmRSS" (now) or "VmHWM" (the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux `clear_refs` 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
