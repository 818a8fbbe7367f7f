"""Running code symres did not write (a `--block` module, a derivation module) under a guard.

`user_code(what)` turns whatever the code raises (an exception, `SystemExit`, a
`RecursionError`, a `MemoryError`) into a one-line `SymresError` naming `what`;
KeyboardInterrupt passes through. `time_limit(seconds, message)` stops the code after
`seconds` of wall-clock time with a `SymresError(message)` (SIGALRM, so only in the main
thread of a Unix process; elsewhere the code runs without a limit).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from symres.errors import SymresError

__all__ = ["describe", "time_limit", "user_code", "TimeLimitExceeded"]


class TimeLimitExceeded(BaseException):
    """Raised inside guarded code when its time is up: a BaseException, so that the
    code's own `except Exception:` cannot swallow it."""


def describe(exc: BaseException) -> str:
    """One line saying what an exception of user code was."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    if isinstance(exc, RecursionError):
        return "recursed without end (RecursionError: maximum recursion depth exceeded)"
    if isinstance(exc, MemoryError):
        return "ran out of memory (MemoryError)"
    detail = " ".join(str(exc).split())
    return f"raised {type(exc).__name__}" + (f": {detail}" if detail else "")


@contextmanager
def user_code(what: str) -> Iterator[None]:
    """Run the block's code; anything it raises but Ctrl-C becomes SymresError('what …')."""
    try:
        yield
    except (SymresError, KeyboardInterrupt, TimeLimitExceeded):
        raise
    except (Exception, SystemExit) as exc:  # SystemExit is no Exception: named on purpose
        raise SymresError(f"{what} {describe(exc)}") from None


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None, message: str) -> Iterator[None]:
    """Raise SymresError(message) when the block runs longer than `seconds` (None or 0:
    no limit). Limits do not nest: the block must not start another one."""
    if not seconds or seconds <= 0 or not _can_alarm():
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded(message)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except TimeLimitExceeded:
        raise SymresError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
