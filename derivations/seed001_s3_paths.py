"""Seed 001, §3: the gradient of a residual stack, its expansion over paths, the counts.

The seed writes the gradient as (∏(I + J_ℓ))·∂L/∂h_L, a matrix times a column: refuted in
either order of the product (the column gradient needs transposes). The expansion of
∏(I + J_ℓ) over subsets, with ordered products, and the counts C(L, k), 2^L are proved.
"The short paths ensure gradients flow" is refuted (the sum can cancel the identity path)
and corrected with the σ_min bound under ‖J_ℓ‖₂ ≤ c < 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import (  # noqa: E402
    SEED,
    chain_rule_column,
    chain_rule_row,
    claim,
    counts,
    exact,
    gradient_bounds,
    seed_column_forms,
)

from symres.paths import induction_proof, path_terms  # noqa: E402
from symres.verify import statement  # noqa: E402


def expansion_claim(L: int) -> str:
    """prod(l=1..L, I + J_l) = Σ_S J_S written out in the claims grammar (later block left)."""
    terms = [" ".join(t.factors) or "I" for t in path_terms(L)]
    return f"prod(l=1..{L}, I + J_l) = " + " + ".join(terms)


@statement(
    seed=SEED,
    where="§3",
    expect="refuted",
    text="the full gradient from layer L back to layer 0 is ∂L/∂h₀ = (∏_{ℓ=1}^{L}(I + ∂F_ℓ/∂h_{ℓ−1}))·∂L/∂h_L "
    "(read: ∂L/∂h_L a column, since a d×d matrix multiplies it from the left, and ∏ in either order; "
    "checked on two blocks with L = cᵀh_2)",
    corrected="∂L/∂h_0 = ∂L/∂h_L·(I + J_L)⋯(I + J_1) as a row (numerator layout, later block left); as a column it is "
    "the transpose (I + J_1)ᵀ⋯(I + J_L)ᵀ(∂L/∂h_L)ᵀ",
)
def gradient_layout():
    return seed_column_forms(), (chain_rule_row(), chain_rule_column())


@statement(
    seed=SEED,
    where="§3",
    expect="proved",
    text="expanding the product, ∏(I + J_ℓ) = I + Σ_ℓ J_ℓ + Σ_{i<j} J_j J_i + ⋯ = Σ_{S ⊆ {1,…,L}} ∏_{ℓ∈S} J_ℓ, where S is "
    "the subset of blocks that take the J_ℓ path (I at the others) (read: ∏_{ℓ∈S} J_ℓ as the ordered product "
    "J_{s_k}⋯J_{s_1}, later block left; the gradient form ·∂L/∂h_L is decided in the statement above)",
)
def expansion_over_subsets():
    return claim(expansion_claim(3)), claim(expansion_claim(4)), induction_proof()


@statement(
    seed=SEED,
    where="§3",
    expect="proved",
    text="there are 2^L distinct gradient paths: 1 path of length 0 (all identity, I), L paths of length 1, C(L,2) of "
    "length 2, …, 1 path of length L (all J, the vanilla deep network path J_L⋯J_1)",
)
def path_counts_by_length():
    vanilla = all(list(path_terms(L))[-1].factors == tuple(f"J_{l}" for l in range(L, 0, -1)) for L in range(1, 13))
    longest = exact(
        "the length-L path is the vanilla product",
        r"J_{\{1..L\}} = J_L \cdots J_1",
        vanilla,
        "symres.paths.path_terms, L = 1..12: the only length-L term is J_L⋯J_1, the Jacobian of the plain stack of the branches",
    )
    return counts(), longest


@statement(
    seed=SEED,
    where="§3",
    expect="refuted",
    text="the gradient is the SUM over all paths; even if long paths vanish, the short paths (especially the length-0 "
    "identity path) ensure gradients flow (read: ∂L/∂h_0 ≠ 0 whenever ∂L/∂h_L ≠ 0 and the longest paths are 0)",
    corrected="the gradient is the sum over all 2^L paths, and that sum can cancel the identity path: L = 2, J_2 = 0 "
    "(every path through F_2 is 0), J_1 = −e₁e₁ᵀ, g = e₁ᵀ give g(I + J_2)(I + J_1) = 0; it cannot vanish when every "
    "‖J_ℓ‖₂ ≤ c < 1: ‖∂L/∂h_0‖ ≥ (1 − c)^L‖∂L/∂h_L‖ > 0, a bound on the whole sum, not on the identity path alone",
)
def sum_ensures_flow():
    cancel = claim("norm(g^T prod(l=1..L, I + J_l)) > 0 where g vector, norm(g) >= 1, J_2 = 0, L = 2")
    return (claim(expansion_claim(3)), cancel), gradient_bounds()
