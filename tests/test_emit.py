"""Emitted code: the derived Jacobian as a NumPy or PyTorch function, imported and compared
with torch autograd (the oracle of tests/helpers.py, and autograd on traced modules) and
with `symres derive --let` at the same point."""

import json

import numpy as np
import pytest
from helpers import torch_derivative, torch_hessian, torch_jacobian

from symres.activations import get_function
from symres.blocks import derive
from symres.cli import main
from symres.emit import _FUNCTIONS, emit, python_name
from symres.errors import SymresError

torch = pytest.importorskip("torch")


def load(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, f"<emitted {name}>", "exec"), namespace)
    return namespace[name]


def point(proof, seed: int) -> dict[str, np.ndarray]:
    """A random value of every symbol of the block (LayerNorm ε and gains positive)."""
    rng = np.random.default_rng(seed)
    out = {}
    for p in proof.meta["instance"].params:
        shape = tuple(int(n) for n in p.symbol.shape) if p.symbol.is_Matrix else (1, 1)
        value = rng.standard_normal(shape)
        if str(p.symbol).startswith(("epsilon", "gamma")):
            value = np.abs(value) + 0.1
        out[str(p.symbol)] = value
    return out


CASES = [
    ("preact", "relu"),
    ("rezero", "tanh"),
    ("layerscale", "gelu"),
    ("prenorm", "relu"),
    ("highway", "tanh"),
    ("densenet", "sigmoid"),
    ("projection", "relu"),
]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("block, activation", CASES)
def test_emitted_jacobian_against_autograd(block, activation, backend):
    proof = derive(block, dim=3, activation=activation, check=False)
    fn = load(emit(proof, backend), python_name(f"jacobian_{block}"))
    for seed in range(3):
        values = point(proof, seed)
        args = [values[str(p.symbol)] for p in proof.meta["instance"].params]  # the documented order
        got = fn(*args)
        got = got.numpy() if backend == "torch" else got
        assert got.shape == tuple(int(n) for n in proof.result.shape)
        expected = torch_jacobian(proof.meta["forward"], values, activation)
        assert np.allclose(got, expected, atol=1e-10), (block, seed)


def test_keyword_arguments_are_named_after_the_symbols():
    proof = derive("layerscale", check=False)
    source = emit(proof, "numpy")
    assert "def jacobian_layerscale(x, lambda_, W_1, W_2):" in source
    fn = load(source, "jacobian_layerscale")
    values = point(proof, 0)
    by_name = fn(W_2=values["W_2"], W_1=values["W_1"], lambda_=values["lambda"], x=values["x"].ravel())
    assert np.allclose(by_name, fn(values["x"], values["lambda"], values["W_1"], values["W_2"]))


def test_the_docstring_names_block_layout_and_kink_convention():
    fn = load(emit(derive("preact", check=False), "numpy"), "jacobian_preact")
    doc = fn.__doc__
    assert "preact" in doc and "∂y/∂x in numerator layout: J[i, j] = ∂y_i/∂x_j, an array of shape (3, 3)" in doc
    assert "ReLU'(0) := 0" in doc and "σ = relu" in doc


def test_the_kink_convention_holds_in_the_emitted_code():
    fn = load(emit(derive("preact", dim=2, check=False), "torch"), "jacobian_preact")
    J = fn(x=[0.0, 1.0], W_1=np.eye(2), W_2=np.eye(2)).numpy()
    assert np.allclose(J, [[1.0, 0.0], [0.0, 2.0]])  # ReLU'(0) := 0 on the first entry


@pytest.mark.parametrize(
    "name", ["relu", "tanh", "sigmoid", "gelu", "identity", "rsqrt", "exp", "log", "sin", "cos", "tan", "sqrt"]
)
def test_emitted_functions_agree_with_the_catalogue(name):
    u = np.linspace(0.1, 3.0, 7) if name in ("rsqrt", "log", "sqrt") else np.linspace(-3.0, 3.0, 7)
    u = np.linspace(-1.2, 1.2, 7) if name == "tan" else u
    helpers = emit_helpers("numpy")
    for order in (0, 1, 2):
        src = _FUNCTIONS["numpy"][name][order]
        assert np.allclose(eval(src, helpers, {"u": u}), get_function(name).numpy(order)(u), atol=1e-12)
        tsrc = _FUNCTIONS["torch"][name][order]
        got = eval(tsrc, {"torch": torch, "math": __import__("math")}, {"u": torch.tensor(u)}).numpy()
        assert np.allclose(got, get_function(name).numpy(order)(u), atol=1e-12)


def emit_helpers(backend: str) -> dict:
    import math

    from symres.emit import _HELPERS

    namespace: dict = {"numpy": np, "math": math}
    for src in _HELPERS[backend].values():
        exec(src, namespace)
    return namespace


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("block, activation", [("preact", "relu"), ("prenorm", "tanh"), ("postact", "relu")])
def test_cli_emit_equals_the_let_value(capsys, block, activation):
    lets = {"x": "1,-2,0.5", "W_1": "1,2,0;0,1,-1;2,0,1", "W_2": "0.5", "gamma": "1,2,0.5", "beta": "0", "epsilon": "0.1"}
    code, source, _ = run(capsys, "derive", block, "--activation", activation, "--emit", "numpy", "--trials", "10")
    assert code == 0
    proof = derive(block, check=False)
    names = [str(p.symbol) for p in proof.meta["instance"].params]
    argv = [a for n in names for a in ("--let", f"{n}={lets[n]}")]
    code, out, _ = run(capsys, "derive", block, "--activation", activation, *argv, "--json", "--trials", "10")
    assert code == 0
    from symres.numeric import parse_value

    args = [parse_value(lets[str(s)], tuple(s.shape), str(s)) for s in proof.meta["instance"].symbols]
    value = load(source, python_name(f"jacobian_{block}"))(*args)
    assert np.allclose(value, json.loads(out)["value"], atol=1e-12)


MLP = """
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.fc2 = nn.Linear(5, 3)
        self.gate = nn.Parameter(torch.tensor(0.3))

    def forward(self, x):
        return x + self.gate * self.fc2(torch.sigmoid(self.fc1(x)))


torch.manual_seed(0)
block = Block()
"""


def test_cli_emit_of_a_traced_module_against_autograd(capsys, tmp_path):
    path = tmp_path / "mlp.py"
    path.write_text(MLP)
    code, source, err = run(capsys, "derive", "--module", f"{path}:block", "--emit", "torch", "--trials", "10")
    assert code == 0, err
    fn = load(source, "jacobian_Block")  # named after the class
    from symres.blocks import load_object

    module = load_object(f"{path}:block").double()
    x = torch.tensor([0.2, -0.7, 1.1], dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda t: module(t[None])[0], x).numpy()
    fc1, fc2 = module.fc1, module.fc2
    got = fn(x=x, gate=module.gate, W_1=fc1.weight, b_1=fc1.bias, W_2=fc2.weight, b_2=fc2.bias).detach().numpy()
    assert np.allclose(got, expected, atol=1e-12)


def test_emitted_torch_code_is_differentiable():
    fn = load(emit(derive("rezero", check=False), "torch"), "jacobian_rezero")
    alpha = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    J = fn(torch.ones(3), alpha, torch.eye(3), torch.eye(3))
    (J.sum()).backward()
    assert alpha.grad is not None and float(alpha.grad) == pytest.approx(float((J.detach().sum() - 3) / 0.5))


def test_a_bad_backend_is_one_line(capsys):
    code, _, err = run(capsys, "derive", "preact", "--emit", "jax")
    assert code == 2 and err.count("\n") == 1 and "invalid choice" in err
    with pytest.raises(SymresError, match="choose one of numpy, torch"):
        emit(derive("preact", check=False), "jax")


# --------------------------------------------------------------------------- --wrt, --grad, --hessian

MODES = [
    ("residual", "relu", {"wrt": "W_1"}),
    ("residual", "tanh", {"grad": "W_2"}),
    ("residual", "sigmoid", {"hessian": True}),
    ("preact", "relu", {"grad": "W_1"}),
    ("preact", "gelu", {"hessian": True}),
    ("prenorm", "tanh", {"wrt": "W_1"}),
    ("prenorm", "relu", {"grad": "W_1"}),
    ("prenorm", "gelu", {"grad": "W_2"}),
    ("gated-exclusive", "tanh", {"wrt": "b_g"}),
    ("gated-exclusive", "relu", {"grad": "W_g"}),
    ("gated-exclusive", "tanh", {"hessian": True}),
    ("rezero", "relu", {"grad": "alpha"}),
    ("rezero", "sigmoid", {"wrt": "alpha"}),
]


def autograd_value(proof, values: dict, activation: str, mode: dict) -> np.ndarray:
    """The value of what `proof` derives, by torch autograd on its forward map (the oracle
    of tests/helpers.py): ∂y/∂vec(W) (columns stacked), ∇_W (gᵀy) in W's shape, ∇²_x (gᵀy)."""
    y = proof.meta["forward"]
    if "hessian" in mode:
        return torch_hessian(y, values, activation, values["g"])
    name = mode.get("wrt") or mode["grad"]
    J = torch_derivative(y, values, activation, name)
    if "wrt" in mode:
        return J
    G = values["g"].reshape(-1) @ J  # gᵀ ∂y/∂vec(W): vec(∇_W s)ᵀ
    shape = np.shape(values[name])
    return G.reshape(shape[1], shape[0]).T if len(shape) == 2 and shape[1] > 1 else G.reshape(shape)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("block, activation, mode", MODES)
def test_emitted_derivatives_against_autograd(block, activation, mode, backend):
    proof = derive(block, dim=3, activation=activation, check=False, **mode)
    source = emit(proof, backend)
    fname = source.split("\ndef ")[-1].split("(")[0]
    fn = load(source, fname)
    for seed in range(3):
        values = point(proof, seed)
        got = fn(*(values[str(p.symbol)] for p in proof.meta["instance"].params))
        got = got.detach().numpy() if backend == "torch" else np.asarray(got)
        expected = autograd_value(proof, values, activation, mode)
        assert got.shape == expected.shape or got.size == expected.size == 1, (got.shape, expected.shape)
        assert np.allclose(got.reshape(expected.shape), expected, atol=1e-9), (block, mode, seed)


def test_function_names_and_docstrings_say_what_is_returned():
    src = emit(derive("residual", wrt="W1", check=False), "numpy")
    fn = load(src, "jacobian_wrt_W_1_residual")
    assert "∂y/∂vec(W_1) in numerator layout, an array of shape (3, 9)" in fn.__doc__
    assert "column i + 3·j (0-based) holds ∂y/∂W_1[i, j]" in fn.__doc__
    fn = load(emit(derive("residual", grad="W_1", check=False), "torch"), "gradient_W_1_residual")
    assert "in the shape of W_1: 3×3, G[i, j] = ∂s/∂W_1[i, j]" in fn.__doc__
    assert "g (3,): the upstream gradient" in fn.__doc__ and "ReLU'(0) := 0" in fn.__doc__
    fn = load(emit(derive("preact", hessian=True, check=False), "numpy"), "hessian_preact")
    assert "∇²ₓ s, the Hessian of the scalar s = gᵀy" in fn.__doc__
    assert "ReLU'(0) := 0, ReLU''(0) := 0" in fn.__doc__
    fn = load(emit(derive("rezero", grad="alpha", check=False), "numpy"), "gradient_alpha_rezero")
    assert "a 0-d array (a scalar)" in fn.__doc__
    assert fn(np.ones(3), 0.5, np.eye(3), np.eye(3), np.ones(3)).shape == ()


def test_the_hessian_at_a_kink_follows_autograd():
    """ReLU''(u) := 0 everywhere, also at u = 0: what torch's double backward gives."""
    proof = derive("residual", dim=2, hessian=True, check=False)
    fn = load(emit(proof, "numpy"), "hessian_residual")
    values = {"x": np.array([[0.0], [1.0]]), "W_1": np.eye(2), "W_2": np.eye(2), "g": np.array([[1.0], [2.0]])}
    expected = torch_hessian(proof.meta["forward"], values, "relu", values["g"])
    assert np.array_equal(fn(**values), expected) and not expected.any()


@pytest.mark.parametrize(
    "block, mode, lets",
    [
        ("residual", ["--grad", "W1"], {"x": "1,-2,0.5", "W_1": "1,2,0;0,1,-1;2,0,1", "W_2": "0.5", "g": "1,0,-2"}),
        ("preact", ["--wrt", "W2"], {"x": "1,-2,0.5", "W_1": "1,2,0;0,1,-1;2,0,1", "W_2": "1,0,1;0,2,0;1,1,1"}),
        (
            "preact",
            ["--hessian"],
            {"x": "1,-2,0.5", "W_1": "1,2,0;0,1,-1;2,0,1", "W_2": "0.5", "g": "1,2,3"},
        ),
    ],
)
def test_cli_emit_of_a_derivative_equals_the_let_value(capsys, block, mode, lets):
    code, source, _ = run(capsys, "derive", block, *mode, "--activation", "tanh", "--emit", "numpy", "--trials", "10")
    assert code == 0
    argv = [a for n, v in lets.items() for a in ("--let", f"{n}={v}")]
    code, out, _ = run(capsys, "derive", block, *mode, "--activation", "tanh", *argv, "--json", "--trials", "10")
    assert code == 0
    from symres.numeric import parse_value

    proof = derive(block, activation="tanh", check=False, **_mode_kwargs(mode))
    args = [parse_value(lets[str(s)], tuple(s.shape), str(s)) for s in proof.meta["instance"].symbols]
    fname = source.split("\ndef ")[-1].split("(")[0]
    assert np.allclose(load(source, fname)(*args), json.loads(out)["value"], atol=1e-12)


def _mode_kwargs(argv: list[str]) -> dict:
    if argv[0] == "--hessian":
        return {"hessian": True}
    return {argv[0][2:]: argv[1]}


def test_no_code_is_emitted_from_a_failed_derivation(capsys, monkeypatch):
    from symres.proof import Proof

    monkeypatch.setattr(Proof, "passed", property(lambda self: False))
    code, out, err = run(capsys, "derive", "residual", "--grad", "W1", "--emit", "numpy", "--trials", "5")
    assert code == 1 and out == "" and err.count("\n") == 1 and "no code emitted" in err


# --------------------------------------------------------------------------- Cookbook functions and powers

COOKBOOK_CASES = ["exp", "log", "sin", "cos", "tan", "sqrt", 3, -1, "3/2", "-1/2"]


def _cookbook_block(f):
    from symres.blocks import Block
    from symres.numeric import POSITIVE

    positive = f in ("log", "sqrt", "3/2", "-1/2")
    kw = {"domain": POSITIVE} if positive else {}

    def build(v):
        u = v.matrix("W1", **kw) @ v.x
        return v.x + v.matrix("W2") @ (v.act(f, u) if isinstance(f, str) and f.isalpha() else v.pow(u, f))

    return Block.define(f"cook-{f}", build, x_domain="positive" if positive else None)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("f", COOKBOOK_CASES)
def test_cookbook_functions_and_powers_emit_with_first_and_second_derivatives(f, backend):
    from symres.numeric import draw

    blk = _cookbook_block(f)
    for mode in ({}, {"grad": "W1"}, {"hessian": True}):
        proof = derive(blk, dim=3, check=False, **mode)
        source = emit(proof, backend)
        order = 2 if mode.get("hessian") else 1
        assert f"_d{order if order == 2 else ''}(" in source  # f' (and f'') are emitted, not refused
        fn = load(source, source.split("\ndef ")[-1].split("(")[0])
        inst = proof.meta["instance"]
        batch = draw(inst.symbols, inst.domains, 2, np.random.default_rng(5))
        for k in range(2):
            values = {name: v[k] for name, v in batch.items()}
            got = fn(*(values[str(s)] for s in inst.symbols))
            got = got.numpy() if backend == "torch" else got
            expected = torch_jacobian(inst.forward, values, "relu") if not mode else autograd_value(proof, values, "relu", mode)
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("p", [2, 3, -1, "3/2", "-1/2", "1/3"])
def test_emitted_powers_agree_with_the_catalogue(p):
    from symres.activations import power
    from symres.emit import function_source

    f = power(p)
    u = np.linspace(0.3, 2.5, 9)
    for order in (0, 1, 2):
        got = eval(function_source("numpy", f.name, order), {"numpy": np}, {"u": u})
        np.testing.assert_allclose(got, f.numpy(order)(u), rtol=1e-14)
        tgot = eval(function_source("torch", f.name, order), {"torch": torch}, {"u": torch.tensor(u)}).numpy()
        np.testing.assert_allclose(tgot, f.numpy(order)(u), rtol=1e-14)


def test_cli_emits_a_user_block_with_a_power_and_a_cookbook_function(capsys, tmp_path):
    path = tmp_path / "cook.py"
    path.write_text(
        "from symres import Block\nb = Block.define('cook', lambda v: v.x + v.matrix('W') @ v.pow(v.act('exp', v.x), '3/2'))\n"
    )
    code, source, err = run(capsys, "derive", "--block", f"{path}:b", "--hessian", "--emit", "torch", "--trials", "20")
    assert code == 0, err
    fn = load(source, "hessian_cook")
    assert "_pow_3_2_d2" in source and "_exp_d2" in source
    rng = np.random.default_rng(0)
    x, W, g = rng.standard_normal(3), rng.standard_normal((3, 3)), rng.standard_normal(3)
    Wt, gt = torch.tensor(W), torch.tensor(g)
    expected = torch.autograd.functional.hessian(lambda t: gt @ (t + Wt @ torch.exp(t) ** 1.5), torch.tensor(x))
    assert np.allclose(fn(x, W, g).numpy(), expected.numpy(), atol=1e-10)


def test_emitted_code_of_a_convolutional_module_against_autograd():
    from torch import nn

    from symres.torch_bridge import derive_module

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
            self.conv2 = nn.Conv2d(2, 1, 3, padding=1, bias=False)

        def forward(self, x):
            return x + self.conv2(torch.tanh(self.conv1(x)))

    torch.manual_seed(7)
    module = Conv().double()
    proof = derive_module(module, input_shape=(1, 4, 4), trials=10)
    fn = load(emit(proof, "numpy"), "jacobian_Conv")
    values = proof.meta["instance"].block.values
    x = np.random.default_rng(2).standard_normal(16)
    got = fn(x, *(values[str(p.symbol)] for p in proof.meta["instance"].params[1:]))
    expected = torch.autograd.functional.jacobian(lambda t: module(t.reshape(1, 1, 4, 4)).reshape(-1), torch.tensor(x))
    assert np.allclose(got, expected.numpy(), atol=1e-12)
