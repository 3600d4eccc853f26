"""Process-wide settings, kept in the environment so that compiled code
(JIT, disk-cached and ahead-of-time objects alike) reads the same value
without being recompiled.

`max_tape_bytes`: the most bytes of records one reverse-mode tape of native
code may hold. A loop whose tape would grow beyond it raises `MemoryError`
(naming the limit, the function and the loop's source line) instead of
exhausting the machine's memory. Compiled code reads the setting only when a
tape grows beyond `UNCHECKED_TAPE_BYTES`, so pushes cost nothing extra.
Set it with `set_max_tape_bytes(n)` or `ADJIT_MAX_TAPE_BYTES=n` (bytes);
set it before starting threads that run compiled code (the environment is
not thread-safe to change).
"""
from __future__ import annotations

import os

MAX_TAPE_BYTES_ENV = "ADJIT_MAX_TAPE_BYTES"
DEFAULT_MAX_TAPE_BYTES = 8 * 2**30  # 8 GiB
UNCHECKED_TAPE_BYTES = 2**16  # tapes up to 64 KiB are never refused
MAX_INT64 = 2**63 - 1


def max_tape_bytes() -> int:
    """The limit in force: ADJIT_MAX_TAPE_BYTES, else the 8 GiB default."""
    text = os.environ.get(MAX_TAPE_BYTES_ENV)
    if text is None:
        return DEFAULT_MAX_TAPE_BYTES
    try:
        limit = int(text.strip())
    except ValueError:
        limit = -1
    if not UNCHECKED_TAPE_BYTES <= limit <= MAX_INT64:
        raise ValueError(f"{MAX_TAPE_BYTES_ENV}={text!r}: write a whole number of bytes "
                         f"from {UNCHECKED_TAPE_BYTES} (64 KiB) up, e.g. "
                         f"{MAX_TAPE_BYTES_ENV}={DEFAULT_MAX_TAPE_BYTES} for 8 GiB")
    return limit


def set_max_tape_bytes(limit: int | None) -> None:
    """Set the limit for every compiled function of the process (None: the
    default again)."""
    if limit is None:
        os.environ.pop(MAX_TAPE_BYTES_ENV, None)
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or not (
            UNCHECKED_TAPE_BYTES <= limit <= MAX_INT64):
        raise ValueError(f"max_tape_bytes must be an int from {UNCHECKED_TAPE_BYTES} "
                         f"(64 KiB) up, not {limit!r}")
    os.environ[MAX_TAPE_BYTES_ENV] = str(limit)
