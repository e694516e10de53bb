"""Write a folder atomically, and never over anything the engine did not write.

`atomic_folder` builds the folder in a temporary sibling and renames it into place when complete.
`check_out_folder` decides whether `--out` may be written: a path that does not exist yet, an
empty folder, or a folder the engine marked as its own (a run folder holds a `manifest.json` with
a `scenario_sha256`; a sweep folder a `sweep.json` with `points`). Anything else (a folder of the
user's files, a file, a device, `.`, a folder holding the scenario) is refused with InputError,
before any work is done. Temporary siblings left by killed runs are removed on the next write.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import InputError

RUN_MARK = ("manifest.json", "scenario_sha256")
"""A run folder: this file, a JSON object with this key."""
SWEEP_MARK = ("sweep.json", "points")
"""A sweep folder: this file, a JSON object with this key."""
SWEEP_LOCK = "sweep.lock"
"""Lock file of a sweep folder; a folder holding only it counts as empty (a sweep killed at start)."""
STALE_AFTER_S = 24 * 3600.0
"""A temporary sibling without a live owner process id is stale after this many seconds."""


def _marked(folder: Path, mark: tuple[str, str]) -> bool:
    """True when `folder/mark[0]` is a regular JSON file holding an object with key `mark[1]`."""
    path = folder / mark[0]
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode) or os.lstat(path).st_size > 256 * 1024**2:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and mark[1] in data


def _refuse(out: str, message: str, expected: str) -> InputError:
    return InputError.single(out, "--out", message, expected)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_out_folder(out: str | Path, mark: tuple[str, str] = RUN_MARK,
                     protect: Iterable[str | Path] = ()) -> Path:
    """Refuse an `--out` the engine must not replace; return it as a Path.

    Allowed: a path that does not exist (its parent is created), an empty folder, or a folder
    with `mark`. Refused: "", ".", the working folder or one of its parents, a symbolic link, a
    file or device, a folder of other files, and any folder holding a path in `protect` (the
    scenario file). Raises InputError (exit 2).
    """
    text = str(out)
    kind = "run" if mark == RUN_MARK else "sweep"
    expected = f"a new folder, an empty folder or a {kind} folder salesops wrote, with its {mark[0]}"
    if text.strip() in ("", ".") or Path(text).name in ("", ".", ".."):
        raise _refuse(text or '""', "not a folder name", expected)
    path = Path(out)
    resolved = path.resolve()
    if _inside(Path.cwd().resolve(), resolved):
        raise _refuse(text, "is the working folder or one of its parents", expected)
    for item in protect:
        if _inside(Path(item).resolve(), resolved):
            raise _refuse(text, f"holds the input file {item}", f"{expected}, away from the inputs")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise _refuse(text, f"cannot be read ({exc.strerror})", expected) from None
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(text, "is a symbolic link", expected)
    if not stat.S_ISDIR(info.st_mode):
        what = "a file" if stat.S_ISREG(info.st_mode) else "a device or special file"
        raise _refuse(text, f"exists and is {what}", expected)
    ignorable = {SWEEP_LOCK} if mark == SWEEP_MARK else set()
    if any(p.name not in ignorable for p in path.iterdir()) and not _marked(path, mark):
        raise _refuse(text, f"exists and is not a {kind} folder (no {mark[0]} from salesops); "
                            "its files are left alone", expected)
    return path


def _owner_alive(name: str) -> bool | None:
    """Whether the process whose id the temporary name carries is alive (None: no id in it)."""
    tail = name.rsplit("-", 2)
    if len(tail) < 3 or not tail[1].isdigit():
        return None
    try:
        os.kill(int(tail[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_siblings(target: Path) -> int:
    """Remove `.NAME.tmp-*` / `.NAME.old-*` siblings of `target` left by killed runs; how many.

    A sibling is stale when the process id in its name is gone, or (names without one) when it is
    older than STALE_AFTER_S: a live concurrent writer's folder is never touched.
    """
    removed = 0
    parent, name = target.parent, target.name
    if not parent.is_dir():
        return 0
    for kind in ("tmp", "old"):
        for sibling in parent.glob(f".{glob_escape(name)}.{kind}-*"):
            alive = _owner_alive(sibling.name)
            try:
                old = time.time() - os.lstat(sibling).st_mtime > STALE_AFTER_S
            except OSError:
                continue
            if alive is False or (alive is None and old):
                _remove(sibling)
                removed += 1
    return removed


def glob_escape(name: str) -> str:
    """`name` with glob wildcards escaped."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _make_temp(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    except OSError as exc:
        raise _refuse(str(target), f"cannot be written ({exc.strerror})",
                      "a folder path you can write to") from None


@contextmanager
def atomic_folder(target: Path, mark: tuple[str, str] = RUN_MARK,
                  protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target`, on error it vanishes.

    `target` must pass `check_out_folder` (checked before and again just before the swap). An
    existing `target` is replaced only once the new folder is complete, so a failed run never
    leaves a half-written or missing result behind where a good one was.
    """
    protect = tuple(protect)
    target = check_out_folder(target, mark, protect)
    clean_stale_siblings(target)
    tmp = _make_temp(target)
    try:
        yield tmp
        check_out_folder(target, mark, protect)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{tmp.name.rsplit('-', 1)[-1]}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
