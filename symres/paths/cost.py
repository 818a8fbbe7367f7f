"""The cost model of the path commands: estimated time and memory checked against a
--budget before any work; exact counts printed at any size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symres.errors import SymresError
from symres.paths._common import non_negative_int

# --------------------------------------------------------------------------- cost model and budget

#: the budget an interactive command (expand, paths) checks its estimate against before any
#: work: a minute and 1 GB, so that no command line runs long or large without being asked to
DEFAULT_BUDGET = "60s,1GB"

#: the budget of the batch commands (sweep, train-paths), whose runs are long by design
BATCH_BUDGET = "600s,2GB"

#: rates the estimates assume: a loaded 2-core machine (pessimistic on purpose)
_GEMM_FLOPS = 2e9  # flop/s of the DP's GEMMs (measured: 0.7–11 on this machine, by load)
_PASS_ELEMENTS = 5e8  # float64 elements/s of an elementwise pass
_BIGINT_WORDS = 3e8  # 30-bit limb operations/s of CPython's big-int arithmetic


@dataclass(frozen=True)
class Budget:
    """Limits on a command's estimated time (seconds) and memory (bytes).

    Written ``SECONDS`` (``60`` or ``60s``), ``SIZE`` (``2GB``, ``512MB``) or both,
    comma-separated (``600s,2GB``); the part not given keeps its default.
    """

    seconds: float = 60.0  # as in DEFAULT_BUDGET
    bytes: float = 2**30

    @classmethod
    def parse(cls, text: str) -> Budget:
        """The budget written in ``text``; SymresError on anything else."""
        seconds, size = cls.seconds, cls.bytes
        units = {"kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40}
        for part in str(text).replace(" ", "").lower().split(","):
            number = part.rstrip("kmgtbs")
            unit = part[len(number) :]
            try:
                value = float(number)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0) or unit not in {"", "s", *units}:
                raise SymresError(f"bad budget {text!r}: write SECONDS, SIZE or both, e.g. 60s, 4GB or 600s,2GB")
            if unit in units:
                size = value * units[unit]
            else:
                seconds = value
        return cls(seconds, size)

    def __str__(self) -> str:
        return f"{_seconds(self.seconds)}, {_bytes(self.bytes)}"


def _seconds(s: float) -> str:
    if s < 120:
        return f"{s:.2g} s" if s < 10 else f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.2g} days"


def _bytes(b: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{max(b, 0) / 2**10:.3g} KB"


@dataclass(frozen=True)
class Cost:
    """An estimate of a command's time (seconds) and peak memory (bytes), made before any
    work from the sizes alone (see the rates `_GEMM_FLOPS` etc.: a loaded 2-core machine)."""

    what: str
    seconds: float
    bytes: float

    def __str__(self) -> str:
        return f"{self.what}: estimated {_seconds(self.seconds)} and {_bytes(self.bytes)}"

    def check(self, budget: Budget, option: str = "--budget") -> None:
        """SymresError (one line, naming ``option``) if the estimate exceeds ``budget``."""
        over = []
        if self.seconds > budget.seconds:
            over.append(f"about {_seconds(self.seconds)} (budget {_seconds(budget.seconds)})")
        if self.bytes > budget.bytes:
            over.append(f"about {_bytes(self.bytes)} of memory (budget {_bytes(budget.bytes)})")
        if over:
            raise SymresError(
                f"{self.what} would take {' and '.join(over)}; refused before starting "
                f"(raise the limit with {option} SECONDS,SIZE, e.g. {option} {_budget_hint(self)})"
            )


def _budget_hint(cost: Cost) -> str:
    s = max(60.0, math.ceil(cost.seconds * 1.5))
    gb = max(2, math.ceil(cost.bytes * 1.5 / 2**30))
    return f"{s:.0f}s,{gb}GB"


def _sum_log2_binomials(L: float) -> float:
    """Σ_k log2 C(L, k) (floats; exact lgamma sum up to 10^5, the asymptote L²/(2 ln 2) beyond)."""
    if L <= 100_000:
        n = int(L)
        k = np.arange(n + 1, dtype=np.float64)
        lg = np.vectorize(math.lgamma, otypes=[np.float64])
        return float((math.lgamma(n + 1) - lg(k + 1) - lg(n - k + 1)).sum() / math.log(2))
    return L * L / (2 * math.log(2))


def counts_cost(L: int, *, exact_text: bool) -> Cost:
    """The cost of `path_counts(L)` (and, with ``exact_text``, of writing every count in
    decimal, which CPython does in time quadratic in the digits)."""
    L = non_negative_int(L)
    bits = _sum_log2_binomials(float(L))
    limbs = bits / 30
    seconds = 2 * limbs / _BIGINT_WORDS + L * 1e-6  # one multiply and one divide per count
    size = bits / 8 + 100 * (L + 1)
    if exact_text:
        # Σ_k D_k² with D_k ≈ digits of C(L, k): bounded by (max digits) · (Σ digits)
        digits = bits * math.log10(2)
        top = max(1.0, L * math.log10(2))
        seconds += top * digits / 2.5e10 + digits / 5e7
        size += 3 * digits
    return Cost(f"the counts C({L},k), k = 0..{L}", seconds, size)


def spectrum_cost(depth: int, width: int, *, mc_samples: int = 1000, mc_lengths: int = 3, drawn: bool = True) -> Cost:
    """The cost of `path_spectrum` at L = depth, d = width: the draw of the J_ℓ (if
    ``drawn``), the DP (L(L+1)d² flops), the full product, and the Monte-Carlo paths."""
    L, d = float(non_negative_int(depth, "depth")), float(non_negative_int(width, "width"))
    n_mc = float(mc_samples) * mc_lengths
    flops = L * (L + 1) * d * d + 2 * L * d * d
    seconds = flops / _GEMM_FLOPS + 6 * L * L * d / _PASS_ELEMENTS
    size = 8 * L * d * d + 8 * 3 * (L + 1) * d
    if drawn:
        seconds += L * d * d / 5e7 + 30 * L * d**3 / _GEMM_FLOPS  # Gaussians, one spectral norm (SVD) each
    if n_mc:
        # masks from n_mc × L keys; each sample's row meets ≈ L/2 blocks at worst (a d×d GEMV each)
        seconds += 3 * n_mc * L / _PASS_ELEMENTS + n_mc * (L / 2) * 2 * d * d / _GEMM_FLOPS
        size += n_mc * L * (8 + 8 + 1) + 2 * 8 * n_mc * d
    return Cost(f"the path spectrum of depth {int(L)}, width {int(d)}", seconds, size)


#: what `format_count` shows of a count with more digits than this
EXACT_DIGITS = 30


def format_count(n: int, digits: int = EXACT_DIGITS) -> str:
    """n in decimal if it has at most ``digits`` digits, else in scientific form with 6
    significant digits, computed exactly (truncated, not rounded) and with the digit
    count: ``1.23456e+4513 (4514 digits)``."""
    if n < 0:
        return "-" + format_count(-n, digits)
    size = n.bit_length() * math.log10(2)
    if size < digits - 1:
        return str(n)
    D = int(size) + 1  # the decimal digit count, give or take one: corrected exactly below
    q = n // 10 ** (D - 6)
    if q >= 10**6:
        D, q = D + 1, q // 10
    elif q < 10**5:
        D, q = D - 1, n // 10 ** (D - 7)
    if D <= digits:
        with _int_text():
            return str(n)
    lead = str(q)
    return f"{lead[0]}.{lead[1:]}e+{D - 1} ({D} digits)"


class _int_text:
    """Context manager: CPython's int↔str digit limit lifted (restored on exit)."""

    def __enter__(self) -> None:
        import sys

        self._old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)

    def __exit__(self, *exc: object) -> None:
        import sys

        sys.set_int_max_str_digits(self._old)


def exact_int_text() -> _int_text:
    """A context in which exact decimal text of integers of any size can be written
    (lifts CPython's 4300-digit int↔str limit inside the block only)."""
    return _int_text()


def counts_latex(L: int, counts: Sequence[int], total: int) -> str:
    """Σ_{k=0}^{L} C(L,k) = c_0 + … + c_L = 2^L as LaTeX, every count exact."""
    with _int_text():
        row = " + ".join(map(str, counts))
        return f"\\sum_{{k=0}}^{{{L}}} \\binom{{{L}}}{{k}} = {row} = {total} = 2^{{{L}}}"
