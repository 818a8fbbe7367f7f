"""Derivatives with respect to any symbol, gradients and Hessians (symres.gradients),
compared with torch autograd at random points and with the closed forms of the issue."""

import json

import numpy as np
import pytest
from helpers import torch_derivative, torch_hessian

from symres.blocks import Block, derive
from symres.cli import main
from symres.errors import SymresError
from symres.numeric import compile_expr, draw
from symres.render import text


def _points(proof, n=3, seed=1):
    inst = proof.meta["instance"]
    batch = draw(inst.symbols, inst.domains, n, np.random.default_rng(seed))
    derived = compile_expr(proof.result, inst.symbols, proof.meta["activation"])(batch)
    for k in range(n):
        yield {name: v[k] for name, v in batch.items()}, derived[k], inst


@pytest.mark.parametrize(
    "block, wrt", [("residual", "W1"), ("residual", "W_2"), ("rezero", "alpha"), ("highway", "b_T"), ("postnorm", "gamma")]
)
def test_wrt_matches_torch(block, wrt):
    proof = derive(block, wrt=wrt, activation="tanh", trials=30)
    assert proof.passed
    for point, value, inst in _points(proof):
        name = str(inst.symbol(wrt))
        np.testing.assert_allclose(value, torch_derivative(inst.forward, point, "tanh", name), rtol=1e-9, atol=1e-12)


def test_gradient_of_the_residual_block_is_the_closed_form():
    proof = derive("residual", grad="W1", dim=2, trials=30)
    assert proof.passed and text(proof.result) == "diag(σ'(W₁ x)) W₂ᵀ g xᵀ"


@pytest.mark.parametrize(
    "block, name",
    [("residual", "W1"), ("preact", "W_2"), ("residual", "x"), ("rezero", "alpha"), ("prenorm", "gamma"), ("prenorm", "beta")],
)
def test_gradient_matches_torch(block, name):
    proof = derive(block, grad=name, activation="gelu", trials=30)
    assert proof.passed
    for point, value, inst in _points(proof):
        sym = str(inst.symbol(name))
        J = torch_derivative(inst.forward, point, "gelu", sym)  # ∂y/∂vec(sym), m × size
        grad = np.asarray(point["g"]).reshape(-1) @ J
        shape = np.shape(point[sym])
        expected = grad.reshape(shape[1], shape[0]).T if len(shape) == 2 and shape[1] > 1 else grad.reshape(value.shape)
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("block", ["residual", "preact", "postact", "highway"])
def test_hessian_is_symmetric_and_matches_torch(block):
    proof = derive(block, hessian=True, activation="tanh", trials=30)
    assert proof.passed and all(f.check.passed for f in proof.facts)
    for point, value, inst in _points(proof):
        np.testing.assert_allclose(value, value.T, atol=1e-12)
        H = torch_hessian(inst.forward, point, "tanh", point["g"])
        np.testing.assert_allclose(value, H, rtol=1e-9, atol=1e-12)


def test_cli_wrt_grad_hessian(capsys):
    lets = ["--let", "x=1,2", "--let", "W1=0.5,-1;2,0.3", "--let", "W2=1,2;3,4"]
    assert main(["derive", "residual", "--wrt", "W1", "--dim", "2", *lets, "--json", "--trials", "20"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == [[0.0, 2.0, 0.0, 4.0], [0.0, 4.0, 0.0, 8.0]]  # W₂ diag(σ'(W₁x)) (xᵀ ⊗ I), by hand
    assert main(["derive", "residual", "--grad", "W1", "--dim", "2", *lets, "--let", "g=1,-1", "--json", "--trials", "20"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == [[0.0, 0.0], [-2.0, -4.0]]  # diag(σ'(W₁x)) W₂ᵀ g xᵀ, by hand
    argv = ["derive", "residual", "--activation", "tanh", "--hessian", "--dim", "2", *lets, "--let", "g=1,-1", "--json"]
    assert main([*argv, "--trials", "20"]) == 0
    data = json.loads(capsys.readouterr().out)
    H = np.array(data["value"])
    x, W1, W2, g = np.array([1.0, 2]), np.array([[0.5, -1], [2, 0.3]]), np.array([[1.0, 2], [3, 4]]), np.array([1.0, -1])

    def grad(x):  # ∇_x gᵀy for y = x + W₂ tanh(W₁ x), by hand
        return g + W1.T @ ((1 - np.tanh(W1 @ x) ** 2) * (W2.T @ g))

    h = 1e-6
    fd = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(H, fd, atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-15)


def test_unknown_symbol_is_one_line(capsys):
    assert main(["derive", "residual", "--wrt", "V"]) == 2
    assert "the block has no symbol 'V'" in capsys.readouterr().err
    with pytest.raises(SymresError, match="at most one"):
        derive("residual", wrt="W1", hessian=True)


def test_a_user_block_gradient():
    blk = Block.define("quad", lambda v: (v.x.T @ v.matrix("A") @ v.x) * v.x)
    proof = derive(blk, grad="A", activation="tanh", trials=30)
    assert proof.passed


@pytest.mark.parametrize("block, dim", [("prenorm", 3), ("postnorm", 2), ("deepnorm", 3)])
def test_hessian_through_layernorm(block, dim):
    """∇²_x (gᵀy) through LayerNorm: J_LN is substituted from its lemma and differentiated
    again; symmetric, equal to torch autograd's Hessian and to central finite differences
    of torch's gradient."""
    import torch
    from helpers import torch_forward

    proof = derive(block, hessian=True, dim=dim, activation="tanh", trials=30)
    assert proof.passed and all(f.check.passed for f in proof.facts)
    assert any(s.short == "lemma substituted" for s in proof.steps)
    assert all(s.check.method == "symbolic" for s in proof.steps if s.short == "lemma substituted")
    for point, value, inst in _points(proof, n=2):
        np.testing.assert_allclose(value, value.T, atol=1e-12)
        H = torch_hessian(inst.forward, point, "tanh", point["g"])
        np.testing.assert_allclose(value, H, rtol=1e-8, atol=1e-10)
        f = torch_forward(inst.forward, point, "tanh")
        g = torch.tensor(np.asarray(point["g"], dtype=float).reshape(-1), dtype=torch.float64)

        def grad(x):
            xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            (gx,) = torch.autograd.grad(g @ f(xt), xt)
            return gx.numpy()

        x0, h = np.asarray(point["x"], dtype=float).reshape(-1), 1e-6
        fd = np.stack([(grad(x0 + h * e) - grad(x0 - h * e)) / (2 * h) for e in np.eye(dim)], axis=1)
        np.testing.assert_allclose(value, fd, rtol=1e-5, atol=1e-6)


def test_gradient_through_layernorm_matches_torch():
    proof = derive("prenorm", grad="W1", dim=3, activation="tanh", trials=30)
    assert proof.passed and text(proof.result) == "diag(σ'(W₁ LN(x))) W₂ᵀ g (LN(x))ᵀ"
    for point, value, inst in _points(proof, n=2):
        J = torch_derivative(inst.forward, point, "tanh", "W_1")
        grad = np.asarray(point["g"]).reshape(-1) @ J
        np.testing.assert_allclose(value, grad.reshape(3, 3).T, rtol=1e-9, atol=1e-12)
