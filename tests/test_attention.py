"""Token blocks (symres.attention, symres.tokens, symres.vec_rules) against oracles that
share nothing with symres: each block written again in torch and differentiated by
torch.autograd on vec(X) (columns stacked), central finite differences, and exact facts
(K vec(A) = vec(Aᵀ), J_softmax 𝟙 = 0)."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import Transpose

from symres.attention import TOKEN_BLOCKS, softmax_closed_form, softmax_function
from symres.blocks import BLOCKS, derive
from symres.calculus import defined_derivation
from symres.cli import main
from symres.errors import SymresError
from symres.expr import DefinedJacobian, Deriv, Vec, add, matmul
from symres.numeric import check_equal, compile_expr, draw
from symres.tokens import Commutation, RowBlocks, commutation_matrix

torch = pytest.importorskip("torch")

FIVE = ["mlp", "attention", "attention-multihead", "transformer-prenorm", "transformer-postnorm"]


def _vec(a):
    """vec stacking the columns (torch and NumPy flatten row-major: transpose first)."""
    return a.T.reshape(-1)


def _torch_block(name, P, act):
    """The block as a torch function of X (n×d), written from the papers, not from symres."""
    F = torch.nn.functional
    sig = {"relu": torch.relu, "tanh": torch.tanh}[act]

    def ln(U, k):
        return F.layer_norm(
            U, (U.shape[-1],), weight=P[f"gamma_{k}"].reshape(-1), bias=P[f"beta_{k}"].reshape(-1), eps=float(P[f"epsilon_{k}"])
        )

    def head(U, s, causal=False):
        wq = P[f"W_Q{s}"]
        scores = (U @ wq) @ (U @ P[f"W_K{s}"]).T / math.sqrt(wq.shape[1])
        if causal:
            n = U.shape[0]
            scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        return torch.softmax(scores, dim=-1) @ U @ P[f"W_V{s}"]

    def mha(U):  # the heads concatenated, times W_O (its row blocks stacked)
        return torch.cat([head(U, "1"), head(U, "2")], dim=1) @ torch.cat([P["W_O1"], P["W_O2"]], dim=0)

    def mlp(U):
        return sig(U @ P["W_1"]) @ P["W_2"]

    return {
        "mlp": lambda X: X + mlp(X),
        "attention": lambda X: X + head(X, "") @ P["W_O"],
        "attention-causal": lambda X: X + head(X, "", causal=True) @ P["W_O"],
        "attention-multihead": lambda X: X + mha(X),
        "transformer-prenorm": lambda X: (lambda Z: Z + mlp(ln(Z, 2)))(X + mha(ln(X, 1))),
        "transformer-postnorm": lambda X: (lambda Z: ln(Z + mlp(Z), 2))(ln(X + mha(X), 1)),
    }[name]


def _autograd(name, point, act, n, d):
    P = {k: torch.tensor(v, dtype=torch.float64) for k, v in point.items()}
    block = _torch_block(name, P, act)

    def f(xv):
        return _vec(block(xv.reshape(d, n).T))

    return torch.autograd.functional.jacobian(f, _vec(P["X"])).numpy()


SIZES = [(3, 4, "tanh", 1), (4, 3, "relu", 2), (5, 6, "tanh", 3)]
CASES = [(b.name, *size) for b in TOKEN_BLOCKS for size in SIZES if size[0] < 5 or "transformer" not in b.name]


@pytest.mark.parametrize(("name", "n", "d", "act", "seed"), CASES)
def test_jacobian_matches_torch_autograd(name, n, d, act, seed):
    proof = derive(name, dim=d, tokens=n, activation=act, check=False)
    inst = proof.meta["instance"]
    assert proof.result.shape == (n * d, n * d)
    jac = compile_expr(proof.result, inst.symbols, act)
    batch = draw(inst.symbols, inst.domains, 3, np.random.default_rng(seed))
    derived = jac(batch)
    for k in range(3):
        point = {key: v[k] for key, v in batch.items()}
        np.testing.assert_allclose(derived[k], _autograd(name, point, act, n, d), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", FIVE + ["attention-causal"])
def test_every_step_checks_against_finite_differences(name):
    proof = derive(name, dim=4, tokens=3, trials=40)
    assert proof.passed, proof.failures()
    assert "finite differences" in proof.final.detail and proof.final.max_error < 1e-7
    assert proof.meta["result_label"] == "∂vec(Y)/∂vec(X)"


def test_registered_with_sources():
    for name in FIVE:
        assert name in BLOCKS and "20" in BLOCKS[name].source


def test_softmax_jacobian_derived_and_closed_form():
    """The derived J_softmax equals diag(p) − p pᵀ, and both equal finite differences."""
    fn = softmax_function(4)
    derived = defined_derivation(fn.definition).result
    closed = softmax_closed_form(4).expr
    assert check_equal(derived, closed, trials=100).passed
    assert check_equal(Deriv(fn.body, fn.variable), closed, trials=100).passed


def test_softmax_jacobian_against_torch():
    closed = compile_expr(softmax_closed_form(5).expr, [softmax_function(5).variable])
    u = np.random.default_rng(0).standard_normal((4, 5, 1)) * 3
    ours = closed({"u": u})
    for k in range(4):
        auto = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), torch.tensor(u[k, :, 0]))
        np.testing.assert_allclose(ours[k], auto.numpy(), rtol=1e-12, atol=1e-14)


def test_softmax_jacobian_annihilates_ones():
    """J_softmax(u) 𝟙 = p − p (𝟙ᵀp) = 0 for every u: shifting a row of scores changes nothing."""
    closed = compile_expr(softmax_closed_form(6).expr, [softmax_function(6).variable])
    u = np.random.default_rng(1).standard_normal((50, 6, 1)) * 4
    np.testing.assert_allclose(closed({"u": u}) @ np.ones((6, 1)), 0, atol=1e-15)


def test_row_blocks_annihilate_row_shifts():
    """⊕_i J_softmax([S]_i) annihilates 𝟙 in each block: a row of scores shifted by a constant."""
    S = sp.MatrixSymbol("S", 3, 3)
    blocks = compile_expr(RowBlocks("softmax", softmax_closed_form(3), S), [S])
    s = np.random.default_rng(2).standard_normal((5, 3, 3))
    out = blocks({"S": s})
    ones_per_row = np.kron(np.eye(3), np.ones((3, 1)))  # the rows of Sᵀ … stacked: one 𝟙 per block
    np.testing.assert_allclose(out @ ones_per_row, 0, atol=1e-15)


@given(st.integers(1, 5), st.integers(1, 5))
@settings(max_examples=25, deadline=None)
def test_commutation_matrix(p, q):
    a = np.arange(p * q, dtype=float).reshape(p, q) + 1
    K = commutation_matrix(p, q)
    np.testing.assert_array_equal(K @ _vec(a), _vec(a.T))
    np.testing.assert_array_equal(K.T, commutation_matrix(q, p))
    assert Commutation(p, q).as_explicit() == sp.Matrix(K.astype(int))


def test_postnorm_goes_through_layernorm():
    """Post-LN: the outer sublayer's Jacobian is K (⊕ J_LN) K …, so with γ₂ = 𝟙 every output
    row has zero sum in every direction: (𝟙ᵀ ⊗ I_n) J = 0; pre-LN keeps an ungated I."""
    post = derive("transformer-postnorm", dim=3, tokens=3, check=False)
    outer = post.result.args[0]
    assert isinstance(outer, DefinedJacobian) and outer.name == "M"
    inner = outer.definition.expr  # J_M(U)
    assert any(isinstance(f, RowBlocks) and f.name == "LN_2" for f in inner.args)
    inst = post.meta["instance"]
    jac = compile_expr(post.result, inst.symbols, "tanh")
    batch = draw(inst.symbols, inst.domains, 5, np.random.default_rng(3))
    batch["gamma_2"] = np.ones_like(batch["gamma_2"])
    np.testing.assert_allclose(np.kron(np.ones((1, 3)), np.eye(3)) @ jac(batch), 0, atol=1e-12)
    pre = derive("transformer-prenorm", dim=3, tokens=3, check=False)
    J_M = pre.result.args[0].definition.expr
    assert J_M.args[0] == sp.Identity(9)  # I + …: the residual path of the MLP sublayer is ungated


def test_vec_forward_is_column_stacked():
    proof = derive("mlp", dim=3, tokens=2, check=False)
    assert isinstance(proof.meta["forward"], Vec) and proof.meta["forward"].shape == (6, 1)


def test_text_and_latex_name_the_sizes():
    from symres.latex import latex
    from symres.render import text

    proof = derive("attention", dim=4, tokens=3, check=False)
    tex = latex(proof.result)
    assert r"K_{n,d_{k}}" in tex and r"\bigoplus_{i=1}^{n}" in tex and r"\otimes" in tex
    assert "⊕ᵢ J_softmax" in text(proof.result) and "K_n,n" in text(proof.result)


def test_tokens_option_errors():
    with pytest.raises(SymresError, match="--tokens sets n for token blocks"):
        derive("preact", tokens=3)
    with pytest.raises(SymresError, match="token block"):
        derive("attention", wrt="W_1")
    with pytest.raises(SymresError, match="--dim ≥ 2"):
        derive("attention-multihead", dim=1, check=False)


def _cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_and_derive(capsys):
    code, out, _ = _cli(capsys, "list", "--json")
    assert code == 0 and set(FIVE) <= {b["name"] for b in json.loads(out)}
    code, out, err = _cli(capsys, "derive", "attention", "--tokens", "4", "--dim", "3", "--trials", "30", "--json")
    obj = json.loads(out)
    assert code == 0 and err == "" and obj["passed"] and obj["block"] == "attention"
    assert obj["check"]["passed"] and "finite differences" in obj["check"]["detail"]


def test_cli_refuses_tokens_for_a_vector_block():
    out = subprocess.run(
        [sys.executable, "-m", "symres", "derive", "preact", "--tokens", "3"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert "--tokens sets n for token blocks" in out.stderr


def test_names_of_subexpressions_avoid_layernorm_names():
    """LayerNorm's variance is v₁: the recurring sub-expressions of a proof are named with another letter."""
    from symres.latex import subexpression_names

    names = subexpression_names(derive("transformer-prenorm", dim=3, tokens=3, check=False))
    assert names and not any(n.startswith(("v_", "c_")) for n in names.values())


def test_terminal_transliterates_the_token_notation():
    from symres.render import unicode_math

    assert unicode_math(r"$\bigoplus_i B_i$, $(B^{T} \otimes A)$, $B_1, \ldots, B_n$") == "⊕_i B_i, (Bᵀ ⊗ A), B₁, …, B_n"
    assert unicode_math(r"$\frac{1}{\sqrt{d_{k}}} S$") == "1/√d_k S"


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_vec_rules_on_random_sizes(n, d, m, seed):
    """∂vec(A X B)/∂vec(X) = Bᵀ ⊗ A and ∂vec(Xᵀ C)/∂vec(X) = (Cᵀ ⊗ I) K_{n,d}, derived, equal
    to finite differences and to NumPy's kron at random points."""
    from symres.calculus import jacobian

    X, A, B, C = (sp.MatrixSymbol(s, *shape) for s, shape in (("X", (n, d)), ("A", (m, n)), ("B", (d, m)), ("C", (n, m))))
    for y in (matmul(A, X, B), matmul(Transpose(X), C), add(matmul(A, X, B), matmul(A, X, B))):
        J = jacobian(Vec(y), X)
        assert check_equal(Deriv(Vec(y), X), J, trials=5, seed=seed).passed
    J = compile_expr(jacobian(Vec(matmul(A, X, B)), X), [A, B])
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((1, m, n)), rng.standard_normal((1, d, m))
    np.testing.assert_allclose(J({"A": a, "B": b})[0], np.kron(b[0].T, a[0]), atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("name", ["mlp", "attention-causal", "transformer-prenorm"])
def test_emitted_token_jacobian_against_autograd(name, backend):
    """--emit on a token block: standalone code (K_{p,q}, ⊕ᵢ, the mask defined in it) equal to autograd."""
    from symres.emit import emit

    n, d, act = 3, 4, "tanh"
    proof = derive(name, dim=d, tokens=n, activation=act, check=False)
    source = emit(proof, backend)
    assert "∂vec(Y)/∂vec(X)" in source and "symres" not in source.split('"""', 2)[2].split("def ")[0]
    namespace: dict = {}
    exec(compile(source, f"<emitted {name}>", "exec"), namespace)
    fn = next(v for k, v in namespace.items() if k.startswith("jacobian_"))
    inst = proof.meta["instance"]
    batch = draw(inst.symbols, inst.domains, 1, np.random.default_rng(7))
    point = {key: v[0] for key, v in batch.items()}
    args = [point[str(p.symbol)] for p in inst.params]
    if backend == "torch":
        args = [torch.tensor(np.asarray(a), dtype=torch.float64) for a in args]
    value = np.asarray(fn(*args))
    np.testing.assert_allclose(value, _autograd(name, point, act, n, d), rtol=1e-9, atol=1e-11)
