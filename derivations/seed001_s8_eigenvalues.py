"""Seed 001, §8: the Jacobian of a ReLU residual block and its eigenvalues.

∂y/∂x = I + W₂ diag(ReLU'(W₁x)) W₁ (derived); eig(I + J_F) = 1 + eig(J_F) (proved). For
one block, ‖J_F‖ < 1 keeps the eigenvalues (and singular values) within ‖J_F‖ of 1. For
the gradient through a stack the seed's "neither vanishing nor exploding" is refuted:
the per-block bounds compound to (1 − c)^L and (1 + c)^L, both attained.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, attained, block_tested, claim, stack_bounds  # noqa: E402

from symres.verify import statement  # noqa: E402


@statement(
    seed=SEED,
    where="§8",
    expect="proved",
    text="for a residual block with F(x) = W₂·ReLU(W₁·x): ∂y/∂x = I + W₂·diag(ReLU'(W₁·x))·W₁",
)
def relu_block_jacobian():
    return block_tested(
        "residual",
        r"\frac{\partial y}{\partial x} = I + W_2 \operatorname{diag}(\mathrm{ReLU}'(W_1 x)) W_1",
        dim=2,
        activation="relu",
    )


@statement(
    seed=SEED,
    where="§8",
    expect="proved",
    text="the eigenvalues of this Jacobian are 1 + λ_i, where λ_i are the eigenvalues of J_F = ∂F/∂x",
)
def eigenvalue_shift():
    return claim("eig(I + J) = 1 + eig(J)")


@statement(
    seed=SEED,
    where="§8",
    expect="holds",
    text="if J_F is small (‖J_F‖ < 1), the eigenvalues are clustered near 1 — neither vanishing nor exploding (read for "
    "one block: every eigenvalue μ of I + J_F has |μ − 1| ≤ ‖J_F‖, so 1 − ‖J_F‖ ≤ |μ| ≤ 1 + ‖J_F‖, and the singular "
    "values obey the same bounds; 'near 1' means within ‖J_F‖, which allows μ = 0.01 at J_F = −0.99I)",
)
def one_block_clustered():
    return (
        claim("abs(eig(I + J) - 1) <= norm(J)"),
        claim("1 - norm(J) <= abs(eig(I + J)) <= 1 + norm(J)"),
        claim("1 - norm(J) <= smin(I + J) <= norm(I + J) <= 1 + norm(J)"),
    )


@statement(
    seed=SEED,
    where="§8",
    expect="refuted",
    text="this [‖J_F‖ < 1] is the sweet spot for gradient propagation: neither vanishing nor exploding (read for the "
    "gradient through a stack of L blocks with ‖J_ℓ‖₂ ≤ 0.5: the eigenvalues of ∂h_L/∂h_0 stay within 1 of 1 at "
    "every depth, as one block's do)",
    corrected="through a stack the per-block bounds compound: (1 − c)^L ≤ σ_min(∂h_L/∂h_0) ≤ ‖∂h_L/∂h_0‖ ≤ (1 + c)^L "
    "for ‖J_ℓ‖₂ ≤ c < 1, both ends attained (J_ℓ = ∓cI): at c = 0.5, L = 100 the gradient can shrink to 0.5^100 "
    "≈ 7.9e-31 or grow to 1.5^100 ≈ 4.1e17; it stays near 1 only when cL is small",
)
def stack_sweet_spot():
    written = claim("abs(eig(prod(l=1..L, I + J_l)) - 1) <= 1 where norm(J_l) <= 0.5")
    return written, (stack_bounds(), attained(Fraction(1, 2), 100))
