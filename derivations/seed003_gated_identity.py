"""Seed 003: the shape requirement, the gradient through the residual connection, sigmoids,
and the learned gate y = a·block(x) + x initialised at a = 0.

- y = block(x) + x needs block(x) to have x's shape (NumPy and PyTorch would broadcast some
  unequal shapes silently, which is why the seed's assert matters).
- Along the residual connection the backward map is the identity: the skip's share of
  ∂L/∂x is ∂L/∂y itself, linear and independent of the block ("purely linear").
- "Sigmoids make the gradient coming out of the bottom less strong": the sigmoid factor is at
  most 1/4, but the weights multiply too; a sigmoid layer with ‖W‖ > 4 can strengthen it.
- The gate: at a = 0 the block is exactly the identity (any depth), a itself gets the gradient
  ∂L/∂y·block(x), nonzero in general, while the block's weights get none until a moves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import sympy as sp
from sympy import Identity, MatrixSymbol, Transpose

from symres import derive
from symres.activations import ACTIVATIONS
from symres.blocks import Block, get_block
from symres.calculus import jacobian
from symres.errors import SymresError
from symres.expr import add, matmul
from symres.symbolic import exact_value, explicit
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED003, batch, claim, equal, exact, loss_gradient  # noqa: E402


@statement(
    seed=SEED003,
    where="Residual connection",
    expect="proved",
    text="y = block(x) + x requires block(x) to have the same shape as x ('assert x.size() == y.size() # this is a "
    "requirement for a res. connection')",
)
def same_shape():
    def refused(rows) -> tuple[bool, str]:
        try:
            Block.define("shaped", lambda v: v.F(v.x, rows=rows(v.d)) + v.x).instance(3)
            return False, "accepted"
        except SymresError as exc:
            return True, str(exc)

    wrong, message = refused(lambda d: d + 1)
    right, _ = refused(lambda d: d)
    broadcast = (np.zeros((3, 1)) + np.zeros((1, 3))).shape
    return exact(
        "block(x) + x for block: R³ → R⁴ and for block: R³ → R³",
        r"\mathrm{block}(x) + x \text{ is defined} \iff \mathrm{block}(x) \in \mathbb{R}^{d} \text{ for } x \in \mathbb{R}^{d}",
        wrong and not right,
        f"the shape rule of symres.expr.add refuses R⁴ + R³ ({message}) and accepts R³ + R³; NumPy would broadcast a "
        f"(3, 1) and a (1, 3) array into {broadcast}, not a residual sum: hence the assert",
    )


@statement(
    seed=SEED003,
    where="What's the point?",
    expect="proved",
    text="'the gradients flowing through the residual connection will be purely linear', read: along the skip the "
    "backward map is the identity, so the skip's share of ∂L/∂x is ∂L/∂y itself, whatever the block does: "
    "∂L/∂x = ∂L/∂y + ∂L/∂y·∂block/∂x",
)
def skip_gradient_linear():
    def make(d: int):
        inst = get_block("residual").instance(d)
        JF = jacobian(get_block("plain").instance(d).forward, inst.x)
        dL, g = loss_gradient(inst.forward, inst.x)
        return add(dL, -matmul(g, JF)), g, inst.domains

    return (
        equal(
            "the skip's share of the gradient",
            r"\frac{\partial L}{\partial x} - \frac{\partial L}{\partial y}\frac{\partial\,\mathrm{block}}{\partial x} = "
            r"\frac{\partial L}{\partial y}",
            make,
        ),
        derive("residual"),
    )


def _sigmoid_layer(d: int):
    inst = Block.define("sigmoid-layer", lambda v: v.sigmoid(v.matrix("W") @ v.x)).instance(d)
    return inst, jacobian(inst.forward, inst.x)


def _sigmoid_draw(rng: np.random.Generator, n: int, d: int = 3) -> dict[str, np.ndarray]:
    return {
        "x": rng.standard_normal((n, d, 1)),
        "W": rng.uniform(0.0, 10.0, (n, 1, 1)) * rng.standard_normal((n, d, d)),
        "g": rng.standard_normal((n, 1, d)),
    }


def _sigmoid_margin(v: dict[str, np.ndarray]) -> np.ndarray:
    u = v["W"] @ v["x"]
    s = 0.5 * (1.0 + np.tanh(0.5 * u))
    out = np.linalg.norm((v["g"] * np.swapaxes(s * (1 - s), 1, 2)) @ v["W"], axis=(1, 2))  # ‖g diag(σ'(Wx)) W‖
    bound = np.linalg.norm(v["W"], 2, axis=(1, 2)) / 4 * np.linalg.norm(v["g"], axis=(1, 2))
    return (bound - out) / np.maximum(1.0, bound)


@statement(
    seed=SEED003,
    where="What's the point?",
    expect="refuted",
    text="'if your block does things like sigmoids … internally, the gradients coming out of the bottom will be less "
    "strong … than those of the gradients flowing into the top', read for a sigmoid layer y = sigmoid(Wx): "
    "‖∂L/∂x‖ < ‖∂L/∂y‖",
    corrected="the sigmoid factor is at most 1/4 — sigmoid'(u) = sigmoid(u)(1 − sigmoid(u)) = 1/4 − (sigmoid(u) − 1/2)² "
    "≤ 1/4 — so ‖∂L/∂x‖ ≤ (‖W‖/4)‖∂L/∂y‖: weaker whenever ‖W‖ < 4, but the weights can undo it",
)
def sigmoid_weaker():
    inst, J = _sigmoid_layer(2)
    point = {"x": [[0], [0]], "W": [[10, 0], [0, 10]]}
    grad = exact_value(matmul(MatrixSymbol("g", 1, 2), J), {**point, "g": [[1, 0]]})
    written = exact(
        "a sigmoid layer with W = 10 I at x = 0, ∂L/∂y = (1, 0)",
        r"\Big\|\frac{\partial L}{\partial y}\operatorname{diag}(\operatorname{sigmoid}'(Wx))\,W\Big\| < "
        r"\Big\|\frac{\partial L}{\partial y}\Big\|",
        bool(grad.norm() < 1),
        f"exact arithmetic: ∂L/∂x = {grad.tolist()}, of norm {grad.norm()} > 1 = ‖∂L/∂y‖ (sigmoid'(0) = 1/4, times 10)",
        instance={**point, "g": [1, 0]},
    )
    u = sp.Symbol("u", real=True)
    s = ACTIVATIONS["sigmoid"].sympy_form(u)
    quarter = sp.simplify(ACTIVATIONS["sigmoid"].sympy_deriv(u) - (sp.Rational(1, 4) - (s - sp.Rational(1, 2)) ** 2)) == 0
    return written, (
        exact(
            "sigmoid' ≤ 1/4",
            r"\operatorname{sigmoid}'(u) = \tfrac14 - \big(\operatorname{sigmoid}(u) - \tfrac12\big)^2 \le \tfrac14",
            quarter,
            "SymPy: the catalogue's sigmoid' minus 1/4 − (sigmoid − 1/2)² simplifies to 0",
        ),
        batch(
            "the gradient bound through a sigmoid layer",
            r"\|g \operatorname{diag}(\operatorname{sigmoid}'(Wx)) W\| \le \tfrac{\|W\|}{4}\|g\|",
            draw=_sigmoid_draw,
            margin=_sigmoid_margin,
            detail="NumPy at d = 3, W of scale U(0, 10)·N(0, 1)",
        ),
    )


def _gate(d: int):
    inst = get_block("rezero").instance(d)
    return inst, {str(p.symbol): p.symbol for p in inst.params}


@statement(
    seed=SEED003,
    where="Initializing to the identity",
    expect="proved",
    text="with y ← a·block(x) + x and a learnable a initialised to 0, 'we start out with just the identity y ← x' "
    "(block rezero; its Jacobian is then I, and a stack of such blocks is the identity at any depth)",
)
def gate_identity_at_zero():
    def forward(d: int):
        inst, s = _gate(d)
        return inst.forward.xreplace({s["alpha"]: 0}), inst.x, inst.domains

    def slope(d: int):
        inst, s = _gate(d)
        return jacobian(inst.forward, inst.x).xreplace({s["alpha"]: 0}), Identity(d), inst.domains

    return (
        derive("rezero"),
        equal("the block at a = 0", r"y\big|_{a = 0} = x", forward),
        equal("its Jacobian at a = 0", r"\frac{\partial y}{\partial x}\Big|_{a = 0} = I", slope),
        claim("prod(l=1..L, I + alpha J_l) = I where alpha = 0"),
    )


@statement(
    seed=SEED003,
    where="Initializing to the identity",
    expect="proved",
    text="'… and slowly learn to add the functionality of the block as a changes to a nonzero value': a receives the "
    "gradient ∂L/∂a = ∂L/∂y·block(x), nonzero in general at a = 0, while the block's weights receive none until "
    "a moves (∂y/∂W₂ = 0 at a = 0)",
)
def gate_learns():
    inst, s = _gate(2)
    F = get_block("plain").instance(2).forward
    env: dict = {}
    Y, Fx = explicit(inst.forward, env), explicit(F, env)
    a = s["alpha"]
    dyda = sp.simplify(Y.diff(a) - Fx) == sp.zeros(2, 1)
    W2 = env[s["W_2"]]
    frozen = all(sp.simplify(Y.diff(w).subs(a, 0)) == sp.zeros(2, 1) for w in W2)
    t = MatrixSymbol("t", 2, 1)
    point = {"x": [[1], [0]], "W_1": [[1, 0], [0, 1]], "W_2": [[1, 0], [0, 1]], "t": [[0], [0]]}
    at_zero = inst.forward.xreplace({a: 0})  # exact_value substitutes matrices only, so a = 0 is put in here
    dLda = exact_value(matmul(Transpose(add(at_zero, -t)), F), point)
    return (
        exact(
            "∂y/∂a is the block's output",
            r"\frac{\partial y}{\partial a} = \mathrm{block}(x)",
            dyda,
            "SymPy at d = 2, symbolic entries, generic σ: ∂y/∂a − F(x) simplifies to 0",
        ),
        exact(
            "the block's weights are frozen at a = 0",
            r"\frac{\partial y}{\partial (W_2)_{ij}}\Big|_{a = 0} = 0",
            frozen,
            "SymPy at d = 2: every entry of ∂y/∂W₂ vanishes at a = 0",
        ),
        exact(
            "a gets a nonzero gradient at a = 0",
            r"\frac{\partial L}{\partial a}\Big|_{a = 0} = \frac{\partial L}{\partial y}\,\mathrm{block}(x) \neq 0",
            dLda != sp.zeros(1, 1),
            f"exact arithmetic, ReLU, L = ½‖y − t‖² at x = (1, 0), W₁ = W₂ = I, t = 0: ∂L/∂a = {dLda.tolist()}",
        ),
    )
