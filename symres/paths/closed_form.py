"""The path counts for a symbolic L: Σ_k C(L,k) = 2^L and the induction on L, as derivation steps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy
from sympy.matrices.expressions import Identity, MatAdd, MatMul

from symres.paths.expansion import dimension_symbol, expand_product, jacobian_symbols, path_counts, path_subsets, total_paths

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
