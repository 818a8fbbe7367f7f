"""Seed 003, "What's the point?": gradients through a softmax.

The seed says a block that applies "sigmoids of softmaxes" internally passes weaker
gradients to the layers below (seed003_gated_identity decides the sigmoid half). For the
softmax p = softmax(u) on R^d it is a theorem: J_softmax(u) = diag(p) − p pᵀ, derived from
softmax(u) = (𝟙ᵀ exp(u))⁻¹ exp(u); it is symmetric, and by Gershgorin every eigenvalue lies
in a disc about p_i(1 − p_i) of radius p_i Σ_{j≠i} p_j = p_i(1 − p_i), so in
[0, 2p_i(1 − p_i)] ⊆ [0, 1/2]: ‖∂L/∂u‖ = ‖∂L/∂p · J_softmax‖ ≤ ½‖∂L/∂p‖. And J_softmax 𝟙 = 0:
the part of a score change along 𝟙 (the same shift of every score) does not reach p, and
the gradient ∂L/∂u always sums to zero. The attention blocks (`symres derive attention`)
use this Jacobian row by row.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp
from sympy import OneMatrix, ZeroMatrix

from symres.attention import softmax_closed_form, softmax_jacobian
from symres.expr import matmul
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED003, equal, exact  # noqa: E402


@statement(
    seed=SEED003,
    where="What's the point?",
    expect="proved",
    text="'if your block does things like sigmoids of softmaxes internally, the gradients coming out of the bottom will "
    "be less strong … than those of the gradients flowing into the top', read for a softmax p = softmax(u) on R^d: "
    "‖∂L/∂u‖ ≤ ½‖∂L/∂p‖ for every upstream gradient ∂L/∂p, and ∂L/∂u·𝟙 = 0 (a common shift of the scores is "
    "invisible)",
)
def softmax_weaker():
    def annihilates(d: int):
        return matmul(softmax_closed_form(d).expr, OneMatrix(d, 1)), ZeroMatrix(d, 1), {}

    t = sp.Symbol("t", real=True)  # one entry p_i of p, with Σ_j p_j = 1
    row = t * (1 - t) + t * (1 - t)  # |J_ii| + Σ_{j≠i} |J_ij| = p_i(1 − p_i) + p_i Σ_{j≠i} p_j
    gershgorin = sp.simplify(sp.Rational(1, 2) - row - (2 * t - 1) ** 2 / 2) == 0
    return (
        softmax_jacobian(3),
        equal(
            "the ones vector is annihilated",
            r"J_{\operatorname{softmax}}(u)\,\mathbf{1} = \operatorname{diag}(p)\mathbf{1} - p\, p^{T}\mathbf{1} = 0",
            annihilates,
        ),
        exact(
            "Gershgorin: every eigenvalue of the symmetric J_softmax(u) is at most 1/2",
            r"|J_{ii}| + \sum_{j \ne i} |J_{ij}| = 2 p_i (1 - p_i) = \tfrac12 - \tfrac12 (2 p_i - 1)^2 \le \tfrac12",
            gershgorin,
            "SymPy: ½ − 2t(1 − t) − (2t − 1)²/2 simplifies to 0 (t = p_i; J_ii = p_i(1 − p_i) ≥ 0, J_ij = −p_i p_j, "
            "Σ_{j≠i} p_j = 1 − p_i); J_softmax is symmetric, so ‖J_softmax(u)‖₂ = max |λ| ≤ ½",
        ),
    )
