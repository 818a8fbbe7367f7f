"""The PyTorch bridge: nn.Modules traced into Blocks, checked against torch autograd on the
module itself; `symres derive --module`.

The seed's two blocks (seed 002, "Code: Residual Block in PyTorch") act on images with
Conv2d and BatchNorm2d; here they are written on vectors, each convolution a Linear layer
(a convolution is a linear map of the flattened input) and BatchNorm1d for BatchNorm2d.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sympy import MatrixSymbol
from sympy.core.symbol import Str

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from symres.blocks import get_block  # noqa: E402
from symres.cli import main  # noqa: E402
from symres.errors import SymresError  # noqa: E402
from symres.torch_bridge import TORCH_HINT, derive_module, from_torch  # noqa: E402


class ResidualBlock(nn.Module):
    """Seed 002's ResidualBlock on vectors: relu(bn2(conv2(relu(bn1(conv1 x)))) + x)."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Linear(channels, channels, bias=False)
        self.bn1 = nn.BatchNorm1d(channels)
        self.conv2 = nn.Linear(channels, channels, bias=False)
        self.bn2 = nn.BatchNorm1d(channels)

    def forward(self, x):
        residual = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + residual
        return F.relu(out)


class ProjectionResidualBlock(nn.Module):
    """Seed 002's ProjectionResidualBlock on vectors, the 1×1 shortcut conv a Linear layer."""

    def __init__(self, in_channels: int = 3, out_channels: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Linear(in_channels, out_channels, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Linear(out_channels, out_channels, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.shortcut = nn.Sequential(nn.Linear(in_channels, out_channels, bias=False), nn.BatchNorm1d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Everything(nn.Module):
    """Every supported layer and operation once, on a 1-D input."""

    def __init__(self, d: int = 4, h: int = 6) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.up = nn.Linear(d, h)
        self.act = nn.GELU()
        self.down = nn.Linear(h, d, bias=False)
        self.drop = nn.Dropout(0.2)
        self.bn = nn.BatchNorm1d(d)
        self.alpha = nn.Parameter(torch.tensor(0.7))
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, d))
        self.P = nn.Parameter(torch.randn(d, d))
        self.Q = nn.Parameter(torch.randn(d, d) / 2)
        self.c = nn.Parameter(torch.randn(d))
        self.id = nn.Identity()

    def forward(self, x):
        h = self.down(self.drop(self.act(self.up(self.ln(x)))))
        g = torch.sigmoid(x @ self.P) + nn.functional.linear(x, self.Q, self.c).tanh()
        y = torch.add(x, self.alpha * h) / 2 + self.scale * torch.tanh(self.bn(x)) - 0.5 * g * F.relu(x)
        return F.dropout(self.id(y), 0.1, training=self.training).flatten(1)


def _randomise_bn(module: nn.Module, seed: int = 0) -> nn.Module:
    """Running statistics and affine parameters away from their initial values."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.num_features, generator=gen))
                m.bias.copy_(torch.randn(m.num_features, generator=gen))
    return module


def _autograd(module: nn.Module, x: np.ndarray) -> np.ndarray:
    model = module.double().eval()
    return torch.autograd.functional.jacobian(lambda t: model(t[None]).reshape(-1), torch.tensor(x)).numpy()


@pytest.mark.parametrize(
    "module, registered",
    [(ResidualBlock(4), "postact-bn"), (ProjectionResidualBlock(3, 5), "projection-bn")],
    ids=["ResidualBlock", "ProjectionResidualBlock"],
)
def test_the_seed_blocks_trace_to_the_registered_blocks_and_match_autograd(module, registered):
    torch.manual_seed(0)
    module = _randomise_bn(module)
    block = from_torch(module)
    inst = block.instance(block.dim)
    # the traced module is the registered block of seed 002 with σ = ReLU, symbol for symbol
    m = inst.forward.shape[0]
    written = get_block(registered).instance(block.dim, m).forward
    shortcut_bn = {MatrixSymbol(f"{g}_3", m, 1): MatrixSymbol(f"{g}_s", m, 1) for g in ("gamma", "beta")}  # BN₃ is `shortcut.1`
    assert inst.forward == written.xreplace({Str("sigma"): Str("relu"), **shortcut_bn})
    proof = derive_module(block, trials=40)
    assert proof.passed
    assert proof.meta["autograd"]["passed"] and proof.meta["autograd"]["max_abs_error"] < 1e-12
    assert proof.facts[-1].check is not None and proof.facts[-1].check.passed
    assert block.notes and "training mode" in block.notes[0]


def test_the_module_weights_are_the_default_point():
    torch.manual_seed(1)
    module = _randomise_bn(ProjectionResidualBlock(3, 5), seed=3)
    block = from_torch(module)
    proof = derive_module(block, trials=20)
    from symres.numeric import evaluate

    x = np.array([0.3, -1.2, 0.8])
    out, _ = evaluate({"J": proof.result}, {**block.values, "x": x[:, None]})
    assert np.allclose(out["J"], _autograd(module, x), atol=1e-12)


def test_every_supported_layer_against_autograd():
    torch.manual_seed(2)
    module = _randomise_bn(Everything())
    proof = derive_module(module, trials=20)
    assert proof.passed, proof.failures()
    assert proof.meta["autograd"]["max_abs_error"] < 1e-12
    assert proof.meta["notes"] and "training mode" in proof.meta["notes"][0]  # BatchNorm1d, Dropout, F.dropout
    names = {str(p.symbol) for p in proof.meta["instance"].params}
    assert {"W_up", "b_up", "W_down", "gamma_bn", "beta_bn", "gamma_ln", "alpha", "scale", "P", "Q", "c"} <= names


def test_a_module_already_in_eval_mode_has_no_note():
    assert from_torch(ResidualBlock(3).eval()).notes == ()


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.rnn = nn.LSTM(3, 3)

    def forward(self, x):
        return x + self.rnn(self.fc(x))[0]


class WithPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)

    def forward(self, x):
        return x + self.pool(self.fc(x))


@pytest.mark.parametrize(
    "module, message",
    [(WithLSTM(), "the layer LSTM (rnn) at node 'rnn'"), (WithPool(), "the layer MaxPool1d (pool) at node 'pool'")],
)
def test_an_unsupported_layer_is_named_with_its_node(module, message):
    with pytest.raises(SymresError) as info:
        from_torch(module)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unsupported_operation_is_named():
    class Exp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return torch.exp(self.fc(x))

    with pytest.raises(SymresError, match=r"torch.exp at node 'exp'"):
        from_torch(Exp())


def test_the_input_size_is_read_off_or_asked_for():
    class Act(nn.Module):
        def forward(self, x):
            return x + torch.tanh(x)

    with pytest.raises(SymresError, match="give it with --dim"):
        from_torch(Act())
    proof = derive_module(Act(), dim=3, trials=20)
    assert proof.passed and proof.meta["instance"].x.shape == (3, 1)


PREACT = """
import torch
from torch import nn


class ResidualBlock(nn.Module):
    \"\"\"A pre-activation residual block on vectors: y = x + W_2 relu(W_1 relu(x) + b_1) + b_2.\"\"\"

    def __init__(self, d=4):
        super().__init__()
        self.fc1 = nn.Linear(d, d)
        self.fc2 = nn.Linear(d, d)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(torch.relu(x))))


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.rnn = nn.LSTM(4, 4)

    def forward(self, x):
        return x + self.rnn(self.fc(x))[0]


class NeedsArgs(nn.Module):
    def __init__(self, d):
        super().__init__()


class Raises(nn.Module):
    def __init__(self):
        raise RuntimeError("no GPU\\nhere")


instance = ResidualBlock(3)
"""


@pytest.fixture
def blocks_py(tmp_path):
    path = tmp_path / "blocks.py"
    path.write_text(textwrap.dedent(PREACT))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_module_derives_the_preact_block_with_a_passed_autograd_check(capsys, blocks_py):
    code, out, err = run(capsys, "derive", "--module", f"{blocks_py}:ResidualBlock", "--json", "--trials", "40")
    assert code == 0, err
    obj = json.loads(out)
    assert obj["passed"] and obj["autograd"]["passed"] and obj["autograd"]["max_abs_error"] < 1e-12
    assert obj["jacobian"].startswith("I + W_{2}")
    assert obj["title"].endswith("traced with torch.fx; ReLU'(0) := 0 as in PyTorch")
    assert obj["notes"] == [] and err == ""


def test_cli_module_at_a_point_uses_the_module_weights(capsys, blocks_py, monkeypatch):
    monkeypatch.chdir(blocks_py.parent)
    monkeypatch.syspath_prepend(str(blocks_py.parent))
    code, out, _ = run(capsys, "derive", "--module", "blocks:instance", "--let", "x=0.5,-1,2", "--json", "--trials", "20")
    assert code == 0
    import blocks  # the module the CLI imported, from the current directory

    expected = _autograd(blocks.instance, np.array([0.5, -1.0, 2.0]))
    assert np.allclose(json.loads(out)["value"], expected, atol=1e-12)


@pytest.mark.parametrize(
    "name, message",
    [
        ("WithLSTM", "the layer LSTM (rnn) at node 'rnn' of the traced graph is not supported"),
        ("NeedsArgs", "NeedsArgs() needs arguments (d)"),
        ("Raises", "Raises() raised RuntimeError: no GPU here"),
        ("nothing", "has no attribute 'nothing'"),
        ("torch", "torch is a module, not an nn.Module"),
        ("ResidualBlock --dim 5", "ResidualBlock does not accept an input x of size 5: RuntimeError: mat1 and mat2"),
    ],
)
def test_cli_module_errors_are_one_line(capsys, blocks_py, name, message):
    code, out, err = run(capsys, "derive", "--module", f"{blocks_py}:{name.split()[0]}", *name.split()[1:])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_cli_module_import_that_exits_is_one_line(capsys, tmp_path):
    path = tmp_path / "exits.py"
    path.write_text("import sys\nsys.exit(3)\n")
    code, _, err = run(capsys, "derive", "--module", f"{path}:M")
    assert code == 2 and err.count("\n") == 1 and "importing" in err and "sys.exit(3)" in err


def test_cli_module_notes_training_mode(capsys, tmp_path):
    path = tmp_path / "bn.py"
    path.write_text(
        "from torch import nn\nclass B(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.bn = nn.BatchNorm1d(3)\n    def forward(self, x):\n        return x + self.bn(x)\n"
    )
    code, out, err = run(capsys, "derive", "--module", f"{path}:B", "--json", "--trials", "20")
    assert code == 0 and json.loads(out)["autograd"]["passed"]
    note = "B is in training mode; traced in eval mode (BatchNorm with its running statistics, Dropout off)"
    assert err == f"symres: note: {note}\n"


def test_without_torch_module_says_how_to_install(capsys, blocks_py, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    code, _, err = run(capsys, "derive", "--module", f"{blocks_py}:ResidualBlock")
    assert code == 2 and err == f"symres: error: {TORCH_HINT}\n"


def test_symres_does_not_import_torch_at_start_up():
    code = "import sys, symres, symres.cli, symres.torch_bridge, symres.emit; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_module_on_1d_inputs_with_a_parameter_on_the_left():
    class Left(nn.Module):
        def __init__(self):
            super().__init__()
            self.P = nn.Parameter(torch.randn(3, 3))

        def forward(self, x):
            return x + self.P @ torch.tanh(x)  # (3, 3) @ (1, 3) fails: x is passed as (3,)

    torch.manual_seed(4)
    block = from_torch(Left())
    assert block.input_shape == (3,) and block.dim == 3
    proof = derive_module(block, trials=20)
    assert proof.passed and proof.meta["autograd"]["max_abs_error"] < 1e-12


# --------------------------------------------------------------------------- convolutions


class ConvResidual(nn.Module):
    """The residual layer of seed 003's MNIST experiment net at 1×6×6: x + conv2(relu(conv1(x)))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class Conv1dProjection(nn.Module):
    """Conv1d with stride, padding, dilation, groups and a circular padding; a strided 1×1 shortcut."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(2, 4, 3, stride=2, padding=2, dilation=2)
        self.conv2 = nn.Conv1d(4, 4, 3, padding=1, groups=2, padding_mode="circular", bias=False)
        self.shortcut = nn.Conv1d(2, 4, 1, stride=2, bias=False)

    def forward(self, x):
        return self.shortcut(x) + self.conv2(torch.tanh(self.conv1(x)))


class SeedConvBlock(nn.Module):
    """Seed 002's ResidualBlock as written: Conv2d and BatchNorm2d."""

    def __init__(self, channels: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        residual = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + residual
        return F.relu(out)


class SeedConvProjection(nn.Module):
    """Seed 002's ProjectionResidualBlock as written (stride 2, the 1×1 conv shortcut with BN)."""

    def __init__(self, in_channels: int = 2, out_channels: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def _module_jacobian(module: nn.Module, shape: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    model = module.double().eval()
    f = lambda t: model(t.reshape(1, *shape)).reshape(-1)  # noqa: E731
    return torch.autograd.functional.jacobian(f, torch.tensor(x)).numpy()


@pytest.mark.parametrize(
    "module, shape, names",
    [
        (ConvResidual(), (1, 6, 6), {"K_conv1": (144, 36), "b_conv1": (144, 1), "K_conv2": (36, 144), "b_conv2": (36, 1)}),
        (Conv1dProjection(), (2, 7), {"K_conv1": (16, 14), "b_conv1": (16, 1), "K_conv2": (16, 16), "K_shortcut": (16, 14)}),
        (SeedConvBlock(), (2, 4, 4), {"K_conv1": (32, 32), "gamma_1": (32, 1), "beta_2": (32, 1)}),
        (SeedConvProjection(), (2, 4, 4), {"K_conv1": (12, 32), "K_shortcut_0": (12, 32), "gamma_s": (12, 1)}),
    ],
    ids=["ConvResidual-1x6x6", "Conv1d", "seed-ResidualBlock", "seed-ProjectionResidualBlock"],
)
def test_convolutions_are_linear_operators_checked_against_autograd(module, shape, names):
    torch.manual_seed(5)
    module = _randomise_bn(module, seed=5).eval()
    proof = derive_module(module, input_shape=shape, trials=20)
    assert proof.passed, proof.failures()
    assert proof.meta["autograd"]["passed"] and proof.meta["autograd"]["max_abs_error"] < 1e-12
    block = proof.meta["instance"].block
    assert block.dim == int(np.prod(shape)) and block.input_shape == (1, *shape)
    for name, size in names.items():
        assert block.values[name].shape == size, name
    # the derived Jacobian at the module's weights is torch's, x flattened in C order
    from symres.numeric import evaluate

    x = np.random.default_rng(1).standard_normal(block.dim)
    out, _ = evaluate({"J": proof.result}, {**block.values, "x": x[:, None]})
    assert np.allclose(out["J"], _module_jacobian(module, shape, x), atol=1e-12)


def test_the_operator_matrix_is_the_convolution_on_the_c_order_flattening():
    torch.manual_seed(6)
    module = ConvResidual()
    block = from_torch(module, input_shape=(1, 6, 6))
    conv = module.conv1.double()
    jac = torch.func.jacrev(lambda t: F.conv2d(t.reshape(1, 1, 6, 6), conv.weight, None, padding=1).reshape(-1))
    K = jac(torch.zeros(36, dtype=torch.float64)).detach().numpy()
    assert np.array_equal(block.values["K_conv1"], K)
    # entry c·H·W + h·W + w of K x is channel c at (h, w): x = vec(Xᵀ), X one channel a row
    x = np.random.default_rng(0).standard_normal((1, 6, 6))
    image = conv(torch.tensor(x)[None]).detach().numpy()[0] - conv.bias.detach().numpy()[:, None, None]
    assert np.allclose(K @ x.reshape(-1), image.reshape(-1)) and np.allclose(
        x.reshape(-1), x.reshape(1, 36).T.reshape(-1, order="F")
    )
    assert "flattened in C order (x = vec(Xᵀ), X the 1×36 matrix with one channel a row, read row by row)" in block.title
    params = {str(p.symbol): p.description for p in block.instance(block.dim).params}
    assert "Conv2d(1→4, kernel_size 3, stride 1, padding 1, dilation 1) as a linear operator" in params["K_conv1"]


def test_a_convolution_needs_the_input_shape():
    with pytest.raises(SymresError, match="give it with --dim \\(dim=\\), or the shape of one input with --input-shape"):
        from_torch(ConvResidual())
    with pytest.raises(SymresError, match="--dim 30 and --input-shape 1,6,6 \\(size 36\\) disagree"):
        from_torch(ConvResidual(), dim=30, input_shape=(1, 6, 6))
    with pytest.raises(SymresError, match="does not accept an input x of shape \\(2, 6, 6\\)"):
        from_torch(ConvResidual(), input_shape=(2, 6, 6))


def test_a_layer_on_the_last_axis_of_an_image_is_refused():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(2, 2, 1)
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            return x + self.fc(self.conv(x))

    with pytest.raises(
        SymresError, match="Linear \\(fc\\) on an input of shape \\(1, 2, 5\\) \\(it acts on the last axis only\\)"
    ):
        from_torch(Mixed(), input_shape=(2, 5))


CONV_PY = """
import torch
from torch import nn
import torch.nn.functional as F


class ConvResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class Pooled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 1, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return x + self.pool(self.conv1(x))
"""


def test_cli_module_with_convolutions_and_an_input_shape(capsys, tmp_path):
    path = tmp_path / "conv.py"
    path.write_text(CONV_PY)
    code, out, err = run(
        capsys, "derive", "--module", f"{path}:ConvResidual", "--input-shape", "1,6,6", "--json", "--trials", "20"
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["passed"] and obj["autograd"]["passed"] and obj["autograd"]["max_abs_error"] < 1e-12
    assert "K_{conv1}" in obj["jacobian"] or "K_{conv_{1}}" in obj["jacobian"] or "conv" in obj["jacobian"]
    code, out, err = run(capsys, "derive", "--module", f"{path}:Pooled", "--input-shape", "1,6,6")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "the layer MaxPool2d (pool) at node 'pool' of the traced graph is not supported" in err
    code, _, err = run(capsys, "derive", "--module", f"{path}:ConvResidual", "--input-shape", "1,x,6")
    assert code == 2 and "expected positive integers separated by commas" in err
    code, _, err = run(capsys, "derive", "residual", "--input-shape", "1,6,6")
    assert code == 2 and err.count("\n") == 1 and "--input-shape is the shape of one input of a --module" in err


@pytest.mark.parametrize("seed", range(6))
def test_operator_matrices_of_random_convolution_geometries(seed):
    """Random Conv1d/Conv2d geometries (stride, padding, dilation, groups, padding_mode):
    K is torch.func.jacrev of the convolution without bias; b its bias per position."""
    rng = np.random.default_rng(seed)
    two_d = bool(seed % 2)
    groups = int(rng.choice([1, 2]))
    c_in, c_out = 2 * int(rng.integers(1, 3)), 2 * int(rng.integers(1, 3))
    kernel, stride, dilation = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    padding = int(rng.integers(0, 3))
    mode = str(rng.choice(["zeros", "circular", "reflect"])) if padding else "zeros"
    size = (5, 4) if two_d else (7,)
    conv_type = nn.Conv2d if two_d else nn.Conv1d
    torch.manual_seed(seed)
    conv = conv_type(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = conv

        def forward(self, x):
            return torch.tanh(self.c(x))

    shape = (c_in, *size)
    block = from_torch(Net(), input_shape=shape)
    n = int(np.prod(shape))
    layer = conv.double()
    K = torch.func.jacrev(lambda t: layer._conv_forward(t.reshape(1, *shape), layer.weight, None).reshape(-1))(
        torch.zeros(n, dtype=torch.float64)
    )
    assert np.allclose(block.values["K_c"], K.detach().numpy(), atol=1e-15)
    positions = K.shape[0] // c_out
    assert np.array_equal(block.values["b_c"][:, 0], layer.bias.detach().numpy().repeat(positions))
    x = rng.standard_normal(n)
    y = layer(torch.tensor(x).reshape(1, *shape)).detach().numpy().reshape(-1)
    assert np.allclose(block.values["K_c"] @ x + block.values["b_c"][:, 0], y, atol=1e-12)
