"""Opening files named by a user (scenario, `extends`, territory CSVs, CRM files, sweep base).

Only regular files are opened: a FIFO would block forever, `/dev/zero` never ends and a folder
is not a file, so each is refused with an InputError naming the file and the field. Files read
into memory are capped in size (bytes), so a wrong path cannot exhaust memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.errors import InputError

MAX_YAML_BYTES = 10 * 1024**2
"""Largest scenario, sweep or mapping YAML file read (10 MiB; real ones are a few KiB)."""
MAX_DATA_BYTES = 2 * 1024**3
"""Largest CSV data file read (2 GiB: a CRM export of tens of millions of rows)."""

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size_text(n: int) -> str:
    return f"{n / 1024**2:,.1f} MiB" if n >= 1024**2 else f"{n:,} bytes"


def require_regular_file(path: str | Path, field: str, *, max_bytes: int = MAX_DATA_BYTES,
                         source: str | None = None, line: int | None = None,
                         expected: str = "a regular file") -> Path:
    """Check that `path` is an existing regular file of at most `max_bytes`; return it.

    `field` is the dotted path that named the file, `source` the file that named it (default: the
    file itself). Symbolic links are followed: a link to a device is refused like the device.
    Raises InputError otherwise (nothing is opened, so a FIFO cannot block).
    """
    path = Path(path)
    where = str(source) if source is not None else str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError.single(where, field, f"file not found: {path}", expected, line) from None
    except OSError as exc:
        raise InputError.single(where, field, f"cannot read {path}: {exc.strerror}", expected, line) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError.single(where, field, f"{path} is {_kind(info.st_mode)}", expected, line)
    if info.st_size > max_bytes:
        raise InputError.single(where, field, f"{path} is too large ({_size_text(info.st_size)})",
                                f"a file of at most {_size_text(max_bytes)}", line)
    return path


def read_text_capped(path: str | Path, field: str = "<file>", *, max_bytes: int = MAX_YAML_BYTES,
                     source: str | None = None, line: int | None = None,
                     expected: str = "a UTF-8 text file") -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` (InputError otherwise).

    The file is opened non-blocking and checked again on the open descriptor, so a path swapped
    for a FIFO between the check and the open cannot block; reading stops after `max_bytes`.
    """
    path = require_regular_file(path, field, max_bytes=max_bytes, source=source, line=line,
                                expected=expected)
    where = str(source) if source is not None else str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError.single(where, field, f"cannot read {path}: {exc.strerror}", expected, line) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError.single(where, field, f"{path} is not a regular file", expected, line)
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputError.single(where, field, f"{path} is larger than {_size_text(max_bytes)}",
                                f"a file of at most {_size_text(max_bytes)}", line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.single(where, field, f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                expected, line) from None
