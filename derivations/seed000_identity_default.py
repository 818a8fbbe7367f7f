"""Seed 000, "And adding depth can't hurt", the summary bullets on the block and on the
identity default, and the transformer remark.

F = 0 gives y = x exactly (W₂ = 0 suffices, for any W₁ and σ). "Making a network deeper can
no longer make it worse" holds in the sense of the best achievable loss: a network with an
extra residual block at W₂ = 0 computes exactly the shallower network, so its minimum loss is
no larger. As a statement about a network at the weights it has ("adding a residual block
can never hurt"), it is false: an added block changes the output by exactly F(x). Whether
training finds the identity is an optimisation question symres does not decide.

Transformers: the original (post-norm) Transformer block outputs LN(x + sublayer(x)), not
x + sublayer(x); its identity path passes through J_LN, which annihilates 𝟙. Pre-norm blocks
x + F(LN(x)) have exactly the seed's form.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sympy import Identity, ZeroMatrix

from symres import derive
from symres.blocks import get_block
from symres.calculus import jacobian
from symres.expr import add
from symres.verify import statement

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the shared helpers of seeds 000, 002-004
from _seeds_0234 import SEED000, ZERO, batch, branch, equal, layernorm_kills_ones, stack  # noqa: E402


def _residual(d: int):
    inst = get_block("residual").instance(d)
    W2 = next(p.symbol for p in inst.params if str(p.symbol) == "W_2")
    return inst, W2


@statement(
    seed=SEED000,
    where="Summary: the block",
    expect="proved",
    text="y = x + F(x): the block learns the change to x, F(x) = y − x",
)
def block_is_change():
    def make(d: int):
        inst, _ = _residual(d)
        F = get_block("plain").instance(d).forward
        return add(inst.forward, -inst.x), F, inst.domains

    return equal("the change y − x is the branch", r"y - x = F(x) = W_2\,\sigma(W_1 x)", make)


@statement(
    seed=SEED000,
    where="And adding depth can't hurt",
    expect="proved",
    text="set F = 0 and the block computes y = x, the identity; it gets there 'by simply driving its weights "
    "toward zero' (W₂ = 0 suffices, for any W₁); its Jacobian is then I",
)
def zero_branch_identity():
    def forward(d: int):
        inst, W2 = _residual(d)
        return inst.forward.xreplace({W2: ZeroMatrix(d, d)}), inst.x, inst.domains

    def slope(d: int):
        inst, W2 = _residual(d)
        return jacobian(inst.forward, inst.x).xreplace({W2: ZeroMatrix(d, d)}), Identity(d), inst.domains

    return (
        equal("the block at W₂ = 0", r"x + 0\cdot\sigma(W_1 x) = x", forward),
        equal("its Jacobian at W₂ = 0", r"\frac{\partial y}{\partial x}\Big|_{W_2 = 0} = I", slope),
    )


def _extra_block_off(d: int):
    """A network (one residual block, weights A) with an extra block (weights B) at B₂ = 0."""
    s = stack(d)
    B2 = next(m for m in s["x2"].free_symbols if str(m) == "B_2")
    return s["x2"].xreplace({B2: ZeroMatrix(d, d)}), s["x1"], {}


@statement(
    seed=SEED000,
    where="And adding depth can't hurt",
    expect="proved",
    text="'if extra depth isn't useful, the network can switch those blocks off and lose nothing — making a "
    "network deeper can no longer make it worse', read for the best achievable loss: the deeper network "
    "can compute exactly what the shallower one computes, so its minimum loss is no larger",
)
def depth_best_loss():
    return equal(
        "a network with an extra block switched off (B₂ = 0) is the shallower network",
        r"x_1 + B_2\,\sigma(B_1 x_1)\big|_{B_2 = 0} = x_1 \;\Rightarrow\; "
        r"\min_{\theta, B} \mathcal{L}_{\text{deeper}} \le \min_{\theta} \mathcal{L}_{\text{shallower}}",
        _extra_block_off,
        note="the loss depends on the parameters only through the output, so equal outputs give equal losses "
        "for every θ; the minimum over the larger parameter set is no larger",
    )


def _draw(rng: np.random.Generator, n: int, d: int = 3) -> dict[str, np.ndarray]:
    w = lambda: rng.standard_normal((n, d, d)) / np.sqrt(d)  # noqa: E731 - N(0, 1/fan-in), as at initialisation
    return {"x": rng.standard_normal((n, d, 1)), "A_1": w(), "A_2": w(), "B_1": w(), "B_2": w()}


def _loss_change(v: dict[str, np.ndarray]) -> np.ndarray:
    """shallow loss − deeper loss, target t = the shallow network's output (its loss is 0)."""
    relu = lambda u: np.maximum(u, 0.0)  # noqa: E731
    x1 = v["x"] + v["A_2"] @ relu(v["A_1"] @ v["x"])
    x2 = x1 + v["B_2"] @ relu(v["B_1"] @ x1)
    deeper = 0.5 * np.sum((x2 - x1) ** 2, axis=(1, 2))
    return (0.0 - deeper) / np.maximum(1.0, deeper)


@statement(
    seed=SEED000,
    where="Summary: identity is the easy default",
    expect="refuted",
    text="'F = 0 gives y = x for free, so adding a residual block can never hurt the network — at worst it "
    "learns to pass its input straight through', read for the network at the weights it has (e.g. at "
    "initialisation): adding a block never raises the loss",
    corrected="the best achievable loss cannot rise (the block can be set exactly to the identity, W₂ = 0); at given "
    "weights the block changes the output by exactly F(x) and can raise the loss; whether training reaches the "
    "identity is an optimisation question, not decided here",
)
def never_hurt():
    written = batch(
        "a block added to a network that fits its targets (loss 0), weights ~ N(0, 1/fan-in), ReLU",
        r"\mathcal{L}\big(x_1 + F_B(x_1)\big) \le \mathcal{L}(x_1)",
        draw=_draw,
        margin=_loss_change,
        detail="ℒ = ½‖output − t‖² with t the shallower network's output, evaluated with NumPy",
    )

    def change(d: int):
        s = stack(d)
        B1, B2 = (next(m for m in s["x2"].free_symbols if str(m) == n) for n in ("B_1", "B_2"))
        return add(s["x2"], -s["x1"]), branch(B1, B2, s["x1"]), {}

    return written, (
        equal("the added block changes the output by exactly its branch", r"x_2 - x_1 = F_B(x_1)", change),
        equal("switched off (B₂ = 0) it changes nothing", r"x_2\big|_{B_2 = 0} = x_1", _extra_block_off),
    )


@statement(
    seed=SEED000,
    where="Transformers",
    expect="refuted",
    text="'every sublayer of a transformer — each attention block, each feed-forward block — is wrapped in a residual "
    "connection of exactly this form, x + sublayer(x)', read: every transformer block outputs x + sublayer(x), "
    "so its Jacobian carries the ungated I",
    corrected="pre-norm blocks (Xiong et al. 2020; GPT-2 and later) output x + F(LN(x)), ∂y/∂x = I + ∂F/∂u·J_LN(x), "
    "the identity ungated; the original Transformer (Vaswani et al. 2017) is post-norm, y = LN(x + F(x)), "
    "∂y/∂x = J_LN(x + F(x))(I + ∂F/∂x): its identity path passes through J_LN, which annihilates 𝟙",
)
def transformer_sublayer():
    post = derive("postnorm")
    domains = {**post.meta["instance"].domains, "W_2": ZERO}
    d = post.result.shape[0]
    written = equal(
        "the post-norm block with its sublayer switched off (W₂ = 0)",
        r"\frac{\partial}{\partial x}\mathrm{LN}\big(x + F(x)\big)\Big|_{W_2 = 0} = I",
        lambda _d: (post.result, Identity(d), domains),
        symbolic=False,
        note="J_LN(x) is singular (it annihilates 𝟙), so it is not I",
    )
    return written, (derive("prenorm"), post, layernorm_kills_ones())
