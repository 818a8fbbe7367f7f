"""Seed 002, "The Residual Reformulation": H(x) = F(x) + x ⟺ F(x) = H(x) − x.

Pure algebra in R^d, shown entry by entry with symbolic vectors; the identity shortcut
contributes the ungated term I to ∂H/∂x (the derived Jacobian of the residual block).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sympy import MatrixSymbol

from symres import derive
from symres.expr import add
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, equal  # noqa: E402


def _vectors(d: int):
    return MatrixSymbol("x", d, 1), MatrixSymbol("F", d, 1), MatrixSymbol("H", d, 1)


@statement(
    seed=SEED002,
    where="The Residual Reformulation",
    expect="proved",
    text="H(x) = F(x) + x ⟺ F(x) = H(x) − x: the layers learn the residual F, the shortcut adds x back "
    "(its Jacobian contributes the ungated I)",
)
def reformulation():
    def forward(d: int):  # if H = F + x then H − x = F
        x, F, _ = _vectors(d)
        return add(add(F, x), -x), F, {}

    def backward(d: int):  # if F = H − x then F + x = H
        x, _, H = _vectors(d)
        return add(add(H, -x), x), H, {}

    return (
        equal("H = F + x ⟹ F = H − x", r"(F + x) - x = F", forward),
        equal("F = H − x ⟹ H = F + x", r"(H - x) + x = H", backward),
        derive("residual"),
    )
