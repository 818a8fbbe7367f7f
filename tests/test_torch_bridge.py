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
        if isinstance(m, nn.BatchNorm1d):
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


class WithConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.conv = nn.Conv1d(1, 1, 3, padding=1)

    def forward(self, x):
        return x + self.conv(self.fc(x))


@pytest.mark.parametrize(
    "module, message",
    [(WithLSTM(), "the layer LSTM (rnn) at node 'rnn'"), (WithConv(), "the layer Conv1d (conv) at node 'conv'")],
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
