"""Output files written safely: only onto a regular file or a new path, atomically.

Every file symres writes (`--pdf`, `--plot`, `verify --booklet`) goes through
`replacing(path)`: the target must be a new path or an existing regular file (a symlink
is followed to what it points at); a device, a FIFO, a directory, or a symlink to one is
refused with one line and left untouched. The content is written to a temporary file
beside the target (same directory, so the rename is atomic), given the mode any new
file gets (0666 & ~umask), and renamed over the target; the temporary file is removed
on every exit path, exceptions and Ctrl-C included. Problems with the directory
(missing, not writable, full) are one-line `SymresError`s.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from symres.errors import SymresError

__all__ = ["check_target", "output_directory", "replacing", "write_bytes", "write_text"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_target(path: str | os.PathLike[str]) -> Path:
    """The path symres will write for `path`: path itself, or what a symlink points at.

    Raises SymresError (one line) when the target exists and is not a regular file, when
    a symlink dangles, or when its directory does not exist.
    """
    given = Path(path)
    if str(given) == "":
        raise SymresError("cannot write to an empty file name")
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if given.is_symlink():
            raise SymresError(f"cannot write {given}: it is a symlink to {target}, which does not exist") from None
        st = None
    except OSError as exc:
        raise SymresError(f"cannot write {given}: {_reason(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        via = f" (a symlink to {target})" if target != given else ""
        raise SymresError(f"cannot write {given}{via}: it is {_kind(st.st_mode)}, not a regular file; give a file name")
    parent = target.parent
    if not parent.is_dir():
        raise SymresError(f"cannot write {given}: directory {parent} does not exist")
    return target


def output_directory(path: str | os.PathLike[str]) -> Path:
    """The directory `path`, created (with its parents) if missing; a SymresError (one
    line) when it is something else or cannot be created."""
    given = Path(path)
    if given.exists() and not given.is_dir():
        raise SymresError(f"cannot write into {given}: it exists and is not a directory")
    try:
        given.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SymresError(f"cannot create the directory {given}: {_reason(exc)}") from None
    return given


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends without an exception,
    the temporary file becomes `path` (atomically, mode 0666 & ~umask). The temporary
    file never outlives the block. The target is checked before and again just before
    the rename: a non-regular file there is never replaced."""
    target = check_target(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise SymresError(f"cannot write {path}: directory {target.parent}: {_reason(exc)}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600; an output file is for reading
        _install(tmp, target, path)
    except OSError as exc:
        raise SymresError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:  # pragma: no cover - the directory vanished or became read-only
            pass


def _install(tmp: str, target: Path, given: str | os.PathLike[str]) -> None:
    """Move tmp to target: a hard link for a new path (atomic and never clobbers what
    appeared meanwhile), os.replace over an existing regular file."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        pass
    except OSError as exc:  # a file system without hard links: a checked rename instead
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
    check_target(given)  # something is there now: it must still be a regular file
    os.replace(tmp, target)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write data to path safely (see `replacing`); returns the path written."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write text (UTF-8) to path safely (see `replacing`); returns the path written."""
    return write_bytes(path, text.encode("utf-8"))
