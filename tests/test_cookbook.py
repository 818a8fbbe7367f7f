"""The Cookbook's elementwise functions (exp, log, sin, cos, tan, sqrt) and the domain of x:
f, f', f'' against finite differences and torch autograd, user blocks that apply them
(Jacobians and Hessians against torch), and `symres derive --block` on √x with x > 0."""

import json
import textwrap

import numpy as np
import pytest
import sympy as sp
import torch
from helpers import TORCH_ACTS, torch_hessian, torch_jacobian

from symres.activations import ACTIVATIONS, COOKBOOK, get_function, power
from symres.blocks import Block, derive
from symres.cli import main
from symres.errors import SymresError
from symres.latex import latex
from symres.numeric import POSITIVE, compile_expr, draw
from symres.render import text

NAMES = ["exp", "log", "sin", "cos", "tan", "sqrt"]
POSITIVE_ONLY = {"log", "sqrt"}


def _grid(name: str) -> np.ndarray:
    if name in POSITIVE_ONLY:
        return np.linspace(0.2, 3.0, 9)
    return np.linspace(-1.3, 1.3, 9) if name == "tan" else np.linspace(-3.0, 3.0, 9)


def test_the_cookbook_is_catalogued_but_not_a_choice_of_sigma():
    assert sorted(COOKBOOK) == sorted(NAMES)
    assert not set(COOKBOOK) & set(ACTIVATIONS)  # --activation chooses σ among activations only
    with pytest.raises(SymresError, match="unknown activation 'log'"):
        derive("residual", activation="log", check=False)
    with pytest.raises(SymresError, match="unknown activation 'rsqrt'"):  # internal, as before
        Block.define("r", lambda v: v.act("rsqrt", v.x)).instance(2)


@pytest.mark.parametrize("name", NAMES)
def test_first_and_second_derivatives_against_fd_torch_and_sympy(name):
    f, u, h = get_function(name), _grid(name), 1e-5
    d1, d2 = f.numpy(1)(u), f.numpy(2)(u)
    np.testing.assert_allclose(d1, (f.numpy(0)(u + h) - f.numpy(0)(u - h)) / (2 * h), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(d2, (f.numpy(1)(u + h) - f.numpy(1)(u - h)) / (2 * h), rtol=1e-6, atol=1e-7)
    t = torch.tensor(u, dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(TORCH_ACTS[name](t, torch).sum(), t, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), t)
    np.testing.assert_allclose(d1, g1.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d2, g2.numpy(), rtol=1e-12, atol=1e-12)
    s = sp.Symbol("s", real=True)
    for order in (0, 1, 2):  # the SymPy forms are the NumPy forms, and each is the derivative of the last
        np.testing.assert_allclose(sp.lambdify(s, f.sympy_derivative(order)(s), "numpy")(u), f.numpy(order)(u), rtol=1e-12)
    assert sp.simplify(sp.diff(f.sympy_derivative(1)(s), s) - f.sympy_derivative(2)(s)) == 0


def _block(name: str) -> Block:
    kw = {"domain": POSITIVE} if name in POSITIVE_ONLY else {}
    return Block.define(
        f"cook-{name}",
        lambda v: v.x + v.matrix("W2") @ v.act(name, v.matrix("W1", **kw) @ v.x),
        x_domain="positive" if name in POSITIVE_ONLY else None,
    )


def _points(proof, n=3):
    inst = proof.meta["instance"]
    batch = draw(inst.symbols, inst.domains, n, np.random.default_rng(3))
    derived = compile_expr(proof.result, inst.symbols, proof.meta["activation"])(batch)
    for k in range(n):
        yield {name: v[k] for name, v in batch.items()}, derived[k], inst


@pytest.mark.parametrize("name", NAMES)
def test_a_user_block_applying_it_derives_and_matches_torch(name):
    proof = derive(_block(name), dim=3, trials=40)
    assert proof.passed
    assert f"{name}'(W1 x)" in text(proof.result)
    assert f"{get_function(name).latex}'" in latex(proof.result)
    for point, value, inst in _points(proof):
        if name in POSITIVE_ONLY:
            assert (point["x"] > 0).all()
        np.testing.assert_allclose(value, torch_jacobian(inst.forward, point, "relu"), rtol=1e-9, atol=1e-12)
    hess = derive(_block(name), dim=2, hessian=True, trials=30)
    assert hess.passed and f"{name}''(W1 x)" in text(hess.result)
    for point, value, inst in _points(hess):
        np.testing.assert_allclose(value, torch_hessian(inst.forward, point, "relu", point["g"]), rtol=1e-8, atol=1e-10)


def test_sqrt_of_x_needs_the_positive_domain_and_says_so():
    bare = derive(Block.define("bare", lambda v: v.x + v.act("sqrt", v.x)), dim=2, trials=20)
    assert not bare.passed
    details = " ".join(s.check.detail for s in bare.steps if s.check is not None and not s.check.passed)
    assert "sqrt needs t > 0" in details and 'x_domain="positive"' in details
    good = derive(Block.define("good", lambda v: v.x + v.act("sqrt", v.x), x_domain="positive"), dim=2, trials=20)
    assert good.passed and good.final.max_error < 1e-6
    with pytest.raises(SymresError, match="x must be > 0"):
        good.at(x="1,-1")
    with pytest.raises(SymresError, match="x_domain='negative'"):
        Block.define("bad", lambda v: v.x, x_domain="negative")


def test_cli_derives_a_sqrt_block_with_a_positive_x(tmp_path, capsys):
    path = tmp_path / "roots.py"
    path.write_text(
        textwrap.dedent(
            """
            from symres import Block
            b = Block.define("roots", lambda v: v.x + v.matrix("W") @ v.act("sqrt", v.x), x_domain="positive")
            """
        )
    )
    code = main(["derive", "--block", f"{path}:b", "--dim", "3", "--trials", "40", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    data = json.loads(out)
    assert data["passed"]


@pytest.mark.parametrize("p, shown", [(2, "2 W1 x"), (3, "3 (W1 x)^2"), (-1, "-(W1 x)^(-2)"), ("3/2", "3/2 (W1 x)^(1/2)")])
def test_powers_derive_with_hessians_and_match_torch(p, shown):
    positive = p == "3/2"
    kw = {"domain": POSITIVE} if positive else {}
    blk = Block.define(
        "power",
        lambda v: v.x + v.matrix("W2") @ v.pow(v.matrix("W1", **kw) @ v.x, p),
        x_domain="positive" if positive else None,
    )
    proof = derive(blk, dim=3, trials=40)
    assert proof.passed and text(proof.result) == f"I + W2 diag({shown}) W1"
    for point, value, inst in _points(proof):
        np.testing.assert_allclose(value, torch_jacobian(inst.forward, point, "relu"), rtol=1e-9, atol=1e-12)
    hess = derive(blk, dim=2, hessian=True, trials=30)
    assert hess.passed
    for point, value, inst in _points(hess):
        np.testing.assert_allclose(value, torch_hessian(inst.forward, point, "relu", point["g"]), rtol=1e-8, atol=1e-10)
    f, u, h = power(p), np.linspace(0.3, 2.0, 7), 1e-5
    np.testing.assert_allclose(f.numpy(2)(u), (f.numpy(1)(u + h) - f.numpy(1)(u - h)) / (2 * h), rtol=1e-6)


def test_bad_exponents_are_one_line():
    with pytest.raises(SymresError, match="the exponent must be"):
        Block.define("b", lambda v: v.pow(v.x, "x")).instance(2)
    with pytest.raises(SymresError, match="u itself"):
        Block.define("b", lambda v: v.pow(v.x, 1)).instance(2)
