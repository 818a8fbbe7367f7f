"""Seed 000, Step 4 (stacking the blocks) and the plain-versus-skip picture.

A stack x_k = x_{k−1} + F_k(x_{k−1}) has ∂x_n/∂x_0 = (I + J_n)⋯(I + J_1) with
J_k = ∂F_k/∂x_{k−1} at x_{k−1}, later blocks on the left (the seed writes ∏ without an
order; it matters, the J_k do not commute). The expansion always contains the term I, but
the rest is not "small stuff": it can cancel the I exactly (J_1 = −I) and its norm can reach
(1 + c)^L − 1. The picture "plain fades, skips stay bright" is decided as a comparison
for the same branch Jacobians: false in general, true with a geometric margin when
‖J_ℓ‖ ≤ c ≤ 1/2 — and even then the skip stack fades, only exponentially slower.
"""

from __future__ import annotations

import sys
from pathlib import Path

from symres.expr import Deriv, add, matmul
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED000, claim, equal, stack  # noqa: E402

STACK = "prod(l=1..L, I + J_l)"


def stack_jacobian(d: int):
    """∂x_2/∂x against (I + J_2(x_1))(I + J_1(x)): the later block on the left, each J at its block's input."""
    s = stack(d)
    return Deriv(s["x2"], s["x"]), matmul(add(s["I"], s["J2"](s["x1"])), add(s["I"], s["J1"](s["x"]))), {}


@statement(
    seed=SEED000,
    where="Step 4",
    expect="proved",
    text="chaining residual blocks, the chain rule gives the product of the (1 + ∂F_k/∂x_{k−1}) "
    "('1' read as I, the product ordered with later blocks on the left: (I + J_n)⋯(I + J_1))",
)
def stack_product():
    return (
        equal(
            "two residual blocks in a row (F_1 = A₂σ(A₁·), F_2 = B₂σ(B₁·))",
            r"\frac{\partial x_2}{\partial x_0} = "
            r"\Big(I + \frac{\partial F_2}{\partial x_1}\Big)\Big(I + \frac{\partial F_1}{\partial x_0}\Big)",
            stack_jacobian,
        ),
        claim("prod(l=1..3, I + J_l) = (I + J_3)(I + J_2)(I + J_1)"),
    )


@statement(
    seed=SEED000,
    where="Step 4",
    expect="proved",
    text="expanding the product there is always a clean 1·1⋯1 = 1 path through every block: "
    "∏(I + J_k) = I + (terms with at least one J_k)",
)
def clean_path():
    return claim("prod(l=1..3, I + J_l) = I + J_1 + J_2 + J_3 + J_2 J_1 + J_3 J_1 + J_3 J_2 + J_3 J_2 J_1")


@statement(
    seed=SEED000,
    where="Step 4",
    expect="refuted",
    text="∏(1 + ∂F_k/∂x_{k−1}) = 1 + (terms that may shrink): 'the gradient reaching layer 0 is at worst 1 plus "
    "small stuff — it cannot collapse to zero' (read: ∏(I + J_k) ≠ 0 for every stack)",
    corrected="a single block with J_1 = −I makes the product exactly 0; if ‖J_k‖ ≤ c < 1 for every block it cannot "
    "collapse: (1 − c)^L ≤ σ_min(∏(I + J_k)) ≤ ‖∏(I + J_k)‖ ≤ (1 + c)^L; but the 'small stuff' ∏ − I is not small, "
    "its norm reaches (1 + c)^L − 1 (attained at J_k = cI)",
)
def cannot_collapse():
    return claim(f"norm({STACK}) > 0"), (
        claim(f"(1 - c)^L <= smin({STACK}) <= norm({STACK}) <= (1 + c)^L where norm(J_l) <= c, 0 <= c < 1"),
        claim(f"norm({STACK} - I) <= (1 + c)^L - 1 where norm(J_l) <= c, c >= 0"),
        claim(f"norm({STACK} - I) = (1 + c)^L - 1 where J_l = c I, c >= 0"),
    )


@statement(
    seed=SEED000,
    where="See the block, and the reach",
    expect="refuted",
    text="'in a plain stack [the gradient] fades to nothing toward the bottom; with skips it stays bright all the "
    "way down' (read for the same branch Jacobians: the skip stack's gain is at least the plain one's, "
    "‖J_L⋯J_1‖ ≤ ‖∏(I + J_ℓ)‖)",
    corrected="for ‖J_ℓ‖ ≤ c ≤ 1/2: ‖J_L⋯J_1‖ ≤ c^L ≤ (1 − c)^L ≤ σ_min(∏(I + J_ℓ)) — the plain stack fades at "
    "least like c^L, the skip stack at most like (1 − c)^L; it fades too (J_ℓ = −cI attains (1 − c)^L), "
    "only exponentially slower. Without a bound on ‖J_ℓ‖ neither half holds (J_1 = −I blocks the skip stack)",
)
def plain_vs_skip():
    plain = "prod(l=1..L, J_l)"
    return claim(f"norm({plain}) <= norm({STACK})"), (
        claim(f"norm({plain}) <= c^L where norm(J_l) <= c, c >= 0"),
        claim(f"norm({plain}) <= smin({STACK}) where norm(J_l) <= c, 0 <= c <= 1/2"),
        claim(f"smin({STACK}) = (1 - c)^L where J_l = -c I, 0 <= c < 1"),
    )
