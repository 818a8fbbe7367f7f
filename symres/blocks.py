"""Residual-block variants: each a name, a title, a source and a forward expression.

A block's forward map is written once, as a Python function of a `Vocabulary` (the
input x, weight matrices, vectors, scalars and the activation σ at chosen sizes); the
Jacobian is never typed in: it is derived by `symres.calculus`. F = W_2 σ(W_1 x)
unless a block says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sympy as sp
from sympy import Basic, MatrixExpr, MatrixSymbol

from symres.activations import GENERIC
from symres.calculus import differentiate, shortcut_term
from symres.errors import SymresError
from symres.expr import Deriv, Diag, Elementwise, add, matmul
from symres.numeric import STANDARD, WEIGHT, Domain, check_equal
from symres.proof import Check, Proof, Step, Verifier
from symres.symbolic import symbolic_equal

__all__ = ["Block", "BlockInstance", "Vocabulary", "BLOCKS", "derive", "get_block", "register"]

DEFAULT_DIM = 3


@dataclass(frozen=True)
class Param:
    """A symbol of a block instance with what it is and how it is drawn at random."""

    symbol: Basic
    description: str
    domain: Domain


class Vocabulary:
    """The symbols a forward map is written in, at concrete sizes.

    `x` is the d×1 input; `matrix`, `vector`, `scalar` create (once per name) the
    parameters; `sigma(u)` is the block's activation applied entrywise. Every symbol
    created is recorded with its description and its random-instance domain.
    """

    def __init__(self, dim: int, out_dim: int | None = None) -> None:
        if dim < 1:
            raise SymresError(f"--dim must be a positive integer, got {dim}")
        self.d = dim
        self.m = out_dim if out_dim is not None else dim
        self.x = MatrixSymbol("x", dim, 1)
        self.params: dict[str, Param] = {"x": Param(self.x, f"the block input, a {dim}×1 vector", STANDARD)}

    def _new(self, sym: Basic, description: str, domain: Domain) -> Basic:
        old = self.params.get(str(sym))
        if old is not None:
            if old.symbol != sym:
                raise SymresError(f"{sym} is used with two shapes: {old.symbol.shape} and {sym.shape}")
            return old.symbol
        self.params[str(sym)] = Param(sym, description, domain)
        return sym

    def matrix(self, name: str, rows: int | None = None, cols: int | None = None, *, description: str = "", domain: Domain = WEIGHT) -> MatrixSymbol:
        """A constant rows×cols matrix (default d×d), e.g. a weight."""
        rows, cols = rows or self.d, cols or self.d
        return self._new(MatrixSymbol(name, rows, cols), description or f"a constant {rows}×{cols} matrix", domain)

    def vector(self, name: str, rows: int | None = None, *, description: str = "", domain: Domain = STANDARD) -> MatrixSymbol:
        """A constant column vector (default d×1), e.g. a bias."""
        rows = rows or self.d
        return self._new(MatrixSymbol(name, rows, 1), description or f"a constant {rows}×1 vector", domain)

    def scalar(self, name: str, *, description: str = "", domain: Domain = STANDARD) -> sp.Symbol:
        """A constant real scalar, e.g. a gate α."""
        return self._new(sp.Symbol(name, real=True), description or "a constant scalar", domain)

    def sigma(self, u: MatrixExpr) -> Elementwise:
        """The block's activation σ applied entrywise (bound to relu, tanh, … when evaluated)."""
        return Elementwise(GENERIC, u)

    def act(self, name: str, u: MatrixExpr) -> Elementwise:
        """A named activation from the catalogue applied entrywise (for gates and the like)."""
        return Elementwise(name, u)

    def bn(self, u: MatrixExpr, k: int) -> MatrixExpr:
        """Batch normalisation in inference form, a diagonal affine map γ_k ⊙ u + β_k
        (running mean and variance folded into γ_k and β_k)."""
        n = u.shape[0]
        gamma = self.vector(f"gamma_{k}", n, description=f"BN {k} scale (running statistics folded in)", domain=Domain(low=0.5, high=1.5, description="entries ~ U(0.5, 1.5)"))
        beta = self.vector(f"beta_{k}", n, description=f"BN {k} shift")
        return add(matmul(Diag(gamma), u), beta)

    def F(self, u: MatrixExpr, rows: int | None = None) -> MatrixExpr:
        """The standard residual branch F(u) = W_2 σ(W_1 u), mapping R^{len(u)} to R^rows."""
        n, rows = int(u.shape[0]), rows or int(u.shape[0])
        W1 = self.matrix("W_1", rows, n, description=f"first weight, {rows}×{n}")
        W2 = self.matrix("W_2", rows, rows, description=f"second weight, {rows}×{rows}")
        return matmul(W2, self.sigma(matmul(W1, u)))


@dataclass(frozen=True)
class BlockInstance:
    """A block at concrete sizes: the forward expression y(x) and its parameters."""

    block: Block
    x: MatrixSymbol
    forward: MatrixExpr
    params: tuple[Param, ...]

    @property
    def domains(self) -> dict[str, Domain]:
        return {str(p.symbol): p.domain for p in self.params}

    @property
    def symbols(self) -> list[Basic]:
        return [p.symbol for p in self.params]


@dataclass(frozen=True)
class Block:
    """A residual-block variant. `build(v)` writes y in the vocabulary v."""

    name: str
    title: str
    source: str
    build: Callable[[Vocabulary], MatrixExpr]
    formula: str = ""  # the forward map in words/LaTeX for tables, e.g. "x + F(\\sigma(x))"
    out_dim: Callable[[int], int] = field(default=lambda d: d)

    def instance(self, dim: int = DEFAULT_DIM, out_dim: int | None = None) -> BlockInstance:
        """The block at input size dim (and output size out_dim where the block allows it)."""
        v = Vocabulary(dim, out_dim if out_dim is not None else self.out_dim(dim))
        y = self.build(v)
        if y.shape[1] != 1:
            raise SymresError(f"block {self.name!r} must produce a column vector, got shape {y.shape}")
        used = y.free_symbols
        params = tuple(p for p in v.params.values() if p.symbol in used or p.symbol == v.x)
        return BlockInstance(self, v.x, y, params)


BLOCKS: dict[str, Block] = {}


def register(block: Block) -> Block:
    """Add block to the registry (its name must be new); returns it."""
    if block.name in BLOCKS:
        raise SymresError(f"a block named {block.name!r} is already registered")
    BLOCKS[block.name] = block
    return block


def get_block(name: str) -> Block:
    """The registered block called name; a SymresError listing the names otherwise."""
    try:
        return BLOCKS[name]
    except KeyError:
        raise SymresError(f"unknown block {name!r}; known blocks: {', '.join(BLOCKS)}") from None


def _projection(v: Vocabulary) -> MatrixExpr:
    Ws = v.matrix("W_s", v.m, v.d, description=f"projection shortcut, {v.m}×{v.d}")
    return add(matmul(Ws, v.x), v.F(v.x, rows=v.m))


def _preact_bn(v: Vocabulary) -> MatrixExpr:
    W1 = v.matrix("W_1", description="first weight")
    W2 = v.matrix("W_2", description="second weight")
    inner = v.sigma(v.bn(matmul(W1, v.sigma(v.bn(v.x, 1))), 2))
    return add(v.x, matmul(W2, inner))


for _b in [
    Block("plain", "a plain (non-residual) layer pair, $y = F(x)$", "a feed-forward layer pair, for comparison",
          lambda v: v.F(v.x), "F(x)"),
    Block("residual", "the residual block $y = x + F(x)$", "He, Zhang, Ren & Sun 2015, Deep Residual Learning (arXiv:1512.03385)",
          lambda v: add(v.x, v.F(v.x)), "x + F(x)"),
    Block("projection", r"residual block with a projection shortcut, $y = W_s x + F(x)$, $F: \mathbb{R}^d \to \mathbb{R}^m$",
          "He et al. 2015, eq. (2) (arXiv:1512.03385)", _projection, "W_s x + F(x)", out_dim=lambda d: d + 1),
    Block("postact", "the original ResNet block, ReLU after the addition: $y = σ(F(x) + x)$",
          "He et al. 2015 (arXiv:1512.03385)", lambda v: v.sigma(add(v.F(v.x), v.x)), r"\sigma(F(x) + x)"),
    Block("preact", "pre-activation, ReLU-only: $y = x + F(σ(x))$",
          "He, Zhang, Ren & Sun 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027), as in seed 001 §6",
          lambda v: add(v.x, v.F(v.sigma(v.x))), r"x + F(\sigma(x))"),
    Block("preact-bn", "full pre-activation BN → σ → $W_1$ → BN → σ → $W_2$ → add (BN in inference form)",
          "He et al. 2016, Identity Mappings, Fig. 4(e) (arXiv:1603.05027)", _preact_bn,
          r"x + W_2 \sigma(\mathrm{BN}_2(W_1 \sigma(\mathrm{BN}_1(x))))"),
    Block("rezero", "ReZero: $y = x + α F(x)$, a scalar gate α (initialised at 0)",
          "Bachlechner et al. 2020, ReZero is All You Need (arXiv:2003.04887)",
          lambda v: add(v.x, matmul(v.scalar("alpha", description="the residual gate α"), v.F(v.x))), r"x + \alpha F(x)"),
]:
    register(_b)


# --------------------------------------------------------------------------- derive

_SHORTCUT_FACTS = {
    "identity": r"the identity term $I$ stands alone in the sum: no activation or weight gates it",
    "gated": r"the identity path is multiplied by the gate ${gate}$: where a gate entry is $0$ the identity path is closed",
    "other": r"the shortcut contributes the constant term ${gate}$, not $I$",
    "none": r"no term is free of the branch: every path passes through $F$",
}


def _shortcut_fact(jac: MatrixExpr) -> Step:
    from symres.latex import latex

    kind, term = shortcut_term(jac)
    text = _SHORTCUT_FACTS[kind].format(gate=latex(term) if term is not None else "")
    check = Check("symbolic", True, "read off the structure of the derived expression")
    return Step(rhs=jac, lhs=r"\frac{\partial y}{\partial x}", reason=text, check=check, verifier=lambda t, s: check)


def derive(
    block: str | Block,
    *,
    dim: int = DEFAULT_DIM,
    out_dim: int | None = None,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    check: bool = True,
) -> Proof:
    """The Jacobian ∂y/∂x of a block (numerator layout, m×d) as a step-by-step Proof.

    Steps: substitute the definition of y, then one differentiation rule per line
    (sum rule, identity, linear map, chain rule through σ, product rule). With
    check=True every line is verified numerically on `trials` seeded instances (σ
    bound to `activation`), and the final Jacobian against central finite differences
    of the forward map; `proof.final` holds that headline check.
    """
    from symres.activations import get_activation

    blk = get_block(block) if isinstance(block, str) else block
    act = get_activation(activation)
    inst = blk.instance(dim, out_dim)
    derivation = differentiate(inst.forward, inst.x)
    y = MatrixSymbol("y", inst.forward.shape[0], 1)
    start = derivation.start

    def numeric(before: MatrixExpr, after: MatrixExpr) -> Verifier:
        return lambda trials, seed: check_equal(before, after, domains=inst.domains, activation=act.name, trials=trials, seed=seed)

    # the same derivation at d = 2, where SymPy can compare the steps entry by entry
    small = blk.instance(2, None if out_dim is None else 2 + (out_dim - dim))
    small_steps = differentiate(small.forward, small.x).steps

    def both(i: int, before: MatrixExpr, after: MatrixExpr) -> Verifier:
        def run(trials: int, seed: int) -> Check:
            num = check_equal(before, after, domains=inst.domains, activation=act.name, trials=trials, seed=seed)
            # i = -1: the whole derivation, ∂y/∂x against the result
            a, b = (small_steps[0].before, small_steps[-1].after) if i < 0 else (small_steps[i].before, small_steps[i].after)
            sym = symbolic_equal(a, b) if len(small_steps) == len(derivation.steps) else None
            if sym is None or not num.passed:
                return num
            return replace(num, method="symbolic", detail=f"{sym.detail}; confirmed {num.detail} at d = {dim}")

        return run

    same = start.xreplace({y: inst.forward}) == Deriv(inst.forward, inst.x)
    steps = [
        Step(rhs=inst.forward, lhs=y, reason="definition of the block", check=Check("definition", True, "the block's forward map")),
        Step(
            rhs=start,
            lhs=Deriv(y, inst.x),
            reason="substitute the definition of $y$",
            verifier=lambda t, s: Check("symbolic", same, "identical after substituting y"),
        ),
    ]
    for i, rs in enumerate(derivation.steps):
        steps.append(Step(rhs=rs.after, reason=rs.rule.reason, verifier=both(i, rs.before, rs.after), short=rs.rule.short))
    jac = derivation.result
    assumptions = [f"${latex_of(p.symbol)}$: {p.description}" for p in inst.params]
    if start.has(Elementwise):
        conv = f"; {act.convention}" if act.convention else ""
        assumptions.append(rf"$\sigma$: an elementwise activation, here {act.name} ({act.title}){conv}")
    assumptions.append(r"numerator layout: $(\partial y/\partial x)_{ij} = \partial y_i/\partial x_j$")
    proof = Proof(
        title=f"Jacobian of the {blk.name} block: {blk.title}",
        assumptions=tuple(assumptions),
        steps=tuple(steps),
        conclusion=rf"\frac{{\partial y}}{{\partial x}} = {latex_of(jac)}",
        result=jac,
        facts=(_shortcut_fact(jac),),
        meta={"derived": True, "block": blk.name, "forward": inst.forward, "x": inst.x, "activation": act.name, "source": blk.source, "instance": inst},
        final_check=both(-1, Deriv(inst.forward, inst.x), jac),
    )
    return proof.check(trials=trials, seed=seed) if check else proof


def latex_of(expr: Basic) -> str:
    """LaTeX of expr in symres notation (a late import keeps `symres list` light)."""
    from symres.latex import latex

    return latex(expr)
