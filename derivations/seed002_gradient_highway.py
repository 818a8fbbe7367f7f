"""Seed 002, "The Gradient Highway": one block, the canceling case, the stacked product.

With ℒ a scalar loss and ∂ℒ/∂H a row vector, ∂ℒ/∂x = ∂ℒ/∂H (I + ∂F/∂x): the direct term
∂ℒ/∂H plus the learned term ∂ℒ/∂H·∂F/∂x ("1" read as I). The canceling case ∂F/∂x = −I
blocks the gradient exactly — the two terms cancel — contrary to "the gradient cannot be
completely blocked". The stacked formula is wrong twice as printed: the factor of block i is
∂F_i/∂x_{i−1} (F_i acts on x_{i−1}), and the product runs with later blocks on the left;
each slip alone changes the result. With every ∂F_i → 0 the product does tend to I.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sympy import Identity

from symres.blocks import get_block
from symres.calculus import jacobian
from symres.expr import Deriv, add, matmul
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, claim, closing_block, equal, loss_gradient, stack  # noqa: E402


def _gradient(d: int, split: bool):
    inst = get_block("residual").instance(d)
    JF = jacobian(get_block("plain").instance(d).forward, inst.x)
    dL, g = loss_gradient(inst.forward, inst.x)
    rhs = add(g, matmul(g, JF)) if split else matmul(g, add(Identity(d), JF))
    return dL, rhs, inst.domains


@statement(
    seed=SEED002,
    where="The Gradient Highway",
    expect="proved",
    text="∂L/∂x = ∂L/∂H · ∂H/∂x = ∂L/∂H · (1 + ∂F/∂x) ('1' read as I, ∂L/∂H a row vector): the direct path "
    "∂L/∂H plus the learned path ∂L/∂H · ∂F/∂x",
)
def highway_chain_rule():
    return (
        equal(
            "chain rule through H = x + F(x), ℒ = ½‖H − t‖²",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial H}\Big(I + \frac{\partial F}{\partial x}\Big)",
            lambda d: _gradient(d, split=False),
        ),
        equal(
            "the two paths",
            r"\frac{\partial L}{\partial x} = "
            r"\frac{\partial L}{\partial H} + \frac{\partial L}{\partial H}\frac{\partial F}{\partial x}",
            lambda d: _gradient(d, split=True),
        ),
    )


@statement(
    seed=SEED002,
    where="The Gradient Highway",
    expect="refuted",
    text="'even if the layers saturate and ∂F/∂x ≈ −1 (canceling case) or ≈ 0 (vanishing case), there's still a "
    "direct gradient path. The gradient cannot be completely blocked … it always has at least one clear route back'",
    corrected="the direct term ∂L/∂H is always in the sum, but at ∂F/∂x = −I the two terms cancel and ∂L/∂x = 0 for "
    "every loss; only the vanishing case is safe: ∂F/∂x = 0 gives ∂L/∂x = ∂L/∂H, and ‖∂F/∂x‖ ≤ c < 1 gives "
    "‖∂L/∂x‖ ≥ (1 − c)‖∂L/∂H‖",
)
def canceling_case():
    written = closing_block(
        "the canceling case, exactly: W₁ = I, W₂ = −I, x = (1, 2, 3)",
        r"\frac{\partial L}{\partial H}\Big(I + \frac{\partial F}{\partial x}\Big) \neq 0 "
        r"\text{ whenever } \frac{\partial L}{\partial H} \neq 0",
    )
    return written, (
        claim("I + J = I where J = 0"),
        claim("norm(g^T (I + J)) >= (1 - c) norm(g) where g vector, norm(J) <= c, 0 <= c < 1"),
    )


def _stack_form(order: str, point: str):
    """(I + J_?)(I + J_?) for two blocks: order "seed" (J_1 left) or "later-left"; each J at the block's
    output x_i ("output", the seed's ∂F_i/∂x_i) or at its input x_{i−1} ("input")."""

    def make(d: int):
        s = stack(d)
        p1, p2 = (s["x1"], s["x2"]) if point == "output" else (s["x"], s["x1"])
        f1, f2 = add(s["I"], s["J1"](p1)), add(s["I"], s["J2"](p2))
        rhs = matmul(f1, f2) if order == "seed" else matmul(f2, f1)
        return Deriv(s["x2"], s["x"]), rhs, {}

    return make


@statement(
    seed=SEED002,
    where="The Gradient Highway",
    expect="refuted",
    text="∂L/∂x_0 = ∂L/∂x_L · ∏_{i=1}^{L}(1 + ∂F_i/∂x_i), read with '1' as I, the product written out in index "
    "order (i = 1 on the left) and ∂F_i/∂x_i the Jacobian of F_i at x_i (checked with L = 2 blocks, ∂x_2/∂x_0)",
    corrected="∂L/∂x_0 = ∂L/∂x_L (I + ∂F_L/∂x_{L−1})⋯(I + ∂F_1/∂x_0): each factor at the block's input "
    "x_{i−1}, later blocks on the left; fixing only the order, or only the evaluation point, is still wrong",
)
def stack_formula():
    lhs = r"\frac{\partial x_2}{\partial x_0} = "
    written = (
        equal(
            "the seed's formula: index order, J_i at x_i", lhs + r"(I + J_1(x_1))(I + J_2(x_2))", _stack_form("seed", "output")
        ),
        equal("right points, index order", lhs + r"(I + J_1(x_0))(I + J_2(x_1))", _stack_form("seed", "input")),
        equal("right order, J_i at x_i", lhs + r"(I + J_2(x_2))(I + J_1(x_1))", _stack_form("later-left", "output")),
    )
    return written, (
        equal(
            "later block on the left, each J at its block's input",
            lhs + r"(I + J_2(x_1))(I + J_1(x_0))",
            _stack_form("later-left", "input"),
        ),
        claim("prod(l=1..2, I + J_l) = (I + J_2)(I + J_1)"),
    )


@statement(
    seed=SEED002,
    where="The Gradient Highway",
    expect="holds",
    text="'even if all ∂F_i/∂x_i → 0, the product is 1, not 0' (1 read as I; at a fixed depth L)",
)
def product_not_zero():
    stack_ = "prod(l=1..L, I + J_l)"
    return (
        claim(f"{stack_} = I where J_l = 0"),
        claim(f"norm({stack_} - I) <= (1 + c)^L - 1 where norm(J_l) <= c, c >= 0"),
    )
