"""The subset expansion of ∏(I + J_ℓ): subsets, path words and terms, binomial counts, the
symbolic expansion with its numeric check, and its typesetting.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.core.basic import Basic
from sympy.matrices.expressions import Identity, MatAdd, MatMul, MatrixExpr, MatrixSymbol

from symres.errors import SymresError
from symres.paths._common import non_negative_int
from symres.proof import Check

# --------------------------------------------------------------------------- subsets, words, counts


def dimension_symbol() -> sympy.Symbol:
    """The default symbolic width ``d`` (a plain ``sympy.Symbol('d')``)."""
    return sympy.Symbol("d")


def jacobian_symbols(L: int, d: int | sympy.Expr | None = None) -> tuple[MatrixSymbol, ...]:
    """(J_1, …, J_L) as d×d ``MatrixSymbol``s named ``J_1`` … ``J_L`` (d defaults to ``d``)."""
    L = non_negative_int(L)
    dim = dimension_symbol() if d is None else sympy.sympify(d)
    return tuple(MatrixSymbol(f"J_{l}", dim, dim) for l in range(1, L + 1))


def path_subsets(L: int, k: int | None = None) -> Iterator[tuple[int, ...]]:
    """The subsets S ⊆ {1..L} as ascending tuples, by length then lexicographically.

    Streams (2^L subsets, or C(L, k) if k is given) without building a list.

    >>> list(path_subsets(3))
    [(), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3), (1, 2, 3)]
    """
    L = non_negative_int(L)
    lengths: Sequence[int] = range(L + 1) if k is None else [non_negative_int(k, "k")]
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
    L = non_negative_int(L)
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
    L = non_negative_int(L)
    for subset in path_subsets(L):
        yield PathTerm(subset, L)


def path_counts(L: int) -> list[int]:
    """[C(L, 0), …, C(L, L)]: the number of paths of each length, exact Python ints.

    >>> path_counts(4)
    [1, 4, 6, 4, 1]
    """
    L = non_negative_int(L)
    row = [1]
    for k in range(L):
        row.append(row[-1] * (L - k) // (k + 1))
    return row


def total_paths(L: int) -> int:
    """2^L, the number of subsets of {1..L} (exact)."""
    return 1 << non_negative_int(L)


#: how `checked_counts` checks the counts
COUNTS_CHECK = "the counts C(L,k) (multiplicative recurrence) sum to 2^L, checked in exact integer arithmetic"


def checked_counts(L: int) -> tuple[list[int], int, bool]:
    """(C(L,0..L), 2^L, whether the counts sum to 2^L): exact integers, see COUNTS_CHECK."""
    counts, total = path_counts(L), total_paths(L)
    return counts, total, sum(counts) == total


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
    L = non_negative_int(L)
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
    L = non_negative_int(L)
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
    L = non_negative_int(L)
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


def check_expansion(expr: MatrixExpr, L: int, *, d: int = 3, trials: int = 3, seed: int = 0, norm: float = 0.9) -> Check:
    """Evaluate the terms of ``expr`` (read back from the SymPy object) with random J_ℓ
    and compare their sum with the product (I + J_L) ⋯ (I + J_1) computed directly.

    The J_ℓ are d×d standard Gaussian, scaled to spectral norm ``norm`` (seeded with
    numpy.random.default_rng(seed)). The answer is a numeric `symres.proof.Check`:
    ``max_error`` the largest Frobenius-norm error relative to the product over ``trials``
    instances, tolerance 1e-10·(L+1); ``numbers`` the depth, the terms read from the
    expression and the 2^L expected (the check passes only when they agree), d and the norm.

    Terms of equal length are evaluated as one batched product, so L = 20 (10^6 terms)
    takes about a second.
    """
    L = non_negative_int(L)
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
    max_error, tolerance, expected = float(err.max()), 1e-10 * (L + 1), total_paths(L)
    return Check(
        "numeric",
        len(idx_terms) == expected and max_error <= tolerance,
        "sum of the printed terms vs (I+J_L)...(I+J_1) for random J",
        trials,
        max_error,
        tolerance,
        seed,
        numbers={"depth": L, "terms": len(idx_terms), "terms_expected": expected, "d": d, "norm": norm},
    )


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
