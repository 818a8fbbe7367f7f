"""Seed 001, Practice Problems 1–5.

P1 (tanh block) and P2 (the eight path words of three blocks) are proved; P3 is §6; P4's
bounds hold (‖J_50⋯J_1‖ ≤ c^50, ‖I‖ = 1); P5's Euler step is proved, and "as blocks → ∞ and
F becomes smoother the network approximates a continuous-depth model" is refuted (a linear,
perfectly smooth F with step 1 does not converge) and corrected with step 1/L.
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import sympy as sp  # noqa: E402
from _seed001 import (  # noqa: E402
    SEED,
    SMALL_STEPS,
    STEP_ONE,
    block_tested,
    claim,
    euler_is_residual,
    exact,
    plain_bound,
    postact_rows_blocked,
    preact_columns_free,
)

from symres import derive  # noqa: E402
from symres.activations import get_activation  # noqa: E402
from symres.paths import path_terms, path_words  # noqa: E402
from symres.verify import statement  # noqa: E402

SEED_WORDS = ["III", "J1II", "IJ2I", "IIJ3", "J1J2I", "J1IJ3", "IJ2J3", "J1J2J3"]


@statement(
    seed=SEED,
    where="Problem 1",
    expect="proved",
    text="for F(x) = W₂·tanh(W₁·x): forward y = W₂·tanh(W₁·x) + x; backward ∂y/∂x = I + W₂·diag(tanh'(W₁·x))·W₁, the I "
    "term being the skip connection's gradient",
)
def p1_tanh_block():
    proof, fact = block_tested(
        "residual", r"\frac{\partial y}{\partial x} = I + W_2 \operatorname{diag}(\tanh'(W_1 x)) W_1", dim=2, activation="tanh"
    )
    u = sp.Symbol("u", real=True)
    tanh = get_activation("tanh")
    ok = sp.simplify(sp.diff(tanh.sympy_form(u), u) - tanh.sympy_deriv(u)) == 0
    deriv = exact("tanh' = 1 − tanh²", r"\tanh'(u) = 1 - \tanh^2(u)", ok, "SymPy: d/du tanh(u) − (1 − tanh(u)²) simplifies to 0")
    return proof, fact, deriv


@statement(
    seed=SEED,
    where="Problem 2",
    expect="proved",
    text="a 3-block residual network has 2³ = 8 gradient paths: III, J₁II, IJ₂I, IIJ₃, J₁J₂I, J₁IJ₃, IJ₂J₃, J₁J₂J₃ — at "
    "each block choose I or J_ℓ (read: the words list the blocks in order 1, 2, 3; as matrix products the later "
    "block stands left: I, J₁, J₂, J₃, J₂J₁, J₃J₁, J₃J₂, J₃J₂J₁)",
)
def p2_eight_paths():
    words = list(path_words(3))
    products = [t.factors for t in path_terms(3)]
    want = [(), ("J_1",), ("J_2",), ("J_3",), ("J_2", "J_1"), ("J_3", "J_1"), ("J_3", "J_2"), ("J_3", "J_2", "J_1")]
    listed = exact(
        "the eight words and their products",
        r"III,\ J_1II,\ IJ_2I,\ IIJ_3,\ J_1J_2I,\ J_1IJ_3,\ IJ_2J_3,\ J_1J_2J_3",
        words == SEED_WORDS and products == want,
        f"symres.paths.path_words(3) = {words} (the seed's list, same order); products {products}",
    )
    expansion = claim("prod(l=1..3, I + J_l) = I + J_1 + J_2 + J_3 + J_2 J_1 + J_3 J_1 + J_3 J_2 + J_3 J_2 J_1")
    return listed, expansion


@statement(
    seed=SEED,
    where="Problem 3",
    expect="proved",
    text="pre-activation y = F(ReLU(x)) + x gives ∂y/∂x = I + ∂F(ReLU(x))/∂x: I is always present; post-activation "
    "y = ReLU(F(x) + x) gives ∂y/∂x = ReLU'(F(x)+x)·(I + J) (read: diag(ReLU'(F(x)+x))·(I + J)): if F(x) + x ≤ 0, "
    "even the identity path is gated to zero (componentwise, with ReLU'(0) := 0)",
)
def p3_pre_post():
    pre = block_tested("preact", r"\frac{\partial y}{\partial x} = I + \frac{\partial F(\mathrm{ReLU}(x))}{\partial x}", dim=2)
    post = block_tested("postact", r"\frac{\partial y}{\partial x} = \operatorname{diag}(\mathrm{ReLU}'(F(x)+x))(I + J)", dim=2)
    return (*pre, preact_columns_free(), *post, postact_rows_blocked())


@statement(
    seed=SEED,
    where="Problem 4",
    expect="holds",
    text="a residual network with 50 blocks and ‖J_ℓ‖ < 1 for all ℓ: the longest path has ‖J₅₀J₄₉⋯J₁‖ ≤ (max‖J_ℓ‖)^50 "
    "— exponential decay; the shortest has ‖I‖ = 1 — no decay at all",
)
def p4_longest_shortest():
    return (
        claim("norm(prod(l=1..L, J_l)) <= c^L where norm(J_l) <= c, 0 <= c < 1"),
        plain_bound(0.9, 50),
        claim("norm(I) = 1"),
    )


@statement(
    seed=SEED,
    where="Problem 5",
    expect="proved",
    text="h_{t+1} = h_t + F(h_t) is a forward Euler step of dh/dt = F(h) with step size 1",
)
def p5_euler_step():
    return derive("euler", dim=2), euler_is_residual()


@statement(
    seed=SEED,
    where="Problem 5",
    expect="refuted",
    text="as blocks → ∞ and F becomes smoother, the residual network approximates a continuous-depth model (read: "
    "with step 1, checked with the smoothest F, a linear F(h) = Jh, ‖J‖ ≤ 1, L = 100 blocks against the flow over "
    "time 100, relative error ≤ 0.1)",
    corrected="smoothness is not the missing condition, the step size is: L blocks h → h + F(h)/L approximate the "
    "time-1 flow, ‖(I + J/L)^L − e^J‖ ≤ ‖J‖²e^‖J‖/(2L) for F(h) = Jh",
)
def p5_continuous_limit():
    return claim(STEP_ONE), claim(SMALL_STEPS)
