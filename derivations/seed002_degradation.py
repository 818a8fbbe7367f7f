"""Seed 002, "Quick refresher" (vanishing gradients) and "The Degradation Problem".

The refresher's numbers are right to the digits shown (0.8²⁰ = 0.0115…, 0.8⁵⁰ = 1.43·10⁻⁵).
Its rule "if those Jacobians have values less than 1, the gradient shrinks exponentially"
is false when "values" are entries or eigenvalues (a nilpotent Jacobian has every eigenvalue
0 and can still double the gradient); it holds with spectral norms: ‖J_ℓ‖ ≤ c < 1 gives
‖J_L⋯J_1‖ ≤ c^L. The degradation argument's construction ("the extra layers learn the
identity function") exists: a residual block is the identity at W₂ = 0 for every input, and
a plain ReLU layer σ(I·h) is the identity on the nonnegative outputs of a ReLU layer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp
from sympy import ZeroMatrix

from symres.blocks import get_block
from symres.expr import Elementwise
from symres.symbolic import explicit
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, claim, equal, exact  # noqa: E402


@statement(
    seed=SEED002,
    where="Quick refresher",
    expect="proved",
    text="with a gradient factor 0.8 per layer, 0.8²⁰ ≈ 0.012 after 20 layers and 0.8⁵⁰ ≈ 0.00001 after 50 "
    "(each to the digits shown)",
)
def refresher_numbers():
    a, b = sp.Rational(4, 5) ** 20, sp.Rational(4, 5) ** 50
    ok_a = abs(a - sp.Rational(12, 1000)) <= sp.Rational(5, 10000)  # 0.012 to three decimals
    ok_b = abs(b - sp.Rational(1, 100000)) <= sp.Rational(5, 1000000)  # 0.00001 to five decimals
    return exact(
        "0.8^20 and 0.8^50 in exact arithmetic",
        r"0.8^{20} \approx 0.012,\quad 0.8^{50} \approx 0.00001",
        bool(ok_a and ok_b),
        f"exact rationals: 0.8^20 = {sp.N(a, 6)} (rounds to 0.012), 0.8^50 = {sp.N(b, 6)} (rounds to 0.00001 "
        "at five decimals, one significant figure: 1.4·10⁻⁵ more precisely)",
    )


@statement(
    seed=SEED002,
    where="Quick refresher",
    expect="refuted",
    text="'if those Jacobians have values less than 1, the gradient shrinks exponentially as it travels backward', "
    "read with 'values' the entries (|entries| ≤ 0.9) or the eigenvalues (all 0 here: nilpotent J_ℓ): the "
    "gradient does not grow, ‖J_L⋯J_1‖ ≤ 1",
    corrected="with spectral norms ‖J_ℓ‖ ≤ c < 1 (for scalar factors |J_ℓ| ≤ c, as in the 0.8 example): "
    "‖J_L⋯J_1‖ ≤ c^L, attained at J_ℓ = cI",
)
def refresher_shrink():
    plain = "prod(l=1..L, J_l)"
    return (
        claim(f"norm({plain}) <= 1 where J_l in [-0.9, 0.9]"),
        claim(f"norm({plain}) <= 1 where J_l nilpotent"),
    ), (
        claim(f"norm({plain}) <= c^L where norm(J_l) <= c, c >= 0"),
        claim(f"norm({plain}) = c^L where J_l = c I, c >= 0"),
    )


@statement(
    seed=SEED002,
    where="The Degradation Problem",
    expect="proved",
    text="'at any depth, we could always construct a solution by having the extra layers learn the identity "
    "function' — read: the extra layers can compute the identity exactly, so the deeper network reproduces the "
    "shallower one: a residual block at W₂ = 0 (any input), or a plain ReLU layer σ(I·h) on the nonnegative "
    "outputs of a ReLU layer (σ(h) ≠ h where h has negative entries)",
)
def degradation_construction():
    def residual_off(d: int):
        inst = get_block("residual").instance(d)
        W2 = next(p.symbol for p in inst.params if str(p.symbol) == "W_2")
        return inst.forward.xreplace({W2: ZeroMatrix(d, d)}), inst.x, inst.domains

    h = sp.MatrixSymbol("h", 3, 1)
    nonneg = sp.Matrix(3, 1, lambda i, j: sp.Symbol(f"h{i}", nonnegative=True))
    relu_layer = explicit(Elementwise("sigma", h), {h: nonneg}, activation="relu")
    same = sp.simplify(relu_layer - nonneg) == sp.zeros(3, 1)
    return (
        equal("a residual block at W₂ = 0", r"x + 0\cdot\sigma(W_1 x) = x", residual_off),
        exact(
            "a plain ReLU layer with weight I on nonnegative inputs",
            r"\operatorname{ReLU}(I h) = h \quad (h \ge 0)",
            same,
            f"SymPy with nonnegative symbols h_i: ReLU(h) = {list(relu_layer)}",
        ),
    )
