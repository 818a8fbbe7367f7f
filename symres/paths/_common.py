"""What every part of symres.paths shares: the depth limit, the band definition, array types, and the reading of a depth."""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from symres.errors import SymresError

#: Explicit (term-by-term) expansion is refused beyond this depth: 2^20 ≈ 10^6 terms.
MAX_EXPLICIT_DEPTH = 20

#: How `effective_band` is defined; printed with every band.
BAND_DEFINITION = (
    "the shortest contiguous range of path lengths [a, b] whose sum of ‖g_k‖ over a ≤ k ≤ b "
    "is at least {threshold:g} of the sum of ‖g_k‖ over all k "
    "(norms of the per-length components, not of their sum; ties go to the larger share)"
)

Float64Array = NDArray[np.float64]
ProgressFn = Callable[[int, int], None]


def non_negative_int(value: object, name: str = "L") -> int:
    """`value` as a non-negative int, or a one-line SymresError naming `name` (bool and
    non-integers are refused)."""
    if isinstance(value, bool):
        raise SymresError(f"{name} must be a non-negative integer, got {value!r}")
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise SymresError(f"{name} must be a non-negative integer, got {value!r}") from None
    if n < 0:
        raise SymresError(f"{name} must be a non-negative integer, got {n}")
    return int(n)
