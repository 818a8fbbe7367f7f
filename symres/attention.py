"""Transformer blocks on token matrices: softmax, attention, MLP, pre-LN and post-LN layers.

A token block maps X ∈ R^{n×d} (one token a row) to Y ∈ R^{n×d}; its Jacobian is
∂vec(Y)/∂vec(X) (nd×nd, numerator layout, vec stacking the columns), derived by
`symres.calculus` with the token rules of `symres.vec_rules` and printed in Kronecker
form. Everything is written in the vocabulary, nothing typed in as a Jacobian:

- softmax(u) = (𝟙ᵀ exp(u))⁻¹ exp(u), applied to each row (`TokenVocabulary.softmax`); its
  Jacobian J_softmax(u) is derived from this definition, and the lemma of each proof shows
  it equal to diag(p) − p pᵀ (p = softmax(u)), the closed form the blocks print;
- attention: softmax(X W_Q (X W_K)ᵀ / √d_k) X W_V W_O, optionally with the causal mask;
- LayerNorm on each row is the LayerNorm of `symres.blocks.Vocabulary`, applied row-wise;
- a transformer layer is two sublayers, each a function of a token matrix defined once
  (`TokenVocabulary.sublayer`), so that its Jacobian reads J_2(Z) J_1(X) (later on the left).

Sizes n (tokens), d (width), d_k (head) are symbols in the printed proofs; `tokens` and
`dim` set them for the checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy import Basic, Lambda, MatrixExpr, MatrixSymbol, OneMatrix, Transpose

from symres.activations import GENERIC
from symres.blocks import Block, BlockInstance, Param, Vocabulary, derivation_meta, latex_of, lemma_steps
from symres.calculus import defined_derivation, differentiate
from symres.errors import SymresError
from symres.expr import Abbrev, Defined, DefinedJacobian, Deriv, Diag, Elementwise, Scalar, Size, Vec, add, matmul, unwrap
from symres.numeric import STANDARD, check_equal
from symres.proof import Check, Proof, Step, Verifier
from symres.tokens import CausalMask, RowMap, name_sizes
from symres.vec_rules import ROW_JACOBIANS

__all__ = [
    "DEFAULT_TOKENS",
    "TOKEN_BLOCKS",
    "TokenBlock",
    "TokenVocabulary",
    "derive_tokens",
    "softmax_closed_form",
    "softmax_function",
    "softmax_jacobian",
]

DEFAULT_TOKENS = 3
DEFAULT_HEADS = 2


@functools.lru_cache(maxsize=32)
def softmax_function(k: int) -> Defined:
    """softmax on R^k at its variable u (k×1): (𝟙ᵀ exp(u))⁻¹ exp(u), a `Defined`."""
    u = MatrixSymbol("u", k, 1)
    e = Elementwise("exp", u)
    body = matmul(Scalar(matmul(Transpose(OneMatrix(k, 1)), e)) ** -1, e)
    return Defined("softmax", u, Lambda(u, body))


@functools.lru_cache(maxsize=32)
def softmax_closed_form(k: int) -> Lambda:
    """Lambda(u, diag(p) − p pᵀ) with p = softmax(u) (an `Abbrev`): the closed form of
    J_softmax(u), k×k, numerator layout. Registered as the row Jacobian blocks print."""
    fn = softmax_function(k)
    p = Abbrev("p", fn.body)
    return Lambda(fn.variable, add(Diag(p), matmul(-1, p, Transpose(p))))


class TokenVocabulary(Vocabulary):
    """The vocabulary of a token block: the token matrix X (n×d) instead of x, weights with
    named sizes, row-wise softmax and LayerNorm, attention heads and sublayers."""

    def __init__(self, dim: int, tokens: int = DEFAULT_TOKENS, heads: int = DEFAULT_HEADS) -> None:
        if tokens < 1:
            raise SymresError(f"--tokens must be a positive integer, got {tokens}")
        super().__init__(dim)
        del self.params["x"]
        self.n = tokens
        self.heads = heads
        self.sizes = {"n": Size("n", tokens), "d": Size("d", dim), "d_k": Size("d_k", max(1, dim // heads))}
        self.X = name_sizes(MatrixSymbol("X", tokens, dim), self.sizes["n"], self.sizes["d"])
        self.x = self.X
        self.params["X"] = Param(self.X, f"the token matrix, one token a row, {tokens}×{dim}", STANDARD)

    def weight(self, name: str, rows: str = "d", cols: str = "d", *, description: str = "") -> MatrixSymbol:
        """A constant weight with sizes named by `rows`, `cols` (n, d or d_k)."""
        r, c = self.sizes[rows], self.sizes[cols]
        sym = self.matrix(name, r.value, c.value, description=description or f"a weight, {rows}×{cols}")
        return name_sizes(sym, r, c)

    def softmax(self, m: MatrixExpr, *, causal: bool = False) -> RowMap:
        """softmax on each row of m; `causal` adds M_causal first (token i sees j ≤ i)."""
        m = unwrap(m)
        if causal:
            if m.shape[0] != m.shape[1]:
                raise SymresError(f"the causal mask needs square scores, got {m.shape[0]}×{m.shape[1]}")
            m = add(m, CausalMask(self.sizes["n"] if int(m.shape[0]) == self.n else int(m.shape[0])))
        return RowMap.of(softmax_function(int(m.shape[1])), m)

    def layernorm_rows(self, m: MatrixExpr, k: int | None = None) -> RowMap:
        """LayerNorm (`Vocabulary.layernorm`, γ, β, ε shared by the rows) on each row of m."""
        m = unwrap(m)
        return RowMap.of(self.layernorm(MatrixSymbol("u", int(m.shape[1]), 1), k), m)

    def head(self, m: MatrixExpr, index: str = "", *, causal: bool = False) -> MatrixExpr:
        """softmax(M W_Q (M W_K)ᵀ/√d_k) M W_V (n×d_k, the output weight is left to the
        caller) for the token matrix m; index names the head's weights (W_Q1, …)."""
        m = unwrap(m)
        sub = index
        wq = self.weight(f"W_Q{sub}", "d", "d_k", description="query weight")
        wk = self.weight(f"W_K{sub}", "d", "d_k", description="key weight")
        wv = self.weight(f"W_V{sub}", "d", "d_k", description="value weight")
        scale = 1 / sp.sqrt(self.sizes["d_k"])
        scores = matmul(scale, m, wq, Transpose(matmul(m, wk)))
        return matmul(self.softmax(scores, causal=causal), m, wv)

    def attention(self, m: MatrixExpr, *, heads: int = 1, causal: bool = False) -> MatrixExpr:
        """Σ_h head_h(m) W_O^{(h)}: the h heads concatenated, times W_O, written as the sum
        over the row blocks W_O^{(h)} of W_O ([H_1 ⋯ H_h] W_O = Σ_h H_h W_O^{(h)})."""
        if heads == 1:
            return matmul(self.head(m, causal=causal), self.weight("W_O", "d_k", "d", description="output weight"))
        return add(
            *(
                matmul(
                    self.head(m, str(h), causal=causal),
                    self.weight(f"W_O{h}", "d_k", "d", description=f"rows {h} of the output weight W_O"),
                )
                for h in range(1, heads + 1)
            )
        )

    def mlp(self, m: MatrixExpr) -> MatrixExpr:
        """σ(m W_1) W_2: the position-wise feed-forward map, on each token (row)."""
        w1 = self.weight("W_1", description="first feed-forward weight")
        w2 = self.weight("W_2", description="second feed-forward weight")
        return matmul(self.sigma(matmul(unwrap(m), w1)), w2)

    def sublayer(self, name: str, fn: Callable[[MatrixSymbol], MatrixExpr], arg: MatrixExpr) -> Defined:
        """name(arg) for the function of a token matrix U (n×d) given by fn(U), defined once;
        its Jacobian ∂vec(name(U))/∂vec(U) is derived from fn(U) as a lemma."""
        u = name_sizes(MatrixSymbol("U", self.n, self.d), self.sizes["n"], self.sizes["d"])
        return Defined(name, unwrap(arg), Lambda(u, unwrap(fn(u))))


@dataclass(frozen=True)
class TokenBlock(Block):
    """A block of token matrices: `build(v)` writes Y (n×d) in a `TokenVocabulary`."""

    heads: int = 1

    def instance(self, dim: int = 3, out_dim: int | None = None, tokens: int | None = None) -> BlockInstance:  # type: ignore[override]
        """The block at width dim and tokens rows; its forward expression is vec(Y), nd×1."""
        if out_dim is not None and out_dim != dim:
            raise SymresError(f"--out-dim: block {self.name!r} maps R^{{n×{dim}}} to itself; --out-dim does not apply")
        n = DEFAULT_TOKENS if tokens is None else tokens
        if self.heads > 1 and dim < self.heads:
            raise SymresError(f"block {self.name!r} has {self.heads} heads of width d/{self.heads}: give --dim ≥ {self.heads}")
        v = TokenVocabulary(dim, n, self.heads)
        y = unwrap(self.build(v))
        if tuple(int(k) for k in y.shape) != (n, dim):
            raise SymresError(f"block {self.name!r} must produce an n×d token matrix, got shape {y.shape}")
        used = y.free_symbols
        params = tuple(p for p in v.params.values() if p.symbol in used or p.symbol == v.X)
        return BlockInstance(self, v.X, Vec(y), params)


def _functions(expr: Basic) -> list[Defined]:
    """The functions of the proof, innermost first, each at its own variable: row-wise
    ones (softmax, LN) and sublayers of a token matrix."""
    found: list[Defined] = []

    def visit(e: Basic) -> None:
        for a in getattr(e, "args", ()):
            visit(a)
        fn = (
            e.function
            if isinstance(e, RowMap)
            else Defined(e.args[0], e.variable, e.definition)
            if isinstance(e, Defined)
            else None
        )
        if fn is not None:
            visit(fn.body)
            if fn not in found:
                found.append(fn)

    visit(expr)
    return found


def _softmax_steps(fn: Defined, numeric: Callable[[MatrixExpr, MatrixExpr], Verifier]) -> list[Step]:
    """The closed form J_softmax(u) = diag(p) − p pᵀ, from the derived Jacobian."""
    derived = defined_derivation(fn.definition).result
    closed = softmax_closed_form(int(fn.variable.shape[0]))
    return [
        Step(
            rhs=closed.expr,
            reason=r"collect terms with $p = \operatorname{softmax}(u) = (\mathbf{1}^{T} \exp(u))^{-1} \exp(u)$ "
            r"and $\exp' = \exp$: $J_{\operatorname{softmax}}(u) = \operatorname{diag}(p) - p p^{T}$",
            short="closed form",
            verifier=numeric(derived, closed.expr),
        )
    ]


def softmax_jacobian(dim: int = 3, *, trials: int = 200, seed: int = 0) -> Proof:
    """J_softmax(u) derived from softmax(u) = (𝟙ᵀ exp(u))⁻¹ exp(u) on R^dim, rule by rule,
    then collected to diag(p) − p pᵀ (p = softmax(u)); facts: J_softmax(u) 𝟙 = 0 (a shift
    of all scores changes nothing) and J_softmax(u)ᵀ = J_softmax(u). Every line checked on
    `trials` seeded points (derivatives by central finite differences)."""
    from sympy import ZeroMatrix

    fn = softmax_function(dim)
    u = fn.variable

    def numeric(before: MatrixExpr, after: MatrixExpr) -> Verifier:
        return lambda t, s: check_equal(before, after, trials=t, seed=s)

    closed = softmax_closed_form(dim).expr
    J = DefinedJacobian(fn.args[0], u, Lambda(u, closed))
    one = OneMatrix(dim, 1)
    facts = (
        Step(
            lhs=matmul(J, one),
            rhs=ZeroMatrix(dim, 1),
            reason=r"$\operatorname{diag}(p)\mathbf{1} - p\, p^{T}\mathbf{1} = p - p\,(\mathbf{1}^{T} p) = 0$ since "
            r"$\mathbf{1}^{T} p = 1$: adding a constant to every score changes nothing, and a gradient through "
            r"softmax sums to zero",
            verifier=numeric(matmul(closed, one), ZeroMatrix(dim, 1)),
        ),
        Step(
            lhs=Transpose(J),
            rhs=J,
            reason=r"$\operatorname{diag}(p) - p p^{T}$ is symmetric",
            verifier=numeric(Transpose(closed), closed),
        ),
    )
    proof = Proof(
        title=f"The Jacobian of softmax on R^{dim}, derived from its definition",
        assumptions=(
            f"${latex_of(fn)} = {latex_of(fn.body)}$, $\\exp$ entrywise, $p = \\operatorname{{softmax}}(u)$",
            r"numerator layout: $(\partial p/\partial u)_{ij} = \partial p_i/\partial u_j$",
        ),
        steps=(*lemma_steps(fn, numeric), *_softmax_steps(fn, numeric)),
        conclusion=rf"J_{{\operatorname{{softmax}}}}(u) = {latex_of(closed)}",
        result=closed,
        facts=facts,
        meta={"derived": True, "block": "softmax", "function": fn},
        final_check=numeric(Deriv(fn.body, u), closed),
    )
    return proof.check(trials=trials, seed=seed)


def _lemmas(functions: list[Defined], numeric: Callable[[MatrixExpr, MatrixExpr], Verifier]) -> list[Step]:
    steps: list[Step] = []
    for fn in functions:
        steps += lemma_steps(fn, numeric)
        if fn.name == "softmax":
            steps += _softmax_steps(fn, numeric)
    return steps


def _assumption(fn: Defined) -> str:
    u = fn.variable
    rows, cols = (int(k) for k in u.shape)
    if cols != 1:
        return f"${latex_of(fn)} = {latex_of(fn.body)}$ for a token matrix ${latex_of(u)}$ ({rows}×{cols})"
    return f"${latex_of(fn)} = {latex_of(fn.body)}$ for ${latex_of(u)}$ of size {rows}×1, applied to each row of a matrix"


@functools.lru_cache(maxsize=64)
def derive_tokens(
    blk: TokenBlock, dim: int, tokens: int, activation: str = "relu", trials: int = 200, seed: int = 0, check: bool = True
) -> Proof:
    """∂vec(Y)/∂vec(X) of a token block (nd×nd, numerator layout, vec stacking columns) as a
    Proof: the lemmas (J_softmax, J_LN, the sublayers' Jacobians), then one rule a line; each
    line checked numerically on `trials` seeded points at n = tokens, d = dim (derivatives
    by central finite differences of vec(Y)), the result against finite differences too."""
    from symres.activations import get_activation
    from symres.blocks import _described  # noqa: PLC2701  the one place a parameter is described
    from symres.tex import prose_literal

    act = get_activation(activation)
    inst = blk.instance(dim, None, tokens)
    X = inst.x
    derivation = differentiate(inst.forward, X)

    def numeric(before: MatrixExpr, after: MatrixExpr) -> Verifier:
        return lambda t, s: check_equal(before, after, domains=inst.domains, activation=act.name, trials=t, seed=s)

    functions = _functions(inst.forward)
    Y = MatrixSymbol("Y", tokens, dim)
    steps = _lemmas(functions, numeric)
    steps += [
        Step(rhs=inst.forward, lhs=Vec(Y), reason="definition of the block", check=Check("definition", True, "the forward map")),
        Step(
            rhs=derivation.start,
            lhs=Deriv(Vec(Y), X),
            reason=r"substitute the definition of $Y$",
            check=Check("definition", True, "identical after substituting Y"),
        ),
    ]
    for rs in derivation.steps:
        steps.append(Step(rhs=rs.after, reason=rs.rule.reason, verifier=numeric(rs.before, rs.after), short=rs.rule.short))
    jac = derivation.result
    assumptions = [f"${latex_of(p.symbol)}$: {prose_literal(_described(p))}" for p in inst.params]
    assumptions += [_assumption(fn) for fn in functions]
    if any(e.fn == GENERIC for e in inst.forward.atoms(Elementwise)) or any(
        any(e.fn == GENERIC for e in f.body.atoms(Elementwise)) for f in functions
    ):
        conv = f"; {act.convention}" if act.convention else ""
        assumptions.append(rf"$\sigma$: an elementwise activation, here {act.name} ({act.title}){conv}")
    if any(f.body.has(CausalMask) for f in functions) or inst.forward.has(CausalMask):
        assumptions.append(
            r"$M_{\mathrm{causal}}$ ($n \times n$): $0$ on and below the diagonal, $-\infty$ above it "
            r"(token $i$ attends to tokens $j \le i$); a constant"
        )
    assumptions += [
        r"vec stacks the columns; $\operatorname{vec}(A X B) = (B^{T} \otimes A) \operatorname{vec}(X)$; "
        r"$K_{p,q}$ is the commutation matrix, $K_{p,q} \operatorname{vec}(A) = \operatorname{vec}(A^{T})$ for $A$ $p \times q$",
        r"$[M]_i$ is the $i$-th row of $M$ as a column, $\bigoplus_i B_i$ the block-diagonal matrix of $B_1, \ldots, B_n$",
        r"numerator layout: $(\partial \operatorname{vec} Y/\partial \operatorname{vec} X)_{ij} = "
        r"\partial (\operatorname{vec} Y)_i/\partial (\operatorname{vec} X)_j$",
    ]
    proof = Proof(
        title=f"Jacobian of the {prose_literal(blk.name)} block: {blk.title}",
        assumptions=tuple(assumptions),
        steps=tuple(steps),
        conclusion=rf"\frac{{\partial \operatorname{{vec}}(Y)}}{{\partial \operatorname{{vec}}(X)}} = {latex_of(jac)}",
        result=jac,
        facts=_facts(jac, functions, X),
        meta=derivation_meta(blk, inst, act.name, x=X, tokens=tokens, result_label="∂vec(Y)/∂vec(X)"),
        final_check=numeric(Deriv(inst.forward, X), jac),
    )
    return proof.check(trials=trials, seed=seed) if check else proof


def _facts(jac: MatrixExpr, functions: list[Defined], X: MatrixSymbol) -> tuple[Step, ...]:
    """What the derived Jacobian shows about the residual path, read off its structure."""
    from symres.calculus import shortcut_term

    kind, _ = shortcut_term(jac, X)
    if kind == "identity":
        text = r"the identity term $I$ (of size $nd$) stands alone in the sum: the residual path is ungated"
    elif isinstance(jac, sp.MatMul) and any(isinstance(f, DefinedJacobian) for f in jac.args):
        names = [rf"J_{{\operatorname{{{f.name}}}}}" for f in jac.args if isinstance(f, DefinedJacobian)]
        text = rf"the layer's Jacobian is the product ${' '.join(names)}$ of its sublayers' Jacobians (later on the left)"
    else:
        return ()
    check = Check("symbolic", True, "read off the structure of the derived expression")
    lhs = r"\frac{\partial \operatorname{vec}(Y)}{\partial \operatorname{vec}(X)}"
    return (Step(rhs=jac, lhs=lhs, reason=text, check=check, verifier=lambda t, s: check),)


# --------------------------------------------------------------------------- the blocks


def _on_tokens(fn: Callable[[TokenVocabulary], MatrixExpr]) -> Callable[[Vocabulary], MatrixExpr]:
    """fn as a Block's build (`TokenBlock.instance` passes a `TokenVocabulary`)."""

    def build(v: Vocabulary) -> MatrixExpr:
        if not isinstance(v, TokenVocabulary):
            raise SymresError("a token block is built on a token matrix X: use TokenBlock.instance")
        return fn(v)

    return build


XIONG = "Xiong et al. 2020, On Layer Normalization in the Transformer Architecture (arXiv:2002.04745)"
VASWANI = "Vaswani et al. 2017, Attention Is All You Need (arXiv:1706.03762)"


def _prenorm(v: TokenVocabulary) -> MatrixExpr:
    attn = v.sublayer("A", lambda U: add(U, v.attention(v.layernorm_rows(U, 1), heads=v.heads)), v.X)
    return v.sublayer("M", lambda U: add(U, v.mlp(v.layernorm_rows(U, 2))), attn)


def _postnorm(v: TokenVocabulary) -> MatrixExpr:
    # the residual sum U + MHA(U) is a sublayer R of its own, so that J_A = K (⊕ J_LN₁) K J_R prints in lines
    residual = v.sublayer("R", lambda U: add(U, v.attention(U, heads=v.heads)), v.X)
    attn = v.sublayer("A", lambda U: v.layernorm_rows(U, 1), residual)
    return v.sublayer("M", lambda U: v.layernorm_rows(add(U, v.mlp(U)), 2), attn)


TOKEN_BLOCKS: tuple[TokenBlock, ...] = (
    TokenBlock(
        "mlp",
        r"the position-wise MLP sublayer $Y = X + \sigma(X W_1) W_2$ on each token (row) of $X \in \mathbb{R}^{n \times d}$",
        f"{VASWANI}, §3.3 (position-wise feed-forward network, biases omitted)",
        _on_tokens(lambda v: add(v.X, v.mlp(v.X))),
        r"X + \sigma(X W_1) W_2",
    ),
    TokenBlock(
        "attention",
        r"one attention head with a residual connection, $Y = X + P X W_V W_O$ with "
        r"$P = \operatorname{softmax}(X W_Q (X W_K)^{T}/\sqrt{d_k})$, softmax on each row",
        f"{VASWANI}, §3.2.1 (scaled dot-product attention)",
        _on_tokens(lambda v: add(v.X, v.attention(v.X))),
        r"X + \operatorname{softmax}(X W_Q (X W_K)^{T}/\sqrt{d_k}) X W_V W_O",
    ),
    TokenBlock(
        "attention-causal",
        r"one causal attention head, $Y = X + P X W_V W_O$ with "
        r"$P = \operatorname{softmax}(X W_Q (X W_K)^{T}/\sqrt{d_k} + M_{\mathrm{causal}})$: "
        r"token $i$ attends to tokens $j \le i$",
        f"{VASWANI}, §3.2.3 (masking in the decoder)",
        _on_tokens(lambda v: add(v.X, v.attention(v.X, causal=True))),
        r"X + \operatorname{softmax}(X W_Q (X W_K)^{T}/\sqrt{d_k} + M_{\mathrm{causal}}) X W_V W_O",
    ),
    TokenBlock(
        "attention-multihead",
        r"multi-head attention with a residual connection, $h = 2$ heads of width $d_k = \lfloor d/h \rfloor$ "
        r"concatenated: $Y = X + [H_1\ H_2] W_O$, that is $Y = X + \sum_h H_h W_{O h}$ with "
        r"$H_h = \operatorname{softmax}(X W_{Q h} (X W_{K h})^{T}/\sqrt{d_k}) X W_{V h}$ and "
        r"$W_{O h}$ the row blocks of $W_O$",
        f"{VASWANI}, §3.2.2 (multi-head attention)",
        _on_tokens(lambda v: add(v.X, v.attention(v.X, heads=v.heads))),
        r"X + [H_1\ H_2] W_O",
        heads=DEFAULT_HEADS,
    ),
    TokenBlock(
        "transformer-prenorm",
        r"a pre-LN transformer layer, $Y = M(A(X))$ with $A(U) = U + \operatorname{MHA}(\mathrm{LN}_1(U))$ and "
        r"$M(U) = U + \sigma(\mathrm{LN}_2(U) W_1) W_2$ (LayerNorm on each token, 2 heads)",
        XIONG,
        _on_tokens(_prenorm),
        r"M(A(X))",
        heads=DEFAULT_HEADS,
    ),
    TokenBlock(
        "transformer-postnorm",
        r"a post-LN transformer layer, $Y = M(A(R(X)))$ with $R(U) = U + \operatorname{MHA}(U)$, "
        r"$A(U) = \mathrm{LN}_1(U)$ and $M(U) = \mathrm{LN}_2(U + \sigma(U W_1) W_2)$ (LayerNorm on each token, 2 heads)",
        f"{VASWANI}, §3.1 (the original layer: LayerNorm after each residual addition)",
        _on_tokens(_postnorm),
        r"M(A(R(X)))",
        heads=DEFAULT_HEADS,
    ),
)


ROW_JACOBIANS["softmax"] = softmax_closed_form
