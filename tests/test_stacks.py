"""Stacks with named intermediates (symres.stacks): h_ℓ and J_ℓ defined once, the chain checked."""

import json

import numpy as np
import pytest
import sympy as sp
from helpers import torch_forward

from symres.blocks import get_block
from symres.cli import main
from symres.stacks import _layer_name, derive_stack


def test_a_mixed_stack_names_its_intermediates_and_passes():
    proof = derive_stack(["residual", "preact", "residual"], trials=40)
    assert proof.passed
    J = [sp.MatrixSymbol(f"J_{k}", 3, 3) for k in (3, 2, 1)]
    assert proof.result == sp.MatMul(*J)  # later blocks on the left
    lhs = [str(s.lhs) for s in proof.steps]
    assert lhs.count("h_2") == 1 and lhs.count("J_2") == 1  # each defined once
    assert proof.steps[-1].check.method == "numeric" and proof.steps[-1].check.passed


def test_cli_depth(capsys):
    assert main(["derive", "residual", "--depth", "4", "--json", "--trials", "40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["depth"] == 4 and data["jacobian"] == "J_{4} J_{3} J_{2} J_{1}"


def test_depth_with_hessian_is_one_line(capsys):
    assert main(["derive", "residual", "--depth", "2", "--hessian"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["derive", "residual", "--depth", "2", "--wrt", "W_3,1"]) == 2  # the stack has two layers
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "W_2,1" in err


def _stack_point(proof, blocks, dim, seed):
    """Random values of every symbol of the stack, named as the stack names them."""
    rng = np.random.default_rng(seed)
    values = {"x": rng.normal(size=(dim, 1)), "g": rng.normal(size=(dim, 1))}
    for ell, b in enumerate(blocks, 1):
        inst = get_block(b).instance(dim)
        for p in inst.params:
            if p.symbol != inst.x:
                shape = tuple(int(n) for n in p.symbol.shape) if hasattr(p.symbol, "shape") else (1, 1)
                values[_layer_name(p.symbol, ell)] = rng.normal(size=shape) * (0.5 if len(shape) == 2 and shape[1] > 1 else 1)
    return values


def _torch_stack(blocks, values, dim, activation, wrt):
    """h_L as a torch function of vec(wrt) (x or a layer's symbol), the other symbols fixed."""
    import torch

    def f(v):
        h = torch.tensor(values["x"].reshape(-1), dtype=torch.float64) if wrt != "x" else v
        for ell, b in enumerate(blocks, 1):
            inst = get_block(b).instance(dim)
            own = {str(p.symbol): values[_layer_name(p.symbol, ell)] for p in inst.params if p.symbol != inst.x}
            target = next((k for k in own if _layer_name(sp.Symbol(k), ell) == wrt), None)
            if target is None:
                h = torch_forward(inst.forward, own, activation)(h)
            else:  # this layer holds the variable: its forward as a function of vec(W)
                h = torch_forward(inst.forward, {**own, "x": h.detach().numpy().reshape(-1, 1)}, activation, target)(v)
        return h

    return f


@pytest.mark.parametrize(
    "blocks, mode, name",
    [
        (["residual"] * 3, "wrt", "W_2,1"),
        (["residual"] * 3, "grad", "W_2,1"),
        (["residual", "preact", "highway"], "grad", "W_{1,2}"),
        (["preact", "residual", "residual"], "wrt", "W3,2"),
        (["residual"] * 3, "grad", "x"),
    ],
)
def test_stack_derivatives_match_torch(blocks, mode, name):
    """∂h_L/∂vec(W_ℓ,k) and ∇_{W_ℓ,k}(gᵀh_L) of the whole stack against torch autograd."""
    import torch

    dim = 3
    proof = derive_stack(blocks, dim=dim, activation="tanh", trials=30, **{mode: name})
    assert proof.passed
    wrt = str(proof.meta["wrt"])
    for seed in range(2):
        values = _stack_point(proof, blocks, dim, seed)
        point = proof.at(**{k: v for k, v in values.items() if k != "g" or mode == "grad"})
        v0 = np.asarray(values[wrt])
        flat = v0.T.reshape(-1) if v0.ndim == 2 and v0.shape[1] > 1 else v0.reshape(-1)
        if wrt == "x" or (values[wrt].ndim == 2 and values[wrt].shape[1] == 1):
            flat = v0.reshape(-1)
        f = _torch_stack(blocks, values, dim, "tanh", wrt)
        J = torch.autograd.functional.jacobian(f, torch.tensor(flat, dtype=torch.float64)).numpy()
        if mode == "wrt":
            np.testing.assert_allclose(point.value, J, rtol=1e-9, atol=1e-12)
        else:
            grad = values["g"].reshape(-1) @ J
            expected = grad.reshape(v0.shape[1], v0.shape[0]).T if v0.shape[1] > 1 else grad.reshape(v0.shape)
            np.testing.assert_allclose(point.value, expected, rtol=1e-9, atol=1e-12)


def test_cli_depth_grad_with_let(capsys):
    """--depth with --grad and --let: the stack's symbols spelled as --let spells them."""
    lets = ["--let", "x=1,2", "--let", "W_1,1=0.5,-1;2,0.3", "--let", "W_1,2=1,2;3,4", "--let", "W_2,1=I"]
    lets += ["--let", "W2,2=1,0;0,-1", "--let", "g=1,-1"]
    argv = ["derive", "residual", "--depth", "2", "--dim", "2", "--activation", "tanh", "--trials", "20", "--json"]
    assert main([*argv, "--grad", "W_1,1", *lets]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["mode"] == "grad" and data["wrt"] == "W_1,1"
    x, W11, W12, W22, g = (
        np.array([1.0, 2]),
        np.array([[0.5, -1], [2, 0.3]]),
        np.array([[1.0, 2], [3, 4]]),
        np.diag([1.0, -1]),
        np.array([1.0, -1]),
    )
    h1 = x + W12 @ np.tanh(W11 @ x)
    g1 = g + (1 - np.tanh(h1) ** 2) * (W22.T @ g)  # J_2ᵀ g with W_2,1 = I
    expected = np.outer((1 - np.tanh(W11 @ x) ** 2) * (W12.T @ g1), x)  # diag(σ'(W₁ h₀)) W₂ᵀ g₁ h₀ᵀ
    np.testing.assert_allclose(np.array(data["value"]), expected, rtol=1e-12)
    assert main([*argv, "--grad", "W_1,1", *lets[:-2]]) == 2  # no g
    assert "g" in capsys.readouterr().err
