"""Seed 001, Summary bullets and the Pitfalls that state mathematical facts.

The Summary restates §2–§7 (same evidence). Pitfalls: the shape error without a
projection (proved); post-activation gating (proved); a dominant branch makes the
gradient behave like a vanilla net's — carried by nearly full-length paths and
exploding — (holds at ‖J_ℓ‖₂ = 10, 200 random stacks); F ≡ 0 at initialisation makes every
block and the stack exactly the identity (proved); a projection skip has the term W_s,
not I (proved).
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import sympy as sp  # noqa: E402
from _seed001 import (  # noqa: E402
    SEED,
    SPECTRUM_DEPTH,
    block_tested,
    claim,
    counts,
    euler_is_residual,
    exact,
    gradient_bounds,
    postact_rows_blocked,
    preact_columns_free,
    q5_evidence,
    shape_mismatch,
    spectra,
    spectrum_check,
)
from sympy import ZeroMatrix  # noqa: E402

from symres import derive  # noqa: E402
from symres.symbolic import explicit  # noqa: E402
from symres.verify import statement, tested  # noqa: E402

RESIDUAL = r"\frac{\partial y}{\partial x} = I + \frac{\partial F}{\partial x}"


@statement(
    seed=SEED,
    where="Summary",
    expect="proved",
    text="a residual block computes y = F(x) + x, creating a skip connection that adds I to the Jacobian: ∂y/∂x = I + ∂F/∂x",
)
def summary_block():
    return block_tested("residual", RESIDUAL, dim=2)


@statement(
    seed=SEED,
    where="Summary",
    expect="proved",
    text="the gradient decomposes into 2^L paths, including a pure identity path (length 0) that never attenuates "
    "(read: its term ∂L/∂h_L·I passes ∂L/∂h_L on unchanged at every depth)",
)
def summary_paths():
    return counts(), claim("prod(l=1..2, I + J_l) = I + J_1 + J_2 + J_2 J_1"), claim("norm(g^T I) = norm(g) where g vector")


@statement(
    seed=SEED,
    where="Summary",
    expect="holds",
    text="even if ‖∂F/∂x‖ ≪ 1 for all blocks, the identity path ensures gradients never vanish completely (read: with "
    "‖J_ℓ‖₂ ≤ c < 1, ∂L/∂h_0 ≠ 0 whenever ∂L/∂h_L ≠ 0: ‖∂L/∂h_0‖ ≥ (1 − c)^L‖∂L/∂h_L‖)",
)
def summary_never_vanish():
    return gradient_bounds()


@statement(
    seed=SEED,
    where="Summary",
    expect="proved",
    text="pre-activation design (y = F(σ(x)) + x) provides a cleaner identity path than post-activation (y = σ(F(x) + x))",
)
def summary_pre_post():
    pre = block_tested("preact", r"\frac{\partial y}{\partial x} = I + \frac{\partial F(\sigma(x))}{\partial x}", dim=2)
    post = block_tested("postact", r"\frac{\partial y}{\partial x} = \operatorname{diag}(\sigma'(F(x)+x))(I + J_F)", dim=2)
    return (*pre, preact_columns_free(), *post, postact_rows_blocked())


@statement(
    seed=SEED,
    where="Summary",
    expect="proved",
    text="deep residual networks can be viewed as discrete ODE solvers (read: each block is one forward-Euler step of "
    "dh/dt = F(h) with step size 1)",
)
def summary_ode():
    return derive("euler", dim=2), euler_is_residual()


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="proved",
    text="the identity skip connection requires matching shapes: y = F(x) + x only works when dim(F(x)) = dim(x); "
    "forgetting the projection shortcut when F changes the dimension causes an immediate shape mismatch error "
    "(read: the shape error, and that a linear map W_s x on the skip repairs it)",
)
def pitfall_projection():
    return shape_mismatch(), derive("projection", dim=2)


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="refuted",
    text="when F changes the channel count or spatial dimensions (e.g. stride-2 downsampling), you must add a learned "
    "linear projection W_s·x",
    corrected="any m×d linear map on the skip matches the shapes: a learned W_s, or the parameter-free zero-padding "
    "W_s = [I; 0] (He et al. 2015, option A) with ∂y/∂x = [I; 0] + ∂F/∂x (as Quiz Q5)",
)
def pitfall_learned_projection():
    return q5_evidence()


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="proved",
    text="post-activation (ReLU after addition) gates the identity gradient path through ReLU': negative F(x) + x "
    "values block even the skip connection's gradient; pre-activation (ReLU before F, skip bypasses it) provides "
    "a truly unobstructed identity path",
)
def pitfall_post_gating():
    return summary_pre_post()


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="holds",
    text="if F(x) dominates the skip connection (‖F(x)‖ ≫ ‖x‖), the network behaves like a vanilla deep net with all "
    "the associated gradient problems (read with ‖J_ℓ‖₂ = 10 ≫ 1, L = 100: the gradient is carried by paths of "
    "nearly full length, ≥ 80 of 100 branches, and explodes)",
)
def pitfall_dominant_branch():
    s = spectra(10.0)
    share = s.share(80, SPECTRUM_DEPTH)
    worst = float(share.min())
    long_paths = tested(
        "long paths carry the gradient at ‖J_ℓ‖₂ = 10",
        rf"\|J_\ell\|_2 = 10:\ \sum_{{k \ge 80}} \|g_k\| \ge 0.9 \sum_{{k=0}}^{{{SPECTRUM_DEPTH}}} \|g_k\|",
        spectrum_check(s, worst >= 0.9, "share of Σ_k‖g_k‖ carried by the paths of length ≥ 80 is ≥ 0.9 in every stack", worst),
    )
    smallest = float(s.full.min())
    explodes = tested(
        "the gradient explodes at ‖J_ℓ‖₂ = 10",
        r"\|J_\ell\|_2 = 10:\ \|\partial\mathcal{L}/\partial h_0\| \ge 10^{60}\,\|\partial\mathcal{L}/\partial h_{100}\|",
        spectrum_check(s, smallest >= 1e60, "‖∂L/∂h_0‖ ≥ 10^60 for a unit ∂L/∂h_100 in every stack", smallest),
    )
    return long_paths, explodes


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="proved",
    text="proper initialisation ensures the residual block starts near-identity: F(x) ≈ 0 at initialisation (read: with "
    "F ≡ 0, e.g. W₂ = 0, or a zero gate α = 0, every block's Jacobian is I and so is the whole stack's)",
)
def pitfall_near_identity():
    proof = derive("residual", dim=2)
    W2 = next(p.symbol for p in proof.meta["instance"].params if str(p.symbol) == "W_2")
    J = explicit(proof.result.xreplace({W2: ZeroMatrix(2, 2)}))
    block = exact(
        "W_2 = 0 gives the identity Jacobian",
        r"W_2 = 0 \;\Rightarrow\; \frac{\partial y}{\partial x} = I",
        sp.simplify(J - sp.eye(2)) == sp.zeros(2, 2),
        "SymPy, d = 2, symbolic W₁, x, generic σ: the derived I + W₂ diag(σ'(W₁x)) W₁ at W₂ = 0 is I",
    )
    return proof, block, claim("prod(l=1..L, I + alpha J_l) = I where alpha = 0")


@statement(
    seed=SEED,
    where="Pitfalls",
    expect="proved",
    text="if the skip connection spans a large transformation (e.g. across a bottleneck with major dimension "
    "reduction), the identity interpretation breaks down (read: with a projection shortcut the skip's Jacobian term "
    "is W_s, not I)",
)
def pitfall_projection_skip():
    return block_tested("projection", r"\frac{\partial y}{\partial x} = W_s + \frac{\partial F}{\partial x}", dim=2)
