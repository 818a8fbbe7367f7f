"""Derivatives of a block with respect to any of its symbols, gradients and Hessians.

Conventions (DESIGN.md): numerator layout; for a matrix W (p×q) the Jacobian is
∂y/∂vec(W), m×pq, vec stacking the columns, printed in Kronecker form; the gradient of
the scalar s = gᵀy (g the upstream gradient, a column) has the shape of the symbol,
∇_W s (p×q); the Hessian is ∇²_x s = ∂(∇_x s)/∂x, d×d and symmetric.

Every line comes from `symres.calculus` (one rule a line) and is checked like the lines
of a Jacobian proof: numerically at the requested size (derivatives by central finite
differences) and symbolically, entry by entry, at d = 2 where the block exists there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sympy import Basic, MatrixExpr, MatrixSymbol, Transpose

from symres.activations import get_activation
from symres.calculus import Derivation, differentiate, gradient_from_row, transpose_of
from symres.errors import SymresError
from symres.expr import DefinedJacobian, Deriv, Vec, matmul, tidy
from symres.numeric import check_equal
from symres.proof import Check, Proof, Step, Verifier
from symres.symbolic import symbolic_equal
from symres.tex import prose_literal

__all__ = ["derive_derivative", "MODES"]

MODES = ("wrt", "grad", "hessian")


@dataclass(frozen=True)
class _Line:
    """One line of the proof: `rhs` shown, (`lhs_check`, `rhs_check`) compared."""

    rhs: Basic
    reason: str
    short: str
    lhs_check: Basic
    rhs_check: Basic
    lhs: Basic | str | None = None


@dataclass(frozen=True)
class _Plan:
    lines: tuple[_Line, ...]
    result: MatrixExpr
    start: Basic
    label: str  # LaTeX of what is derived, e.g. \partial y/\partial \operatorname{vec}(W_1)
    symbol: Basic
    instance: Any
    symmetric: MatrixExpr | None = None  # the Hessian, whose symmetry is a fact
    final: tuple[Basic, Basic] | None = None  # what the whole result is checked as; None: (start, result)

    @property
    def final_pair(self) -> tuple[Basic, Basic]:
        return self.final if self.final is not None else (self.start, self.result)


def _rule_lines(derivation: Derivation) -> list[_Line]:
    return [_Line(rs.after, rs.rule.reason, rs.rule.short, rs.before, rs.after) for rs in derivation.steps]


def _plan(inst: Any, mode: str, name: str) -> _Plan:
    from symres.latex import latex

    y = inst.forward
    if mode == "wrt":
        v = inst.symbol(name, "--wrt")
        derivation = differentiate(y, v)
        matrix = getattr(v, "is_Matrix", False) and v.shape[1] != 1
        label = (
            rf"\frac{{\partial y}}{{\partial \operatorname{{vec}}({latex(v)})}}"
            if matrix
            else rf"\frac{{\partial y}}{{\partial {latex(v)}}}"
        )
        start = Deriv(y, v)
        lines = [_Line(start, "substitute the definition of $y$", "definition of $y$", start, start, label)]
        lines += _rule_lines(derivation)
        return _Plan(tuple(lines), derivation.result, start, label, v, inst)
    inst, g = inst.with_upstream()
    s = matmul(Transpose(g), y)
    if mode == "grad":
        v = inst.symbol(name, "--grad")
        derivation = differentiate(s, v)
        row = derivation.result
        G = gradient_from_row(row, v)
        label = rf"\nabla_{{{latex(v)}}} s"
        start = Deriv(s, v)
        lines = [
            _Line(
                start,
                r"$s = g^{T} y$ with $y$ substituted",
                "definition of $s$",
                start,
                start,
                rf"\frac{{\partial s}}{{\partial {latex(v)}}}",
            )
        ]
        lines += _rule_lines(derivation)
        if getattr(v, "is_Matrix", False):
            back = Transpose(Vec(G)) if v.shape[1] != 1 else Transpose(G)
            why = (
                r"the gradient has the shape of the symbol: $h\,(R^{T} \otimes L)\operatorname{vec}(dW) = h L\, dW R = "
                r"\operatorname{tr}(R h L\, dW)$, so each term $h (R^{T} \otimes L)$ gives $L^{T} h^{T} R^{T}$"
                if v.shape[1] != 1
                else r"the gradient of a scalar is the transpose of its row derivative (a column)"
            )
            lines.append(_Line(G, why, "gradient in the shape of the symbol", row, back, label))
            return _Plan(tuple(lines), G, start, label, v, inst, final=(start, back))
        return _Plan(tuple(lines), row, start, label, v, inst)
    if mode != "hessian":
        raise SymresError(f"unknown derivative mode {mode!r}; choose one of {', '.join(MODES)}")
    x = inst.x
    jac = differentiate(y, x)
    G = transpose_of(matmul(Transpose(g), jac.result))
    grad_line = _Line(
        G,
        r"$\nabla_x s = (\partial y/\partial x)^{T} g$ with $\partial y/\partial x$ derived rule by rule (numerator layout)",
        "gradient of $s$",
        Transpose(Deriv(s, x)),
        G,
        r"\nabla_x s",
    )
    lines = [grad_line]
    opened = _open_defined_jacobians(G)
    if opened != G:
        names = ", ".join(sorted({rf"$J_{{\mathrm{{{j.name}}}}}$" for j in G.atoms(DefinedJacobian)}))
        lines.append(
            _Line(
                opened,
                f"substitute {names} as derived in its lemma, so that it can be differentiated again",
                "lemma substituted",
                G,
                opened,
                r"\nabla_x s",
            )
        )
        G = opened
    hess = differentiate(G, x)
    start = Deriv(G, x)
    lines.append(_Line(start, r"$\nabla^2_x s = \partial (\nabla_x s)/\partial x$", "definition", start, start, r"\nabla^2_x s"))
    lines += _rule_lines(hess)
    return _Plan(tuple(lines), hess.result, start, r"\nabla^2_x s", x, inst, symmetric=hess.result)


def _open_defined_jacobians(e: Basic) -> Basic:
    """e with every J_f(a) (a Jacobian derived in a lemma) replaced by the lemma's
    expression at u = a, so that e can be differentiated once more (a Hessian)."""
    if isinstance(e, DefinedJacobian):
        (u,) = e.definition.variables
        return e.definition.expr.xreplace({u: e.arg})
    if not isinstance(e, Basic) or not e.args or not e.has(DefinedJacobian):
        return e
    return tidy(e.func(*(_open_defined_jacobians(a) for a in e.args)))


def _text_label(mode: str, v: Basic) -> str:
    """How the result is named in plain text: ∂y/∂vec(W_1), ∂y/∂alpha, ∇_W_1 s, ∇²_x s."""
    from symres.render import text

    if mode == "wrt":
        return f"∂y/∂vec({text(v)})" if getattr(v, "is_Matrix", False) and v.shape[1] != 1 else f"∂y/∂{text(v)}"
    return f"∇_{text(v)} s" if mode == "grad" else "∇²ₓ s"


def derive_derivative(
    blk: Any,
    mode: str,
    name: str,
    *,
    dim: int = 3,
    out_dim: int | None = None,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    check: bool = True,
) -> Proof:
    """∂y/∂NAME (mode "wrt"), ∇_NAME (gᵀy) (mode "grad") or ∇²_x (gᵀy) (mode "hessian") of
    the block `blk` as a checked Proof; `proof.result` is the derived matrix and
    `proof.meta["instance"]` the block instance (with g among its symbols for grad and
    hessian)."""
    act = get_activation(activation)
    inst = blk.instance(dim, out_dim)
    plan = _plan(inst, mode, name)
    try:
        small_inst = blk.instance(2, None if out_dim is None else 2 + (out_dim - dim))
        small: _Plan | None = _plan(small_inst, mode, name)
    except SymresError:
        small = None
    if small is not None and len(small.lines) != len(plan.lines):
        small = None
    domains = plan.instance.domains

    def verifier(lhs: Basic, rhs: Basic, small_pair: tuple[Basic, Basic] | None) -> Verifier:
        def run(t: int, sd: int) -> Check:
            num = check_equal(lhs, rhs, domains=domains, activation=act.name, trials=t, seed=sd)
            sym = symbolic_equal(*small_pair) if small_pair is not None and num.passed else None
            if sym is None:
                return num
            return replace(num, method="symbolic", detail=f"{sym.detail}; confirmed {num.detail} at d = {dim}")

        return run

    def pair(i: int, pick: Callable[[_Line], tuple[Basic, Basic]]) -> tuple[Basic, Basic] | None:
        return pick(small.lines[i]) if small is not None else None

    steps = [
        Step(
            rhs=inst.forward,
            lhs=MatrixSymbol("y", inst.forward.shape[0], 1),
            reason="definition of the block",
            check=Check("definition", True, "the block's forward map"),
        ),
    ]
    for i, line in enumerate(plan.lines):
        steps.append(
            Step(
                rhs=line.rhs,
                lhs=line.lhs,
                reason=line.reason,
                short=line.short,
                verifier=verifier(line.lhs_check, line.rhs_check, pair(i, lambda ln: (ln.lhs_check, ln.rhs_check))),
            )
        )
    facts: tuple[Step, ...] = ()
    if plan.symmetric is not None:
        H = plan.symmetric
        small_h = (small.symmetric, transpose_of(small.symmetric)) if small is not None and small.symmetric is not None else None
        facts = (
            Step(
                rhs=transpose_of(H),
                lhs=H,
                reason="the Hessian is symmetric",
                short="symmetry",
                verifier=verifier(H, transpose_of(H), small_h),
            ),
        )
    from symres.blocks import derivation_meta
    from symres.latex import latex

    final_small = small.final_pair if small is not None else None
    what = {"wrt": "Derivative", "grad": "Gradient", "hessian": "Hessian"}[mode]
    title = f"{what} of the {prose_literal(blk.name)} block: {plan.label.join('$$')}"  # a user's name is text
    assumptions = [rf"${latex(p.symbol)}$: {prose_literal(p.description)}" for p in plan.instance.params]
    if mode != "wrt":
        assumptions.append(r"$s = g^{T} y$, a scalar; $g$ the upstream gradient $\partial \mathcal{L}/\partial y$ as a column")
    assumptions.append(rf"$\sigma$: an elementwise activation, here {act.name} ({act.title})")
    assumptions.append(
        r"numerator layout; for a matrix $W$ the Jacobian is $\partial y/\partial \operatorname{vec}(W)$, "
        r"$\operatorname{vec}$ stacking the columns"
    )
    proof = Proof(
        title=title,
        assumptions=tuple(assumptions),
        steps=tuple(steps),
        conclusion=f"{plan.label} = {latex(plan.result)}",
        result=plan.result,
        facts=facts,
        meta={
            **derivation_meta(blk, inst, act.name),
            "instance": plan.instance,
            "mode": mode,
            "wrt": plan.symbol,
            "label": plan.label,
            "result_label": _text_label(mode, plan.symbol),
        },
        final_check=verifier(*plan.final_pair, final_small),
    )
    return proof.check(trials=trials, seed=seed) if check else proof
