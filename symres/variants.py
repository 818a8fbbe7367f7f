"""The residual-block variants of the literature, registered in `symres.blocks.BLOCKS`.

Each forward map is written once with `Block.define` (the operator vocabulary); the
Jacobian is derived by `symres.calculus`. F = W_2 σ(W_1 x) throughout, σ the block's
activation; BN is in inference form (a diagonal affine map), LayerNorm is written from
its definition (`Vocabulary.layernorm`) and its Jacobian derived as a lemma of each proof.

`layernorm_identity()` checks the closed form of the LayerNorm Jacobian, and says
exactly when the textbook projection form holds.
"""

from __future__ import annotations

import sympy as sp
from sympy import Lambda, MatrixExpr, OneMatrix, Transpose, ZeroMatrix
from sympy.matrices.expressions import Identity

from symres.attention import TOKEN_BLOCKS
from symres.blocks import Block, TermVocabulary, Vocabulary, abbreviations, latex_of, lemma_steps, register
from symres.calculus import defined_derivation
from symres.errors import SymresError
from symres.expr import Abbrev, Defined, DefinedJacobian, Elementwise, Scalar, Size, Term, add, matmul
from symres.numeric import Domain, check_equal
from symres.proof import Check, Proof, Step, Verifier

__all__ = ["VARIANTS", "deepnorm", "layernorm_identity"]

IDENTITY_MAPPINGS = "He, Zhang, Ren & Sun 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027)"
UNIT = Domain(low=0.05, high=0.95, description="~ U(0.05, 0.95)")


def _gate(v: TermVocabulary, name: str) -> Term:
    W = v.matrix(f"W_{name}", description=f"gate weight W_{name}")
    b = v.vector(f"b_{name}", description=f"gate bias b_{name}")
    return v.sigmoid(W @ v.x + b)


def _highway(v: TermVocabulary) -> Term:
    WH = v.matrix("W_H", description="transform weight W_H")
    bH = v.vector("b_H", description="transform bias b_H")
    T = _gate(v, "T")
    H = v.sigma(WH @ v.x + bH)
    return H * T + v.x * (1 - T)


def _densenet(v: TermVocabulary) -> Term:
    k = v.m - v.d
    if k < 1:
        raise SymresError(f"densenet: the output [x; F(x)] is longer than x; give --out-dim > --dim (got {v.m} ≤ {v.d})")
    return v.concat(v.x, v.F(v.x, rows=k))


def _alpha(v: TermVocabulary) -> Term:
    return v.scalar(
        "alpha",
        description="the DeepNorm up-weighting α = (2N)^{1/4} of an N-layer encoder",
        domain=Domain(low=1.2, high=3.0, description="~ U(1.2, 3), i.e. N from 1 to 40"),
    )


VARIANTS: tuple[Block, ...] = (
    Block.define(
        "highway",
        lambda v: _highway(v),
        title=r"highway layer $y = H(x) \odot T(x) + x \odot (1 - T(x))$, $H = \sigma(W_H x + b_H)$, "
        r"$T = \operatorname{sigmoid}(W_T x + b_T)$",
        source="Srivastava, Greff & Schmidhuber 2015, Highway Networks (arXiv:1505.00387); "
        "H is one layer σ(W_H x + b_H) with the block's σ",
        formula=r"H(x) \odot T(x) + x \odot (1 - T(x))",
    ),
    Block.define(
        "layerscale",
        lambda v: v.x + v.diag(v.vector("lambda", description="per-channel scale λ (LayerScale)")) @ v.F(v.x),
        title=r"LayerScale $y = x + \operatorname{diag}(\lambda) F(x)$",
        source="Touvron, Cord, Sablayrolles, Synnaeve & Jégou 2021, Going deeper with Image Transformers "
        "(CaiT, arXiv:2103.17239)",
        formula=r"x + \operatorname{diag}(\lambda) F(x)",
    ),
    Block.define(
        "scaled",
        lambda v: v.scalar("lambda", description="the shortcut scale λ") * v.x + v.F(v.x),
        title=r"constant scaling of the shortcut, $y = \lambda x + F(x)$",
        source=f"{IDENTITY_MAPPINGS}, Fig. 2(b) (F not scaled)",
        formula=r"\lambda x + F(x)",
    ),
    Block.define(
        "gated-exclusive",
        lambda v: (lambda g: (1 - g) * v.x + g * v.F(v.x))(_gate(v, "g")),
        title=r"exclusive gating $y = (1 - g(x)) \odot x + g(x) \odot F(x)$, $g = \operatorname{sigmoid}(W_g x + b_g)$",
        source=f"{IDENTITY_MAPPINGS}, Fig. 2(c)",
        formula=r"(1 - g(x)) \odot x + g(x) \odot F(x)",
    ),
    Block.define(
        "gated-shortcut",
        lambda v: (1 - _gate(v, "g")) * v.x + v.F(v.x),
        title=r"shortcut-only gating $y = (1 - g(x)) \odot x + F(x)$, $g = \operatorname{sigmoid}(W_g x + b_g)$",
        source=f"{IDENTITY_MAPPINGS}, Fig. 2(d)",
        formula=r"(1 - g(x)) \odot x + F(x)",
    ),
    Block.define(
        "dropout-shortcut",
        lambda v: v.scalar("p", description="the keep probability p of the shortcut's dropout", domain=UNIT) * v.x + v.F(v.x),
        title=r"dropout on the shortcut, in expectation: $y = p x + F(x)$, $p$ the keep probability",
        source=f"{IDENTITY_MAPPINGS}, Fig. 2(f) (the expectation over the dropout mask)",
        formula=r"p x + F(x)",
    ),
    Block.define(
        "bn-after-add",
        lambda v: v.sigma(v.bn(v.x + v.F(v.x), 1)),
        title=r"BN after the addition, $y = \sigma(\mathrm{BN}(x + F(x)))$ (BN in inference form)",
        source=f"{IDENTITY_MAPPINGS}, Fig. 4(b)",
        formula=r"\sigma(\mathrm{BN}(x + F(x)))",
    ),
    Block.define(
        "relu-before-add",
        lambda v: v.x + v.sigma(v.F(v.x)),
        title=r"activation before the addition, $y = x + \sigma(F(x))$",
        source=f"{IDENTITY_MAPPINGS}, Fig. 4(c)",
        formula=r"x + \sigma(F(x))",
    ),
    Block.define(
        "postnorm",
        lambda v: v.layernorm(v.x + v.F(v.x)),
        title=r"Post-LN, $y = \mathrm{LN}(x + F(x))$, LayerNorm from its definition",
        source="Vaswani et al. 2017, Attention Is All You Need (arXiv:1706.03762); LayerNorm: Ba, Kiros & Hinton 2016 "
        "(arXiv:1607.06450)",
        formula=r"\mathrm{LN}(x + F(x))",
    ),
    Block.define(
        "prenorm",
        lambda v: v.x + v.F(v.layernorm(v.x)),
        title=r"Pre-LN, $y = x + F(\mathrm{LN}(x))$, LayerNorm from its definition",
        source="Xiong et al. 2020, On Layer Normalization in the Transformer Architecture (arXiv:2002.04745)",
        formula=r"x + F(\mathrm{LN}(x))",
    ),
    Block.define(
        "deepnorm",
        lambda v: v.layernorm(_alpha(v) * v.x + v.F(v.x)),
        title=r"DeepNorm, $y = \mathrm{LN}(\alpha x + F(x))$ with $\alpha = (2N)^{1/4}$ for $N$ layers "
        r"(kept as the symbol $\alpha$)",
        source="Wang, Ma, Dong, Huang, Zhang & Wei 2022, DeepNet: Scaling Transformers to 1,000 Layers "
        "(arXiv:2203.00555); α = (2N)^{1/4} (encoder); fix N with --let alpha=... or variants.deepnorm(N)",
        formula=r"\mathrm{LN}(\alpha x + F(x))",
    ),
    Block.define(
        "densenet",
        _densenet,
        title=r"dense connectivity, $y = [x; F(x)]$ with $F: \mathbb{R}^d \to \mathbb{R}^k$, $k = m - d$ (default $k = d$)",
        source="Huang, Liu, van der Maaten & Weinberger 2017, Densely Connected Convolutional Networks (arXiv:1608.06993)",
        formula=r"[x; F(x)]",
        out_dim=lambda d: 2 * d,
    ),
    Block.define(
        "euler",
        lambda v: v.x + v.scalar("epsilon", description="the step ε of the Euler scheme") * v.F(v.x),
        title=r"a forward Euler step of $dh/dt = F(h)$ with step $\varepsilon$: $y = x + \varepsilon F(x)$",
        source="Haber & Ruthotto 2017, Stable Architectures for Deep Neural Networks (arXiv:1705.03341); "
        "Chen et al. 2018, Neural Ordinary Differential Equations (arXiv:1806.07366)",
        formula=r"x + \varepsilon F(x)",
    ),
)

for _b in (*VARIANTS, *TOKEN_BLOCKS):
    register(_b)


def deepnorm(layers: int) -> Block:
    """DeepNorm for an N-layer encoder with α = (2N)^{1/4} as an exact number (not registered)."""
    if layers < 1:
        raise SymresError(f"deepnorm needs a positive number of layers, got {layers}")
    alpha = sp.Pow(2 * layers, sp.Rational(1, 4), evaluate=False)  # printed as the 4th root of 2N
    return Block.define(
        f"deepnorm-{layers}",
        lambda v: v.layernorm(alpha * v.x + v.F(v.x)),
        title=rf"DeepNorm for $N = {layers}$: $y = \mathrm{{LN}}({sp.latex(alpha)} x + F(x))$",
        source="Wang et al. 2022 (arXiv:2203.00555), α = (2N)^{1/4}",
    )


# --------------------------------------------------------------------------- LayerNorm


def layernorm_identity(dim: int = 3, *, trials: int = 200, seed: int = 0) -> Proof:
    """The LayerNorm Jacobian derived from the definition, and what closed form it has.

    With s = √(v + ε) and û = c/s (so û = LN(u) when γ = 𝟙, β = 0):

        J_LN(u) = s⁻¹ diag(γ) (I − 𝟙𝟙ᵀ/d − ûûᵀ/d)      exactly, for every ε ≥ 0,

    hence (1/s)(I − 𝟙𝟙ᵀ/d − ûûᵀ/d) when γ = 𝟙. The bracket is the orthogonal projector
    onto {𝟙, c}^⊥ only when ε = 0: J_LN 𝟙 = 0 always, but (γ = 𝟙) J_LN c = ε s⁻³ c. With
    the standardised ẑ = c/√v in place of û (‖ẑ‖² = d) the formula holds only at ε = 0.
    Every line is checked numerically on `trials` seeded points; the ẑ form is refuted
    with a counterexample.
    """
    voc = Vocabulary(dim)
    applied: Defined = voc.layernorm(voc.x)
    fn = Defined(applied.args[0], applied.variable, applied.definition)  # LN(u)
    u, d = fn.variable, dim
    domains = {str(p.symbol): p.domain for p in voc.params.values()}
    abbrevs = {a.name: a for a in abbreviations(fn.body)}
    c, var = abbrevs["c"], abbrevs["v"]
    gamma, eps = voc.params["gamma"].symbol, voc.params["epsilon"].symbol
    derived = defined_derivation(fn.definition).result  # J_LN(u), from the lemma
    J = DefinedJacobian(fn.args[0], u, Lambda(u, derived))
    r = Scalar(Elementwise("rsqrt", add(var, eps)))  # s⁻¹ = (v + ε)^{-1/2}
    uhat = Abbrev("uhat", matmul(r, c))
    zhat = Abbrev("zhat", matmul(Scalar(Elementwise("rsqrt", var)), c))
    one, I, third = OneMatrix(d, 1), Identity(d), 1 / Size("d", d)

    def bracket(w: MatrixExpr) -> MatrixExpr:  # I − 𝟙𝟙ᵀ/d − w wᵀ/d
        return add(I, matmul(-third, one, Transpose(one)), matmul(-third, w, Transpose(w)))

    closed = matmul(r, voc.diag(gamma), bracket(uhat))
    unit = derived.xreplace({gamma: one})  # γ = 𝟙
    zform = matmul(r, bracket(zhat))

    def holds(a: MatrixExpr, b: MatrixExpr, **fixed: Domain) -> Verifier:
        return lambda t, s: check_equal(a, b, domains={**domains, **fixed}, trials=t, seed=s)

    def refuted(a: MatrixExpr, b: MatrixExpr) -> Verifier:
        def run(t: int, s: int) -> Check:
            chk = check_equal(a, b, domains=domains, trials=t, seed=s)
            how = f"refuted by a counterexample: max rel. error {chk.max_error:.1e} > tolerance {chk.tolerance:.0e}"
            return Check("numeric", not chk.passed, how, chk.trials, chk.max_error, chk.tolerance, s, chk.instance)

        return run

    s_text = r"$s = \sqrt{v + \varepsilon}$, $\hat{u} = c/s$"
    lemma = lemma_steps(fn, holds)
    collect = Step(
        rhs=closed,
        short="collect terms",
        verifier=holds(derived, closed),
        reason=rf"collect terms ($c^{{T}}\mathbf{{1}} = 0$), with {s_text}; exact for every $\varepsilon > 0$",
    )
    facts = (
        Step(
            lhs=J,
            rhs=matmul(r, bracket(uhat)),
            verifier=holds(unit, matmul(r, bracket(uhat))),
            reason=r"with $\gamma = \mathbf{1}$: "
            r"$J_{\mathrm{LN}}(u) = s^{-1}(I - \mathbf{1}\mathbf{1}^{T}/d - \hat{u}\hat{u}^{T}/d)$",
        ),
        Step(
            lhs=matmul(J, one),
            rhs=ZeroMatrix(d, 1),
            verifier=holds(matmul(derived, one), ZeroMatrix(d, 1)),
            reason=r"the mean direction is removed: $J_{\mathrm{LN}}(u)\,\mathbf{1} = 0$ for every $\varepsilon$",
        ),
        Step(
            lhs=matmul(J, c),
            rhs=matmul(Scalar(eps), r**3, c),
            verifier=holds(matmul(unit, c), matmul(Scalar(eps), r**3, c)),
            reason=r"but the centred direction is not: $J_{\mathrm{LN}}(u)\,c = \varepsilon s^{-3} c$ ($\gamma = \mathbf{1}$), "
            r"so the bracket is the orthogonal projector onto $\{\mathbf{1}, c\}^{\perp}$ only when $\varepsilon = 0$",
        ),
        Step(
            lhs=J,
            rhs=zform,
            verifier=holds(unit, zform, epsilon=Domain(low=0.0, high=0.0, description="ε = 0")),
            reason=r"at $\varepsilon = 0$, $\gamma = \mathbf{1}$: with the standardised $\hat{z} = c/\sqrt{v}$ "
            r"($\|\hat{z}\|^2 = d$) the bracket is the orthogonal projector onto $\{\mathbf{1}, c\}^{\perp}$",
        ),
        Step(
            lhs=J,
            rhs=zform,
            relation="≠",
            verifier=refuted(unit, zform),
            reason=r"but for $\varepsilon > 0$ ($\gamma = \mathbf{1}$) the $\hat{z}$ form is false: "
            r"$s^{-1}(\hat{z}\hat{z}^{T} - \hat{u}\hat{u}^{T})/d = "
            r"\varepsilon\, s^{-1} \hat{z}\hat{z}^{T}/(d(v + \varepsilon)) \neq 0$",
        ),
    )
    where = ", ".join(f"${latex_of(a)} = {latex_of(a.definition)}$" for a in abbreviations(fn.body))
    proof = Proof(
        title=f"The Jacobian of LayerNorm on R^{d}, derived from its definition",
        assumptions=(
            f"${latex_of(fn)} = {latex_of(fn.body)}$ with {where}",
            r"$\gamma, \beta$: gain and shift ($d \times 1$); $\varepsilon > 0$ ($1 \times 1$); " + s_text,
            r"numerator layout: $(\partial y/\partial u)_{ij} = \partial y_i/\partial u_j$",
        ),
        steps=(*lemma, collect),
        conclusion=rf"J_{{\operatorname{{LN}}}}(u) = {latex_of(closed)}",
        result=closed,
        facts=facts,
        meta={"block": "layernorm", "function": fn, "jacobian": derived},
    )
    return proof.check(trials=trials, seed=seed)
