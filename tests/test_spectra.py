"""symres.spectra and `symres paths --block`: path spectra of real stacks.

Oracles: torch autograd of the whole stack, built from the block's forward expression
by tests/helpers.torch_forward (it never sees the derived Jacobian), and brute-force
enumeration of all 2^L subsets.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import brute_path_components, torch_forward

from symres import spectra
from symres.blocks import derive
from symres.cli import main
from symres.errors import SymresError

torch = pytest.importorskip("torch")


CASES = [
    ("preact", {}, "he"),
    ("postact", {}, "xavier"),
    ("prenorm", {}, "he"),
    ("rezero", {"alpha": "0.3"}, "he"),
    ("preact-bn", {}, "he"),
]


@pytest.mark.parametrize(("block", "lets", "init"), CASES)
def test_spectrum_of_a_real_stack_equals_the_sum_over_subsets(block: str, lets: dict[str, str], init: str) -> None:
    L = 9
    stack, spec = spectra.stack_spectrum(block, L, 4, init=init, seed=5, lets=lets, mc_samples=10)
    brute = brute_path_components(stack.jacobians, stack.grad)
    expected = np.linalg.norm(brute, axis=1)
    scale = expected.max()
    np.testing.assert_allclose(10.0**spec.log10_norms, expected, rtol=1e-9, atol=1e-12 * scale)
    assert np.array_equal(np.isneginf(spec.log10_norms), expected == 0)  # exact zeros (dead ReLUs) are -inf
    assert spec.check_passed and spec.depth == L and spec.width == 4


def _torch_stack(stack: spectra.RealStack, block: str):  # type: ignore[no-untyped-def]
    """h_0 ↦ h_L in torch, one block expression per layer with that layer's parameters."""
    inst = derive(block, dim=stack.width, check=False).meta["instance"]
    layers = [
        torch_forward(inst.forward, {name: v[l] for name, v in stack.params.items()}, stack.activation)
        for l in range(stack.depth)
    ]

    def f(h):  # type: ignore[no-untyped-def]
        for layer in layers:
            h = layer(h)
        return h

    return layers, f


@pytest.mark.parametrize(("block", "lets", "init"), CASES)
def test_derived_jacobians_along_the_forward_pass_match_torch_autograd(block: str, lets: dict[str, str], init: str) -> None:
    stack = spectra.build_stack(block, 7, 5, init=init, seed=2, lets=lets)
    layers, f = _torch_stack(stack, block)
    h = torch.tensor(stack.inputs[0], dtype=torch.float64)
    for l, layer in enumerate(layers):  # the same forward pass
        h = layer(h)
        np.testing.assert_allclose(h.detach().numpy(), stack.inputs[l + 1], rtol=1e-12, atol=1e-12)
        A = torch.autograd.functional.jacobian(layer, torch.tensor(stack.inputs[l], dtype=torch.float64)).numpy()
        np.testing.assert_allclose(np.eye(5) + stack.jacobians[l], A, rtol=1e-9, atol=1e-10)
    whole = torch.autograd.functional.jacobian(f, torch.tensor(stack.inputs[0], dtype=torch.float64)).numpy()
    product = np.eye(5)
    for Jl in stack.jacobians:  # later block left
        product = (np.eye(5) + Jl) @ product
    np.testing.assert_allclose(product, whole, rtol=1e-9, atol=1e-10)


def test_init_schemes() -> None:
    he = spectra.build_stack("residual", 3, 64, init="he", seed=0)
    xavier = spectra.build_stack("residual", 3, 64, init="xavier", seed=0)
    assert np.std(he.params["W_1"]) == pytest.approx(math.sqrt(2 / 64), rel=0.05)
    assert np.std(xavier.params["W_1"]) == pytest.approx(math.sqrt(2 / 128), rel=0.05)
    zero = spectra.build_stack("residual", 3, 4, init="zero-branch", seed=0)
    assert not zero.params["W_2"].any() and not zero.jacobians.any()  # only the identity path is left
    bn = spectra.build_stack("preact-bn", 2, 3, seed=0)
    assert (bn.params["gamma_1"] == 1).all() and (bn.params["beta_1"] == 0).all()


def test_weights_file_replaces_the_draw(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = spectra.build_stack("preact", 4, 3, seed=1)
    path = tmp_path / "w.npz"
    np.savez(path, W_1=stack.params["W_1"], W_2=2 * stack.params["W_2"])
    loaded = spectra.load_weights(str(path))
    again = spectra.build_stack("preact", 4, 3, seed=1, weights=loaded)
    np.testing.assert_array_equal(again.params["W_2"], 2 * stack.params["W_2"])
    with pytest.raises(SymresError, match="shape"):
        spectra.build_stack("preact", 5, 3, seed=1, weights=loaded)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block": "rezero"}, "no initial value for alpha"),
        ({"block": "preact", "lets": {"alpha": "1"}}, "no parameter 'alpha'"),
        ({"block": "densenet"}, "R\\^d to R\\^d"),
        ({"block": "preact", "init": "orthogonal"}, "unknown --init"),
        ({"block": "plain", "init": "zero-branch", "lets": {"W_2": "I"}}, None),
    ],
)
def test_bad_stacks_are_one_line_errors(kwargs: dict, message: str | None) -> None:  # type: ignore[type-arg]
    block = kwargs.pop("block")
    if message is None:
        spectra.build_stack(block, 2, 3, **kwargs)
        return
    with pytest.raises(SymresError, match=message):
        spectra.build_stack(block, 2, 3, **kwargs)


def test_cli_preact_54_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--block", "preact", "--depth", "54", "--width", "16", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    norms = data["log10_norms"]
    assert len(norms) == 55 and all(x is not None and math.isfinite(x) for x in norms)
    assert data["check"]["passed"] and data["stack"]["block"] == "preact" and data["stack"]["init"] == "he"


def test_cli_several_blocks_one_figure(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "cmp.png"
    argv = ["paths", "--block", "preact,postact", "--block", "rezero", "--let", "alpha=0.1", "--depth", "12", "--width", "4"]
    assert main([*argv, "--plot", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["stack"]["block"] for s in data["spectra"]] == ["preact", "postact", "rezero"]
    assert all(s["check"]["passed"] for s in data["spectra"])
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*argv, "--let", "beta=1"]) == 2
    assert "none of the blocks" in capsys.readouterr().err
