"""Seed 002, "Code: Residual Block in PyTorch": the two modules as symres blocks.

Each convolution is a linear map of the (flattened) input — W₁, W₂, W_s are its matrices
(seed002_projection_conv shows it for the 1×1 shortcut) — and BatchNorm is taken in
inference form, a diagonal affine map γ ⊙ u + β with the running statistics folded in
(in training mode BN couples the examples of a batch; not modelled here).

- ResidualBlock (block `postact-bn`): y = σ(BN₂(W₂σ(BN₁(W₁x))) + x). Its Jacobian is
  diag(σ'(F(x) + x))·(I + ∂F/∂x): the ReLU after the addition gates the identity path, so the
  lesson's highway ∂H/∂x = 1 + ∂F/∂x does not describe its own code block.
- ProjectionResidualBlock (block `projection-bn`): y = σ(BN₂(W₂σ(BN₁(W₁x))) + BN₃(W_s x)),
  W₁, W_s: m×d. Its Jacobian is diag(σ'(·))·(∂F/∂x + diag(γ₃)W_s): the shortcut is W_s
  scaled by the shortcut's BN, gated by σ', with no identity term.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sympy import Identity, ZeroMatrix

from symres import derive
from symres.blocks import get_block
from symres.calculus import jacobian
from symres.expr import Deriv, Diag, Elementwise, add, matmul
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED002, equal  # noqa: E402


def _parts(name: str, d: int):
    """(instance, x, the argument z of the final σ, symbols by name) of a code block at input size d."""
    inst = get_block(name).instance(d)
    sym = {str(p.symbol): p.symbol for p in inst.params}
    return inst, inst.x, inst.forward.arg, sym


@statement(
    seed=SEED002,
    where="Code",
    expect="refuted",
    text="ResidualBlock computes the lesson's residual block H(x) = F(x) + x, F = BN₂(conv₂(ReLU(BN₁(conv₁ x)))), "
    "followed by the ReLU 'after addition'; read with § The Gradient Highway: its Jacobian is 1 + ∂F/∂x "
    "(1 read as I)",
    corrected="∂y/∂x = diag(ReLU'(F(x) + x))·(I + ∂F/∂x) (block postact-bn): the identity path is gated by ReLU' "
    "and closed wherever F(x) + x < 0; with the branch switched off (W₂ = 0) the Jacobian is diag(ReLU'(β₂ + x)), "
    "not I",
)
def residual_block_code():
    def highway(d: int):
        inst, x, z, _ = _parts("postact-bn", d)
        F = add(z, -x)
        return add(Identity(d), jacobian(F, x)), Deriv(inst.forward, x), inst.domains

    def switched_off(d: int):
        inst, x, _, s = _parts("postact-bn", d)
        J = jacobian(inst.forward, x).xreplace({s["W_2"]: ZeroMatrix(d, d)})
        return J, Diag(Elementwise("sigma", add(s["beta_2"], x), 1)), inst.domains

    written = equal(
        "the highway formula against the code block's Jacobian (ReLU)",
        r"\frac{\partial y}{\partial x} = I + \frac{\partial F}{\partial x}",
        highway,
        symbolic=False,
    )
    return written, (
        derive("postact-bn"),
        equal(
            "the identity path alone (W₂ = 0)",
            r"\frac{\partial y}{\partial x}\Big|_{W_2 = 0} = \operatorname{diag}\big(\sigma'(\beta_2 + x)\big)",
            switched_off,
        ),
    )


@statement(
    seed=SEED002,
    where="Code",
    expect="proved",
    text="ProjectionResidualBlock computes y = ReLU(BN₂(conv₂(ReLU(BN₁(conv₁ x)))) + BN(conv_{1×1}(x))), the "
    "projection shortcut H(x) = F(x) + W_s x with a BN on the shortcut: ∂y/∂x = diag(σ'(·))(∂F/∂x + diag(γ₃)W_s), "
    "m×d — W_s scaled by the shortcut's BN, gated by σ', no identity term",
)
def projection_block_code():
    def shortcut(d: int):
        inst, x, _, s = _parts("projection-bn", d)
        m = inst.forward.shape[0]
        J = jacobian(inst.forward, x).xreplace({s["W_2"]: ZeroMatrix(m, m)})
        z0 = add(s["beta_2"], matmul(Diag(s["gamma_3"]), s["W_s"], x), s["beta_3"])
        return J, matmul(Diag(Elementwise("sigma", z0, 1)), Diag(s["gamma_3"]), s["W_s"]), inst.domains

    return derive("projection-bn"), equal(
        "the shortcut path alone (W₂ = 0)",
        r"\frac{\partial y}{\partial x}\Big|_{W_2 = 0} = "
        r"\operatorname{diag}\big(\sigma'(\beta_2 + \gamma_3 \odot W_s x + \beta_3)\big)\operatorname{diag}(\gamma_3)\,W_s",
        shortcut,
    )
