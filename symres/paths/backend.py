"""Where the path DP (`symres.paths.path_components`) keeps its rows: NumPy arrays in this
process, or torch tensors on a device (``--device cpu|cuda``).

The DP's bookkeeping (the log scales c_k, the gaps, the decisions when to renormalise)
stays in NumPy on the host; a backend holds only the big arrays (the rows U, the
Jacobians) and does the few operations on them: scale rows by host factors, add a product
to rows (one GEMM with β = 1: BLAS dgemm through SciPy when it is installed, else a GEMM
into a scratch buffer and an add; torch's addmm_), take row norms back to the host.
Both compute in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symres.errors import SymresError
from symres.paths._common import Float64Array

__all__ = ["Backend", "NumpyBackend", "TorchBackend", "array_backend", "scipy_dgemm"]


def scipy_dgemm() -> Any:
    """SciPy's BLAS dgemm (C ← αAB + βC in place), or None without SciPy."""
    try:
        from scipy.linalg.blas import dgemm
    except ImportError:
        return None
    return dgemm


class NumpyBackend:
    """The rows as NumPy arrays (the default)."""

    name = "numpy"

    def __init__(self, dgemm: Any = None) -> None:
        self._dgemm = dgemm
        self._scratch = np.empty(0)

    def put(self, a: Float64Array) -> Any:
        """A host array as the backend's array (here: itself)."""
        return a

    def empty(self, shape: tuple[int, ...]) -> Any:
        return np.empty(shape)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return np.zeros(shape)

    def host(self, x: Any) -> Float64Array:
        """The backend's array as a NumPy array on the host."""
        return np.asarray(x)

    def scale(self, x: Any, s: float, out: Any) -> None:
        """out ← s · x."""
        np.multiply(x, s, out=out)

    def scale_rows(self, x: Any, w: Float64Array, out: Any) -> None:
        """out ← diag(w) · x, w a host vector (one factor per row)."""
        np.multiply(x, w[:, None], out=out)

    def add_product(self, target: Any, a: Any, b: Any) -> None:
        """target ← target + a · b (a: n×d rows, b: d×d; target: n×d C-contiguous rows
        that a does not overlap)."""
        if self._dgemm is not None:  # one dgemm with β = 1 on the transposes (column-major views of the rows)
            out = self._dgemm(1.0, b.T, a.T, beta=1.0, c=target.T, overwrite_c=1)
            if not np.shares_memory(out, target):  # SciPy made a copy (not expected for contiguous rows)
                target[...] = out.T
            return
        n = a.shape[0] * b.shape[1]
        if self._scratch.size < n:
            self._scratch = np.empty(n)
        product = self._scratch[:n].reshape(a.shape[0], b.shape[1])
        np.matmul(a, b, out=product)
        target += product

    def row_norms(self, x: Any) -> Float64Array:
        """The Euclidean norms of the rows of x, on the host."""
        return np.sqrt(np.einsum("ij,ij->i", x, x))

    def mul_rows(self, x: Any, w: Float64Array) -> None:
        """x ← diag(w) · x in place, w a host vector."""
        x *= w[:, None]


class TorchBackend:
    """The rows as float64 torch tensors on ``device`` (cpu, cuda, cuda:1, …)."""

    def __init__(self, device: str) -> None:
        try:
            import torch
        except ImportError:
            raise SymresError("--device needs torch: pip install 'symres[torch]'") from None
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise SymresError(f"--device {device}: not a torch device (cpu, cuda, cuda:N)") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise SymresError(f"--device {device}: no CUDA device is available to torch {torch.__version__}")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SymresError(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s)")
        if dev.type not in ("cpu", "cuda"):
            raise SymresError(f"--device {device}: only cpu and cuda are supported")
        self.torch = torch
        self.device = dev
        self.name = f"torch:{dev}"

    def put(self, a: Float64Array) -> Any:
        return self.torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), device=self.device)

    def empty(self, shape: tuple[int, ...]) -> Any:
        return self.torch.empty(shape, dtype=self.torch.float64, device=self.device)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def host(self, x: Any) -> Float64Array:
        return np.asarray(x.detach().cpu().numpy())

    def scale(self, x: Any, s: float, out: Any) -> None:
        self.torch.mul(x, s, out=out)

    def scale_rows(self, x: Any, w: Float64Array, out: Any) -> None:
        self.torch.mul(x, self.put(w)[:, None], out=out)

    def add_product(self, target: Any, a: Any, b: Any) -> None:
        target.addmm_(a, b)

    def row_norms(self, x: Any) -> Float64Array:
        return self.host(self.torch.linalg.vector_norm(x, dim=1))

    def mul_rows(self, x: Any, w: Float64Array) -> None:
        x *= self.put(w)[:, None]


Backend = NumpyBackend | TorchBackend


def array_backend(device: str | None) -> Backend:
    """NumPy for ``device`` None, else torch on that device (a one-line SymresError if torch
    is missing, the name is not a device, or the device is not there)."""
    return NumpyBackend(scipy_dgemm()) if device is None else TorchBackend(device)
