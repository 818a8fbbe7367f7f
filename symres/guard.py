"""Running code symres did not write (a `--block` module, a derivation module) under a guard.

`user_code(what)` turns whatever the code raises (an exception, `SystemExit`, a
`RecursionError`, a `MemoryError`) into a one-line `SymresError` naming `what`;
KeyboardInterrupt passes through. `time_limit(seconds, message)` stops the code after
`seconds` of wall-clock time with a `SymresError(message)` (`symres.budget`: SIGALRM in
the main thread of a Unix process, nesting with other budgets).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from symres import budget
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


@contextmanager
def time_limit(seconds: float | None, message: str) -> Iterator[None]:
    """Raise SymresError(message) when the block runs longer than `seconds` (None or 0:
    no limit). Built on `symres.budget.time_limit`, so it nests with the claim engine's
    own budgets (SIGALRM in the main thread; elsewhere only the cost checks apply)."""
    if not seconds or seconds <= 0:
        yield
        return
    try:
        with budget.time_limit(seconds, TimeLimitExceeded):
            yield
    except TimeLimitExceeded:
        raise SymresError(message) from None
