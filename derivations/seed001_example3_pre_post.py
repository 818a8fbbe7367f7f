"""Seed 001, Example 3: pre- versus post-activation at W₁ = W₂ = I, x = (−1, 1), ReLU."""

from __future__ import annotations

import sympy as sp

from symres import check_equal, derive, latex
from symres.expr import Diag, Elementwise, add, matmul
from symres.proof import Check
from symres.symbolic import exact_value
from symres.verify import statement, tested

SEED = "001_3a3f3c0e152939cc.txt"
POINT = {"x": [[-1], [1]], "W_1": [[1, 0], [0, 1]], "W_2": [[1, 0], [0, 1]]}


def _value(block: str, expected: list[list[int]], output: list[int]):
    proof = derive(block, dim=2)
    J = exact_value(proof.result, POINT)
    y = exact_value(proof.meta["forward"], POINT)
    ok = J == sp.Matrix(expected) and list(y) == output
    check = Check("symbolic", ok, f"exact arithmetic at the point, ReLU'(0) := 0: ∂y/∂x = {J.tolist()}, y = {list(y)}")
    return proof, tested(
        f"{block} at x = (−1, 1), W₁ = W₂ = I", rf"\frac{{\partial y}}{{\partial x}} = {latex(sp.Matrix(expected))}", check
    )


@statement(
    seed=SEED,
    where="Example 3",
    expect="proved",
    text="post-activation y = ReLU(F(x) + x) at W₁ = W₂ = I, x = (−1, 1): y = (0, 2) and ∂y/∂x = diag(0, 2)",
)
def post_activation_value():
    return _value("postact", [[0, 0], [0, 2]], [0, 2])


@statement(
    seed=SEED,
    where="Example 3",
    expect="proved",
    text="pre-activation y = F(ReLU(x)) + x at the same point: y = (−1, 2) and ∂y/∂x = diag(1, 2)",
)
def pre_activation_value():
    return _value("preact", [[1, 0], [0, 2]], [-1, 2])


@statement(
    seed=SEED,
    where="Example 3",
    expect="refuted",
    text="the pre-activation gradient is ∂y/∂x = diag(ReLU'(x))·I·diag(ReLU'(ReLU(x)))·I + I "
    "(read with W₁, W₂ in place of the two I's: diag(σ'(x)) W₁ diag(σ'(σ(x))) W₂ + I)",
    corrected="∂y/∂x = I + W₂ diag(σ'(W₁ σ(x))) W₁ diag(σ'(x)): the later factor stands on the left and σ' "
    "is taken at W₁σ(x); the seed's form agrees only where the W's are diagonal, e.g. W₁ = W₂ = I",
)
def pre_activation_formula():
    proof = derive("preact", dim=2)
    inst = proof.meta["instance"]
    x, (W1, W2) = inst.x, [p.symbol for p in inst.params if str(p.symbol) in ("W_1", "W_2")]
    seed_form = add(
        matmul(Diag(Elementwise("sigma", x, 1)), W1, Diag(Elementwise("sigma", Elementwise("sigma", x), 1)), W2), sp.Identity(2)
    )
    check = check_equal(seed_form, proof.result, domains=inst.domains, trials=200, seed=0)
    return tested("the seed's formula against the derived Jacobian", latex(seed_form), check), proof
