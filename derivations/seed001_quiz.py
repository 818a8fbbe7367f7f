"""Seed 001, Quiz Q1–Q5: the answers and their explanations.

Q1–Q3 and Q5's shape statement are proved (or hold). Q4's "‖∂x_L/∂x₀‖ ≥ 1", "the pure
identity path has norm 1, guaranteeing non-zero gradient" and "a vanilla network's one
path decays exponentially" are refuted without a bound on the J_ℓ (J = −I; J = 2I) and
corrected with ‖J_ℓ‖₂ ≤ c < 1. Q5's "a learned projection must replace the identity skip"
is refuted by the parameter-free zero-padding shortcut [I; 0] (He et al. 2015, option A).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import (  # noqa: E402
    SEED,
    attained,
    block_tested,
    claim,
    counts,
    gradient_bounds,
    postact_rows_blocked,
    preact_columns_free,
    q5_evidence,
    shape_mismatch,
    stack_bounds,
)

from symres import derive  # noqa: E402
from symres.verify import statement  # noqa: E402

PLAIN_DECAY = "norm(prod(l=1..L, J_l)) <= c^L where norm(J_l) <= c, 0 <= c < 1"


@statement(
    seed=SEED,
    where="Quiz Q1",
    expect="proved",
    text="C: the Jacobian of y = F(x) + x is I + ∂F/∂x; the I term prevents gradient vanishing: even if ‖∂F/∂x‖ ≪ 1, the "
    "gradient always has an unobstructed identity path (read for one block: I stands alone, and "
    "σ_min(I + ∂F/∂x) ≥ 1 − ‖∂F/∂x‖ > 0)",
)
def q1_jacobian():
    proof, fact = block_tested("residual", r"\frac{\partial y}{\partial x} = I + \frac{\partial F}{\partial x}", dim=2)
    return proof, fact, claim("1 - norm(J) <= smin(I + J) <= norm(I + J) <= 1 + norm(J)")


@statement(
    seed=SEED,
    where="Quiz Q2",
    expect="proved",
    text="C: a residual network of depth L has 2^L distinct gradient paths — at each block choose I or J_ℓ, 2 choices "
    "per block — from the length-0 identity path to the length-L vanilla path",
)
def q2_path_count():
    return counts()


@statement(
    seed=SEED,
    where="Quiz Q3",
    expect="proved",
    text="B: in pre-activation y = F(σ(x)) + x the identity path bypasses the activation: ∂y/∂x = I + ∂F(σ(x))/∂x, the "
    "I is never gated by ReLU'; in post-activation y = σ(F(x) + x), if F(x) + x is negative, ReLU' = 0 blocks even "
    "the identity path (componentwise, as in §6)",
)
def q3_pre_post():
    pre = block_tested("preact", r"\frac{\partial y}{\partial x} = I + \frac{\partial F(\sigma(x))}{\partial x}", dim=2)
    post = block_tested("postact", r"\frac{\partial y}{\partial x} = \operatorname{diag}(\sigma'(F(x)+x))(I + J_F)", dim=2)
    return (*pre, preact_columns_free(), *post, postact_rows_blocked())


@statement(
    seed=SEED,
    where="Quiz Q4",
    expect="refuted",
    text="B: the identity path ensures ‖∂x_L/∂x₀‖ ≥ 1 — gradients never vanish completely",
    corrected="with ‖J_ℓ‖₂ ≤ c < 1: ‖∂x_L/∂x₀‖ ≥ σ_min(∂x_L/∂x₀) ≥ (1 − c)^L > 0 — never zero, but possibly far below 1 "
    "(0.9^1000 ≈ 1.7e-46 at c = 0.1, L = 1000, J_ℓ = −0.1I); without a bound it can be 0 (J_1 = −I)",
)
def q4_norm_at_least_one():
    return claim("norm(prod(l=1..L, I + J_l)) >= 1"), (stack_bounds(), attained(Fraction(1, 10), 1000))


@statement(
    seed=SEED,
    where="Quiz Q4",
    expect="refuted",
    text="a residual network has 2^1000 paths; the pure identity path has norm 1, guaranteeing non-zero gradient "
    "regardless of other paths' decay",
    corrected="the identity path's term g·I = g has norm ‖g‖ at every depth, but the sum over paths can cancel it "
    "(L = 2, J_2 = 0, J_1 = −e₁e₁ᵀ, g = e₁ᵀ: the gradient is 0); a non-zero gradient is guaranteed when every "
    "‖J_ℓ‖₂ ≤ c < 1: ‖∂L/∂h_0‖ ≥ (1 − c)^L‖∂L/∂h_L‖",
)
def q4_identity_path_guarantee():
    cancel = claim("norm(g^T prod(l=1..L, I + J_l)) > 0 where g vector, norm(g) >= 1, J_2 = 0, L = 2")
    return (claim("norm(g^T I) = norm(g) where g vector"), cancel), gradient_bounds()


@statement(
    seed=SEED,
    where="Quiz Q4",
    expect="refuted",
    text="a vanilla 1000-layer network has one gradient path that decays exponentially",
    corrected="the one path J_L⋯J_1 decays exponentially when every ‖J_ℓ‖₂ ≤ c < 1 (‖J_L⋯J_1‖ ≤ c^L); without such a "
    "bound it can grow (J_ℓ = 2I gives 2^L)",
)
def q4_vanilla_decays():
    return claim("norm(prod(l=1..L, J_l)) <= 1"), claim(PLAIN_DECAY)


@statement(
    seed=SEED,
    where="Quiz Q5",
    expect="proved",
    text="y = F(x) + x requires dim(F(x)) = dim(x); dimension changes need W_s·x to match; forgetting this causes a "
    "shape mismatch error",
)
def q5_shapes():
    return shape_mismatch(), derive("projection", dim=2)


@statement(
    seed=SEED,
    where="Quiz Q5",
    expect="refuted",
    text="B, not D: when a residual block changes the channel dimension, a learned linear projection W_s·x must replace "
    "the identity skip connection (zero-padding the skip is not the answer)",
    corrected="any m×d linear map on the skip matches the shapes: a learned W_s, or the parameter-free zero-padding "
    "W_s = [I; 0] (He et al. 2015, option A), which keeps an ungated identity on the first d coordinates: "
    "∂y/∂x = [I; 0] + ∂F/∂x",
)
def q5_learned_projection():
    return q5_evidence()
