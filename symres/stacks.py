"""Stacks of blocks with named intermediates: h_0 = x, h_ℓ = B_ℓ(h_{ℓ-1}),
J_ℓ := ∂h_ℓ/∂h_{ℓ-1} evaluated at h_{ℓ-1}, each defined once, and ∂h_L/∂h_0 = J_L ⋯ J_1
(DESIGN.md: later blocks stand to the left).

Each distinct block is derived once (`symres.blocks.derive`, its own checked proof); layer
ℓ uses it with its own weights W_{ℓ,1}, W_{ℓ,2}, … at h_{ℓ-1}. With respect to a weight
of layer ℓ: ∂h_L/∂vec(W_{ℓ,k}) = J_L ⋯ J_{ℓ+1} D_ℓ with D_ℓ := ∂h_ℓ/∂vec(W_{ℓ,k}) (the
block's lemma at h_{ℓ-1}); the gradient of s = gᵀh_L by backpropagation, g_L := g,
g_{k-1} = J_kᵀ g_k, and ∇_{W_{ℓ,k}} s the block's gradient lemma with g_ℓ for g.

The numeric check computes the forward values once per check point (batched over the
points), the J_k from the very expressions printed, their product (or the backward
pass), and compares the result with central finite differences of the whole stack. The
cost is linear in L. A stack's symbols are spelled as `--let` spells names: W_3,1 (or
W3,1, W_{3,1}) for W_1 of layer 3, x for h_0, g for the upstream gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sympy import Basic, MatrixSymbol, Transpose

from symres.activations import get_activation
from symres.blocks import Block, derive, get_block
from symres.errors import SymresError
from symres.expr import matmul
from symres.numeric import FD_STEP, KINK_MARGIN, TOLERANCE, compile_expr, draw, parse_value
from symres.proof import Check, Point, Proof, Step
from symres.tex import escape_text, prose_literal

__all__ = ["derive_stack", "stack_symbol"]


def _layer_name(sym: Basic, layer: int) -> str:
    """W_1 in layer 3 is W_3,1 (printed W_{3,1}); W in layer 3 is W_3."""
    base, _, sub = str(sym).partition("_")
    sub = sub.strip("{}")
    return f"{base}_{layer},{sub}" if sub else f"{base}_{layer}"


def _renamed(sym: Basic, layer: int) -> Basic:
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol(_layer_name(sym, layer), *sym.shape)
    return type(sym)(_layer_name(sym, layer), **sym.assumptions0)


def _spelling(name: str) -> str:
    """A name as --let may spell it: W_3,1, W3,1 and W_{3,1} are one name."""
    return "".join(c for c in name if c not in "_{} ")


@dataclass(frozen=True)
class _Layer:
    block: Block
    inst: Any  # the block's BlockInstance
    sub: dict  # the block's symbols → this layer's (x → h_{ℓ-1})


def stack_symbol(layers: Sequence[_Layer], name: str, what: str = "--let") -> tuple[int, Basic]:
    """(ℓ, the block's own symbol) for a stack symbol spelled as --let spells it: x (or h_0)
    is (0, x); W_3,1 (W3,1, W_{3,1}) is (3, W_1). A SymresError naming the stack's symbols
    otherwise."""
    wanted = _spelling(name)
    if wanted in ("x", "h0"):
        return 0, layers[0].inst.x
    for ell, layer in enumerate(layers, 1):
        for own, renamed in layer.sub.items():
            if own != layer.inst.x and _spelling(str(renamed)) == wanted:
                return ell, own
    names = ["x"] + [str(r) for layer in layers for own, r in layer.sub.items() if own != layer.inst.x]
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    raise SymresError(f"{what} {name}: the stack has no symbol {name!r}; its symbols: {shown}")


def derive_stack(
    blocks: Sequence[str | Block],
    *,
    dim: int = 3,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    check: bool = True,
    wrt: str | None = None,
    grad: str | None = None,
) -> Proof:
    """∂h_L/∂h_0 = J_L ⋯ J_1 for the stack h_ℓ = B_ℓ(h_{ℓ-1}) of the given blocks (each
    mapping R^d to R^d), as a Proof whose lines define h_ℓ and J_ℓ once each; `result` is
    the product J_L ⋯ J_1 of the named J_ℓ (numerator layout, d×d).

    With `wrt="W_3,1"` (a symbol of layer ℓ = 3, spelled as --let spells it):
    ∂h_L/∂vec(W_{3,1}) = J_L ⋯ J_4 D_3 (numerator layout, d×pq, vec stacking columns).
    With `grad=NAME`: the gradient of s = gᵀh_L (g a column) in the shape of NAME, by
    backpropagation g_L := g, g_{k-1} = J_kᵀ g_k. `proof.at(...)` evaluates the result at a
    point given by the stack's names (x, W_ℓ,k, g)."""
    if not blocks:
        raise SymresError("a stack needs at least one block")
    if wrt is not None and grad is not None:
        raise SymresError("derive_stack: give at most one of wrt and grad")
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
    layers = []
    for ell, b in enumerate(blks, 1):
        inst = lemmas[b.name].meta["instance"]
        sub = {p.symbol: _renamed(p.symbol, ell) for p in inst.params if p.symbol != inst.x}
        sub[inst.x] = h[ell - 1]
        layers.append(_Layer(b, inst, sub))
    mode = "grad" if grad is not None else ("wrt" if wrt not in (None, "x", "h_0") else "jacobian")
    target, own = stack_symbol(layers, grad if grad is not None else (wrt or "x"), "--grad" if grad is not None else "--wrt")
    if mode == "wrt" and target == 0:
        mode = "jacobian"
    steps: list[Step] = []

    def lemma_step(key: str, lemma: Proof, label: str, what: str, command: str) -> None:
        name = prose_literal(key)  # a block's name is text, never mathematics
        steps.append(
            Step(
                lhs=label,
                rhs=lemma.result,
                reason=f"{what} of the {name} block, derived and checked in its own proof (`symres derive {name}{command}`)",
                short=f"lemma: the {name} block",
                check=lemma.final if lemma.final is not None else Check("definition", True, "derived, not checked"),
            )
        )

    first = 1 if mode == "jacobian" else target + 1  # the J_k needed: k = first … L
    for key in dict.fromkeys(layers[k - 1].block.name for k in range(max(first, 1), L + 1)):
        lemma_step(key, lemmas[key], f"J_{{\\text{{{escape_text(key)}}}}}(x)", "the Jacobian", "")
    local: Proof | None = None
    if mode != "jacobian" and target > 0:
        blk = layers[target - 1].block
        local = derive(
            blk,
            dim=dim,
            activation=act.name,
            trials=trials,
            seed=seed,
            check=check,
            wrt=str(own) if mode == "wrt" else None,
            grad=str(own) if mode == "grad" else None,
        )
        what, flag = ("the derivative", f" --wrt {own}") if mode == "wrt" else ("the gradient", f" --grad {own}")
        label = local.meta["label"]
        lemma_step(blk.name, local, label, what, flag)
    steps.append(Step(lhs=h[0], rhs=layers[0].inst.x, reason="the input", check=Check("definition", True, "h_0 := x")))
    for ell, layer in enumerate(layers, 1):
        steps.append(
            Step(
                lhs=h[ell],
                rhs=layer.inst.forward.xreplace(layer.sub),
                reason=f"layer {ell}: the {prose_literal(layer.block.name)} block with its own weights",
                short=f"layer {ell}",
                check=Check("definition", True, f"h_{ell} := B_{ell}(h_{ell - 1})"),
            )
        )
    for ell in range(max(first, 1), L + 1):
        layer = layers[ell - 1]
        steps.append(
            Step(
                lhs=Js[ell - 1],
                rhs=lemmas[layer.block.name].result.xreplace(layer.sub),  # type: ignore[union-attr]
                reason=rf"$J_{{{ell}}} := \partial h_{{{ell}}}/\partial h_{{{ell - 1}}}$, the lemma at $h_{{{ell - 1}}}$",
                short=f"J_{ell} at h_{ell - 1}",
                check=Check(
                    "definition", True, f"J_{ell} := ∂h_{ell}/∂h_{ell - 1}, the lemma of {prose_literal(layer.block.name)}"
                ),
            )
        )
    g = MatrixSymbol("g", dim, 1)
    gs = {k: MatrixSymbol(f"g_{k}", dim, 1) for k in range(target, L + 1)} if mode == "grad" else {}
    if mode == "grad":
        steps.append(
            Step(
                lhs=gs[L],
                rhs=g,
                reason=r"the upstream gradient $\partial \mathcal{L}/\partial h_L$ as a column",
                check=Check("definition", True, f"g_{L} := g"),
            )
        )
        for k in range(L, target, -1):
            steps.append(
                Step(
                    lhs=gs[k - 1],
                    rhs=matmul(Transpose(Js[k - 1]), gs[k]),
                    reason=rf"backpropagation: $g_{{{k - 1}}} = J_{{{k}}}^{{T}} g_{{{k}}}$, the gradient of $s$ at $h_{{{k - 1}}}$",  # noqa: E501
                    short=f"g_{k - 1}",
                    check=Check("definition", True, f"g_{k - 1} := J_{k}ᵀ g_{k}"),
                )
            )
    if mode == "jacobian":
        result = matmul(*reversed(Js))
        lhs = rf"\frac{{\partial h_{{{L}}}}}{{\partial h_{{0}}}}"
        reason, short = r"chain rule: $\partial h_L/\partial h_0 = J_L \cdots J_1$, later blocks on the left", "chain rule"
        conclusion = rf"{lhs} = J_{{{L}}} \cdots J_{{1}}"
        text_label = f"∂h_{L}/∂h_0"
    elif mode == "wrt":
        assert local is not None and local.result is not None
        D = MatrixSymbol(f"D_{target}", dim, local.result.shape[1])
        layer = layers[target - 1]
        wrt_tex = _tex_vec(layer.sub[own])
        steps.append(
            Step(
                lhs=D,
                rhs=local.result.xreplace(layer.sub),
                reason=rf"$D_{{{target}}} := \partial h_{{{target}}}/\partial {wrt_tex}$, the lemma at $h_{{{target - 1}}}$",
                short=f"D_{target} at h_{target - 1}",
                check=Check("definition", True, f"D_{target} := ∂h_{target}/∂{_text_vec(layer.sub[own])}, the lemma"),
            )
        )
        result = matmul(*reversed(Js[target:]), D)
        lhs = rf"\partial h_{{{L}}}/\partial {_tex_vec(layer.sub[own])}"
        reason = r"chain rule: the later layers act on $h_\ell$ only, $\partial h_L/\partial h_\ell = J_L \cdots J_{\ell+1}$"
        short, conclusion, text_label = "chain rule", f"{lhs} = {_tex(result)}", f"∂h_{L}/∂{_text_vec(layer.sub[own])}"
    else:
        if target == 0:
            result = gs[0]
            lhs, text_label = r"\nabla_{x} s", "∇ₓ s"
        else:
            assert local is not None and local.result is not None
            layer = layers[target - 1]
            lg = local.meta["instance"].symbol("g", "")
            result = local.result.xreplace({**layer.sub, lg: gs[target]})
            lhs, text_label = rf"\nabla_{{{_tex(layer.sub[own])}}} s", f"∇_{layer.sub[own]} s"
        reason = (
            rf"backpropagation: the block's gradient lemma at $h_{{{target - 1}}}$ with $g_{{{target}}}$ for $g$"
            if target
            else r"backpropagation: $\nabla_x s = g_0$"
        )
        short, conclusion = "backpropagation", f"{lhs} = {_tex(result)}"
    ctx = _Context(layers, lemmas, local, mode, target, own, act.name, dim)
    verify = ctx.check
    steps.append(Step(lhs=lhs, rhs=result, reason=reason, short=short, verifier=verify))
    names = ", ".join(dict.fromkeys(prose_literal(b.name) for b in blks))  # a user's name is text, never math
    assumptions = [
        r"$h_0 = x \in \mathbb{R}^d$, $h_\ell = B_\ell(h_{\ell-1})$, each layer with its own weights $W_{\ell,k}$",
        rf"$\sigma$: an elementwise activation, here {act.name} ({act.title})",
        r"numerator layout; $J_\ell := \partial h_\ell/\partial h_{\ell-1}$ at $h_{\ell-1}$",
    ]
    if mode == "grad":
        assumptions.append(
            r"$s = g^{T} h_L$, a scalar; $g$ the upstream gradient $\partial \mathcal{L}/\partial h_L$ as a column"
        )
    what = {"jacobian": "Jacobian", "wrt": "Derivative", "grad": "Gradient"}[mode]
    proof = Proof(
        title=f"{what} of a stack of {L} blocks ({names})",
        assumptions=tuple(assumptions),
        steps=tuple(steps),
        conclusion=conclusion,
        result=result,
        meta={
            "derived": True,
            "block": names,
            "depth": L,
            "activation": act.name,
            "forward": h[L],
            "x": h[0],
            "result_label": text_label,
            "evaluate_at": ctx.at,
        },
        final_check=verify,
    )
    if mode != "jacobian":  # --wrt/--grad (as symres.gradients): the JSON names what was derived
        proof.meta.update(mode=mode, wrt=layers[0].inst.x if target == 0 else layers[target - 1].sub[own])
    return proof.check(trials=trials, seed=seed) if check else proof


def _tex(e: Basic) -> str:
    from symres.latex import latex

    return latex(e)


def _tex_vec(sym: Basic) -> str:
    return rf"\operatorname{{vec}}({_tex(sym)})" if getattr(sym, "is_Matrix", False) and sym.shape[1] != 1 else _tex(sym)


def _text_vec(sym: Basic) -> str:
    return f"vec({sym})" if getattr(sym, "is_Matrix", False) and sym.shape[1] != 1 else str(sym)


class _Context:
    """The numerics of a stack proof: its forward pass, the chain (product, or backward
    pass) from the printed expressions, and central finite differences of the stack, all
    batched over points; shared by the check and by `Proof.at`."""

    def __init__(
        self,
        layers: list[_Layer],
        lemmas: dict[str, Proof],
        local: Proof | None,
        mode: str,
        target: int,
        own: Basic,
        activation: str,
        dim: int,
    ) -> None:
        self.layers, self.mode, self.target, self.own, self.activation, self.dim = layers, mode, target, own, activation, dim
        self.compiled = {}
        for name, lemma in lemmas.items():
            inst = lemma.meta["instance"]
            self.compiled[name] = (
                compile_expr(inst.forward, inst.symbols, activation),
                compile_expr(lemma.result, inst.symbols, activation),
            )
        self.local = None
        if local is not None:
            inst = local.meta["instance"]
            self.local = compile_expr(local.result, inst.symbols, activation)
            self.local_domains = inst.domains
        self.kinks: list[Any] | None = None  # collected in `at` (exact kinks), None in checks

    def _call(self, fn: Any, values: dict[str, np.ndarray]) -> np.ndarray:
        out = fn(values, exact_kinks=self.kinks is not None)
        if self.kinks is not None:
            self.kinks += [k for k in fn.kinks if k not in self.kinks]
        return out

    def forward(self, x: np.ndarray, weights: list[dict[str, np.ndarray]]) -> tuple[list[np.ndarray], np.ndarray]:
        """h_0 … h_L and the least distance of any activation argument to a kink, per point."""
        hs, near = [x], np.full(x.shape[0], np.inf)
        for layer, w in zip(self.layers, weights):
            f, _ = self.compiled[layer.block.name]
            hs.append(self._call(f, {**w, "x": hs[-1]}))
            if f.kink_distance is not None:
                near = np.minimum(near, f.kink_distance)
        return hs, near

    def _J(self, k: int, hs: list[np.ndarray], weights: list[dict[str, np.ndarray]]) -> np.ndarray:
        _, jf = self.compiled[self.layers[k - 1].block.name]
        return self._call(jf, {**weights[k - 1], "x": hs[k - 1]})

    def value(self, x: np.ndarray, weights: list[dict[str, np.ndarray]], g: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(h_L, the derived result) at the points: each J_k from its printed expression at
        the forward value h_{k-1}, computed once."""
        hs, _ = self.forward(x, weights)
        L, t = len(self.layers), self.target
        if self.mode == "jacobian":
            prod = np.broadcast_to(np.eye(self.dim), (x.shape[0], self.dim, self.dim))
            for k in range(1, L + 1):
                prod = self._J(k, hs, weights) @ prod
            return hs[-1], prod
        if self.mode == "wrt":
            out = self._call(self.local, {**weights[t - 1], "x": hs[t - 1]})
            for k in range(t + 1, L + 1):
                out = self._J(k, hs, weights) @ out
            return hs[-1], out
        assert g is not None
        gk = g
        for k in range(L, t, -1):
            gk = np.swapaxes(self._J(k, hs, weights), -1, -2) @ gk
        if t == 0:
            return hs[-1], gk
        return hs[-1], self._call(self.local, {**weights[t - 1], "x": hs[t - 1], "g": gk})

    def reference(
        self, x: np.ndarray, weights: list[dict[str, np.ndarray]], g: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The result by central finite differences of the whole stack (over the entries of
        the symbol, vec order for ∂/∂vec), and the least kink distance met."""
        t, name = self.target, str(self.own)

        def perturbed(i: int, j: int, step: float) -> tuple[np.ndarray, np.ndarray]:
            if t == 0:
                x2 = x.copy()
                x2[:, i, j] += step
                hs, near = self.forward(x2, weights)
            else:
                w2 = [dict(w) for w in weights]
                w2[t - 1][name] = w2[t - 1][name].copy()
                w2[t - 1][name][:, i, j] += step
                hs, near = self.forward(x, w2)
            return hs[-1], near

        base = x if t == 0 else weights[t - 1][name]
        p, q = base.shape[1], base.shape[2]
        _, near = self.forward(x, weights)
        cols: dict[tuple[int, int], np.ndarray] = {}
        for j in range(q):
            for i in range(p):
                (plus, n1), (minus, n2) = perturbed(i, j, FD_STEP), perturbed(i, j, -FD_STEP)
                near = np.minimum(near, np.minimum(n1, n2))
                cols[i, j] = (plus - minus)[..., 0] / (2 * FD_STEP)  # ∂h_L/∂entry, (n, d)
        if self.mode == "grad":
            assert g is not None
            fd = np.zeros((x.shape[0], p, q))
            for (i, j), col in cols.items():
                fd[:, i, j] = np.einsum("nd,nd->n", g[..., 0], col)  # ∂(gᵀh_L)/∂entry
            return fd, near
        return np.stack([cols[i, j] for j in range(q) for i in range(p)], axis=-1), near

    def check(self, trials: int, seed: int) -> Check:
        """The result against central finite differences of the stack on `trials` seeded points."""
        rng = np.random.default_rng(seed)
        first = self.layers[0].inst
        x = draw([first.x], first.domains, trials, rng)["x"]
        weights = [
            draw([p.symbol for p in layer.inst.params if p.symbol != layer.inst.x], layer.inst.domains, trials, rng)
            for layer in self.layers
        ]
        g = draw([MatrixSymbol("g", self.dim, 1)], {}, trials, rng)["g"] if self.mode == "grad" else None
        _, derived = self.value(x, weights, g)
        fd, near = self.reference(x, weights, g)
        good = near > KINK_MARGIN
        scale = np.maximum(1.0, np.max(np.abs(fd), axis=(-2, -1)))
        err = np.max(np.abs(derived - fd), axis=(-2, -1)) / scale
        err = np.where(np.isfinite(err), err, np.inf)[good]
        kept = int(good.sum())
        if kept == 0:
            return Check("numeric", False, "every point lay within a kink margin", 0, float("inf"), TOLERANCE, seed)
        what = {"jacobian": "J_L ⋯ J_1", "wrt": "J_L ⋯ J_{ℓ+1} D_ℓ", "grad": "the backward pass"}[self.mode]
        detail = f"{what} at the forward values against central finite differences of the stack"
        if kept < trials:
            detail += f"; {trials - kept} points within {KINK_MARGIN:g} of a kink left out"
        max_error = float(np.max(err))
        return Check("numeric", bool(max_error <= TOLERANCE), detail, kept, max_error, TOLERANCE, seed)

    def at(self, **values: Any) -> Point:
        """The stack at one point, its symbols named as the stack names them (x, W_ℓ,k, g)."""
        given: dict[tuple[int, str], np.ndarray] = {}
        g = None
        for name, raw in values.items():
            if name == "g" and self.mode == "grad":
                g = _value(raw, (self.dim, 1), "g")
                continue
            ell, own = stack_symbol(self.layers, name, "--let")
            shape = tuple(int(n) for n in own.shape) if hasattr(own, "shape") else (1, 1)
            given[ell, str(own)] = _value(raw, shape, name)
        needed = [(0, "x")] + [
            (ell, str(p.symbol))
            for ell, layer in enumerate(self.layers, 1)
            for p in layer.inst.params
            if p.symbol != layer.inst.x
        ]
        missing = [
            ("x" if ell == 0 else str(self.layers[ell - 1].sub[_own(self.layers[ell - 1], n)]))
            for ell, n in needed
            if (ell, n) not in given
        ]
        if self.mode == "grad" and g is None:
            missing.append("g")
        if missing:
            shown = ", ".join(missing[:8]) + (", …" if len(missing) > 8 else "")
            raise SymresError(f"no value for {shown}; give every symbol of the stack (W_ℓ,k as --let W_2,1=…)")
        x = given[0, "x"][None]
        weights = [{n: given[ell, n][None] for (ell, n) in needed if ell == k} for k in range(1, len(self.layers) + 1)]
        self.kinks = []
        try:
            with np.errstate(all="ignore"):
                out, value = self.value(x, weights, None if g is None else g[None])
            kinks = tuple(self.kinks)
        finally:
            self.kinks = None
        if not (np.all(np.isfinite(out)) and np.all(np.isfinite(value))):
            raise SymresError("the stack is not finite at this point (it overflows float64 or is undefined); give smaller values")
        return Point(value=np.asarray(value[0]), output=np.asarray(out[0])[:, 0], kinks=kinks)


def _own(layer: _Layer, name: str) -> Basic:
    return next(s for s in layer.sub if str(s) == name)


def _value(raw: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    if isinstance(raw, str):
        return parse_value(raw, shape, name)
    arr = np.asarray(raw, dtype=float)
    if arr.ndim == 0:
        arr = arr * np.eye(shape[0]) if shape[0] == shape[1] and shape[0] > 1 else np.full(shape, float(arr))
    arr = arr.reshape(shape) if arr.size == int(np.prod(shape)) else arr
    if arr.shape != shape:
        raise SymresError(f"{name}: expected shape {'×'.join(map(str, shape))}, got {'×'.join(map(str, arr.shape))}")
    return arr
