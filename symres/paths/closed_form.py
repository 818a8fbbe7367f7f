"""The path counts for a symbolic L: Σ_k C(L,k) = 2^L and the induction on L, as Proofs.

Both derivations are `symres.proof.Proof`s (the one model of evidence): each Step is an
equation (its sides LaTeX) with its reason, and its Check carries the numbers that decided
it — the enumerated counts against the binomial ones (``exact``), what SymPy returned
(``symbolic``, ``numbers["sympy_result"]``), the largest relative error of a matrix
identity on random instances (``numeric``).

Conventions (DESIGN.md): ∂h_L/∂h_0 = (I + J_L)⋯(I + J_1), later block left; J_S is the
ordered product J_{s_k}⋯J_{s_1} of a subset S = {s_1 < ⋯ < s_k}.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy
from sympy.matrices.expressions import Identity, MatAdd, MatMul

from symres.paths.expansion import (
    dimension_symbol,
    expand_product,
    jacobian_symbols,
    path_counts,
    path_subsets,
    product_expression,
    total_paths,
)
from symres.proof import Check, Proof, Step

#: the relative error up to which a numeric check of a matrix identity passes (float64 products)
NUMERIC_TOLERANCE = 1e-9

# --------------------------------------------------------------------------- closed form for symbolic L


_L, _K = sympy.symbols("L k", integer=True, nonnegative=True)


def _pascal_residual() -> sympy.Expr:
    """simplify(C(L+1, k) − C(L, k) − C(L, k−1)) for symbolic integers L, k ≥ 0."""
    return sympy.simplify(sympy.binomial(_L + 1, _K) - sympy.binomial(_L, _K) - sympy.binomial(_L, _K - 1))


def count_proof(*, max_depth: int = 12) -> Proof:
    """Σ_k C(L, k) = 2^L for symbolic L, as a Proof of three Steps.

    Step 1 counts the length-k subsets by enumeration for L = 0..max_depth and compares
    them with C(L, k) exactly (Check ``exact``: ``numbers`` holds the depths, the
    enumerated and the binomial counts, and the largest difference); step 2 has SymPy show
    C(L,0) = C(L,L) = 1 and C(L,1) = L for symbolic L; step 3 asks SymPy for
    Σ_{k=0}^{L} binomial(L, k) with L symbolic (Check ``symbolic``: ``numbers`` holds
    what summation returned and the residual after subtracting 2^L).
    """
    enumerated: list[list[int]] = []
    worst = 0
    for n in range(max_depth + 1):
        counted = [0] * (n + 1)
        for S in path_subsets(n):
            counted[len(S)] += 1
        enumerated.append(counted)
        worst = max(worst, max(abs(a - b) for a, b in zip(counted, path_counts(n))))
        worst = max(worst, abs(sum(counted) - total_paths(n)))
    total = sympy.summation(sympy.binomial(_L, _K), (_K, 0, _L))
    residual = sympy.simplify(total - 2**_L)
    ends = [sympy.binomial(_L, 0) - 1, sympy.expand_func(sympy.binomial(_L, 1)) - _L, sympy.binomial(_L, _L) - 1]
    counts = Check(
        "exact",
        worst == 0,
        f"subsets of {{1..L}} enumerated by length for L = 0..{max_depth}, compared with math.comb exactly",
        trials=max_depth + 1,
        numbers={
            "depths": list(range(max_depth + 1)),
            "enumerated": enumerated,
            "binomial": [path_counts(n) for n in range(max_depth + 1)],
            "max_difference": worst,
        },
    )
    total_check = Check(
        "symbolic",
        residual == 0,
        f"sympy.summation(binomial(L, k), (k, 0, L)) returned {total}; simplify(result - 2**L) = {residual}",
        numbers={"summation": str(total), "sympy_result": str(residual)},
    )
    steps = (
        Step(
            lhs=r"\#\{S \subseteq \{1,\dots,L\} : |S| = k\}",
            rhs=r"\binom{L}{k}",
            reason="a length-k path chooses the k blocks that take J_ℓ; the ordered product J_S is fixed by S",
            check=counts,
            short="choose the k blocks",
        ),
        Step(
            lhs=r"\binom{L}{0}",
            rhs=r"\binom{L}{L} = 1, \quad \binom{L}{1} = L",
            reason="one path takes I at every block, one takes J at every block (J_L⋯J_1), L paths take J at one block",
            check=Check(
                "symbolic",
                all(e == 0 for e in ends),
                f"SymPy for symbolic L: C(L,0) − 1, C(L,1) − L, C(L,L) − 1 = {ends}",
                numbers={"sympy_result": [str(e) for e in ends]},
            ),
            short="the shortest and the longest paths",
        ),
        Step(
            lhs=r"\sum_{k=0}^{L} \binom{L}{k}",
            rhs=r"2^{L}",
            reason="every subset has exactly one length; the binomial theorem at x = y = 1",
            check=total_check,
            short="binomial theorem",
        ),
    )
    return Proof(
        title="The gradient paths of a stack of L residual blocks, counted by length",
        assumptions=(
            "∂h_L/∂h_0 = (I + J_L)⋯(I + J_1) expands into one term J_S per subset S of {1..L}",
            "L is a symbolic non-negative integer",
        ),
        steps=steps,
        conclusion=r"\#\{S : |S| = k\} = \binom{L}{k}, \quad \sum_{k=0}^{L} \binom{L}{k} = 2^{L}",
    )


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


def induction_proof(*, max_depth: int = 6, d: int = 3, trials: int = 5, seed: int = 0) -> Proof:
    """The induction ∏_{ℓ≤L+1}(I+J_ℓ) = (I+J_{L+1}) ∏_{ℓ≤L}(I+J_ℓ) = Σ_{S⊆[L+1]} J_S, and
    Pascal's rule C(L+1, k) = C(L, k) + C(L, k−1) for symbolic L, k, as a Proof.

    Every step is shown by SymPy — the product order and the expansion structurally for
    L = 0..max_depth (the expansion at L+1 is the expansion at L followed by J_{L+1} times
    each of its terms), distributivity with non-commutative symbols, Pascal's rule for
    symbolic L, k — and each matrix identity is confirmed numerically (random J_ℓ scaled to
    spectral norm 0.9, L = 0..max_depth, ``trials`` instances each, seed ``seed``): its
    Check carries the trials and the largest relative error.
    """
    L_values = list(range(max_depth + 1))
    e_split, e_distrib, e_subsets = _numeric_product_check(L_values, d, trials, seed)
    n_trials = len(L_values) * trials
    where = f"L = 0..{max_depth}, d = {d}, ||J|| = 0.9"

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

    ordered = True  # the product order: ∏_{ℓ≤L+1} is (I + J_{L+1}) followed by the factors of ∏_{ℓ≤L}
    for n in L_values:
        upper, lower = product_expression(n + 1), product_expression(n)
        head = jacobian_symbols(n + 1)[-1] + Identity(dimension_symbol())
        lower_factors = () if n == 0 else lower.args if isinstance(lower, MatMul) else (lower,)
        upper_factors = upper.args if isinstance(upper, MatMul) else (upper,)
        ordered &= upper_factors == (head, *lower_factors)
    P, J = sympy.symbols("P J", commutative=False)
    distributed = sympy.expand((1 + J) * P - (P + J * P))

    def confirmed(what: str, ok: bool, error: float, **numbers: object) -> Check:
        return Check(
            "symbolic",
            ok and error <= NUMERIC_TOLERANCE,
            f"{what}; random J: {where}",
            n_trials,
            error,
            NUMERIC_TOLERANCE,
            seed,
            numbers=numbers,
        )

    prod_L = r"\prod_{\ell=1}^{L}\left(I + J_{\ell}\right)"
    steps = (
        Step(
            lhs=r"\prod_{\ell=1}^{0}\left(I + J_{\ell}\right)",
            rhs=r"I = \sum_{S \subseteq \emptyset} J_{S}",
            reason="base case: the empty product is I, and the only subset of the empty set, S = ∅, gives J_S = I",
            check=Check("symbolic", bool(base_ok), "expand_product(0) == Identity(d)", numbers={"sympy_result": str(base_ok)}),
            short="base case",
        ),
        Step(
            lhs=r"\prod_{\ell=1}^{L+1}\left(I + J_{\ell}\right)",
            rhs=r"\left(I + J_{L+1}\right)" + prod_L,
            reason="∂h_{L+1}/∂h_0 = ∂h_{L+1}/∂h_L · ∂h_L/∂h_0: the later block stands to the left",
            check=confirmed(
                f"product_expression(L+1) is (I + J_(L+1)) followed by the factors of product_expression(L), L = 0..{max_depth}",
                bool(ordered),
                e_split,
                sympy_result=str(bool(ordered)),
            ),
            short="chain rule, later block left",
        ),
        Step(
            rhs=prod_L + " + J_{L+1}" + prod_L,
            reason="distributivity (left multiplication; no factor is moved past another)",
            check=confirmed(
                f"SymPy, non-commutative P, J: expand((1 + J) P − (P + J P)) = {distributed}",
                distributed == 0,
                e_distrib,
                sympy_result=str(distributed),
            ),
            short="distributivity",
        ),
        Step(
            rhs=r"\sum_{S \subseteq \{1..L\}} J_{S} + \sum_{S \subseteq \{1..L\}} J_{L+1} J_{S}"
            r" = \sum_{S \subseteq \{1..L+1\}} J_{S}",
            reason=(
                "induction hypothesis; L+1 exceeds every index in S, so J_{L+1} J_S = J_{S ∪ {L+1}} "
                "keeps the product order, and S ↦ S ∪ {L+1} is a bijection onto the subsets containing L+1"
            ),
            check=Check(
                "symbolic",
                bool(structural) and e_subsets <= NUMERIC_TOLERANCE,
                f"SymPy terms of expand_product(L+1) equal those of expand_product(L) plus J_(L+1)·each, "
                f"L = 0..{max_depth}; numerically Σ_S J_S vs the product, random J: {where}",
                n_trials,
                e_subsets,
                NUMERIC_TOLERANCE,
                seed,
                numbers={"sympy_result": str(bool(structural))},
            ),
            short="induction hypothesis",
        ),
        Step(
            lhs=r"\binom{L+1}{k}",
            rhs=r"\binom{L}{k} + \binom{L}{k-1}",
            reason="the length-k subsets of {1..L+1} are those without L+1 (k of L) and those with it (k−1 of L)",
            check=Check(
                "symbolic",
                pascal == 0 and pascal_exact,
                f"simplify(binomial(L+1,k) - binomial(L,k) - binomial(L,k-1)) = {pascal} for symbolic integers L, k >= 0; "
                f"exact integers L = 0..40: {pascal_exact}",
                numbers={"sympy_result": str(pascal), "exact_up_to": 40, "exact": pascal_exact},
            ),
            short="Pascal's rule",
        ),
        Step(
            lhs=r"\sum_{k=0}^{L+1}\binom{L+1}{k}",
            rhs=r"2\sum_{k=0}^{L}\binom{L}{k} = 2^{L+1}",
            reason="summing Pascal's rule over k; with the base 2^0 = 1 this is Σ_k C(L,k) = 2^L",
            check=Check(
                "symbolic",
                doubling == 0,
                f"simplify(summation(binomial(L+1,k),(k,0,L+1)) - 2*summation(binomial(L,k),(k,0,L))) = {doubling}",
                numbers={"sympy_result": str(doubling)},
            ),
            short="sum over k",
        ),
    )
    return Proof(
        title="The expansion of a residual stack over subsets, by induction on L",
        assumptions=(
            "∂h_L/∂h_0 = (I + J_L)⋯(I + J_1), later block left; the J_ℓ do not commute",
            "J_S is the ordered product of the J_ℓ with ℓ ∈ S, later block left, and J_S := I for S = ∅",
        ),
        steps=steps,
        conclusion=r"\prod_{\ell=1}^{L}\left(I + J_{\ell}\right) = \sum_{S \subseteq \{1..L\}} J_{S}, \quad "
        r"\#\{S : |S| = k\} = \binom{L}{k}",
    )
