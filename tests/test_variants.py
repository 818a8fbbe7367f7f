"""The variants of the literature (symres.variants) and the calculus they need: each
derived Jacobian against torch autograd and finite differences, the new rules one by one,
their notation, and the LayerNorm identity."""

import numpy as np
import pytest
import sympy as sp
from helpers import fd_jacobian, torch_jacobian
from sympy import Lambda, OneMatrix, Transpose

from symres.activations import ACTIVATIONS, FUNCTIONS, get_activation
from symres.blocks import BLOCKS, Vocabulary, derive
from symres.calculus import differentiate, jacobian, shortcut_term
from symres.errors import SymresError
from symres.expr import Abbrev, Defined, Deriv, Diag, Elementwise, Scalar, Term, VStack, add, matmul
from symres.latex import latex
from symres.numeric import check_equal, compile_expr, draw
from symres.render import text
from symres.variants import VARIANTS, deepnorm, layernorm_identity

NEW = [b.name for b in VARIANTS]
d = 3
x = sp.MatrixSymbol("x", d, 1)
W = sp.MatrixSymbol("W_1", d, d)
a = sp.MatrixSymbol("a", d, 1)
I = sp.Identity(d)


def _against_oracles(proof, activation, n=6, seed=11):
    inst = proof.meta["instance"]
    jac = compile_expr(proof.result, inst.symbols, activation)
    fwd = compile_expr(inst.forward, inst.symbols, activation)
    batch = draw(inst.symbols, inst.domains, n, np.random.default_rng(seed))
    derived = jac(batch)
    for k in range(n):
        point = {name: v[k] for name, v in batch.items()}
        np.testing.assert_allclose(derived[k], torch_jacobian(inst.forward, point, activation), rtol=1e-9, atol=1e-12)

        def f(xv, point=point):
            return fwd({**{name: v[None] for name, v in point.items()}, "x": xv.reshape(1, -1, 1)})[0, :, 0]

        np.testing.assert_allclose(derived[k], fd_jacobian(f, point["x"].reshape(-1)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_jacobian_equals_torch_autograd_and_differences(name, activation):
    _against_oracles(derive(name, activation=activation, check=False), activation)


@pytest.mark.parametrize("name", NEW)
def test_registered_listed_and_proved(name):
    assert BLOCKS[name].source and "20" in BLOCKS[name].source  # a citation with its year
    proof = derive(name, trials=100, activation="tanh")
    assert proof.passed and proof.final.max_error < 1e-8


@pytest.mark.parametrize(
    "name, kind",
    [
        ("highway", "gate"),
        ("gated-exclusive", "gate"),
        ("gated-shortcut", "gate"),
        ("bn-after-add", "gate"),
        ("scaled", "scaled by the constant $\\lambda$"),
        ("dropout-shortcut", "scaled by the constant $p$"),
        ("layerscale", "stands alone"),
        ("relu-before-add", "stands alone"),
        ("euler", "stands alone"),
        ("prenorm", "stands alone"),
        ("postnorm", "J_{\\operatorname{LN}}"),
        ("deepnorm", "\\alpha J_{\\operatorname{LN}}"),
        ("densenet", "stacks $I$"),
    ],
)
def test_what_the_identity_path_looks_like(name, kind):
    assert kind in derive(name, check=False).facts[0].reason


def test_highway_keeps_the_gate_derivative_term():
    jac = derive("highway", check=False).result
    T1 = Elementwise("sigmoid", add(matmul(sp.MatrixSymbol("W_T", d, d), x), sp.MatrixSymbol("b_T", d, 1)), 1)
    H = Elementwise("sigma", add(matmul(sp.MatrixSymbol("W_H", d, d), x), sp.MatrixSymbol("b_H", d, 1)))
    gate = add(Diag(H), matmul(-1, Diag(x)))  # the two terms through σ_T' share diag(σ_T') W_T: factored
    assert matmul(gate, Diag(T1), sp.MatrixSymbol("W_T", d, d)) in jac.args
    assert text(jac).endswith("+ (diag(σ(W_H x + b_H)) - diag(x)) diag(sigmoid'(W_T x + b_T)) W_T")


def test_postnorm_and_prenorm_read_off_the_layernorm_jacobian():
    assert text(derive("postnorm", check=False).result) == "J_LN(x + W₂ σ(W₁ x)) (I + W₂ diag(σ'(W₁ x)) W₁)"
    assert text(derive("prenorm", check=False).result) == "I + W₂ diag(σ'(W₁ LN(x))) W₁ J_LN(x)"
    proof = derive("postnorm", check=False)
    assert proof.steps[0].short == r"definition of $\operatorname{LN}$"  # the lemma comes first
    assert any("c = u - \\mathbf{1} \\mu" in a for a in proof.assumptions)


def test_densenet_stacks_and_takes_a_growth_rate():
    proof = derive("densenet", dim=3, out_dim=5, trials=30)
    assert proof.result.shape == (5, 3) and proof.passed and isinstance(proof.result, VStack)
    assert text(proof.result) == "[I; W₂ diag(σ'(W₁ x)) W₁]"
    with pytest.raises(SymresError, match="--out-dim > --dim"):
        derive("densenet", dim=3, out_dim=3, check=False)


def test_deepnorm_for_a_given_depth_has_alpha_as_a_number():
    blk = deepnorm(6)
    proof = derive(blk, trials=30)
    assert proof.passed and "alpha" not in {str(p.symbol) for p in proof.meta["instance"].params}
    assert r"\sqrt[4]{12}" in latex(proof.meta["forward"])
    with pytest.raises(SymresError):
        deepnorm(0)


# --------------------------------------------------------------------------- LayerNorm


def test_layernorm_identity_exact_for_every_epsilon_and_the_projection_form_only_at_zero():
    proof = layernorm_identity(trials=200)
    assert proof.passed
    assert proof.steps[-1].check.max_error < 1e-10  # J_LN = s⁻¹ diag(γ)(I − 𝟙𝟙ᵀ/d − ûûᵀ/d), û = c/s
    facts = {f.reason.split(":")[0]: f.check for f in proof.facts}
    assert all(c.passed for c in facts.values())
    refuted = proof.facts[-1].check
    assert refuted.max_error > 1e-2 and "counterexample" in refuted.detail and refuted.instance is not None
    assert proof.conclusion.endswith(r"\left(I - \frac{1}{d} \mathbf{1} \mathbf{1}^{T} - \frac{1}{d} \hat{u} \hat{u}^{T}\right)")


def test_layernorm_forward_and_jacobian_against_torch():
    import torch

    v = Vocabulary(4)
    ln = v.layernorm(v.x)
    rng = np.random.default_rng(3)
    xv, g, b, eps = rng.standard_normal(4), rng.uniform(0.5, 1.5, 4), rng.standard_normal(4), 0.3
    values = {"x": xv[:, None], "gamma": g[:, None], "beta": b[:, None], "epsilon": np.array([[eps]])}
    got = compile_expr(ln, [v.x, v.params["gamma"].symbol, v.params["beta"].symbol, v.params["epsilon"].symbol])(
        {k: np.asarray(val)[None] for k, val in values.items()}
    )[0, :, 0]
    ref = torch.nn.functional.layer_norm(torch.tensor(xv), (4,), torch.tensor(g), torch.tensor(b), eps=eps).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    J = jacobian(ln, v.x)
    values_b = {k: np.asarray(val)[None] for k, val in values.items()}
    Jv = compile_expr(J, [v.x, v.params["gamma"].symbol, v.params["beta"].symbol, v.params["epsilon"].symbol])(values_b)[0]
    auto = torch.autograd.functional.jacobian(
        lambda t: torch.nn.functional.layer_norm(t, (4,), torch.tensor(g), torch.tensor(b), eps=eps), torch.tensor(xv)
    )
    np.testing.assert_allclose(Jv, auto.numpy(), rtol=1e-10, atol=1e-12)


def test_two_layernorms_need_two_indices():
    v = Vocabulary(3)
    v.layernorm(v.x, 1)
    with pytest.raises(SymresError, match="both BN 1 and"):
        v2 = Vocabulary(3)
        v2.bn(v2.x, 1)
        v2.layernorm(v2.x, 1)


# --------------------------------------------------------------------------- the new rules


def _rules(expr, wrt=x):
    return [s.rule.name for s in differentiate(expr, wrt).steps]


def test_inner_product_rule():
    expr = matmul(Transpose(matmul(W, x)), x)  # (W x)ᵀ x, 1×1
    first = add(matmul(Transpose(x), Deriv(matmul(W, x), x)), matmul(Transpose(matmul(W, x)), Deriv(x, x)))
    assert differentiate(expr, x).steps[0].after == first
    assert jacobian(expr, x) == add(Transpose(matmul(W, x)), matmul(Transpose(x), W))  # fewer factors first
    assert check_equal(Deriv(expr, x), jacobian(expr, x)).passed


def test_scalar_product_rule_and_scalar_chain_rule():
    s = matmul(Transpose(x), x)  # xᵀx
    expr = matmul(Scalar(Elementwise("rsqrt", s)), x)  # x / ‖x‖
    assert _rules(expr)[:2] == ["scalar-product", "chain-scalar"]
    J = jacobian(expr, x)
    assert check_equal(Deriv(expr, x), J, domains={}).passed
    # the same through a trailing 1×1 factor: x (xᵀx)
    assert _rules(matmul(x, s))[0] == "scalar-product"
    assert check_equal(Deriv(matmul(x, s), x), jacobian(matmul(x, s), x)).passed


def test_definition_rule_and_defined_functions():
    c = Abbrev("c", add(x, matmul(-1, a)))
    assert differentiate(c, x).steps[0].rule.name == "definition" and jacobian(c, x) == I
    u = sp.MatrixSymbol("u", d, 1)
    f = Defined("f", matmul(W, x), Lambda(u, Elementwise("tanh", u)))
    steps = differentiate(f, x).steps
    assert steps[0].rule.name == "defined" and text(steps[-1].after) == "J_f(W₁ x) W₁"
    assert check_equal(Deriv(f, x), steps[-1].after).passed


def test_stack_rule():
    expr = VStack(x, matmul(W, x), a)
    assert jacobian(expr, x) == VStack(I, W, sp.ZeroMatrix(d, d))
    assert check_equal(Deriv(expr, x), jacobian(expr, x)).passed


def test_shortcut_terms_of_the_new_kinds():
    alpha = sp.Symbol("alpha")
    assert shortcut_term(add(matmul(alpha, I), W)) == ("scaled", alpha)
    assert shortcut_term(add(Diag(a), W)) == ("gated", Diag(a))
    assert shortcut_term(VStack(I, W)) == ("concat", None)
    assert shortcut_term(matmul(W, add(matmul(alpha, I), W)))[0] == "gated"


# --------------------------------------------------------------------------- notation


@pytest.mark.parametrize(
    "expr, tex, txt",
    [
        (OneMatrix(d, 1), r"\mathbf{1}", "𝟙"),
        (matmul(sp.Rational(1, 3), Transpose(OneMatrix(d, 1)), x), r"\frac{1}{3} \mathbf{1}^{T} x", "(1/3) 𝟙ᵀ x"),
        (add(x, matmul(-1, OneMatrix(d, 1), Transpose(OneMatrix(d, 1)), x)), r"x - \mathbf{1} \mathbf{1}^{T} x", "x - 𝟙 𝟙ᵀ x"),
        (Transpose(add(x, a)), r"\left(x + a\right)^{T}", "(x + a)ᵀ"),
        (Elementwise("rsqrt", matmul(Transpose(x), x)), r"\left(x^{T} x\right)^{-1/2}", "(xᵀ x)^(-1/2)"),
        (
            Elementwise("rsqrt", matmul(Transpose(x), x), 1),
            r"\left(-\tfrac{1}{2} \left(x^{T} x\right)^{-3/2}\right)",
            "(-½ (xᵀ x)^(-3/2))",
        ),
        (matmul(Scalar(matmul(Transpose(x), x)), a), r"x^{T} x a", "xᵀ x a"),
        (Abbrev("mu_1", matmul(Transpose(x), x)), r"\mu_{1}", "μ₁"),
        (VStack(x, a), r"\begin{bmatrix} x \\ a \end{bmatrix}", "[x; a]"),
        (Defined("LN_1", x, Lambda(a, matmul(W, a))), r"\operatorname{LN}_{1}\left(x\right)", "LN₁(x)"),
    ],
)
def test_notation_of_the_new_nodes(expr, tex, txt):
    assert latex(expr) == tex
    assert text(expr) == txt


def test_negative_terms_print_without_multiplying_out():
    """SymPy's own MatAdd printer negates a term with doit(), which turns 𝟙𝟙ᵀ into one matrix."""
    one = OneMatrix(d, 1)
    assert latex(add(I, matmul(sp.Rational(-1, 3), one, Transpose(one)))) == r"I - \frac{1}{3} \mathbf{1} \mathbf{1}^{T}"


def test_rsqrt_is_a_function_not_an_activation():
    assert "rsqrt" in FUNCTIONS and "rsqrt" not in ACTIVATIONS
    with pytest.raises(SymresError, match="unknown activation 'rsqrt'"):
        get_activation("rsqrt")
    f = FUNCTIONS["rsqrt"]
    t = np.array([0.2, 1.0, 3.5])
    np.testing.assert_allclose(f.numpy_deriv(t), (f.numpy_form(t + 1e-6) - f.numpy_form(t - 1e-6)) / 2e-6, rtol=1e-7)
    u = sp.Symbol("u", positive=True)
    assert sp.simplify(sp.diff(f.sympy_form(u), u) - f.sympy_deriv(u)) == 0


def test_vstack_evaluates_constant_and_batched_blocks():
    out = compile_expr(VStack(I, W), [W])({"W_1": np.ones((2, d, d))})
    assert out.shape == (2, 2 * d, d)
    np.testing.assert_array_equal(out[1, :d], np.eye(d))


def test_symbols_named_like_python_keywords_evaluate():
    lam = sp.MatrixSymbol("lambda", d, 1)
    fn = compile_expr(matmul(Diag(lam), x), [lam, x])
    out = fn({"lambda": np.full((1, d, 1), 2.0), "x": np.ones((1, d, 1))})
    np.testing.assert_array_equal(out[0, :, 0], [2.0] * d)


# --------------------------------------------------------------------------- operators


def test_term_operators_keep_the_written_order():
    X, A = Term(x), Term(W)
    g = Term(Elementwise("sigmoid", x))
    assert (X + A @ X).expr == add(x, matmul(W, x))
    assert (A @ X + X).expr == add(matmul(W, x), x)  # SymPy's + would sort these
    assert text(((1 - g) * X).expr) == "(𝟙 - sigmoid(x)) ⊙ x"
    assert (2 * X).expr == matmul(2, x) and (X / 2).expr == matmul(sp.Rational(1, 2), x)
    s = X.T @ X
    assert s.shape == (1, 1) and (s * X).expr == matmul(Scalar(matmul(Transpose(x), x)), x)
    with pytest.raises(SymresError, match="shape mismatch in a product"):
        _ = X @ X
    with pytest.raises(SymresError, match="cannot add the scalar"):
        _ = X + Term(sp.Symbol("alpha"))
