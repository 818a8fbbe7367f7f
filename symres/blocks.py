"""Residual-block variants: each a name, a title, a source and a forward expression.

A block's forward map is written once, as a Python function of a `Vocabulary` (the
input x, weight matrices, vectors, scalars and the activation σ at chosen sizes); the
Jacobian is never typed in: it is derived by `symres.calculus`. F = W_2 σ(W_1 x)
unless a block says otherwise.

Blocks of one's own: `Block.define(name, fn)` with fn a function of a `TermVocabulary`,
whose expressions combine with `+ - * @` in the written order, e.g.
`Block.define("mine", lambda v: v.x + v.matrix("W_2") @ v.sigma(v.matrix("W_1") @ v.x))`;
`load_block("pkg.module:mine")` or `load_block("path/file.py:mine")` imports one. The
variants of the literature are in `symres.variants`, registered when this module loads.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sympy as sp
from sympy import Basic, Identity, Lambda, MatrixExpr, MatrixSymbol, OneMatrix, Transpose

from symres.activations import GENERIC
from symres.calculus import defined_derivation, differentiate, shortcut_term
from symres.errors import SymresError
from symres.expr import (
    Abbrev,
    Defined,
    DefinedJacobian,
    Deriv,
    Det,
    Diag,
    Elementwise,
    Inv,
    LogDet,
    Scalar,
    ShapeError,
    Size,
    Term,
    Tr,
    VStack,
    add,
    matmul,
    unwrap,
)
from symres.numeric import POSITIVE, STANDARD, WEIGHT, Domain, check_equal
from symres.proof import Check, Proof, Step, Verifier
from symres.symbolic import symbolic_equal

__all__ = [
    "Block",
    "BlockInstance",
    "TermVocabulary",
    "Vocabulary",
    "BLOCKS",
    "abbreviations",
    "derive",
    "get_block",
    "latex_of",
    "lemma_steps",
    "load_block",
    "load_object",
    "register",
]

DEFAULT_DIM = 3
GAIN = Domain(low=0.5, high=1.5, description="entries ~ U(0.5, 1.5)")
EPSILON = Domain(low=0.01, high=1.0, description="~ U(0.01, 1): large enough that ε matters", above=0.0)


@dataclass(frozen=True)
class Param:
    """A symbol of a block instance with what it is and how it is drawn at random."""

    symbol: Basic
    description: str
    domain: Domain


def _domain_of(domain: Domain | str | None) -> Domain:
    """The Domain of x: None for N(0, 1), a Domain as given, or "positive" for POSITIVE."""
    if domain is None:
        return STANDARD
    if isinstance(domain, Domain):
        return domain
    if domain == "positive":
        return POSITIVE
    raise SymresError(f'x_domain={domain!r}: write x_domain="positive" or a symres.numeric.Domain')


class Vocabulary:
    """The symbols a forward map is written in, at concrete sizes.

    `x` is the d×1 input; `matrix`, `vector`, `scalar` create (once per name) the
    parameters; `sigma(u)` is the block's activation applied entrywise. Every symbol
    created is recorded with its description and its random-instance domain.
    """

    def __init__(self, dim: int, out_dim: int | None = None, x_domain: Domain | str | None = None) -> None:
        if dim < 1:
            raise SymresError(f"--dim must be a positive integer, got {dim}")
        self.d = dim
        self.m = out_dim if out_dim is not None else dim
        self.x = MatrixSymbol("x", dim, 1)
        dom = _domain_of(x_domain)
        what = f"the block input, a {dim}×1 vector" + (", every entry > 0" if dom is POSITIVE else "")
        self.params: dict[str, Param] = {"x": Param(self.x, what, dom)}
        self._owners: dict[str, str] = {}  # parameter name -> the normalisation layer it belongs to

    def _owned(self, name: str, owner: str) -> str:
        old = self._owners.setdefault(name, owner)
        if old != owner:
            raise SymresError(f"{name} would belong to both {old} and {owner}; give them different indices k")
        return name

    def _new(self, sym: Basic, description: str, domain: Domain) -> Basic:
        old = self.params.get(str(sym))
        if old is not None:
            if old.symbol != sym:
                raise SymresError(f"{sym} is used with two shapes: {old.symbol.shape} and {sym.shape}")
            return old.symbol
        self.params[str(sym)] = Param(sym, description, domain)
        return sym

    def matrix(
        self, name: str, rows: int | None = None, cols: int | None = None, *, description: str = "", domain: Domain = WEIGHT
    ) -> MatrixSymbol:
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
        return Elementwise(GENERIC, unwrap(u))

    def act(self, name: str, u: MatrixExpr) -> Elementwise:
        """A named activation from the catalogue applied entrywise (for gates and the like);
        a SymresError for a name that is not in the catalogue."""
        from symres.activations import get_elementwise

        return Elementwise(get_elementwise(name).name, unwrap(u))

    def pow(self, u: MatrixExpr, p: int | str) -> Elementwise:
        """u^p entrywise, p an integer or a rational such as "3/2" (t > 0 unless p is an integer)."""
        from symres.activations import power

        return Elementwise(power(p).name, unwrap(u))

    def bn(self, u: MatrixExpr, k: int) -> MatrixExpr:
        """Batch normalisation in inference form, a diagonal affine map γ_k ⊙ u + β_k
        (running mean and variance folded into γ_k and β_k)."""
        u = unwrap(u)
        n = u.shape[0]
        owner = f"BN {k}"
        scale = f"BN {k} scale (running statistics folded in)"
        gamma = self.vector(self._owned(f"gamma_{k}", owner), n, description=scale, domain=GAIN)
        beta = self.vector(self._owned(f"beta_{k}", owner), n, description=f"BN {k} shift")
        return add(matmul(Diag(gamma), u), beta)

    def layernorm(self, u: MatrixExpr, k: int | None = None) -> Defined:
        """LayerNorm over the n entries of u, written from its definition, as the function
        LN(u) = (v + ε)^{-1/2} diag(γ) c + β = γ ⊙ c/√(v + ε) + β with the mean μ = 𝟙ᵀu/n,
        the centred c = u − 𝟙μ and the variance v = cᵀc/n; γ, β n×1, ε > 0 a 1×1
        constant. Its Jacobian J_LN is derived from this definition (a lemma of the proof)."""
        u = unwrap(u)
        n = int(u.shape[0])
        sub, owner = ("", "LayerNorm") if k is None else (f"_{k}", f"LayerNorm {k}")
        gamma = self.vector(self._owned(f"gamma{sub}", owner), n, description=f"{owner} gain γ", domain=GAIN)
        beta = self.vector(self._owned(f"beta{sub}", owner), n, description=f"{owner} shift β")
        eps = self.matrix(self._owned(f"epsilon{sub}", owner), 1, 1, description=f"{owner} ε > 0, a 1×1 constant", domain=EPSILON)
        w = MatrixSymbol("u", n, 1)
        one = OneMatrix(n, 1)
        size = Size(self.size_name(n), n)
        mu = Abbrev(f"mu{sub}", matmul(1 / size, Transpose(one), w))
        c = Abbrev(f"c{sub}", add(w, matmul(-1, one, mu)))
        var = Abbrev(f"v{sub}", matmul(1 / size, Transpose(c), c))
        body = add(matmul(Scalar(Elementwise("rsqrt", add(var, eps))), Diag(gamma), c), beta)
        return Defined(f"LN{sub}", u, Lambda(w, body))

    def size_name(self, n: int) -> str:
        """The symbol a size is printed as: d for the input size, m for the output size, n otherwise."""
        return "d" if n == self.d else ("m" if n == self.m else "n")

    def ones(self, n: int | None = None) -> OneMatrix:
        """The ones vector 𝟙 (n×1, default d×1)."""
        return OneMatrix(n or self.d, 1)

    def diag(self, vec: MatrixExpr) -> Diag:
        """diag(v) for a column vector v: diag(v) u = v ⊙ u."""
        return Diag(unwrap(vec))

    def concat(self, *parts: MatrixExpr) -> VStack:
        """[a; b; …]: the column vectors stacked (DenseNet's concatenation)."""
        return VStack(*(unwrap(p) for p in parts))

    def eye(self, n: int | None = None) -> Identity:
        """The n×n identity I (default d×d), e.g. for I + x xᵀ."""
        return Identity(n or self.d)

    def inv(self, X: MatrixExpr) -> Inv:
        """X⁻¹ for a square matrix expression X (it may depend on x): n×n."""
        return Inv(unwrap(X))

    def tr(self, X: MatrixExpr) -> Tr:
        """tr(X) for a square matrix expression X, a 1×1 (it multiplies like a scalar)."""
        return Tr(unwrap(X))

    def det(self, X: MatrixExpr) -> Det:
        """det(X) for a square matrix expression X, a 1×1."""
        return Det(unwrap(X))

    def logdet(self, X: MatrixExpr) -> LogDet:
        """log det(X) for a square matrix expression X, a 1×1, defined where det(X) > 0."""
        return LogDet(unwrap(X))

    def F(self, u: MatrixExpr, rows: int | None = None) -> MatrixExpr:
        """The standard residual branch F(u) = W_2 σ(W_1 u), mapping R^{len(u)} to R^rows."""
        u = unwrap(u)
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

    def symbol(self, name: str, what: str = "--let") -> Basic:
        """The symbol called name, also without underscores (W1 for W_1); a SymresError
        naming the block's symbols otherwise."""
        by_name = {str(p.symbol): p.symbol for p in self.params}
        aliases = {n.replace("_", ""): n for n in by_name}
        found = name if name in by_name else aliases.get(name.replace("_", ""))
        if found is None:
            where = f"{what} {name}: " if what else ""
            raise SymresError(f"{where}the block has no symbol {name!r}; its symbols: {', '.join(by_name)}")
        return by_name[found]

    def with_upstream(self) -> tuple[BlockInstance, MatrixSymbol]:
        """This instance with the upstream gradient g (m×1, a column) among its symbols."""
        g = MatrixSymbol("g", self.forward.shape[0], 1)
        if any(str(p.symbol) == "g" for p in self.params):
            raise SymresError("the block already has a symbol g; the upstream gradient is called g")
        param = Param(g, f"the upstream gradient ∂ℒ/∂y as a column, {self.forward.shape[0]}×1", STANDARD)
        return replace(self, params=(*self.params, param)), g


@dataclass(frozen=True)
class Block:
    """A residual-block variant. `build(v)` writes y in the vocabulary v."""

    name: str
    title: str
    source: str
    build: Callable[[Vocabulary], MatrixExpr]
    formula: str = ""  # the forward map in words/LaTeX for tables, e.g. "x + F(\\sigma(x))"
    out_dim: Callable[[int], int] = field(default=lambda d: d)
    #: how x is drawn in the numeric checks: None (N(0, 1)), "positive" or a Domain
    x_domain: Domain | str | None = None

    def instance(self, dim: int = DEFAULT_DIM, out_dim: int | None = None) -> BlockInstance:
        """The block at input size dim (and output size out_dim where the block allows it)."""
        v = Vocabulary(dim, out_dim if out_dim is not None else self.out_dim(dim), self.x_domain)
        try:
            y = unwrap(self.build(v))
        except ShapeError as exc:
            raise SymresError(_shape_advice(exc, v)) from None
        if not getattr(y, "is_Matrix", False):
            raise SymresError(f"block {self.name!r} must produce a column vector, got the scalar {y}")
        if y.shape[1] != 1:
            raise SymresError(f"block {self.name!r} must produce a column vector, got shape {y.shape}")
        if out_dim is not None and y.shape[0] != out_dim:
            raise SymresError(
                f"--out-dim {out_dim}: block {self.name!r} maps R^{dim} to R^{y.shape[0]}; "
                "--out-dim applies only to blocks whose output size is free (e.g. projection)"
            )
        used = y.free_symbols
        params = tuple(p for p in v.params.values() if p.symbol in used or p.symbol == v.x)
        return BlockInstance(self, v.x, y, params)

    @classmethod
    def define(
        cls,
        name: str,
        fn: Callable[[TermVocabulary], Any],
        *,
        title: str = "",
        source: str = "defined by the user",
        formula: str = "",
        out_dim: Callable[[int], int] | None = None,
        x_domain: Domain | str | None = None,
    ) -> Block:
        """A block whose forward map is `fn(v)`, v a `TermVocabulary` (expressions that
        combine with `+ - * @` in the written order). `x_domain="positive"` (or a
        `symres.numeric.Domain`) declares x > 0, so that the checks draw x there (for
        `v.act("log", v.x)`, `v.act("sqrt", v.x)`). Not registered: pass it to `derive`,
        to `register`, or to the command line as `--block module:NAME`.

        >>> from symres.render import text
        >>> mine = Block.define("mine", lambda v: v.x + v.matrix("W_2") @ v.sigma(v.matrix("W_1") @ v.x))
        >>> print(text(derive(mine, check=False).result))
        I + W₂ diag(σ'(W₁ x)) W₁
        """

        def build(v: Vocabulary) -> MatrixExpr:
            try:
                return unwrap(fn(TermVocabulary(v)))
            except AttributeError as exc:  # v.matrx: one line naming the block and the word
                if not isinstance(exc.obj, TermVocabulary):
                    raise
                import difflib

                words = [w for w in dir(TermVocabulary) if not w.startswith("_")]
                close = difflib.get_close_matches(str(exc.name), words, n=1)
                hint = f" (did you mean v.{close[0]}?)" if close else f"; its words: {', '.join(words)}"
                raise SymresError(f"block {name!r}: the vocabulary has no word v.{exc.name}{hint}") from None

        _domain_of(x_domain)  # a bad domain is refused here, in one line
        title = title or f"the user-defined block {name}"
        return cls(name, title, source, build, formula, out_dim or (lambda d: d), x_domain)


def _times_x(e: Basic, x: MatrixSymbol) -> bool:
    """e is x or a scalar multiple of x."""
    return e == x or (isinstance(e, sp.MatMul) and e.args[-1] == x and not any(f.is_Matrix for f in e.args[:-1]))


def _shape_advice(exc: ShapeError, v: Vocabulary) -> str:
    """A sum x + F(x) whose branch changes the size: say so, and what the seeds advise."""
    ops = exc.operands
    if len(ops) == 2 and str(exc).startswith("shape mismatch in a sum"):
        for a, b in (ops, ops[::-1]):
            if _times_x(a, v.x) and getattr(b, "is_Matrix", False) and b.shape[1] == 1:
                return f"shape mismatch: F maps R^{v.d} to R^{b.shape[0]}; use a projection shortcut W_s x"
    return str(exc)


class TermVocabulary:
    """The vocabulary of `Block.define`: the symbols of `Vocabulary` as `Term`s, which
    combine with `+`, `-`, `*` (elementwise, or a scalar times a matrix), `/` (by a
    scalar), `@` (matrix product) and `.T`, keeping the written order.

    `x` the d×1 input; `matrix`, `vector`, `scalar` parameters; `sigma(u)` the block's
    activation, `act(name, u)` a catalogue activation (`sigmoid` for gates) or a Cookbook
    function (exp, log, sin, cos, tan, sqrt); `F(u)` the
    standard branch W_2 σ(W_1 u); `bn(u, k)`, `layernorm(u, k)`, `diag(v)`, `ones()`,
    `concat(a, b)`; the matrix functions `inv(X)`, `tr(X)`, `det(X)`, `logdet(X)` of a
    square X that may depend on x, and `eye()` (I). A number c next to a vector means c𝟙
    (so `1 - g` is 𝟙 − g); `u / s` divides by a scalar or by a 1×1 expression such as xᵀx.
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab

    @property
    def x(self) -> Term:
        return Term(self.vocab.x)

    @property
    def d(self) -> int:
        return self.vocab.d

    @property
    def m(self) -> int:
        return self.vocab.m

    def matrix(self, name: str, rows: int | None = None, cols: int | None = None, **kw: Any) -> Term:
        return Term(self.vocab.matrix(name, rows, cols, **kw))

    def vector(self, name: str, rows: int | None = None, **kw: Any) -> Term:
        return Term(self.vocab.vector(name, rows, **kw))

    def scalar(self, name: str, **kw: Any) -> Term:
        return Term(self.vocab.scalar(name, **kw))

    def sigma(self, u: Term) -> Term:
        return Term(self.vocab.sigma(u))

    def act(self, name: str, u: Term) -> Term:
        return Term(self.vocab.act(name, u))

    def sigmoid(self, u: Term) -> Term:
        return Term(self.vocab.act("sigmoid", u))

    def pow(self, u: Term, p: int | str) -> Term:
        return Term(self.vocab.pow(u, p))

    def F(self, u: Term, rows: int | None = None) -> Term:
        return Term(self.vocab.F(u, rows))

    def bn(self, u: Term, k: int) -> Term:
        return Term(self.vocab.bn(u, k))

    def layernorm(self, u: Term, k: int | None = None) -> Term:
        return Term(self.vocab.layernorm(u, k))

    def diag(self, vec: Term) -> Term:
        return Term(self.vocab.diag(vec))

    def ones(self, n: int | None = None) -> Term:
        return Term(self.vocab.ones(n))

    def concat(self, *parts: Term) -> Term:
        return Term(self.vocab.concat(*parts))

    def eye(self, n: int | None = None) -> Term:
        return Term(self.vocab.eye(n))

    def inv(self, X: Term) -> Term:
        return Term(self.vocab.inv(X))

    def tr(self, X: Term) -> Term:
        return Term(self.vocab.tr(X))

    def det(self, X: Term) -> Term:
        return Term(self.vocab.det(X))

    def logdet(self, X: Term) -> Term:
        return Term(self.vocab.logdet(X))


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


def load_block(spec: str) -> Block:
    """The Block named by `module.path:NAME` or `path/to/file.py:NAME` (the module is
    imported; the current directory is searched first). A SymresError with one line when
    the module or the attribute is missing, or the attribute is not a Block."""
    obj = load_object(spec)
    if not isinstance(obj, Block):
        kind = type(obj).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        attr = spec.rpartition(":")[2]
        raise SymresError(f"--block {spec!r}: {attr} is {article} {kind}, not a Block (make one with Block.define)")
    return obj


def load_object(spec: str, option: str = "--block") -> Any:
    """The attribute named by `module.path:NAME` or `path/to/file.py:NAME` (the module is
    imported; the current directory is searched first). A SymresError with one line
    (starting with `option`) when the module or the attribute is missing, or importing the
    module raises (SystemExit included)."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr.isidentifier():
        raise SymresError(f"{option} {spec!r}: write MODULE:NAME or path/to/file.py:NAME")
    try:
        if where.endswith(".py") or "/" in where or os.sep in where:
            module = _import_file(Path(where), f"{option} {spec!r}")
        else:
            module = _import_module(where)
    except SymresError:
        raise
    except ModuleNotFoundError as exc:
        raise SymresError(f"{option} {spec!r}: cannot import {where!r}: {exc}") from None
    except (Exception, SystemExit) as exc:  # the user's module failed to import: one line, not a traceback or its exit
        from symres.guard import describe

        raise SymresError(f"{option} {spec!r}: importing {where} {describe(exc)}") from None
    if not hasattr(module, attr):
        raise SymresError(f"{option} {spec!r}: {where} has no attribute {attr!r}")
    return getattr(module, attr)


def _import_module(name: str) -> Any:
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    finally:
        if added:
            sys.path.remove(cwd)


def _import_file(path: Path, what: str) -> Any:
    if not path.is_file():
        raise SymresError(f"{what}: no such file {str(path)!r}")
    name = f"_symres_user_{abs(hash(str(path.resolve())))}_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SymresError(f"{what}: cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _projection(v: Vocabulary) -> MatrixExpr:
    Ws = v.matrix("W_s", v.m, v.d, description=f"projection shortcut, {v.m}×{v.d}")
    return add(matmul(Ws, v.x), v.F(v.x, rows=v.m))


def _preact_bn(v: Vocabulary) -> MatrixExpr:
    W1 = v.matrix("W_1", description="first weight")
    W2 = v.matrix("W_2", description="second weight")
    inner = v.sigma(v.bn(matmul(W1, v.sigma(v.bn(v.x, 1))), 2))
    return add(v.x, matmul(W2, inner))


for _b in [
    Block(
        "plain",
        "a plain (non-residual) layer pair, $y = F(x)$",
        "a feed-forward layer pair, for comparison",
        lambda v: v.F(v.x),
        "F(x)",
    ),
    Block(
        "residual",
        "the residual block $y = x + F(x)$",
        "He, Zhang, Ren & Sun 2015, Deep Residual Learning (arXiv:1512.03385)",
        lambda v: add(v.x, v.F(v.x)),
        "x + F(x)",
    ),
    Block(
        "projection",
        r"residual block with a projection shortcut, $y = W_s x + F(x)$, $F: \mathbb{R}^d \to \mathbb{R}^m$",
        "He et al. 2015, eq. (2) (arXiv:1512.03385)",
        _projection,
        "W_s x + F(x)",
        out_dim=lambda d: d + 1,
    ),
    Block(
        "postact",
        "the original ResNet block, ReLU after the addition: $y = σ(F(x) + x)$",
        "He et al. 2015 (arXiv:1512.03385)",
        lambda v: v.sigma(add(v.F(v.x), v.x)),
        r"\sigma(F(x) + x)",
    ),
    Block(
        "preact",
        "pre-activation, no BN: $y = x + F(σ(x))$",
        "He, Zhang, Ren & Sun 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027), "
        "as in “17-05 — Residual Connections” §6",
        lambda v: add(v.x, v.F(v.sigma(v.x))),
        r"x + F(\sigma(x))",
    ),
    Block(
        "preact-bn",
        "full pre-activation BN → σ → $W_1$ → BN → σ → $W_2$ → add (BN in inference form)",
        "He et al. 2016, Identity Mappings, Fig. 4(e) (arXiv:1603.05027)",
        _preact_bn,
        r"x + W_2 \sigma(\mathrm{BN}_2(W_1 \sigma(\mathrm{BN}_1(x))))",
    ),
    Block(
        "postact-bn",
        r"the ResNet basic block with BN, ReLU after the addition: "
        r"$y = σ(\mathrm{BN}_2(W_2 σ(\mathrm{BN}_1(W_1 x))) + x)$ (convolutions as linear maps, BN in inference form)",
        "He et al. 2015 (arXiv:1512.03385); “Skip connections and residual learning”, Code: ResidualBlock",
        lambda v: v.sigma(
            add(
                v.bn(
                    matmul(
                        v.matrix("W_2", description="second convolution, as a linear map"),
                        v.sigma(v.bn(matmul(v.matrix("W_1", description="first convolution, as a linear map"), v.x), 1)),
                    ),
                    2,
                ),
                v.x,
            )
        ),
        r"\sigma(\mathrm{BN}_2(W_2 \sigma(\mathrm{BN}_1(W_1 x))) + x)",
    ),
    Block(
        "projection-bn",
        r"the ResNet block with a projection shortcut and BN: "
        r"$y = σ(\mathrm{BN}_2(W_2 σ(\mathrm{BN}_1(W_1 x))) + \mathrm{BN}_3(W_s x))$, $W_1, W_s$: $m×d$ "
        r"(convolutions as linear maps, BN in inference form, $\mathrm{BN}_3$ the shortcut's BN)",
        "He et al. 2015, option B (arXiv:1512.03385); “Skip connections and residual learning”, Code: ProjectionResidualBlock",
        lambda v: v.sigma(
            add(
                v.bn(
                    matmul(
                        v.matrix("W_2", v.m, v.m, description="second convolution, as an m×m linear map"),
                        v.sigma(
                            v.bn(matmul(v.matrix("W_1", v.m, v.d, description="first convolution, as an m×d linear map"), v.x), 1)
                        ),
                    ),
                    2,
                ),
                v.bn(
                    matmul(v.matrix("W_s", v.m, v.d, description="the 1×1 projection convolution, as an m×d linear map"), v.x), 3
                ),
            )
        ),
        r"\sigma(\mathrm{BN}_2(W_2 \sigma(\mathrm{BN}_1(W_1 x))) + \mathrm{BN}_3(W_s x))",
        out_dim=lambda d: d + 1,
    ),
    Block(
        "rezero",
        "ReZero: $y = x + α F(x)$, a scalar gate α (initialised at 0)",
        "Bachlechner et al. 2020, ReZero is All You Need (arXiv:2003.04887)",
        lambda v: add(v.x, matmul(v.scalar("alpha", description="the residual gate α"), v.F(v.x))),
        r"x + \alpha F(x)",
    ),
]:
    register(_b)


# --------------------------------------------------------------------------- derive

_SHORTCUT_FACTS = {
    "identity": r"the identity term $I$ stands alone in the sum: no activation or weight gates it",
    "scaled": r"the identity path is scaled by the constant ${gate}$: in a stack of $L$ such blocks the path "
    r"through no branch is $({gate})^{{L}} I$, which vanishes or explodes with $L$ unless $|{gate}| = 1$",
    "gated": r"the identity path is multiplied by the gate ${gate}$: where a gate entry is $0$ the identity path is closed",
    "gated-matrix": r"the identity path is multiplied by ${gate}$, which depends on $x$: it is not a free identity path",
    "concat": r"the input is copied into the output: the Jacobian stacks $I$ above the branch's Jacobian",
    "other": r"the shortcut contributes the constant term ${gate}$, not $I$",
    "gated-other": r"the shortcut's constant term stands inside the gated product ${gate}$: no free identity path",
    "none": r"no term is free of the branch: every path passes through $F$",
}


def _shortcut_fact(jac: MatrixExpr, x: MatrixSymbol) -> Step:
    from symres.latex import latex

    kind, term = shortcut_term(jac, x)
    factors = term.args if isinstance(term, sp.MatMul) else (term,)
    if kind == "gated" and not all(isinstance(f, Diag) for f in factors if f is not None and f.is_Matrix):
        kind = "gated-matrix"
    text = _SHORTCUT_FACTS[kind].format(gate=latex(term) if term is not None else "")
    check = Check("symbolic", True, "read off the structure of the derived expression")
    return Step(rhs=jac, lhs=r"\frac{\partial y}{\partial x}", reason=text, check=check, verifier=lambda t, s: check)


def derivation_meta(blk: Block, inst: BlockInstance, activation: str, **extra: Any) -> dict[str, Any]:
    """The meta of a block's derived proof, what the printers, `Proof.at` and emit read: the
    block's name and source, its instance (symbols, forward expression y, input x), the
    activation bound to σ; ``derived`` (rule by rule, so the final check only confirms);
    ``extra`` adds the mode's own keys (wrt, tokens, labels)."""
    meta = {
        "derived": True,
        "block": blk.name,
        "forward": inst.forward,
        "x": inst.x,
        "activation": activation,
        "source": blk.source,
        "instance": inst,
    }
    return {**meta, **extra}


def derive(
    block: str | Block,
    *,
    dim: int = DEFAULT_DIM,
    out_dim: int | None = None,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    check: bool = True,
    wrt: str | None = None,
    grad: str | None = None,
    hessian: bool = False,
    tokens: int | None = None,
) -> Proof:
    """The Jacobian ∂y/∂x of a block (numerator layout, m×d) as a step-by-step Proof.

    With `wrt="W_1"` (or "W1", "alpha", "b_g"): ∂y/∂wrt instead, ∂y/∂vec(W) (m×pq, vec
    stacking the columns) for a matrix, m×1 for a scalar. With `grad=NAME`: the gradient of
    s = gᵀy (g the upstream gradient, a column symbol of the proof) in the shape of NAME.
    With `hessian=True`: ∇²_x (gᵀy), d×d and symmetric (it needs σ''). See
    `symres.gradients`. A token block (`symres.attention`) gives ∂vec(Y)/∂vec(X) at n = `tokens`
    (default 3) tokens of width `dim`.

    Steps: substitute the definition of y, then one differentiation rule per line
    (sum rule, identity, linear map, chain rule through σ, product rule, …). With
    check=True every line is shown symbolically at d = 2 (entry by entry, any
    differentiable σ) where SymPy can, and checked numerically on `trials` seeded
    instances at size `dim` (σ bound to `activation`, derivatives by central finite
    differences); `proof.final` holds the check of the whole result. Cached: a Proof is
    immutable.
    """
    blk = get_block(block) if isinstance(block, str) else block
    from symres.attention import DEFAULT_TOKENS, TokenBlock, derive_tokens

    if isinstance(blk, TokenBlock):  # X ∈ R^{n×d}: ∂vec(Y)/∂vec(X) (tokens = n)
        if wrt not in (None, "X") or grad is not None or hessian:
            raise SymresError(f"block {blk.name!r} is a token block: --wrt, --grad and --hessian take a vector block")
        if out_dim is not None and out_dim != dim:
            raise SymresError(f"--out-dim: block {blk.name!r} maps R^{{n×{dim}}} to itself; --out-dim does not apply")
        return derive_tokens(blk, dim, DEFAULT_TOKENS if tokens is None else tokens, activation, trials, seed, check)
    if tokens is not None:
        raise SymresError(f"--tokens sets n for token blocks (attention, mlp, transformer-…); {blk.name!r} takes a vector x")
    if sum(map(bool, (wrt not in (None, "x"), grad is not None, hessian))) > 1:
        raise SymresError("derive: give at most one of --wrt, --grad and --hessian")
    if wrt not in (None, "x") or grad is not None or hessian:
        from symres.gradients import derive_derivative

        mode = "hessian" if hessian else ("grad" if grad is not None else "wrt")
        name = grad if grad is not None else (wrt or "x")
        return derive_derivative(
            blk, mode, name, dim=dim, out_dim=out_dim, activation=activation, trials=trials, seed=seed, check=check
        )
    return _derive(blk, dim, out_dim, activation, trials, seed, check)


@functools.lru_cache(maxsize=256)  # a Proof is immutable; the derivation library asks for some blocks often
def _derive(blk: Block, dim: int, out_dim: int | None, activation: str, trials: int, seed: int, check: bool) -> Proof:
    from symres.activations import get_activation
    from symres.tex import prose_literal

    act = get_activation(activation)
    inst = blk.instance(dim, out_dim)
    derivation = differentiate(inst.forward, inst.x)
    y = MatrixSymbol("y", inst.forward.shape[0], 1)
    start = derivation.start

    def numeric(before: MatrixExpr, after: MatrixExpr) -> Verifier:
        return lambda trials, seed: check_equal(
            before, after, domains=inst.domains, activation=act.name, trials=trials, seed=seed
        )

    # the same derivation at d = 2, where SymPy can compare the steps entry by entry; a block
    # with sizes of its own (a 2×3 matrix, say) exists only at those: it is checked numerically there
    try:
        small = blk.instance(2, None if out_dim is None else 2 + (out_dim - dim))
        small_steps = differentiate(small.forward, small.x).steps
    except SymresError:
        small_steps = ()

    shown: dict[int, bool] = {}  # which rule steps SymPy has shown, for the final check

    def both(i: int, before: MatrixExpr, after: MatrixExpr) -> Verifier:
        def run(trials: int, seed: int) -> Check:
            num = check_equal(before, after, domains=inst.domains, activation=act.name, trials=trials, seed=seed)
            if len(small_steps) != len(derivation.steps):
                return num
            if i < 0:  # the whole result: by transitivity when every step was shown, else directly
                if len(shown) == len(small_steps) and all(shown.values()):
                    detail = "by the chain of steps above, each shown symbolically"
                else:
                    sym = symbolic_equal(small_steps[0].before, small_steps[-1].after)
                    detail = sym.detail if sym is not None else ""
            else:
                sym = symbolic_equal(small_steps[i].before, small_steps[i].after)
                shown[i] = sym is not None
                detail = sym.detail if sym is not None else ""
            if not detail or not num.passed:
                return num
            return replace(num, method="symbolic", detail=f"{detail}; confirmed {num.detail} at d = {dim}")

        return run

    functions = _defined_functions(inst.forward)
    steps = [s for fn in functions for s in lemma_steps(fn, numeric)]
    same = start.xreplace({y: inst.forward}) == Deriv(inst.forward, inst.x)
    steps += [
        Step(
            rhs=inst.forward, lhs=y, reason="definition of the block", check=Check("definition", True, "the block's forward map")
        ),
        Step(
            rhs=start,
            lhs=Deriv(y, inst.x),
            reason="substitute the definition of $y$",
            verifier=lambda t, s: Check("symbolic", same, "identical after substituting y"),
        ),
    ]
    for i, rs in enumerate(derivation.steps):
        reason, short = _rule_reason(rs)
        steps.append(Step(rhs=rs.after, reason=reason, verifier=both(i, rs.before, rs.after), short=short))
    jac = derivation.result
    # descriptions are plain text, never mathematics; so are a user block's name and title
    title = blk.title if BLOCKS.get(blk.name) is blk else prose_literal(blk.title)
    assumptions = [f"${latex_of(p.symbol)}$: {prose_literal(_described(p))}" for p in inst.params]
    assumptions += [_function_assumption(fn) for fn in functions]
    if start.has(Elementwise) and _uses_sigma(inst.forward):
        conv = f"; {act.convention}" if act.convention else ""
        assumptions.append(rf"$\sigma$: an elementwise activation, here {act.name} ({act.title}){conv}")
    assumptions.append(r"numerator layout: $(\partial y/\partial x)_{ij} = \partial y_i/\partial x_j$")
    proof = Proof(
        title=f"Jacobian of the {prose_literal(blk.name)} block: {title}",
        assumptions=tuple(assumptions),
        steps=tuple(steps),
        conclusion=rf"\frac{{\partial y}}{{\partial x}} = {latex_of(jac)}",
        result=jac,
        facts=(_shortcut_fact(jac, inst.x),),
        meta=derivation_meta(blk, inst, act.name),
        final_check=both(-1, Deriv(inst.forward, inst.x), jac),
    )
    return proof.check(trials=trials, seed=seed) if check else proof


def _described(p: Any) -> str:
    """A parameter's description with its size (a user's `description=` keeps it too)."""
    shape = getattr(p.symbol, "shape", None)
    size = f"{shape[0]}×{shape[1]}" if shape else ""
    if not size or size in p.description:
        return str(p.description)
    return f"{p.description}, here {size}" if "×" in p.description else f"{p.description}, {size}"


def _rule_reason(rs: Any) -> tuple[str, str]:
    """(reason, short) of a rule step; a chain rule names the function it went through
    (tanh, sigmoid, …) where the step differentiated a catalogue function, not σ."""
    reason, short = rs.rule.reason, rs.rule.short
    if rs.rule.name not in ("chain", "chain-scalar"):
        return reason, short
    fns = {e.fn for e in rs.after.atoms(Elementwise) - rs.before.atoms(Elementwise) if e.order >= 1}
    if len(fns) != 1 or GENERIC in fns:
        return reason, short
    from symres.activations import ACTIVATIONS, FUNCTIONS

    fn = fns.pop()
    entry = FUNCTIONS.get(fn) or ACTIVATIONS.get(fn)
    name = entry.latex if entry is not None else rf"\operatorname{{{fn}}}"
    return reason.replace(r"\sigma", name).replace("elementwise $", "elementwise function $"), short.replace(r"\sigma", name)


def _uses_sigma(expr: Basic) -> bool:
    return any(e.fn == GENERIC for e in expr.atoms(Elementwise)) or any(_uses_sigma(f.body) for f in expr.atoms(Defined))


def _defined_functions(expr: Basic) -> list[Defined]:
    """The distinct defined functions applied in expr, innermost first, each at its variable."""
    found: list[Defined] = []

    def visit(e: Basic) -> None:
        for a in getattr(e, "args", ()):
            visit(a)
        if isinstance(e, Defined):
            visit(e.body)
            at_u = Defined(e.args[0], e.variable, e.definition)
            if at_u not in found:
                found.append(at_u)

    visit(expr)
    return found


def abbreviations(expr: Basic) -> list[Abbrev]:
    """The named quantities in expr, each after those its definition uses."""
    found: list[Abbrev] = []

    def visit(e: Basic) -> None:
        if isinstance(e, Abbrev):
            visit(e.definition)
            if e not in found:
                found.append(e)
            return
        for a in getattr(e, "args", ()):
            visit(a)

    visit(expr)
    return found


def _where(fn: Defined) -> str:
    names = [f"${latex_of(a)} = {latex_of(a.definition)}$" for a in abbreviations(fn.body)]
    return (" with " + ", ".join(names)) if names else ""


def _function_assumption(fn: Defined) -> str:
    return f"${latex_of(fn)} = {latex_of(fn.body)}$ for ${latex_of(fn.variable)}$ of size {fn.variable.shape[0]}×1{_where(fn)}"


def lemma_steps(fn: Defined, numeric: Callable[[MatrixExpr, MatrixExpr], Verifier]) -> list[Step]:
    """J_f(u) = ∂f(u)/∂u derived from f's definition: the lemma a block proof uses."""
    u = fn.variable
    derivation = defined_derivation(fn.definition)
    J = DefinedJacobian(fn.args[0], u, Lambda(u, derivation.result))
    name = latex_of(fn).partition(r"\left(")[0]
    steps = [
        Step(
            rhs=fn.body,
            lhs=fn,
            reason=f"definition of ${name}${_where(fn)}",
            short=f"definition of ${name}$",
            check=Check("definition", True, f"the definition of {fn.name}"),
        ),
        Step(
            rhs=derivation.start,
            lhs=J,
            reason=f"$J_{{{name}}}$ is the Jacobian of ${name}$ (numerator layout)",
            short=f"definition of $J_{{{name}}}$",
            check=Check("definition", True, f"J_{fn.name}(u) := ∂{fn.name}(u)/∂u"),
        ),
    ]
    for rs in derivation.steps:
        steps.append(Step(rhs=rs.after, reason=rs.rule.reason, verifier=numeric(rs.before, rs.after), short=rs.rule.short))
    return steps


def latex_of(expr: Basic) -> str:
    """LaTeX of expr in symres notation (a late import keeps `symres list` light)."""
    from symres.latex import latex

    return latex(expr)
