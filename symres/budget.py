"""Time budgets: a computation that runs past its deadline is interrupted by an exception.

``with time_limit(20.0, OutOfTime):`` arms a real-time timer (SIGALRM) when called in the
main thread; when it fires, the given exception class is raised wherever Python code is
running. Limits nest: an inner limit (the prover's share) raises its own exception, the
outer one still holds. Off the main thread no signal can be used and `time_limit` only
records the deadline; long loops call `tick()`, which raises once it has passed.
Arbitrarily long C-level work (a huge integer power) cannot be interrupted: the cost
analysis (`symres.claims` budget checks) refuses it before it starts.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OutOfTime", "time_limit", "tick", "remaining"]


class OutOfTime(BaseException):
    """The time budget ran out (a BaseException, so that no ``except Exception`` of the
    interrupted code can swallow it)."""


_stack: list[tuple[float, type[BaseException]]] = []


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _arm() -> None:
    if not _main_thread():
        return
    if not _stack:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    when = min(d for d, _ in _stack)
    signal.setitimer(signal.ITIMER_REAL, max(when - time.monotonic(), 1e-3))


def _expired() -> type[BaseException] | None:
    now = time.monotonic()
    due = [(d, exc) for d, exc in _stack if d <= now + 1e-3]
    return min(due, key=lambda x: x[0])[1] if due else None


#: after a deadline's exception is raised, the timer fires again this soon: if the signal
#: landed in a callback that cannot raise (a weakref callback during garbage collection),
#: the exception was dropped, and it must be raised again where it can propagate
_RETRY = 0.05


def _on_alarm(signum: int, frame: object) -> None:
    exc = _expired()
    if exc is None:
        _arm()
        return
    signal.setitimer(signal.ITIMER_REAL, _RETRY)
    raise exc()


def _quiet_hook(previous: object) -> object:
    """An unraisable hook that drops the exceptions of the time limits (raised into a
    callback that cannot propagate them: the timer raises them again, see `_RETRY`) and
    passes everything else to ``previous``."""

    def hook(unraisable: object) -> None:
        value = getattr(unraisable, "exc_value", None)
        if any(isinstance(value, exc) for _, exc in _stack):
            return
        previous(unraisable)  # type: ignore[operator]

    return hook


def tick() -> None:
    """Raise the exception of a passed deadline (for loops that run off the main thread)."""
    exc = _expired()
    if exc is not None:
        raise exc()


def remaining() -> float:
    """Seconds left before the nearest deadline (inf without one)."""
    if not _stack:
        return float("inf")
    return min(d for d, _ in _stack) - time.monotonic()


@contextmanager
def time_limit(seconds: float, exc: type[BaseException] = OutOfTime) -> Iterator[None]:
    """Raise ``exc`` inside the block once ``seconds`` have passed."""
    entry = (time.monotonic() + seconds, exc)
    main = _main_thread()
    previous = signal.signal(signal.SIGALRM, _on_alarm) if main and not _stack else None
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_hook(hook)  # type: ignore[assignment]
    _stack.append(entry)
    try:
        _arm()
        yield
    finally:
        _stack.remove(entry)
        sys.unraisablehook = hook
        if main:
            _arm()
            if not _stack and previous is not None:
                signal.signal(signal.SIGALRM, previous)
