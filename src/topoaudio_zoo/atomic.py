"""Atomic file writes: every file the package writes goes through :func:`atomic_path`.

A writer gets a unique temporary name beside the target (same folder, so the final rename
stays on one file system). When the block ends without an exception the file is flushed to
disk (``fsync``) and renamed over the target in one step; when it raises, the temporary file is
deleted. The folder is flushed after the rename, so the new name survives a power cut.
Readers therefore see either the old file or a complete new one, never a mix, and two
concurrent writers to one target each write their own copy: the last rename wins whole.
Disk-full and read-only errors are re-raised naming the target path.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]

_PATH_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EDQUOT: "disk quota exceeded",
}


def _named(err: OSError, target: Path) -> OSError:
    reason = _PATH_ERRORS.get(err.errno or 0, err.strerror or str(err))
    return type(err)(err.errno, f"cannot write {target}: {reason}")


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entry of the renamed file (best effort: not every OS opens folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temporary path beside ``target``; rename it to ``target`` on success.

    Args:
        target: the file to (re)write; its folder must exist.
        suffix: extension given to the temporary name (some writers infer the format from it).

    Raises:
        OSError: naming ``target`` when the folder is read-only, full or not writable.
    """
    target = Path(target)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f"{suffix}.partial", dir=target.parent
        )
    except OSError as err:
        raise _named(err, target) from err
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _named(err, target) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`)."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(target, text.encode("utf-8"))
