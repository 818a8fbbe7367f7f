"""Seed 000, "The backward pass through a skip", Steps 1-3, and the summary's highway bullet.

The block is y = x + F(x) with F = W₂σ(W₁x) (any differentiable σ in the symbolic checks,
ReLU in the numeric ones). Steps 1 and 2 are right once "1" is read as the identity matrix
I; written with the number 1 (what `1 + J` computes in NumPy) the Step 2 formula is wrong
for vector x. The "+1 survives" (Step 3) is right for one block and small slopes; the
"highway that no amount of depth can close" and "it cannot vanish through the block
however deep the stack" are not: one block with ∂F/∂x = −I closes it exactly, and small
slopes ‖∂F/∂x‖ ≤ c let it decay like (1 − c)^L.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sympy import Identity, OneMatrix

from symres import derive
from symres.blocks import get_block
from symres.calculus import jacobian
from symres.expr import Deriv, add
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED000, claim, closing_block, equal, loss_gradient  # noqa: E402


def _block(d: int):
    """The residual block at size d: (x, y, ∂F/∂x derived, domains)."""
    inst = get_block("residual").instance(d)
    branch = get_block("plain").instance(d)  # F = W₂σ(W₁x), the same symbols
    return inst.x, inst.forward, jacobian(branch.forward, inst.x), inst.domains


@statement(
    seed=SEED000,
    where="Step 1",
    expect="proved",
    text="the output y = x + F(x) is a sum, so ∂y/∂x = ∂x/∂x + ∂F/∂x (sum rule)",
)
def sum_rule():
    def make(d: int):
        x, y, _, domains = _block(d)
        return Deriv(y, x), add(Deriv(x, x), Deriv(add(y, -x), x)), domains

    rule = r"\frac{\partial}{\partial x}\big[x + F(x)\big] = \frac{\partial x}{\partial x} + \frac{\partial F}{\partial x}"
    return equal("sum rule", rule, make), derive("residual")


@statement(
    seed=SEED000,
    where="Step 2",
    expect="proved",
    text="the derivative of x with respect to itself is the identity: ∂x/∂x = I",
)
def identity_derivative():
    def make(d: int):
        x, _, _, domains = _block(d)
        return Deriv(x, x), Identity(d), domains

    return equal("∂x/∂x", r"\frac{\partial x}{\partial x} = I", make), derive("residual")


@statement(
    seed=SEED000,
    where="Step 2",
    expect="refuted",
    text="∂y/∂x = 1 + ∂F/∂x, read for a vector x ∈ R^d with 1 the number one added to every entry "
    "(what 1 + J computes in NumPy: the all-ones matrix 𝟙𝟙ᵀ + ∂F/∂x)",
    corrected="∂y/∂x = I + ∂F/∂x, I the d×d identity (the seed's own words: 'the derivative of x with respect "
    "to itself is the identity'); the formula with the number 1 is exact only for scalar x (d = 1)",
)
def one_plus_formula():
    def seed_form(d: int):
        x, y, JF, domains = _block(d)
        return add(OneMatrix(d, d), JF), Deriv(y, x), domains

    dydx, dFdx = r"\frac{\partial y}{\partial x}", r"\frac{\partial F}{\partial x}"
    ones = dydx + r" = \mathbf{1}\mathbf{1}^{T} + " + dFdx
    written = equal("the seed's formula with the number 1, against ∂y/∂x", ones, seed_form)
    scalar = equal("the formula with 1 at d = 1", dydx + " = 1 + " + dFdx + r" \quad (d = 1)", seed_form, dim=1, sym_dim=1)
    return written, (derive("residual"), scalar)


@statement(
    seed=SEED000,
    where="Step 3",
    expect="proved",
    text="backprop multiplies the running gradient by I + ∂F/∂x ('1' read as I), not by ∂F/∂x alone; "
    "even if F's slope shrinks toward zero the identity term survives: I + ∂F/∂x → I",
)
def plus_one_survives():
    def make(d: int):
        x, y, JF, domains = _block(d)
        dL, g = loss_gradient(y, x)
        return dL, g * add(Identity(d), JF), domains

    backprop = equal(
        "the gradient of ℒ = ½‖y − t‖² through the block",
        r"\frac{\partial \mathcal{L}}{\partial x} = "
        r"\frac{\partial \mathcal{L}}{\partial y}\Big(I + \frac{\partial F}{\partial x}\Big)",
        make,
    )
    return (
        backprop,
        claim("I + J = I where J = 0"),
        claim("1 - norm(J) <= smin(I + J) <= norm(I + J) <= 1 + norm(J)"),
    )


@statement(
    seed=SEED000,
    where="Step 3",
    expect="refuted",
    text="the +1 gives the gradient 'a highway straight back to the early layers that no amount of depth can "
    "close', read as: with small slopes (‖∂F_ℓ/∂x‖ ≤ 0.1) the gradient through L blocks keeps at least "
    "its full strength, ‖∏(I + J_ℓ)‖ ≥ 1 (checked at L = 20)",
    corrected="for ‖J_ℓ‖ ≤ c < 1: (1 − c)^L ≤ σ_min(∏(I + J_ℓ)) ≤ ‖∏(I + J_ℓ)‖ ≤ (1 + c)^L, both ends attained "
    "(J_ℓ = ∓cI): depth cannot close the highway exactly, but it can dim it geometrically "
    "(0.9^20 ≈ 0.12 and 0.9^100 ≈ 2.7·10⁻⁵ at c = 0.1)",
)
def highway_depth():
    stack = "prod(l=1..L, I + J_l)"
    return claim(f"norm({stack}) >= 1 where norm(J_l) <= 0.1, L = 20"), (
        claim(f"(1 - c)^L <= smin({stack}) <= norm({stack}) <= (1 + c)^L where norm(J_l) <= c, 0 <= c < 1"),
        claim(f"smin({stack}) = (1 - c)^L where J_l = -c I, 0 <= c < 1"),
        claim(f"norm({stack}) = (1 + c)^L where J_l = c I, 0 <= c < 1"),
    )


@statement(
    seed=SEED000,
    where="Summary: the gradient highway",
    expect="refuted",
    text="∂y/∂x = 1 + ∂F/∂x: 'the +1 is a path the gradient always takes, so it cannot vanish through the block "
    "however deep the stack' (read: every nonzero upstream gradient g gives g(I + ∂F/∂x) ≠ 0)",
    corrected="the term g is always in the sum g + g ∂F/∂x, but the sum vanishes exactly when g ∂F/∂x = −g; "
    "if ‖∂F/∂x‖ < 1 it cannot: ‖g(I + J)‖ ≥ (1 − ‖J‖)‖g‖, and through L blocks with ‖J_ℓ‖ ≤ c < 1, "
    "‖g ∏(I + J_ℓ)‖ ≥ (1 − c)^L ‖g‖ (nonzero, but decaying with depth)",
)
def highway_bullet():
    written = closing_block(
        "a block that closes the highway: W₁ = I, W₂ = −I, x = (1, 2, 3)",
        r"g\Big(I + \frac{\partial F}{\partial x}\Big) \neq 0 \text{ for every row } g \neq 0",
    )
    return written, (
        claim("norm(g^T (I + J)) >= (1 - norm(J)) norm(g) where g vector"),
        claim("norm(g^T prod(l=1..L, I + J_l)) >= (1 - c)^L norm(g) where g vector, norm(J_l) <= c, 0 <= c < 1"),
    )
