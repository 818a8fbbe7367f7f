"""Stacks of blocks with named intermediates: h_0 = x, h_ℓ = B_ℓ(h_{ℓ-1}),
J_ℓ := ∂h_ℓ/∂h_{ℓ-1} evaluated at h_{ℓ-1}, each defined once, and ∂h_L/∂h_0 = J_L ⋯ J_1
(DESIGN.md: later blocks stand to the left).

Each distinct block is derived once (`symres.blocks.derive`, its own checked proof); layer
ℓ uses it with its own weights W_{ℓ,1}, W_{ℓ,2}, … at h_{ℓ-1}. The numeric check of the
chain computes the forward values once per check point (batched over the points), the
J_ℓ from the very expressions printed, their product, and compares it with central finite
differences of the whole stack. The cost is linear in L.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sympy import Basic, MatrixSymbol

from symres.activations import get_activation
from symres.blocks import Block, derive, get_block
from symres.errors import SymresError
from symres.expr import matmul
from symres.numeric import FD_STEP, KINK_MARGIN, TOLERANCE, compile_expr, draw
from symres.proof import Check, Proof, Step
from symres.tex import escape_text, prose_literal

__all__ = ["derive_stack"]


def _layer_name(sym: Basic, layer: int) -> str:
    """W_1 in layer 3 is W_3,1 (printed W_{3,1}); W in layer 3 is W_3."""
    base, _, sub = str(sym).partition("_")
    sub = sub.strip("{}")
    return f"{base}_{layer},{sub}" if sub else f"{base}_{layer}"


def _renamed(sym: Basic, layer: int) -> Basic:
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol(_layer_name(sym, layer), *sym.shape)
    return type(sym)(_layer_name(sym, layer), **sym.assumptions0)


def derive_stack(
    blocks: Sequence[str | Block],
    *,
    dim: int = 3,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    check: bool = True,
) -> Proof:
    """∂h_L/∂h_0 = J_L ⋯ J_1 for the stack h_ℓ = B_ℓ(h_{ℓ-1}) of the given blocks (each
    mapping R^d to R^d), as a Proof whose lines define h_ℓ and J_ℓ once each; `result` is
    the product J_L ⋯ J_1 of the named J_ℓ (numerator layout, d×d)."""
    if not blocks:
        raise SymresError("a stack needs at least one block")
    act = get_activation(activation)
    blks = [get_block(b) if isinstance(b, str) else b for b in blocks]
    lemmas: dict[str, Proof] = {}
    for b in blks:
        if b.name not in lemmas:
            lemmas[b.name] = derive(b, dim=dim, activation=act.name, trials=trials, seed=seed, check=check)
            inst = lemmas[b.name].meta["instance"]
            if inst.forward.shape[0] != dim:
                raise SymresError(
                    f"block {b.name!r} maps R^{dim} to R^{inst.forward.shape[0]}; a stack needs blocks from R^d to R^d"
                )
    L = len(blks)
    h = [MatrixSymbol(f"h_{ell}", dim, 1) for ell in range(L + 1)]
    Js = [MatrixSymbol(f"J_{ell}", dim, dim) for ell in range(1, L + 1)]
    steps: list[Step] = []
    for key, lemma in lemmas.items():
        inst = lemma.meta["instance"]
        name = prose_literal(key)  # a block's name is text, never mathematics
        steps.append(
            Step(
                lhs=f"J_{{\\text{{{escape_text(key)}}}}}(x)",
                rhs=lemma.result,
                reason=f"the Jacobian of the {name} block, derived and checked in its own proof (`symres derive {name}`)",
                short=f"lemma: the {name} block",
                check=lemma.final if lemma.final is not None else Check("definition", True, "derived, not checked"),
            )
        )
    steps.append(
        Step(lhs=h[0], rhs=lemmas[blks[0].name].meta["x"], reason="the input", check=Check("definition", True, "h_0 := x"))
    )
    layers = []
    for ell, b in enumerate(blks, 1):
        inst = lemmas[b.name].meta["instance"]
        sub = {p.symbol: _renamed(p.symbol, ell) for p in inst.params if p.symbol != inst.x}
        sub[inst.x] = h[ell - 1]
        layers.append((b, inst, sub))
        steps.append(
            Step(
                lhs=h[ell],
                rhs=inst.forward.xreplace(sub),
                reason=f"layer {ell}: the {prose_literal(b.name)} block with its own weights",
                short=f"layer {ell}",
                check=Check("definition", True, f"h_{ell} := B_{ell}(h_{ell - 1})"),
            )
        )
    for ell, (b, _inst, sub) in enumerate(layers, 1):
        steps.append(
            Step(
                lhs=Js[ell - 1],
                rhs=lemmas[b.name].result.xreplace(sub),  # type: ignore[union-attr]
                reason=rf"$J_{{{ell}}} := \partial h_{{{ell}}}/\partial h_{{{ell - 1}}}$, the lemma at $h_{{{ell - 1}}}$",
                short=f"J_{ell} at h_{ell - 1}",
                check=Check("definition", True, f"J_{ell} := ∂h_{ell}/∂h_{ell - 1}, the lemma of {prose_literal(b.name)}"),
            )
        )
    product = matmul(*reversed(Js))

    def verify(t: int, s: int) -> Check:
        return _check_chain(layers, lemmas, act.name, dim, t, s)

    steps.append(
        Step(
            lhs=rf"\frac{{\partial h_{{{L}}}}}{{\partial h_{{0}}}}",
            rhs=product,
            reason=r"chain rule: $\partial h_L/\partial h_0 = J_L \cdots J_1$, later blocks on the left",
            short="chain rule",
            verifier=verify,
        )
    )
    names = ", ".join(dict.fromkeys(prose_literal(b.name) for b in blks))  # a user's name is text, never math
    proof = Proof(
        title=f"Jacobian of a stack of {L} blocks ({names})",
        assumptions=(
            r"$h_0 = x \in \mathbb{R}^d$, $h_\ell = B_\ell(h_{\ell-1})$, each layer with its own weights $W_{\ell,k}$",
            rf"$\sigma$: an elementwise activation, here {act.name} ({act.title})",
            r"numerator layout; $J_\ell := \partial h_\ell/\partial h_{\ell-1}$ at $h_{\ell-1}$",
        ),
        steps=tuple(steps),
        conclusion=rf"\frac{{\partial h_{{{L}}}}}{{\partial h_{{0}}}} = J_{{{L}}} \cdots J_{{1}}",
        result=product,
        meta={"derived": True, "block": names, "depth": L, "activation": act.name, "forward": h[L], "x": h[0]},
        final_check=verify,
    )
    return proof.check(trials=trials, seed=seed) if check else proof


def _check_chain(layers: list, lemmas: dict[str, Proof], activation: str, dim: int, trials: int, seed: int) -> Check:
    """J_L ⋯ J_1 (each J_ℓ from the printed expression at the forward value h_{ℓ-1})
    against central finite differences of the whole stack, on `trials` seeded points."""
    rng = np.random.default_rng(seed)
    compiled = {}
    for name, lemma in lemmas.items():
        inst = lemma.meta["instance"]
        compiled[name] = (
            compile_expr(inst.forward, inst.symbols, activation),
            compile_expr(lemma.result, inst.symbols, activation),
            inst,
        )
    x = draw([layers[0][1].x], layers[0][1].domains, trials, rng)["x"]
    weights = []
    for _b, inst, _ in layers:
        others = [p.symbol for p in inst.params if p.symbol != inst.x]
        weights.append(draw(others, inst.domains, trials, rng))

    def forward(x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """h_L and the least distance of any activation argument to a kink, per point."""
        hcur, near = x0, np.full(x0.shape[0], np.inf)
        for (b, _, _), w in zip(layers, weights):
            f, _, _ = compiled[b.name]
            hcur = f({**w, "x": hcur})
            if f.kink_distance is not None:
                near = np.minimum(near, f.kink_distance)
        return hcur, near

    # the product J_L ⋯ J_1 at the forward values, computed once per point
    hcur, prod = x, np.broadcast_to(np.eye(dim), (trials, dim, dim))
    for (b, _, _), w in zip(layers, weights):
        f, jf, _ = compiled[b.name]
        prod = jf({**w, "x": hcur}) @ prod
        hcur = f({**w, "x": hcur})
    _, near = forward(x)
    cols = []
    for j in range(dim):
        e = np.zeros((dim, 1))
        e[j, 0] = FD_STEP
        (plus, n1), (minus, n2) = forward(x + e), forward(x - e)
        near = np.minimum(near, np.minimum(n1, n2))
        cols.append((plus - minus)[..., 0] / (2 * FD_STEP))
    fd = np.stack(cols, axis=-1)
    good = near > KINK_MARGIN
    scale = np.maximum(1.0, np.max(np.abs(fd), axis=(-2, -1)))
    err = np.max(np.abs(prod - fd), axis=(-2, -1)) / scale
    err = np.where(np.isfinite(err), err, np.inf)[good]
    kept = int(good.sum())
    if kept == 0:
        return Check("numeric", False, "every point lay within a kink margin", 0, float("inf"), TOLERANCE, seed)
    max_error = float(np.max(err))
    detail = "J_L ⋯ J_1 at the forward values against central finite differences of the stack"
    if kept < trials:
        detail += f"; {trials - kept} points within {KINK_MARGIN:g} of a kink left out"
    return Check("numeric", bool(max_error <= TOLERANCE), detail, kept, max_error, TOLERANCE, seed)
