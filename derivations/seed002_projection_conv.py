"""Seed 002, "When Skip Dimensions Don't Match": the projection shortcut H(x) = F(x) + W_s x.

x + F(x) is undefined when F changes the size (symres refuses the sum and advises a
projection); with W_s the Jacobian is W_s + ∂F/∂x, m×d, with no identity term. A 1×1
convolution is one matrix W applied at every position: on the input flattened position by
position it is I_P ⊗ W; with stride 2 it first selects every other row and column, a
selection matrix S, so it is S ⊗ W = (I_{P'} ⊗ W)(S ⊗ I_C): still linear, a matrix W_s. It maps
C×H×W (H, W even) to C'×H/2×W/2. Whether ResNet uses it "at the start of each stage" is a
fact about the architecture, not decided here; the shortcut need not be learned either
(ResNet's option A pads with zeros, the fixed projection [I; 0]).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import sympy as sp

from symres import derive
from symres.blocks import Block
from symres.errors import SymresError
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, TRIALS, exact, tested  # noqa: E402

from symres.proof import Check  # noqa: E402


@statement(
    seed=SEED002,
    where="When Skip Dimensions Don't Match",
    expect="proved",
    text="if x and F(x) have different dimensions the skip connection must map x to the output's size: "
    "H(x) = F(x) + W_s x, whose Jacobian is W_s + ∂F/∂x (m×d, no identity term)",
)
def skip_dims():
    mismatch = Block.define("mismatch", lambda v: v.x + v.F(v.x, rows=v.d + 1))
    try:
        mismatch.instance(3)
        refused, message = False, "the sum x + F(x) was accepted"
    except SymresError as exc:
        refused, message = True, str(exc)
    return (
        exact(
            "x + F(x) with F: R³ → R⁴",
            r"x + F(x) \text{ is undefined for } F: \mathbb{R}^3 \to \mathbb{R}^4",
            refused,
            f"the shape rule of symres.expr.add: {message}",
        ),
        derive("projection"),
    )


def _selection(H: int, W: int, stride: int) -> np.ndarray:
    """S (P'×P): row p' = (i, j) of the strided output picks input position (stride·i, stride·j)."""
    Ho, Wo = (H - 1) // stride + 1, (W - 1) // stride + 1
    S = np.zeros((Ho * Wo, H * W))
    for i in range(Ho):
        for j in range(Wo):
            S[i * Wo + j, stride * i * W + stride * j] = 1
    return S


def _symbolic(C: int = 2, Co: int = 4, H: int = 4, stride: int = 2) -> bool:
    """At symbolic entries: the strided 1×1 convolution equals (S ⊗ W) vec(x), x flattened position by position."""
    x = [[[sp.Symbol(f"x{c}_{h}_{w}") for w in range(H)] for h in range(H)] for c in range(C)]
    W = sp.Matrix(Co, C, lambda o, c: sp.Symbol(f"w{o}_{c}"))
    Ho = (H - 1) // stride + 1
    conv = [
        sum(W[o, c] * x[c][stride * i][stride * j] for c in range(C)) for i in range(Ho) for j in range(Ho) for o in range(Co)
    ]
    vec = sp.Matrix([x[c][h][w] for h in range(H) for w in range(H) for c in range(C)])
    M = sp.kronecker_product(sp.Matrix(_selection(H, H, stride).astype(int)), W)
    return all(sp.expand(a - b) == 0 for a, b in zip(conv, M * vec))


def _numeric(trials: int = TRIALS, seed: int = 0, C: int = 4, Co: int = 8, H: int = 4) -> float:
    """Max relative error of einsum convolutions (strides 1 and 2) against the matrices I_P ⊗ W and S ⊗ W."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((trials, C, H, H))
    W = rng.standard_normal((trials, Co, C))
    vec = x.transpose(0, 2, 3, 1).reshape(trials, -1)  # position-major, channels inside
    worst = 0.0
    for stride in (1, 2):
        y = np.einsum("noc,nchw->nhwo", W, x[:, :, ::stride, ::stride]).reshape(trials, -1)
        S = _selection(H, H, stride)
        M = np.einsum("qp,noc->nqopc", S, W).reshape(trials, S.shape[0] * Co, S.shape[1] * C)  # S ⊗ W per trial
        z = np.einsum("nij,nj->ni", M, vec)
        worst = max(worst, float(np.max(np.abs(y - z) / np.maximum(1.0, np.abs(z).max(axis=1, keepdims=True)))))
    return worst


@statement(
    seed=SEED002,
    where="When Skip Dimensions Don't Match",
    expect="proved",
    text="W_s is a learnable projection matrix, for images a 1×1 convolution; ResNet's uses stride 2 and doubles the "
    "channels: a 1×1 convolution is the linear map I_P ⊗ W (the same W at every position), with stride 2 it is "
    "S ⊗ W, S selecting every other row and column: C×H×W → 2C×H/2×W/2 (H, W even)",
)
def conv1x1_linear():
    sym = _symbolic()
    err = _numeric()
    tol = 1e-12
    check = Check(
        "symbolic",
        sym and err <= tol,
        "SymPy: the stride-2 1×1 convolution equals kron(S, W) vec(x) entry by entry at C = 2 → 4 channels, 4×4 → 2×2 "
        "positions, symbolic entries; confirmed with NumPy (einsum convolutions at strides 1 and 2 against kron(I_P, W) "
        "and kron(S, W), 4 → 8 channels, 4×4 positions)",
        trials=TRIALS,
        max_error=err,
        tolerance=tol,
        seed=0,
    )
    shape = exact(
        "output size of a stride-2 1×1 convolution",
        r"H' = \lfloor (H - 1)/2 \rfloor + 1 = H/2 \ (H \text{ even})",
        all((H - 1) // 2 + 1 == H // 2 for H in range(2, 513, 2)),
        "exact integers: floor((H − 1)/2) + 1 = H/2 for every even H up to 512 (kernel 1, no padding)",
    )
    conv = r"\operatorname{conv}_{1\times 1, s=2}(x) = (S \otimes W)\,\operatorname{vec}(x)"
    return tested("a 1×1 convolution with stride 2 is a matrix", conv, check), shape
