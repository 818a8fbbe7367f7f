"""Independent oracles for the tests: they share no code with symres.numeric.

- `torch_forward` walks a symres expression tree and builds the same function in torch,
  so torch's autograd gives a Jacobian that owes nothing to symres.calculus;
- `fd_jacobian` is a plain central-difference Jacobian of any vector function.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import sympy as sp
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose, ZeroMatrix

from symres.expr import Abbrev, Defined, Det, Diag, Elementwise, Inv, LogDet, Scalar, Size, Tr, VStack, sizes_to_values


def fd_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂x at x (a 1-D array) in numerator layout, by central differences."""
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((f(x + e) - f(x - e)) / (2 * h))
    return np.stack(cols, axis=1)


TORCH_ACTS = {
    "relu": lambda t, torch: torch.relu(t),
    "tanh": lambda t, torch: torch.tanh(t),
    "sigmoid": lambda t, torch: torch.sigmoid(t),
    "gelu": lambda t, torch: torch.nn.functional.gelu(t),
    "identity": lambda t, torch: t,
    "rsqrt": lambda t, torch: torch.rsqrt(t),
    "exp": lambda t, torch: torch.exp(t),
    "log": lambda t, torch: torch.log(t),
    "sin": lambda t, torch: torch.sin(t),
    "cos": lambda t, torch: torch.cos(t),
    "tan": lambda t, torch: torch.tan(t),
    "sqrt": lambda t, torch: torch.sqrt(t),
}


def torch_forward(expr: sp.Basic, values: dict[str, np.ndarray], activation: str, x_name: str = "x"):
    """A torch function of x (a 1-D tensor) evaluating expr with the other symbols fixed."""
    import torch

    def ev(e: sp.Basic, env: dict):
        if isinstance(e, Size):  # a size printed as d, evaluated at its value
            return torch.tensor(float(e.value), dtype=torch.float64)
        if isinstance(e, (sp.MatrixSymbol, sp.Symbol)):
            return env[str(e)]
        if isinstance(e, MatAdd):
            out = ev(e.args[0], env)
            for t in e.args[1:]:
                out = out + ev(t, env)
            return out
        if isinstance(e, MatMul):
            out = None
            for f in e.args:
                v = ev(f, env)
                out = v if out is None else (out * v if (out.ndim == 0 or v.ndim == 0) else out @ v)
            return out
        if isinstance(e, HadamardProduct):
            out = ev(e.args[0], env)
            for t in e.args[1:]:
                out = out * ev(t, env)
            return out
        if isinstance(e, Diag):
            return torch.diag(ev(e.vec, env).reshape(-1))
        if isinstance(e, Elementwise):
            assert e.order == 0, "the oracle differentiates; it never needs σ'"
            name = activation if e.fn == "sigma" else e.fn
            if name.startswith("pow"):  # pow{p}: t**p, p an integer or a rational such as 3/2
                return ev(e.arg, env) ** float(sp.Rational(name[3:]))
            return TORCH_ACTS[name](ev(e.arg, env), torch)
        if isinstance(e, Scalar):  # a 1×1 read as a number
            return ev(e.expr, env).reshape(())
        if isinstance(e, Transpose):
            inner = ev(e.arg, env)
            return inner.T if inner.dim() == 2 else inner  # a scalar (0-D) is its own transpose
        if isinstance(e, OneMatrix):
            return torch.ones(int(e.shape[0]), int(e.shape[1]), dtype=torch.float64)
        if isinstance(e, VStack):
            return torch.cat([ev(p, env).reshape(int(p.shape[0]), -1) for p in e.args], dim=0)
        if isinstance(e, Abbrev):
            return ev(e.definition, env)
        if isinstance(e, Defined):  # f(a): the body of f with its variable bound to a
            inner = dict(env)
            inner[str(e.variable)] = ev(e.arg, env).reshape(-1, 1)
            return ev(e.body, inner)
        if isinstance(e, Inv):
            return torch.linalg.inv(ev(e.arg, env))
        if isinstance(e, Tr):
            return torch.trace(ev(e.arg, env)).reshape(1, 1)
        if isinstance(e, Det):
            return torch.linalg.det(ev(e.arg, env)).reshape(1, 1)
        if isinstance(e, LogDet):
            sign, logabs = torch.linalg.slogdet(ev(e.arg, env))
            assert float(sign.detach()) > 0, "log det of a matrix with det ≤ 0"
            return logabs.reshape(1, 1)
        if isinstance(e, sp.Pow) and e.free_symbols:  # 1/s for a 1×1 s: (xᵀx)^-1
            return ev(e.base, env) ** float(e.exp)
        if isinstance(e, sp.Mul) and e.free_symbols:
            out = ev(e.args[0], env)
            for t in e.args[1:]:
                out = out * ev(t, env)
            return out
        if isinstance(e, Identity):
            return torch.eye(int(e.shape[0]), dtype=torch.float64)
        if isinstance(e, ZeroMatrix):
            return torch.zeros(int(e.shape[0]), int(e.shape[1]), dtype=torch.float64)
        if e.is_Number:
            return torch.tensor(float(e), dtype=torch.float64)
        if not e.is_Matrix and not e.free_symbols:  # a constant such as 1/d, d a Size
            return torch.tensor(float(sizes_to_values(e)), dtype=torch.float64)
        raise TypeError(f"oracle cannot evaluate {type(e).__name__}")

    fixed = {}
    for k, v in values.items():
        v = np.asarray(v, dtype=float)
        fixed[k] = torch.tensor(
            v.reshape(()) if v.size == 1 and k not in (x_name,) and v.ndim <= 2 and v.shape in ((1, 1), ()) else v,
            dtype=torch.float64,
        )

    shape = np.shape(values[x_name]) if x_name in values else (-1, 1)  # x may be given to f only

    def f(x):
        env = dict(fixed)
        if len(shape) == 2 and shape[1] > 1:  # a matrix variable from vec(W): columns stacked
            env[x_name] = x.reshape(shape[1], shape[0]).T
        elif int(np.prod(shape)) == 1 and x_name != "x":  # a scalar, as `fixed` reads size-1 values
            env[x_name] = x.reshape(())
        else:
            env[x_name] = x.reshape(-1, 1)
        return ev(expr, env).reshape(-1)

    return f


def torch_derivative(expr: sp.Basic, values: dict[str, np.ndarray], activation: str, wrt: str) -> np.ndarray:
    """∂expr/∂wrt by torch autograd, numerator layout; ∂expr/∂vec(W) for a matrix wrt."""
    import torch

    f = torch_forward(expr, values, activation, x_name=wrt)
    v = np.asarray(values[wrt], dtype=float)
    flat = v.T.reshape(-1) if v.ndim == 2 and v.shape[1] > 1 else v.reshape(-1)
    return torch.autograd.functional.jacobian(f, torch.tensor(flat, dtype=torch.float64)).numpy()


def torch_hessian(expr: sp.Basic, values: dict[str, np.ndarray], activation: str, g: np.ndarray) -> np.ndarray:
    """∇²_x (gᵀ expr) by torch autograd."""
    import torch

    f = torch_forward(expr, values, activation)
    gt = torch.tensor(np.asarray(g, dtype=float).reshape(-1), dtype=torch.float64)
    x0 = torch.tensor(np.asarray(values["x"], dtype=float).reshape(-1), dtype=torch.float64)
    return torch.autograd.functional.hessian(lambda x: gt @ f(x), x0).numpy()


def torch_jacobian(expr: sp.Basic, values: dict[str, np.ndarray], activation: str) -> np.ndarray:
    import torch

    f = torch_forward(expr, values, activation)
    x0 = torch.tensor(np.asarray(values["x"], dtype=float).reshape(-1), dtype=torch.float64)
    return torch.autograd.functional.jacobian(f, x0).numpy()


def brute_path_components(J: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g_k = g · Σ_{|S|=k} J_{s_k} ⋯ J_{s_1} by enumerating all subsets (the
    independent oracle of the path DP)."""
    L, d = J.shape[0], g.size
    out = np.zeros((L + 1, d))
    for k in range(L + 1):
        for S in itertools.combinations(range(L), k):
            v = g.copy()
            for s in reversed(S):  # the row vector meets the latest block first
                v = v @ J[s]
            out[k] += v
    return out
