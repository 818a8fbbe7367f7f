"""Seed 001, §6: post-activation gates the identity path, pre-activation does not.

Both Jacobians are derived rule by rule (checked symbolically at d = 2 and numerically).
Componentwise, with a generic σ (ReLU: σ' = 0 exactly where the argument is ≤ 0): in the
post-activation block a closed unit i zeroes the whole row i of ∂y/∂x, identity included;
in the pre-activation block a closed input unit i leaves the identity column e_i intact.
The worked values at x = (−1, 1) are Example 3 (seed001_example3_pre_post.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _seed001 import SEED, block_tested, postact_rows_blocked, preact_columns_free  # noqa: E402

from symres.verify import statement  # noqa: E402

POST = r"\frac{\partial y}{\partial x} = \operatorname{diag}(\sigma'(F(x) + x))\left(I + \frac{\partial F}{\partial x}\right)"
PRE = r"\frac{\partial y}{\partial x} = I + \frac{\partial F(\sigma(x))}{\partial x}"


def post_evidence():
    return (*block_tested("postact", POST, dim=2), postact_rows_blocked())


def pre_evidence():
    return (*block_tested("preact", PRE, dim=2), preact_columns_free())


@statement(
    seed=SEED,
    where="§6",
    expect="proved",
    text="post-activation y = ReLU(F(x) + x): the identity path also passes through ReLU, so the gradient through the "
    "identity path is gated by ReLU'; if F(x) + x is negative, ReLU' = 0 and even the identity path is blocked "
    "(read componentwise: ∂y/∂x = diag(ReLU'(F(x)+x))(I + ∂F/∂x), and row i is zero where (F(x)+x)_i ≤ 0)",
)
def post_activation_gated():
    return post_evidence()


@statement(
    seed=SEED,
    where="§6",
    expect="proved",
    text="pre-activation y = F(ReLU(x)) + x: the skip connection bypasses the ReLU, giving a true identity path: "
    "∂y/∂x = I + ∂F(ReLU(x))/∂x, and the I term has no ReLU' gating",
)
def pre_activation_ungated():
    return pre_evidence()
