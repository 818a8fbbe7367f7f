"""Stacks of residual blocks: ∏(I + J_ℓ) over subsets, path counts, path-length spectra.

Conventions (DESIGN.md): a stack h_ℓ = h_{ℓ-1} + F_ℓ(h_{ℓ-1}), ℓ = 1..L, has the
numerator-layout Jacobian ∂h_L/∂h_0 = (I + J_L) ⋯ (I + J_1) with J_ℓ = ∂F_ℓ/∂h_{ℓ-1}:
later blocks stand to the LEFT and the J_ℓ do not commute. Expanding the product gives
one term per subset S = {s_1 < ⋯ < s_k} ⊆ {1..L}, the ordered product

    J_S := J_{s_k} ⋯ J_{s_1}        (J_∅ := I),

so ∏(I + J_ℓ) = Σ_S J_S, with C(L, k) terms of length k and 2^L terms in all. The
gradient of a scalar loss is a row vector, ∂ℒ/∂h_0 = g · (I + J_L) ⋯ (I + J_1) with
g = ∂ℒ/∂h_L, and its length-k component is g_k := g · Σ_{|S|=k} J_S.

Term order, everywhere in this module: by length k, then the subsets of each length in
lexicographic order of (s_1, …, s_k) (the order of itertools.combinations). A path word
(seed 001, Problem 2) is written in BLOCK order 1..L, position ℓ holding ``J{ℓ}`` if
ℓ ∈ S and ``I`` otherwise (``J1IJ3`` is S = {1, 3}); a product is written in PRODUCT
order, later block left (``J_3 J_1`` for the same S).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy
from numpy.typing import ArrayLike, NDArray
from sympy.core.basic import Basic
from sympy.matrices.expressions import Identity, MatAdd, MatMul, MatrixExpr, MatrixSymbol

from symres.errors import SymresError

__all__ = [
    "MAX_EXPLICIT_DEPTH",
    "BAND_DEFINITION",
    "PathTerm",
    "ExpansionCheck",
    "DerivationStep",
    "MonteCarloEstimate",
    "PathSpectrum",
    "dimension_symbol",
    "jacobian_symbols",
    "path_subsets",
    "path_word",
    "path_words",
    "path_terms",
    "path_counts",
    "total_paths",
    "checked_counts",
    "COUNTS_CHECK",
    "DEFAULT_BUDGET",
    "Budget",
    "Cost",
    "counts_cost",
    "spectrum_cost",
    "format_count",
    "exact_int_text",
    "counts_latex",
    "typeset_expansion",
    "expansion_latex",
    "product_expression",
    "expand_product",
    "expand_by_length",
    "expansion_indices",
    "expansion_terms",
    "check_expansion",
    "count_steps",
    "induction_steps",
    "random_stack",
    "path_components",
    "full_product",
    "effective_band",
    "monte_carlo_components",
    "path_spectrum",
    "plot_spectrum",
    "plot_spectra",
    "spectrum_rows",
    "COMPONENT_DEFINITION",
    "STACK_JACOBIAN",
]

#: Explicit (term-by-term) expansion is refused beyond this depth: 2^20 ≈ 10^6 terms.
MAX_EXPLICIT_DEPTH = 20

#: How `effective_band` is defined; printed with every band.
BAND_DEFINITION = (
    "the shortest contiguous range of path lengths [a, b] whose sum of ||g_k|| over a <= k <= b "
    "is at least {threshold:g} of the sum of ||g_k|| over all k "
    "(norms of the per-length components, not of their sum; ties go to the larger share)"
)

Float64Array = NDArray[np.float64]
ProgressFn = Callable[[int, int], None]


def _depth(value: object, name: str = "L") -> int:
    """value as a non-negative int (bool and non-integers refused with SymresError)."""
    if isinstance(value, bool):
        raise SymresError(f"{name} must be a non-negative integer, got {value!r}")
    try:
        n = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise SymresError(f"{name} must be a non-negative integer, got {value!r}") from None
    if n < 0:
        raise SymresError(f"{name} must be a non-negative integer, got {n}")
    return int(n)


# --------------------------------------------------------------------------- subsets, words, counts


def dimension_symbol() -> sympy.Symbol:
    """The default symbolic width ``d`` (a plain ``sympy.Symbol('d')``)."""
    return sympy.Symbol("d")


def jacobian_symbols(L: int, d: int | sympy.Expr | None = None) -> tuple[MatrixSymbol, ...]:
    """(J_1, …, J_L) as d×d ``MatrixSymbol``s named ``J_1`` … ``J_L`` (d defaults to ``d``)."""
    L = _depth(L)
    dim = dimension_symbol() if d is None else sympy.sympify(d)
    return tuple(MatrixSymbol(f"J_{l}", dim, dim) for l in range(1, L + 1))


def path_subsets(L: int, k: int | None = None) -> Iterator[tuple[int, ...]]:
    """The subsets S ⊆ {1..L} as ascending tuples, by length then lexicographically.

    Streams (2^L subsets, or C(L, k) if k is given) without building a list.

    >>> list(path_subsets(3))
    [(), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3), (1, 2, 3)]
    """
    L = _depth(L)
    lengths: Sequence[int] = range(L + 1) if k is None else [_depth(k, "k")]
    for n in lengths:
        yield from itertools.combinations(range(1, L + 1), n)


def path_word(subset: Sequence[int], L: int) -> str:
    """The path word of S in block order 1..L: ``J{ℓ}`` where ℓ ∈ S, ``I`` elsewhere.

    >>> path_word((1, 3), 3)
    'J1IJ3'
    """
    parts, prev = [], 0
    for s in sorted(subset):
        if not prev < s <= L:
            raise SymresError(f"subset {tuple(subset)} is not a set inside {{1..{L}}}")
        parts.append("I" * (s - prev - 1) + f"J{s}")
        prev = s
    parts.append("I" * (L - prev))
    return "".join(parts)


def path_words(L: int) -> Iterator[str]:
    """All 2^L path words, streamed, in term order (seed 001, Problem 2).

    >>> list(path_words(3))
    ['III', 'J1II', 'IJ2I', 'IIJ3', 'J1J2I', 'J1IJ3', 'IJ2J3', 'J1J2J3']
    """
    L = _depth(L)
    for subset in path_subsets(L):
        yield path_word(subset, L)


@dataclass(frozen=True)
class PathTerm:
    """One term J_S of the expansion of ∏_{ℓ=1}^{L}(I + J_ℓ).

    ``subset`` is S ascending; ``factors`` the factor names in product order (later block
    left; ``()`` is the identity I); ``word`` the path word in block order 1..L.
    """

    subset: tuple[int, ...]
    depth: int

    @property
    def length(self) -> int:
        return len(self.subset)

    @property
    def factors(self) -> tuple[str, ...]:
        return tuple(f"J_{s}" for s in reversed(self.subset))

    @property
    def word(self) -> str:
        return path_word(self.subset, self.depth)


def path_terms(L: int) -> Iterator[PathTerm]:
    """All 2^L terms of the expansion as `PathTerm`s, streamed in term order."""
    L = _depth(L)
    for subset in path_subsets(L):
        yield PathTerm(subset, L)


def path_counts(L: int) -> list[int]:
    """[C(L, 0), …, C(L, L)]: the number of paths of each length, exact Python ints.

    >>> path_counts(4)
    [1, 4, 6, 4, 1]
    """
    L = _depth(L)
    row = [1]
    for k in range(L):
        row.append(row[-1] * (L - k) // (k + 1))
    return row


def total_paths(L: int) -> int:
    """2^L, the number of subsets of {1..L} (exact)."""
    return 1 << _depth(L)


#: how `checked_counts` checks the counts
COUNTS_CHECK = "the counts C(L,k) (multiplicative recurrence) sum to 2^L, checked in exact integer arithmetic"


def checked_counts(L: int) -> tuple[list[int], int, bool]:
    """(C(L,0..L), 2^L, whether the counts sum to 2^L): exact integers, see COUNTS_CHECK."""
    counts, total = path_counts(L), total_paths(L)
    return counts, total, sum(counts) == total


# --------------------------------------------------------------------------- cost model and budget

#: the budget every command that can run long checks its estimate against (before any work)
DEFAULT_BUDGET = "600s,2GB"

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

    seconds: float = 600.0  # as in DEFAULT_BUDGET
    bytes: float = 2 * 2**30

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
    s = max(600.0, math.ceil(cost.seconds * 1.5))
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
    L = _depth(L)
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
    L, d = float(_depth(depth, "depth")), float(_depth(width, "width"))
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


# --------------------------------------------------------------------------- symbolic expansion


def _ordered_product(factors: Sequence[MatrixExpr], dim: sympy.Expr) -> MatrixExpr:
    """J_{s_k} ⋯ J_{s_1} as given (factors already in product order), I if empty.

    ``Basic.__new__`` builds exactly the object ``MatMul(*factors)`` returns (the tests
    assert the equality) without re-validating shapes that agree by construction.
    """
    if not factors:
        return Identity(dim)
    if len(factors) == 1:
        return factors[0]
    return Basic.__new__(MatMul, *factors)


def _sum(terms: Sequence[MatrixExpr]) -> MatrixExpr:
    """MatAdd of terms in the given order (one term: the term itself)."""
    if len(terms) == 1:
        return terms[0]
    return Basic.__new__(MatAdd, *terms)


def product_expression(L: int, d: int | sympy.Expr | None = None) -> MatrixExpr:
    """The unexpanded (I + J_L) ⋯ (I + J_1), later block left (I for L = 0)."""
    J = jacobian_symbols(L, d)
    dim = dimension_symbol() if d is None else sympy.sympify(d)
    factors = [Basic.__new__(MatAdd, Identity(dim), j) for j in reversed(J)]
    return _ordered_product(factors, dim)


def expand_by_length(L: int, d: int | sympy.Expr | None = None) -> dict[int, MatrixExpr]:
    """{k: Σ_{|S|=k} J_S} for k = 0..L, each a MatAdd in term order (built combinatorially)."""
    L = _depth(L)
    if L > 26:
        raise SymresError(f"explicit expansion of depth {L} has 2^{L} terms; use path_counts")
    J = jacobian_symbols(L, d)
    dim = dimension_symbol() if d is None else sympy.sympify(d)
    groups: dict[int, MatrixExpr] = {}
    for k in range(L + 1):
        terms = [_ordered_product([J[s] for s in reversed(S)], dim) for S in itertools.combinations(range(L), k)]
        groups[k] = _sum(terms)
    return groups


def expand_product(L: int, d: int | sympy.Expr | None = None) -> MatrixExpr:
    """∏_{ℓ=1}^{L}(I + J_ℓ) expanded: Σ_S J_S as one flat MatAdd of 2^L terms.

    Terms stand in term order (length 0, 1, …, L; lexicographic in S within a length),
    each J_S = J_{s_k} ⋯ J_{s_1} with the later block on the left. The terms are
    generated combinatorially, not by ``sympy.expand``. For L = 0 the result is I.
    Print with ``order='none'`` (SymPy's str/latex printers otherwise sort the terms).

    >>> from sympy import sstr
    >>> sstr(expand_product(2), order="none")
    'I + J_1 + J_2 + J_2*J_1'
    """
    L = _depth(L)
    groups = expand_by_length(L, d)
    terms: list[MatrixExpr] = []
    for k in range(L + 1):
        g = groups[k]
        terms.extend(g.args if isinstance(g, MatAdd) else (g,))
    return _sum(terms)


def expansion_indices(expr: MatrixExpr, L: int) -> list[tuple[int, ...]]:
    """Read an expansion of depth L back: each term's block indices in product order
    (``(3, 1)`` for J_3 J_1, ``()`` for I), in the order the terms stand in ``expr``.

    Every term must be I, a J_ℓ, or an ordered product J_{s_k} ⋯ J_{s_1} with
    s_k > ⋯ > s_1 in 1..L (later block left); anything else raises SymresError naming it.
    """
    L = _depth(L)
    index = {f"J_{l}": l for l in range(1, L + 1)}
    by_id: dict[int, int] = {}  # id of a factor object (alive in expr) -> its block index
    out: list[tuple[int, ...]] = []
    for t in expr.args if isinstance(expr, MatAdd) else (expr,):
        if isinstance(t, Identity):
            out.append(())
            continue
        factors = t.args if type(t) is MatMul else (t,)
        try:
            idx = tuple(map(by_id.__getitem__, map(id, factors)))
        except KeyError:
            for f in factors:
                if type(f) is not MatrixSymbol or f.name not in index:
                    raise SymresError(f"unsupported term in an expansion of depth {L}: {type(t).__name__} {t}") from None
                by_id[id(f)] = index[f.name]
            idx = tuple(map(by_id.__getitem__, map(id, factors)))
        if len(idx) > 1 and (idx != tuple(sorted(idx, reverse=True)) or len(set(idx)) != len(idx)):
            raise SymresError(f"the term {t} is not in product order (later block left)")
        out.append(idx)
    return out


def _dim_of(expr: MatrixExpr) -> sympy.Expr:
    return sympy.sympify(expr.shape[0])


def expansion_terms(expr: MatrixExpr, L: int) -> list[PathTerm]:
    """The terms of an expansion of depth L as `PathTerm`s, in the order they stand in
    ``expr`` (see `expansion_indices`)."""
    return [PathTerm(idx[::-1], L) for idx in expansion_indices(expr, L)]


@dataclass(frozen=True)
class ExpansionCheck:
    """A numeric check of an expansion: Σ_S J_S against (I + J_L) ⋯ (I + J_1).

    The J_ℓ are d×d standard Gaussian, scaled to spectral norm ``norm`` (seeded with
    numpy.random.default_rng(seed)); ``max_error`` is the largest Frobenius-norm error
    relative to the product over ``trials`` instances; ``terms`` counts the terms read
    from the expression.
    """

    depth: int
    terms: int
    d: int
    trials: int
    seed: int
    norm: float
    max_error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.terms == total_paths(self.depth) and self.max_error <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "numeric",
            "what": "sum of the printed terms vs (I+J_L)...(I+J_1) for random J",
            "terms": self.terms,
            "terms_expected": total_paths(self.depth),
            "d": self.d,
            "trials": self.trials,
            "seed": self.seed,
            "norm": self.norm,
            "max_rel_error": self.max_error,
            "tolerance": self.tolerance,
            "passed": self.passed,
        }


def check_expansion(expr: MatrixExpr, L: int, *, d: int = 3, trials: int = 3, seed: int = 0, norm: float = 0.9) -> ExpansionCheck:
    """Evaluate the terms of ``expr`` (read back from the SymPy object) with random J_ℓ
    and compare their sum with the product (I + J_L) ⋯ (I + J_1) computed directly.

    Terms of equal length are evaluated as one batched product, so L = 20 (10^6 terms)
    takes about a second.
    """
    L = _depth(L)
    idx_terms = expansion_indices(expr, L)
    rng = np.random.default_rng(seed)
    mats = rng.standard_normal((trials, max(L, 1), d, d))
    mats *= norm / np.linalg.norm(mats, ord=2, axis=(2, 3))[..., None, None]
    eye = np.broadcast_to(np.eye(d), (trials, d, d))
    direct = eye.copy()
    for l in range(L):  # left-multiply by the later block
        direct = (eye + mats[:, l]) @ direct
    by_len: dict[int, list[tuple[int, ...]]] = {}
    for idx in idx_terms:
        by_len.setdefault(len(idx), []).append(idx)
    total = np.zeros((trials, d, d))
    for k, rows in by_len.items():
        if k == 0:
            total += len(rows) * eye
            continue
        arr = np.asarray(rows) - 1  # (n, k): 0-based block indices in product order
        prod = mats[:, arr[:, 0]]  # (trials, n, d, d)
        for j in range(1, k):
            prod = prod @ mats[:, arr[:, j]]
        total += prod.sum(axis=1)
    err = np.linalg.norm(total - direct, axis=(1, 2)) / np.linalg.norm(direct, axis=(1, 2))
    return ExpansionCheck(L, len(idx_terms), d, trials, seed, norm, float(err.max()), 1e-10 * (L + 1))


# --------------------------------------------------------------------------- typesetting


def typeset_expansion(L: int, terms: Sequence[PathTerm], *, latex: bool) -> tuple[str, dict[int, list[str]]]:
    """The left side (I + J_L)⋯(I + J_1) and every term, typeset by the project's printers
    (`symres.latex.latex` if ``latex``, else `symres.render.text`): ({k: [term, …]} by
    length, in the order given). Each term J_S = J_{s_k}⋯J_{s_1} is its factors in product
    order (later block left), one printed atom each, joined as MatMul prints; I for S = ∅."""
    from symres.latex import latex as latex_printer
    from symres.render import text

    fmt: Callable[[Any], str] = latex_printer if latex else text
    atom = [fmt(product_expression(0))] + [fmt(j) for j in jacobian_symbols(L)]
    by_len: dict[int, list[str]] = {}
    for t in terms:
        by_len.setdefault(t.length, []).append(" ".join(atom[s] for s in reversed(t.subset)) if t.subset else atom[0])
    return fmt(product_expression(L)), by_len


def product_words(L: int, terms: Sequence[PathTerm]) -> dict[int, list[str]]:
    """Each path written as its term reads, in product order (later block left), with I
    where the path skips a block's branch: IJ₁ and J₂I for L = 2. By length k, in the
    order given (the order of `typeset_expansion`)."""
    from symres.render import text

    atom = [""] + [text(j) for j in jacobian_symbols(L)]
    words: dict[int, list[str]] = {}
    for t in terms:
        subset = set(t.subset)
        words.setdefault(t.length, []).append("".join(atom[j] if j in subset else "I" for j in range(L, 0, -1)) or "I")
    return words


def expansion_latex(L: int, terms: Sequence[PathTerm], *, grouped: bool = False) -> str:
    """∏(I + J_ℓ) = Σ_S J_S as LaTeX: one line, or (``grouped``) an aligned block with
    one row per length k under \\underbrace{…}_{\\binom{L}{k} = C(L,k)}."""
    lhs, by_len = typeset_expansion(L, terms, latex=True)
    if not grouped:
        return f"{lhs} = {' + '.join(t for k in sorted(by_len) for t in by_len[k])}"
    counts = path_counts(L)
    rhs = " \\\\\n  &+ ".join(
        f"\\underbrace{{{' + '.join(by_len[k])}}}_{{\\binom{{{L}}}{{{k}}} = {counts[k]}}}" for k in sorted(by_len)
    )
    return f"\\begin{{aligned}}\n{lhs}\n  &= {rhs}\n\\end{{aligned}}"


# --------------------------------------------------------------------------- closed form for symbolic L


@dataclass(frozen=True)
class DerivationStep:
    """One step of a derivation as plain data: the equation, why it holds, how it was checked.

    ``check`` is ``'symbolic'`` (``sympy_result`` holds what SymPy returned) or
    ``'numeric'`` (``trials``, ``max_error``, ``seed`` describe the comparison).
    """

    latex: str
    reason: str
    check: Literal["symbolic", "numeric"]
    sympy_result: str | None = None
    trials: int | None = None
    max_error: float | None = None
    seed: int | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        """Symbolic: SymPy returned 0 or True. Numeric: max_error ≤ 1e-9 (0 for exact counts)."""
        if self.check == "symbolic":
            ok = self.sympy_result in {"0", "True"}
            return ok and (self.max_error is None or self.max_error <= 1e-9)
        return self.max_error is not None and self.max_error <= 1e-9

    def as_dict(self) -> dict[str, Any]:
        return {
            "latex": self.latex,
            "reason": self.reason,
            "check": self.check,
            "sympy_result": self.sympy_result,
            "trials": self.trials,
            "max_error": self.max_error,
            "seed": self.seed,
            "note": self.note,
        }


_L, _K = sympy.symbols("L k", integer=True, nonnegative=True)


def _pascal_residual() -> sympy.Expr:
    """simplify(C(L+1, k) − C(L, k) − C(L, k−1)) for symbolic integers L, k ≥ 0."""
    return sympy.simplify(sympy.binomial(_L + 1, _K) - sympy.binomial(_L, _K) - sympy.binomial(_L, _K - 1))


def count_steps(*, max_depth: int = 12) -> list[DerivationStep]:
    """Σ_k C(L, k) = 2^L for symbolic L, as derivation steps (plain data).

    Step 1 counts the length-k subsets by enumeration for L = 0..max_depth (exact
    integers); step 2 asks SymPy for Σ_{k=0}^{L} binomial(L, k) with L symbolic.
    """
    worst = 0
    for n in range(max_depth + 1):
        counted = [0] * (n + 1)
        for S in path_subsets(n):
            counted[len(S)] += 1
        worst = max(worst, max(abs(a - b) for a, b in zip(counted, path_counts(n))))
        worst = max(worst, abs(sum(counted) - total_paths(n)))
    total = sympy.summation(sympy.binomial(_L, _K), (_K, 0, _L))
    residual = sympy.simplify(total - 2**_L)
    return [
        DerivationStep(
            latex=r"\#\{S \subseteq \{1,\dots,L\} : |S| = k\} = \binom{L}{k}",
            reason="a length-k path chooses the k blocks that take J_ℓ; the ordered product J_S is fixed by S",
            check="numeric",
            trials=max_depth + 1,
            max_error=float(worst),
            seed=None,
            note=f"subsets enumerated for L = 0..{max_depth}, counts compared with math.comb exactly",
        ),
        DerivationStep(
            latex=r"\sum_{k=0}^{L} \binom{L}{k} = 2^{L}",
            reason="every subset has exactly one length; the binomial theorem at x = y = 1",
            check="symbolic",
            sympy_result=str(residual),
            note=f"sympy.summation(binomial(L, k), (k, 0, L)) returned {total}; simplify(result - 2**L) = {residual}",
        ),
    ]


def _numeric_product_check(L_values: Sequence[int], d: int, trials: int, seed: int) -> tuple[float, float, float]:
    """Max relative errors of the three induction identities for random J at each L."""
    rng = np.random.default_rng(seed)
    e_split = e_distrib = e_subsets = 0.0
    for n in L_values:
        for _ in range(trials):
            J = rng.standard_normal((n + 1, d, d))
            J *= 0.9 / np.linalg.norm(J, ord=2, axis=(1, 2))[:, None, None]
            eye = np.eye(d)
            P_L = eye.copy()
            for l in range(n):
                P_L = (eye + J[l]) @ P_L
            P_next = eye.copy()  # associated the other way: from the loss side
            for l in range(n, -1, -1):
                P_next = P_next @ (eye + J[l])
            split = (eye + J[n]) @ P_L
            distrib = P_L + J[n] @ P_L
            subsets_sum = np.zeros((d, d))
            for S in path_subsets(n + 1):
                term = eye.copy()
                for s in S:  # ascending: each later block multiplies on the left
                    term = J[s - 1] @ term
                subsets_sum += term
            scale = np.linalg.norm(P_next)
            e_split = max(e_split, float(np.linalg.norm(split - P_next) / scale))
            e_distrib = max(e_distrib, float(np.linalg.norm(distrib - P_next) / scale))
            e_subsets = max(e_subsets, float(np.linalg.norm(subsets_sum - P_next) / scale))
    return e_split, e_distrib, e_subsets


def induction_steps(*, max_depth: int = 6, d: int = 3, trials: int = 5, seed: int = 0) -> list[DerivationStep]:
    """The induction ∏_{ℓ≤L+1}(I+J_ℓ) = (I+J_{L+1}) ∏_{ℓ≤L}(I+J_ℓ) = Σ_{S⊆[L+1]} J_S, and
    Pascal's rule C(L+1, k) = C(L, k) + C(L, k−1) for symbolic L, k, as plain-data steps.

    Matrix identities are checked numerically (random J_ℓ scaled to spectral norm 0.9,
    L = 0..max_depth, ``trials`` instances each, seed ``seed``) and, where SymPy can
    compare the objects, structurally: the expansion at L+1 is the expansion at L
    followed by J_{L+1} times each of its terms, for L = 0..max_depth.
    """
    L_values = list(range(max_depth + 1))
    e_split, e_distrib, e_subsets = _numeric_product_check(L_values, d, trials, seed)
    n_trials = len(L_values) * trials

    base = expand_product(0)
    base_ok = base == Identity(dimension_symbol())

    structural = True
    for n in L_values:
        lower = expand_product(n)
        lower_terms = lower.args if isinstance(lower, MatAdd) else (lower,)
        J_next = jacobian_symbols(n + 1)[-1]
        lifted = [
            J_next if isinstance(t, Identity) else MatMul(J_next, *(t.args if isinstance(t, MatMul) else (t,)))
            for t in lower_terms
        ]
        upper = expand_product(n + 1)
        upper_terms = upper.args if isinstance(upper, MatAdd) else (upper,)
        structural &= sorted(map(str, upper_terms)) == sorted(map(str, list(lower_terms) + lifted))
        structural &= len(upper_terms) == 2 * len(lower_terms)

    pascal = _pascal_residual()
    pascal_exact = all(
        math.comb(n + 1, k) == math.comb(n, k) + (math.comb(n, k - 1) if k >= 1 else 0) for n in range(41) for k in range(n + 2)
    )
    doubling = sympy.simplify(
        sympy.summation(sympy.binomial(_L + 1, _K), (_K, 0, _L + 1)) - 2 * sympy.summation(sympy.binomial(_L, _K), (_K, 0, _L))
    )
    J_S = r"J_{S}"
    return [
        DerivationStep(
            latex=r"\prod_{\ell=1}^{0}\left(I + J_{\ell}\right) = I = \sum_{S \subseteq \emptyset} " + J_S,
            reason="base case: the empty product is I, and the only subset of the empty set gives J_∅ = I",
            check="symbolic",
            sympy_result=str(base_ok),
            note="expand_product(0) == Identity(d)",
        ),
        DerivationStep(
            latex=r"\prod_{\ell=1}^{L+1}\left(I + J_{\ell}\right) = "
            r"\left(I + J_{L+1}\right)\prod_{\ell=1}^{L}\left(I + J_{\ell}\right)",
            reason="∂h_{L+1}/∂h_0 = ∂h_{L+1}/∂h_L · ∂h_L/∂h_0: the later block stands to the left",
            check="numeric",
            trials=n_trials,
            max_error=e_split,
            seed=seed,
            note=f"L = 0..{max_depth}, d = {d}, ||J|| = 0.9",
        ),
        DerivationStep(
            latex=r"= \prod_{\ell=1}^{L}\left(I + J_{\ell}\right) + J_{L+1}\prod_{\ell=1}^{L}\left(I + J_{\ell}\right)",
            reason="distributivity (left multiplication; no factor is moved past another)",
            check="numeric",
            trials=n_trials,
            max_error=e_distrib,
            seed=seed,
            note=f"L = 0..{max_depth}, d = {d}, ||J|| = 0.9",
        ),
        DerivationStep(
            latex=r"= \sum_{S \subseteq \{1..L\}} J_{S} + \sum_{S \subseteq \{1..L\}} J_{L+1} J_{S}"
            r" = \sum_{\substack{S \subseteq \{1..L+1\}\\ L+1 \notin S}} J_{S}"
            r" + \sum_{\substack{S \subseteq \{1..L+1\}\\ L+1 \in S}} J_{S}"
            r" = \sum_{S \subseteq \{1..L+1\}} J_{S}",
            reason=(
                "induction hypothesis; L+1 exceeds every index in S, so J_{L+1} J_S = J_{S ∪ {L+1}} "
                "keeps the product order, and S ↦ S ∪ {L+1} is a bijection onto the subsets containing L+1"
            ),
            check="symbolic",
            sympy_result=str(structural),
            trials=n_trials,
            max_error=e_subsets,
            seed=seed,
            note=(
                f"SymPy terms of expand_product(L+1) equal those of expand_product(L) plus J_(L+1)·each, "
                f"L = 0..{max_depth}; numerically Σ_S J_S vs the product, max rel error {e_subsets:.1e}"
            ),
        ),
        DerivationStep(
            latex=r"\binom{L+1}{k} = \binom{L}{k} + \binom{L}{k-1}",
            reason="the length-k subsets of {1..L+1} are those without L+1 (k of L) and those with it (k−1 of L)",
            check="symbolic",
            sympy_result=str(pascal),
            note=(
                f"simplify(binomial(L+1,k) - binomial(L,k) - binomial(L,k-1)) = {pascal} for symbolic integers L, k >= 0; "
                f"exact integers L = 0..40: {pascal_exact}"
            ),
        ),
        DerivationStep(
            latex=r"\sum_{k=0}^{L+1}\binom{L+1}{k} = 2\sum_{k=0}^{L}\binom{L}{k} = 2^{L+1}",
            reason="summing Pascal's rule over k; with the base 2^0 = 1 this is Σ_k C(L,k) = 2^L",
            check="symbolic",
            sympy_result=str(doubling),
            note="simplify(summation(binomial(L+1,k),(k,0,L+1)) - 2*summation(binomial(L,k),(k,0,L)))",
        ),
    ]


# --------------------------------------------------------------------------- the path-length spectrum


def random_stack(depth: int, width: int, *, norm: float = 0.5, seed: int = 0) -> tuple[Float64Array, Float64Array]:
    """Random J_1..J_L and a random unit row gradient g.

    One generator ``numpy.random.default_rng(seed)`` draws, in this order, G as one
    (L, d, d) standard Gaussian array (G[ℓ-1] for block ℓ) and then g ~ N(0, I_d)
    normalised to ‖g‖ = 1. J_ℓ = norm · G_ℓ / ‖G_ℓ‖₂ (spectral norm exactly ``norm``).
    Returns (J of shape (L, d, d) with J[ℓ-1] = J_ℓ, g of shape (d,)).
    """
    return _draw_stack(depth, width, norm, np.random.default_rng(_depth(seed, "seed")))


def _draw_stack(depth: int, width: int, norm: float, rng: np.random.Generator) -> tuple[Float64Array, Float64Array]:
    depth, width = _depth(depth, "depth"), _depth(width, "width")
    if width < 1:
        raise SymresError("width must be a positive integer, got 0")
    if not (isinstance(norm, (int, float)) and math.isfinite(norm) and norm >= 0):
        raise SymresError(f"norm must be a finite non-negative number, got {norm}")
    G = rng.standard_normal((depth, width, width))
    if depth:
        G *= norm / np.linalg.norm(G, ord=2, axis=(1, 2))[:, None, None]
    return G, _random_unit(width, rng)


def _random_unit(width: int, rng: np.random.Generator) -> Float64Array:
    g = rng.standard_normal(width)
    g /= np.linalg.norm(g)
    return g


def _to_log(v: Float64Array, c: float) -> tuple[Float64Array, float]:
    """exp(c) · v as (unit vector, log scale)."""
    n = float(np.linalg.norm(v))
    if n == 0 or not math.isfinite(c):
        return np.zeros_like(v), -math.inf
    return v / n, c + math.log(n)


def _as_stack(jacobians: ArrayLike, grad: ArrayLike) -> tuple[Float64Array, Float64Array]:
    J = np.asarray(jacobians, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    if J.ndim != 3 or J.shape[1] != J.shape[2]:
        raise SymresError(f"jacobians must have shape (L, d, d), got {J.shape}")
    if J.shape[2] != g.size:
        raise SymresError(f"the gradient has {g.size} entries but the Jacobians are {J.shape[1]}x{J.shape[2]}")
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(g))):
        raise SymresError("jacobians and gradient must be finite")
    return J, g


def _block_scale(J: Float64Array) -> tuple[Float64Array, float]:
    """(J / s, log s) with s = max |J_ij| (s = 1 for J = 0): entries of J/s are at most 1
    in magnitude, so products with unit rows neither over- nor underflow at any scale of J."""
    s = float(np.max(np.abs(J))) if J.size else 0.0
    if s == 0.0 or s == 1.0:
        return J, 0.0
    return J * (1.0 / s), math.log(s)


#: the fast DP step accumulates without renormalising while every incoming row is at most
#: e^_FAST_GAP times the row it is added to (else that step renormalises every row)
_FAST_GAP = 20.0


def path_components(
    jacobians: ArrayLike, grad: ArrayLike, *, progress: ProgressFn | None = None
) -> tuple[Float64Array, Float64Array]:
    """The exact length-k components g_k = g · Σ_{|S|=k} J_S, k = 0..L, in log scale.

    ``jacobians`` has shape (L, d, d) with jacobians[ℓ-1] = J_ℓ; ``grad`` is the row g
    (d entries). Returns (U, c) with g_k = exp(c[k]) · U[k]: U of shape (L+1, d) has unit
    rows (zero rows where g_k = 0 exactly, with c[k] = -inf), c is a natural log.

    Dynamic programming from the loss side: with V_k the length-k component over blocks
    ℓ..L, processing ℓ = L down to 1 does V_k ← V_k + V_{k-1} J_ℓ for all k at once, one
    (m+1)×d by d×d GEMM (m blocks done so far; rows above m+1 are still zero). Each row is
    held as exp(c_k)·U_k and each J_ℓ as s_ℓ·Ĵ_ℓ with max|Ĵ_ℓ| = 1, so the magnitudes of
    J_ℓ and g_k never meet the float range: a step scales the rows U_{k-1} by
    exp(c_{k-1} + log s_ℓ − c_k) ≤ e^20 (one pass into a preallocated buffer), multiplies
    by Ĵ_ℓ and adds; rows are renormalised (scale folded into c) every few steps, as often
    as the growth bound (1 + e^20·d) per step requires, and in any step whose incoming
    rows would exceed e^20 times their targets. ``progress(done, L)`` is called after
    each block.
    """
    J, g = _as_stack(jacobians, grad)
    L, d = J.shape[0], g.size
    U = np.zeros((L + 1, d))
    c = np.full(L + 1, -np.inf)
    n0 = float(np.linalg.norm(g))
    if n0 == 0:
        return U, c
    U[0] = g / n0
    c[0] = math.log(n0)
    buf = np.empty((L + 1, d))
    P = np.empty((L + 1, d))
    # a row's norm grows at most by 1 + e^gap · d per fast step; renormalise before its
    # square could overflow (norms up to e^340 square safely)
    every = max(1, int(340.0 // (_FAST_GAP + math.log1p(d) + 1.0)))
    since = 0

    def renormalise(hi: int) -> None:
        rows = U[1:hi]
        n = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        positive = n > 0
        rows /= np.where(positive, n, 1.0)[:, None]
        c[1:hi] += np.log(np.where(positive, n, 1.0))

    # s_ℓ = max|J_ℓ| for all blocks in one pass; Ĵ_ℓ = J_ℓ / s_ℓ made per block (d² work)
    scales = np.maximum(J.max(axis=(1, 2)), -J.min(axis=(1, 2))) if L else np.zeros(0)  # no |J| copy
    scales[scales == 0] = 1.0
    log_scales = np.log(scales)
    Jh = np.empty((d, d))
    with np.errstate(under="ignore"):
        for m in range(L):
            ls = float(log_scales[L - 1 - m])
            np.multiply(J[L - 1 - m], 1.0 / scales[L - 1 - m], out=Jh)
            c[m + 1] = c[m] + ls  # the new row starts at zero on the scale of its source
            gap = c[: m + 1] + ls - c[1 : m + 2]
            if float(gap.max()) <= _FAST_GAP:
                np.multiply(U[: m + 1], np.exp(gap)[:, None], out=buf[: m + 1])
                np.matmul(buf[: m + 1], Jh, out=P[: m + 1])
                U[1 : m + 2] += P[: m + 1]
                since += 1
                if since >= every:
                    renormalise(m + 2)
                    since = 0
            else:  # rescale both sides to the larger scale, row by row, then renormalise
                top = np.maximum(c[: m + 1] + ls, c[1 : m + 2])
                np.multiply(U[: m + 1], np.exp(c[: m + 1] + ls - top)[:, None], out=buf[: m + 1])
                np.matmul(buf[: m + 1], Jh, out=P[: m + 1])
                U[1 : m + 2] *= np.exp(c[1 : m + 2] - top)[:, None]
                U[1 : m + 2] += P[: m + 1]
                c[1 : m + 2] = top
                renormalise(m + 2)
                since = 0
            if progress is not None:
                progress(m + 1, L)
    renormalise(L + 1)
    norms = np.sqrt(np.einsum("ij,ij->i", U, U))
    c[norms == 0] = -np.inf
    return U, c


def full_product(jacobians: ArrayLike, grad: ArrayLike) -> tuple[Float64Array, float]:
    """g · (I + J_L) ⋯ (I + J_1) in log scale: (u, c) with the product = exp(c) · u, ‖u‖ = 1.

    Computed block by block from the loss side, renormalised each step, each J_ℓ taken
    as s_ℓ·Ĵ_ℓ (max|Ĵ_ℓ| = 1) so that no magnitude over- or underflows (independent of the
    path decomposition; used to check Σ_k g_k).
    """
    J, g = _as_stack(jacobians, grad)
    n0 = float(np.linalg.norm(g))
    if n0 == 0:
        return np.zeros_like(g), -math.inf
    v, c = g / n0, math.log(n0)
    with np.errstate(under="ignore"):
        for l in range(J.shape[0] - 1, -1, -1):
            Jh, ls = _block_scale(J[l])
            w = v @ Jh
            if ls > 0:  # v + s·w = s·(v/s + w)
                v = v * math.exp(-ls) + w
                c += ls
            else:
                v = v + math.exp(ls) * w
            n = float(np.linalg.norm(v))
            if n == 0:
                return np.zeros_like(g), -math.inf
            v /= n
            c += math.log(n)
    return v, c


def _logsumexp(x: Float64Array) -> float:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return -math.inf
    top = float(finite.max())
    return top + math.log(float(np.exp(finite - top).sum()))


def effective_band(log_norms: ArrayLike, threshold: float = 0.9) -> tuple[int, int, float]:
    """The effective band of a spectrum: see `BAND_DEFINITION`.

    ``log_norms`` holds the natural logs log ‖g_k‖, k = 0..L (-inf for g_k = 0).
    Returns (a, b, share) with share = Σ_{a≤k≤b}‖g_k‖ / Σ_k‖g_k‖ ≥ threshold; if every
    g_k = 0 the band is (0, 0) with share 0.

    >>> import numpy as np
    >>> effective_band(np.log([1.0, 8.0, 1.0]), 0.8)
    (1, 1, 0.8)
    """
    x = np.asarray(log_norms, dtype=np.float64)
    if not 0 < threshold <= 1:
        raise SymresError(f"band threshold must be in (0, 1], got {threshold}")
    if not np.any(np.isfinite(x)):
        return 0, 0, 0.0
    w = np.where(np.isfinite(x), np.exp(x - x[np.isfinite(x)].max()), 0.0)
    total = float(w.sum())
    need = threshold * total * (1 - 1e-12)
    best = (0, len(w) - 1, total)
    a, acc = 0, 0.0
    for b in range(len(w)):
        acc += w[b]
        while a < b and acc - w[a] >= need:
            acc -= w[a]
            a += 1
        if acc >= need:
            width, best_width = b - a, best[1] - best[0]
            if width < best_width or (width == best_width and acc > best[2]):
                best = (a, b, acc)
    return best[0], best[1], float(min(1.0, best[2] / total))


@dataclass(frozen=True)
class MonteCarloEstimate:
    """An unbiased Monte-Carlo estimate of g_k from ``samples`` uniform k-subsets S:
    ĝ_k = C(L, k) · mean_S (g · J_S), compared with the exact g_k.

    ``rel_error`` = ‖ĝ_k − g_k‖ / ‖g_k‖ (inf if it exceeds float range; see
    ``log10_rel_error``).
    """

    length: int
    samples: int
    log10_count: float
    log10_norm_estimate: float
    log10_norm_exact: float
    log10_rel_error: float

    @property
    def rel_error(self) -> float:
        return 10.0**self.log10_rel_error if self.log10_rel_error < 300 else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "samples": self.samples,
            "log10_paths": _finite(self.log10_count),
            "log10_norm_estimate": _finite(self.log10_norm_estimate),
            "log10_norm_exact": _finite(self.log10_norm_exact),
            "rel_error": _finite(self.rel_error),
            "log10_rel_error": _finite(self.log10_rel_error),
        }


def monte_carlo_components(
    jacobians: ArrayLike, grad: ArrayLike, lengths: Sequence[int], samples: int, rng: np.random.Generator
) -> list[tuple[int, Float64Array, float]]:
    """Unbiased estimates of g_k by path sampling: for each k, ``samples`` subsets drawn
    uniformly among the C(L, k) of size k, ĝ_k = C(L, k) · mean (g · J_S). Returns
    (k, u, c) with ĝ_k = exp(c) · u (log scale, as in `path_components`).

    All samples are pushed through the stack together: block ℓ (from L down to 1) is
    applied, as one GEMM, to the samples whose subset contains ℓ.
    """
    J, g = _as_stack(jacobians, grad)
    L, d = J.shape[0], g.size
    if samples < 1:
        raise SymresError(f"samples must be a positive integer, got {samples}")
    ks = [_depth(k, "length") for k in lengths]
    if any(k > L for k in ks):
        raise SymresError(f"path lengths must be in 0..{L}, got {ks}")
    masks = []
    for k in ks:
        if k == 0:
            masks.append(np.zeros((samples, L), dtype=bool))
        elif k == L:
            masks.append(np.ones((samples, L), dtype=bool))
        else:
            keys = rng.random((samples, L))
            cut = np.partition(keys, k - 1, axis=1)[:, k - 1]
            masks.append(keys <= cut[:, None])
    mask = np.concatenate(masks) if masks else np.zeros((0, L), dtype=bool)
    n0 = float(np.linalg.norm(g))
    V = np.tile(g / n0 if n0 > 0 else g, (mask.shape[0], 1))
    logs = np.full(mask.shape[0], math.log(n0) if n0 > 0 else -math.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for l in range(L - 1, -1, -1):
            rows = np.flatnonzero(mask[:, l])
            if rows.size == 0:
                continue
            Jh, ls = _block_scale(J[l])
            W = V[rows] @ Jh
            n = np.sqrt(np.einsum("ij,ij->i", W, W))
            V[rows] = W / np.where(n > 0, n, 1.0)[:, None]
            logs[rows] += np.log(n) + ls
    out = []
    for i, k in enumerate(ks):
        lg = logs[i * samples : (i + 1) * samples]
        Vk = V[i * samples : (i + 1) * samples]
        finite = np.isfinite(lg)
        if not finite.any():
            out.append((k, np.zeros(d), -math.inf))
            continue
        top = float(lg[finite].max())
        S = (np.exp(np.where(finite, lg - top, -np.inf))[:, None] * Vk).sum(axis=0)
        nS = float(np.linalg.norm(S))
        if nS == 0:
            out.append((k, np.zeros(d), -math.inf))
            continue
        c = math.log(math.comb(L, k)) - math.log(samples) + top + math.log(nS)
        out.append((k, S / nS, c))
    return out


def _log_rel_error(u_est: Float64Array, c_est: float, u: Float64Array, c: float) -> float:
    """log ‖e^{c_est} u_est − e^{c} u‖ − c (natural log), without overflow."""
    if not math.isfinite(c):
        return -math.inf if not math.isfinite(c_est) else math.inf
    if not math.isfinite(c_est):
        return 0.0  # ‖0 − g_k‖ / ‖g_k‖ = 1
    delta = c_est - c
    if delta <= 0:
        diff = float(np.linalg.norm(math.exp(delta) * u_est - u))
        return math.log(diff) if diff > 0 else -math.inf
    diff = float(np.linalg.norm(u_est - math.exp(-delta) * u))
    return delta + math.log(diff) if diff > 0 else -math.inf


def _log_difference(u1: Float64Array, c1: float, u2: Float64Array, c2: float) -> float:
    """log ‖e^{c1} u1 − e^{c2} u2‖ (natural log; unit u1, u2), without overflow."""
    if not math.isfinite(c1) and not math.isfinite(c2):
        return -math.inf
    top = max(c1, c2)
    diff = float(np.linalg.norm(math.exp(c1 - top) * u1 - math.exp(c2 - top) * u2))
    return top + math.log(diff) if diff > 0 else -math.inf


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


_LN10 = math.log(10.0)


@dataclass(frozen=True, eq=False)
class PathSpectrum:
    """The exact gradient spectrum over path lengths of one residual stack.

    ``log10_norms[k]`` = log10 ‖g_k‖ with g_k = g · Σ_{|S|=k} J_S (row vector; -inf if
    g_k = 0 exactly); ``log10_counts[k]`` = log10 C(L, k). ``band`` = (a, b) is the
    effective band (`BAND_DEFINITION`) carrying ``band_share`` ≥ ``band_threshold`` of
    Σ_k ‖g_k‖. The consistency check compares Σ_k g_k with the full product
    g · (I + J_L) ⋯ (I + J_1) computed separately: ``check_error`` is the relative error
    ‖Σ_k g_k − full‖ / ‖full‖, ``check_cancellation`` = Σ_k ‖g_k‖ / ‖full‖ (how much the
    lengths cancel), and the check passes if check_error ≤ 1e-9 · max(1, cancellation),
    that is if ``check_scaled_error`` = ‖Σ_k g_k − full‖ / max(‖full‖, Σ_k ‖g_k‖) ≤ 1e-9
    (which stays meaningful when the full product vanishes exactly: then check_error is
    inf and the check asks ‖Σ_k g_k‖ ≤ 1e-9 · Σ_k ‖g_k‖).
    ``norm`` and ``seed`` describe the random instance (norm is None for supplied J).
    """

    depth: int
    width: int
    norm: float | None
    seed: int | None
    log10_norms: Float64Array
    log10_counts: Float64Array
    log10_full_norm: float
    band: tuple[int, int]
    band_share: float
    band_threshold: float
    check_error: float
    check_cancellation: float
    monte_carlo: tuple[MonteCarloEstimate, ...] = field(default=())
    check_scaled_error: float = math.nan

    @property
    def check_tolerance(self) -> float:
        """1e-9 · max(1, cancellation): the bound on ``check_error`` (inf if the full product is 0)."""
        return 1e-9 * max(1.0, self.check_cancellation)

    @property
    def check_passed(self) -> bool:
        if math.isnan(self.check_scaled_error):
            return self.check_error <= self.check_tolerance
        return self.check_scaled_error <= 1e-9

    @property
    def peak(self) -> int:
        """The length k with the largest ‖g_k‖."""
        return int(np.argmax(self.log10_norms))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become None)."""
        return {
            "depth": self.depth,
            "width": self.width,
            "norm": self.norm,
            "seed": self.seed,
            "convention": "row gradient g_k = g . sum_{|S|=k} J_{s_k}...J_{s_1}; later block left",
            "log10_norms": [_finite(x) for x in self.log10_norms],
            "log10_counts": [_finite(x) for x in self.log10_counts],
            "log10_full_norm": _finite(self.log10_full_norm),
            "peak": self.peak,
            "band": {
                "lengths": list(self.band),
                "share": self.band_share,
                "threshold": self.band_threshold,
                "definition": BAND_DEFINITION.format(threshold=self.band_threshold),
            },
            "check": {
                "method": "numeric",
                "what": "sum_k g_k (path DP) vs g.(I+J_L)...(I+J_1) (direct product), both in log scale",
                "rel_error": _finite(self.check_error),
                "cancellation": _finite(self.check_cancellation),
                "tolerance": _finite(self.check_tolerance),
                "scaled_error": _finite(self.check_scaled_error),
                "scaled_tolerance": 1e-9,
                "passed": self.check_passed,
            },
            "monte_carlo": [m.as_dict() for m in self.monte_carlo],
        }


def path_spectrum(
    depth: int | None = None,
    width: int | None = None,
    *,
    norm: float = 0.5,
    seed: int = 0,
    jacobians: ArrayLike | None = None,
    grad: ArrayLike | None = None,
    mc_lengths: Sequence[int] | None = None,
    mc_samples: int = 1000,
    band_threshold: float = 0.9,
    progress: ProgressFn | None = None,
) -> PathSpectrum:
    """The exact path-length spectrum of a residual stack, checked two ways.

    Either give ``depth`` L and ``width`` d (random J_ℓ of spectral norm ``norm`` and a
    random unit g, see `random_stack`), or ``jacobians`` (L, d, d) with jacobians[ℓ-1] =
    J_ℓ (then ``grad`` may be given too; a random unit g from default_rng(seed) otherwise).

    Computes g_k for every k = 0..L by `path_components`, checks Σ_k g_k against
    `full_product`, and compares a Monte-Carlo path-sampling estimate with g_k at the
    lengths ``mc_lengths`` (default: 1, 2 and the peak length; ``mc_samples`` subsets
    each; the generator continues after the instance was drawn). ``progress(done, L)`` is
    called after each block of the DP.
    """
    seed = _depth(seed, "seed")
    rng = np.random.default_rng(seed)
    used_norm: float | None
    if jacobians is None:
        if depth is None or width is None:
            raise SymresError("give depth and width, or jacobians")
        J, g = _draw_stack(depth, width, norm, rng)
        used_norm = float(norm)
    else:
        J = np.asarray(jacobians, dtype=np.float64)
        if J.ndim != 3:
            raise SymresError(f"jacobians must have shape (L, d, d), got {J.shape}")
        if (depth is not None and depth != J.shape[0]) or (width is not None and width != J.shape[1]):
            raise SymresError(f"depth/width {depth}/{width} disagree with jacobians of shape {J.shape}")
        g = _random_unit(J.shape[1], rng)
        used_norm = None
    if grad is not None:
        g = np.asarray(grad, dtype=np.float64)
    J, g = _as_stack(J, g)
    L = J.shape[0]

    U, c = path_components(J, g, progress=progress)
    u_full, c_full = full_product(J, g)
    log10_norms = c / _LN10

    # Σ_k g_k = exp(top) · Σ_k exp(c_k − top) U_k, compared with the direct product
    lse = _logsumexp(c)
    if math.isfinite(lse):
        top = float(c[np.isfinite(c)].max())
        with np.errstate(under="ignore"):
            weights = np.where(np.isfinite(c), np.exp(c - top), 0.0)
        u_sum, c_sum = _to_log(weights @ U, top)
    else:
        u_sum, c_sum = np.zeros_like(g), -math.inf
    if math.isfinite(c_full):
        log_err = _log_rel_error(u_sum, c_sum, u_full, c_full)
        check_error = math.exp(log_err) if log_err < 700 else math.inf
        cancellation = math.exp(lse - c_full) if lse - c_full < 700 else math.inf
    else:  # the full product vanished exactly
        check_error = 0.0 if not math.isfinite(c_sum) else math.inf
        cancellation = 1.0 if not math.isfinite(lse) else math.inf
    scale = max(c_full, lse)
    if math.isfinite(scale):
        log_scaled = _log_difference(u_sum, c_sum, u_full, c_full) - scale
        scaled_error = math.exp(log_scaled) if log_scaled < 700 else math.inf
    else:  # every g_k and the product are exactly 0
        scaled_error = 0.0

    a, b, share = effective_band(c, band_threshold)
    counts = np.array([math.log10(x) for x in path_counts(L)])

    if mc_lengths is None:
        peak = int(np.argmax(np.where(np.isfinite(c), c, -np.inf)))
        mc_lengths = sorted({k for k in (1, 2, peak) if k <= L})
    estimates = monte_carlo_components(J, g, mc_lengths, mc_samples, rng) if mc_lengths else []
    mc = tuple(
        MonteCarloEstimate(
            length=k,
            samples=mc_samples,
            log10_count=float(counts[k]),
            log10_norm_estimate=c_est / _LN10,
            log10_norm_exact=float(log10_norms[k]),
            log10_rel_error=_log_rel_error(u_est, c_est, U[k], float(c[k])) / _LN10,
        )
        for k, u_est, c_est in estimates
    )
    log10_norms.flags.writeable = False
    counts.flags.writeable = False
    return PathSpectrum(
        depth=L,
        width=J.shape[1],
        norm=used_norm,
        seed=seed,
        log10_norms=log10_norms,
        log10_counts=counts,
        log10_full_norm=c_full / _LN10,
        band=(a, b),
        band_share=share,
        band_threshold=band_threshold,
        check_error=check_error,
        check_cancellation=cancellation,
        monte_carlo=mc,
        check_scaled_error=scaled_error,
    )


def require_matplotlib() -> None:
    """Raise a one-line SymresError naming the install command when matplotlib (the
    optional `plot` extra) is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise SymresError("--plot needs matplotlib, an optional extra: pip install 'symres[plot]'")


#: what g_k is, in one line (printed with every spectrum)
COMPONENT_DEFINITION = "g_k = g · Σ_{|S|=k} J_{s_k}⋯J_{s_1}: the part of ∂ℒ/∂h_0 carried by paths through k residual branches"

#: what J_ℓ is for a real stack (symres.spectra)
STACK_JACOBIAN = "J_ℓ = ∂y/∂x − I of block ℓ at h_{ℓ-1} (derived, evaluated along a forward pass)"


def spectrum_rows(spectrum: PathSpectrum) -> list[tuple[int, str]]:
    """The lengths worth showing of a spectrum, ascending, each with its labels: 0, 1, 2,
    the band's ends, the peak and L (``"identity path"``, ``"band start"``, …)."""
    L, (a, b) = spectrum.depth, spectrum.band
    labels = [(0, "identity path"), (a, "band start"), (spectrum.peak, "largest ‖g_k‖"), (b, "band end"), (L, "all branches")]
    return [
        (k, ", ".join(n for kk, n in labels if kk == k)) for k in sorted({k for k in (0, 1, 2, a, spectrum.peak, b, L) if k <= L})
    ]


def plot_spectrum(spectrum: PathSpectrum, path: str) -> None:
    """Write a figure of log10 C(L, k) and log10 ‖g_k‖ against k (with the band shaded);
    see `plot_spectra`."""
    plot_spectra([("gradient", spectrum)], path)


def plot_spectra(spectra: Sequence[tuple[str, PathSpectrum]], path: str) -> None:
    """Write one figure of log10 ‖g_k‖ against k for several spectra (one labelled curve
    each, its effective band marked), with log10 C(L, k) of the deepest.

    matplotlib is imported here (Agg backend); the file is written with
    `symres.safeio.replacing` (a regular file or a new path only, atomically, mode from
    the umask). The format follows the suffix of ``path`` (png by default).
    """
    from pathlib import Path

    require_matplotlib()
    import matplotlib

    from symres.safeio import check_target, replacing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not spectra:
        raise SymresError("nothing to plot")
    target = Path(path)
    check_target(target)  # refuse a device, a FIFO or a directory before drawing
    fmt = target.suffix.lstrip(".").lower() or "png"
    deepest = max((s for _, s in spectra), key=lambda s: s.depth)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        counts = r"paths of length $k$: $\log_{10}\binom{L}{k}$"
        ax.plot(np.arange(deepest.depth + 1), deepest.log10_counts, color="0.5", label=counts)
        for i, (label, spectrum) in enumerate(spectra):
            color = f"C{i % 10}"
            a, b = spectrum.band
            ax.plot(np.arange(spectrum.depth + 1), spectrum.log10_norms, color=color, label=rf"{label}: $\log_{{10}}\|g_k\|$")
            ax.axvspan(a - 0.5, b + 0.5, alpha=0.12, color=color, label=f"{label}: band [{a}, {b}] ({spectrum.band_share:.0%})")
        ax.set_xlabel("path length $k$ (number of residual branches on the path)")
        ax.set_ylabel(r"$\log_{10}$")
        if len(spectra) == 1:
            s = spectra[0][1]
            norm = "supplied J" if s.norm is None else rf"$\|J_\ell\|_2 = {s.norm:g}$"
            ax.set_title(f"L = {s.depth}, d = {s.width}, {norm}, seed {s.seed}")
        else:
            ax.set_title(f"L = {deepest.depth}, d = {deepest.width}: " + ", ".join(label for label, _ in spectra))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        with replacing(target) as tmp:  # only a regular file or a new path, atomically
            fig.savefig(tmp, format=fmt, dpi=120)
    except (OSError, ValueError) as exc:
        raise SymresError(f"cannot write the plot {path}: {exc}") from None
    finally:
        plt.close(fig)
