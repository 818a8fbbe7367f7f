"""The torch backend of the path DP (`symres paths --device`): on the CPU here, against the
NumPy DP and the brute-force sum over subsets; a CUDA device that is not there is one line.

torch is required (the dev extra installs it): these tests are not skipped without it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import brute_path_components

from symres.cli import main
from symres.errors import SymresError
from symres.paths import array_backend, path_components, path_spectrum, random_stack
from symres.spectra import stack_spectrum


@pytest.mark.parametrize("depth, width, norm, seed", [(6, 3, 0.7, 0), (9, 4, 2.0, 1), (0, 3, 0.5, 2), (1, 1, 0.3, 3)])
def test_torch_cpu_equals_the_sum_over_subsets(depth: int, width: int, norm: float, seed: int) -> None:
    J, g = random_stack(depth, width, norm=norm, seed=seed)
    U, c = path_components(J, g, device="cpu")
    want = brute_path_components(J, g)
    got = np.exp(c)[:, None] * U
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("norm", [1e-150, 0.5, 1e120])  # the slow, rescaling step and the fast one
def test_torch_cpu_equals_numpy_at_any_scale(norm: float) -> None:
    J, g = random_stack(120, 8, norm=norm, seed=4)
    J[7] = 0.0  # a zero block: its scale is taken as 1
    U0, c0 = path_components(J, g)
    U1, c1 = path_components(J, g, device="cpu")
    assert isinstance(U1, np.ndarray) and U1.dtype == np.float64
    finite = np.isfinite(c0)
    assert np.array_equal(finite, np.isfinite(c1))
    np.testing.assert_allclose(c1[finite], c0[finite], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(U1, U0, atol=1e-10)


def test_a_real_stack_on_the_torch_backend_passes_its_check() -> None:
    _, spec = stack_spectrum("preact", 30, 6, seed=1, mc_samples=50, device="cpu")
    _, ref = stack_spectrum("preact", 30, 6, seed=1, mc_samples=50)
    assert spec.check_passed
    np.testing.assert_allclose(spec.log10_norms, ref.log10_norms, rtol=1e-12, atol=1e-10)
    rand = path_spectrum(40, 5, norm=0.9, seed=2, mc_samples=50, device="cpu")
    assert rand.check_passed and rand.band == path_spectrum(40, 5, norm=0.9, seed=2, mc_samples=50).band


def test_cli_device_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paths", "--block", "preact", "--depth", "20", "--width", "4", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["check"]["passed"] and len(out["log10_norms"]) == 21


@pytest.mark.parametrize("device, message", [("cuda:0", "no CUDA device"), ("tpu", "not a torch device"), ("meta", "only cpu")])
def test_an_absent_device_is_one_line(device: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    if device.startswith("cuda") and torch.cuda.is_available():  # a machine with a GPU: it must work there
        assert main(["paths", "--depth", "10", "--width", "4", "--json", "--device", device]) == 0
        return
    assert main(["paths", "--depth", "10", "--width", "4", "--device", device]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    with pytest.raises(SymresError, match=message):
        array_backend(device)


def test_add_product_with_and_without_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """target += a·b: by SciPy's dgemm (β = 1, in place) and by the fallback GEMM + add;
    the whole DP agrees between the two."""
    import symres.paths.backend as backend_module

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((9, 5))
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 5))
    want = rows.copy()
    want[2:8] += a @ b
    dgemm = backend_module.scipy_dgemm()
    assert dgemm is not None  # SciPy comes with scikit-learn in the dev extra
    for ops in (backend_module.NumpyBackend(dgemm), backend_module.NumpyBackend(None)):
        got = rows.copy()
        ops.add_product(got[2:8], a, b)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)
    J, g = random_stack(60, 7, norm=3.0, seed=5)
    U0, c0 = path_components(J, g)
    monkeypatch.setattr(backend_module, "scipy_dgemm", lambda: None)
    U1, c1 = path_components(J, g)
    np.testing.assert_allclose(c1, c0, rtol=1e-13)
    np.testing.assert_allclose(U1, U0, atol=1e-12)
