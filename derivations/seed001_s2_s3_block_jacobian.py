"""Seed 001, §2 and §3: the Jacobian of one residual block, and the projection shortcut.

y = x + F(x) has ∂y/∂x = I + ∂F/∂x with the identity term standing alone (derived rule by
rule, checked symbolically at d = 2 and numerically). When F changes the width, x + F(x)
is a shape error and the shortcut becomes W_s x, whose Jacobian term is W_s, not I.
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, block_tested, claim, exact, shape_mismatch  # noqa: E402

from symres.verify import statement  # noqa: E402


@statement(
    seed=SEED,
    where="§2, §3",
    expect="proved",
    text="a residual block y = F(x, {W_i}) + x has ∂y/∂x = I + ∂F/∂x; for block ℓ of a stack, "
    "h_ℓ = F_ℓ(h_{ℓ−1}) + h_{ℓ−1} gives ∂h_ℓ/∂h_{ℓ−1} = I + ∂F_ℓ/∂h_{ℓ−1}",
)
def block_jacobian():
    return block_tested("residual", r"\frac{\partial y}{\partial x} = I + \frac{\partial F}{\partial x}", dim=2)


@statement(
    seed=SEED,
    where="§2, critical note",
    expect="proved",
    text="∂y/∂x = I + ∂F/∂x guarantees that the gradient has a term equal to the identity matrix, which doesn't decay "
    "no matter how small ∂F/∂x is (read: the term I stands alone in the derived Jacobian, whatever F is, and "
    "‖∂y/∂x − I‖ = ‖∂F/∂x‖ → 0 as ∂F/∂x shrinks; the whole Jacobian can still be below I, e.g. ‖I − 0.1I‖ = 0.9)",
)
def identity_term():
    proof, fact = block_tested("residual", r"I \text{ is a term of } \frac{\partial y}{\partial x}", dim=2)
    return proof, fact, claim("norm((I + J) - I) = norm(J)")


@statement(
    seed=SEED,
    where="§2",
    expect="proved",
    text="shapes must match: if F changes the dimension, x + F(x) is undefined and a learned linear projection W_s is used, "
    "y = F(x, {W_i}) + W_s·x (read: a linear map W_s on the skip makes the sum well-formed, ∂y/∂x = W_s + ∂F/∂x; "
    "whether W_s must be learned is decided at Quiz Q5)",
)
def projection_shortcut():
    proof, fact = block_tested("projection", r"\frac{\partial y}{\partial x} = W_s + \frac{\partial F}{\partial x}", dim=2)
    shape = exact(
        "the projection block maps R^2 to R^3",
        r"\frac{\partial y}{\partial x} \in \mathbb{R}^{3 \times 2}",
        tuple(int(n) for n in proof.result.shape) == (3, 2),
        f"the derived Jacobian W_s + ∂F/∂x has shape {tuple(int(n) for n in proof.result.shape)} (m×d, m = 3, d = 2)",
    )
    return shape_mismatch(), proof, fact, shape
