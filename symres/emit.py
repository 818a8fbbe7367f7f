"""Code generation: a derived Jacobian as the source of a standalone Python function.

`emit(proof, backend="numpy" | "torch")` prints `proof.result` — the very expression the
proof prints and checks — with a subclass of the numeric backend's printer
(`symres.numeric.BatchPrinter`), so the function computes what was checked. The function
takes the block's symbols in a fixed order (x first, then the parameters in the order the
block introduces them, as the proof lists them), as positional or keyword arguments named
after the symbols (a name that is not a Python identifier is made one: `lambda` → `lambda_`,
`W_{12}` → `W_12`). Vectors may be given 1-D or as columns; it returns the m×d Jacobian in
numerator layout, J[i, j] = ∂y_i/∂x_j, computed in float64. The block's σ is bound to the
activation the proof was checked with; at a kink the frameworks' convention holds
(ReLU'(0) := 0). The torch version is differentiable (autograd flows through it).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy import Basic, MatrixSymbol

from symres.activations import GENERIC, get_function
from symres.errors import SymresError
from symres.expr import Deriv, Elementwise, sizes_to_values
from symres.numeric import BatchPrinter
from symres.proof import Proof

__all__ = ["BACKENDS", "emit", "function_source", "python_name"]

BACKENDS = ("numpy", "torch")

# each catalogue function with its first and second derivatives, written once per backend;
# `u` the argument (powers pow{p} are written by `_power_source`)
_FUNCTIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    "numpy": {
        "relu": ("numpy.maximum(u, 0.0)", "(u > 0).astype(float)", "numpy.zeros_like(u)"),
        "tanh": ("numpy.tanh(u)", "1.0 - numpy.tanh(u) ** 2", "-2.0 * numpy.tanh(u) * (1.0 - numpy.tanh(u) ** 2)"),
        "sigmoid": (
            "0.5 * (1.0 + numpy.tanh(0.5 * u))",
            "_sigmoid(u) * (1.0 - _sigmoid(u))",
            "_sigmoid(u) * (1.0 - _sigmoid(u)) * (1.0 - 2.0 * _sigmoid(u))",
        ),
        "gelu": (
            "0.5 * u * (1.0 + _erf(u / math.sqrt(2.0)))",
            "0.5 * (1.0 + _erf(u / math.sqrt(2.0))) + u * numpy.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)",
            "numpy.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) * (2.0 - u * u)",
        ),
        "identity": ("u", "numpy.ones_like(u)", "numpy.zeros_like(u)"),
        "rsqrt": ("1.0 / numpy.sqrt(u)", "-0.5 / (u * numpy.sqrt(u))", "0.75 / (u * u * numpy.sqrt(u))"),
        "exp": ("numpy.exp(u)", "numpy.exp(u)", "numpy.exp(u)"),
        "log": ("numpy.log(u)", "1.0 / u", "-1.0 / (u * u)"),
        "sin": ("numpy.sin(u)", "numpy.cos(u)", "-numpy.sin(u)"),
        "cos": ("numpy.cos(u)", "-numpy.sin(u)", "-numpy.cos(u)"),
        "tan": ("numpy.tan(u)", "1.0 / numpy.cos(u) ** 2", "2.0 * numpy.tan(u) / numpy.cos(u) ** 2"),
        "sqrt": ("numpy.sqrt(u)", "0.5 / numpy.sqrt(u)", "-0.25 / (u * numpy.sqrt(u))"),
    },
    "torch": {
        "relu": ("torch.relu(u)", "(u > 0).to(u.dtype)", "torch.zeros_like(u)"),
        "tanh": ("torch.tanh(u)", "1.0 - torch.tanh(u) ** 2", "-2.0 * torch.tanh(u) * (1.0 - torch.tanh(u) ** 2)"),
        "sigmoid": (
            "torch.sigmoid(u)",
            "torch.sigmoid(u) * (1.0 - torch.sigmoid(u))",
            "torch.sigmoid(u) * (1.0 - torch.sigmoid(u)) * (1.0 - 2.0 * torch.sigmoid(u))",
        ),
        "gelu": (
            "0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0)))",
            "0.5 * (1.0 + torch.erf(u / math.sqrt(2.0))) + u * torch.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)",
            "torch.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) * (2.0 - u * u)",
        ),
        "identity": ("u", "torch.ones_like(u)", "torch.zeros_like(u)"),
        "rsqrt": ("torch.rsqrt(u)", "-0.5 * torch.rsqrt(u) ** 3", "0.75 * torch.rsqrt(u) ** 5"),
        "exp": ("torch.exp(u)", "torch.exp(u)", "torch.exp(u)"),
        "log": ("torch.log(u)", "1.0 / u", "-1.0 / (u * u)"),
        "sin": ("torch.sin(u)", "torch.cos(u)", "-torch.sin(u)"),
        "cos": ("torch.cos(u)", "-torch.sin(u)", "-torch.cos(u)"),
        "tan": ("torch.tan(u)", "1.0 / torch.cos(u) ** 2", "2.0 * torch.tan(u) / torch.cos(u) ** 2"),
        "sqrt": ("torch.sqrt(u)", "0.5 * torch.rsqrt(u)", "-0.25 * torch.rsqrt(u) ** 3"),
    },
}


def _power_source(backend: str, name: str) -> tuple[str, str, str]:
    """u^p, p u^{p-1} and p(p-1) u^{p-2} for the catalogue's pow{p} (p as the float the
    catalogue evaluates with)."""
    q = sp.Rational(name[3:])
    module = "numpy.power" if backend == "numpy" else "torch.pow"
    p, p1, p2 = float(q), float(q - 1), float(q - 2)
    return (
        f"{module}(u, {p!r})",
        f"{p!r} * {module}(u, {p1!r})",
        f"{float(q * (q - 1))!r} * {module}(u, {p2!r})",
    )


def function_source(backend: str, name: str, order: int) -> str:
    """The source of f^(order)(u) (order 0, 1 or 2) of the catalogue function `name` in
    the backend; a SymresError when it has none."""
    if name.startswith("pow") and len(name) > 3:
        get_function(name)  # a SymresError for an exponent that is not one
        return _power_source(backend, name)[order]
    if name not in _FUNCTIONS[backend] or order > 2:
        raise SymresError(f"--emit: no {backend} code for derivative {order} of {name}")
    return _FUNCTIONS[backend][name][order]


# the array helpers the printer's code calls (see numeric.BatchPrinter); the emitted code is unbatched
_HELPERS: dict[str, dict[str, str]] = {
    "numpy": {
        "_eye": "def _eye(n):\n    return numpy.eye(n)",
        "_zeros": "def _zeros(m, n):\n    return numpy.zeros((m, n))",
        "_ones": "def _ones(m, n):\n    return numpy.ones((m, n))",
        "_T": "def _T(a):\n    return numpy.swapaxes(a, -1, -2)",
        "_diag": "def _diag(v):\n    return v * numpy.eye(v.shape[-2])",
        "_vstack": "def _vstack(*parts):\n    return numpy.concatenate(parts, axis=-2)",
        "_vec": "def _vec(a):\n    return numpy.reshape(numpy.swapaxes(a, -1, -2), (-1, 1))  # the columns stacked",
        "_kron": "def _kron(a, b):\n    return numpy.kron(a, b)",
        # token blocks (symres.tokens): K_{p,q} vec(A) = vec(Aᵀ); f and J_f on each row of m
        "_commutation": (
            "def _commutation(p, q):\n    k = numpy.zeros((p * q, p * q))\n    for j in range(p * q):\n"
            "        k[(j % p) * q + j // p, j] = 1.0\n    return k"
        ),
        "_rowmap": "def _rowmap(f, m):\n    return numpy.concatenate([numpy.reshape(f(r.reshape(-1, 1)), (1, -1)) for r in m])",
        "_rowblocks": (
            "def _rowblocks(jac, m):\n    blocks = [jac(r.reshape(-1, 1)) for r in m]\n"
            "    (r, c), n = blocks[0].shape, len(blocks)\n    out = numpy.zeros((n * r, n * c))\n"
            "    for i, b in enumerate(blocks):\n        out[i * r : (i + 1) * r, i * c : (i + 1) * c] = b\n    return out"
        ),
        "_causal": "def _causal(n):\n    return numpy.where(numpy.tril(numpy.ones((n, n))) > 0, 0.0, -1e300)  # −∞ above",
        "_erf": "_erf = numpy.vectorize(math.erf, otypes=[float])",
        "_sigmoid": "def _sigmoid(u):\n    return 0.5 * (1.0 + numpy.tanh(0.5 * u))",
        "_inv": "def _inv(a):\n    return numpy.linalg.inv(a)",
        "_tr": "def _tr(a):\n    return numpy.trace(a, axis1=-2, axis2=-1)[..., None, None]",
        "_det": "def _det(a):\n    return numpy.linalg.det(a)[..., None, None]",
        "_logdet": "def _logdet(a):\n    sign, logabs = numpy.linalg.slogdet(a)\n"
        "    return numpy.where(sign > 0, logabs, numpy.nan)[..., None, None]",
    },
    "torch": {
        "_eye": "def _eye(n):\n    return torch.eye(n, dtype=torch.float64)",
        "_zeros": "def _zeros(m, n):\n    return torch.zeros(m, n, dtype=torch.float64)",
        "_ones": "def _ones(m, n):\n    return torch.ones(m, n, dtype=torch.float64)",
        "_T": "def _T(a):\n    return a.transpose(-1, -2)",
        "_diag": "def _diag(v):\n    return v * torch.eye(v.shape[-2], dtype=v.dtype)",
        "_vstack": "def _vstack(*parts):\n    return torch.cat(parts, dim=-2)",
        "_vec": "def _vec(a):\n    return a.transpose(-1, -2).reshape(-1, 1)  # the columns stacked",
        "_kron": "def _kron(a, b):\n    return torch.kron(a.contiguous(), b.contiguous())  # kron needs a contiguous layout",
        "_commutation": (
            "def _commutation(p, q):\n    k = torch.zeros(p * q, p * q, dtype=torch.float64)\n    for j in range(p * q):\n"
            "        k[(j % p) * q + j // p, j] = 1.0\n    return k"
        ),
        "_rowmap": "def _rowmap(f, m):\n    return torch.cat([f(r.reshape(-1, 1)).reshape(1, -1) for r in m])",
        "_rowblocks": "def _rowblocks(jac, m):\n    return torch.block_diag(*[jac(r.reshape(-1, 1)) for r in m])",
        "_causal": (
            "def _causal(n):\n    ones = torch.ones(n, n, dtype=torch.float64)\n"
            "    return torch.where(torch.tril(ones) > 0, 0.0 * ones, -1e300 * ones)  # −∞ above the diagonal"
        ),
        "_inv": "def _inv(a):\n    return torch.linalg.inv(a)",
        "_tr": "def _tr(a):\n    return torch.diagonal(a, dim1=-2, dim2=-1).sum(-1)[..., None, None]",
        "_det": "def _det(a):\n    return torch.linalg.det(a)[..., None, None]",
        "_logdet": "def _logdet(a):\n    sign, logabs = torch.linalg.slogdet(a)\n"
        "    return torch.where(sign > 0, logabs, torch.nan)[..., None, None]",
    },
}


def python_name(name: str) -> str:
    """The symbol's name as a Python identifier: `W_{12}` → `W_12`, `lambda` → `lambda_`."""
    out = re.sub(r"\W", "", name.replace("{", "").replace("}", ""))
    out = out if out and not out[0].isdigit() else f"_{out}"
    return f"{out}_" if keyword.iskeyword(out) else out


def _helper_name(fn: str, order: int) -> str:
    """`_relu`, `_relu_d`, `_tanh_d2`; the power pow-3/2 is `_pow_m3_2`."""
    base = fn.replace("-", "m").replace("/", "_")
    if base.startswith("pow"):
        base = "pow_" + base[3:]
    return f"_{base}" + ("", "_d", "_d2")[order]


class _EmitPrinter(BatchPrinter):
    """The numeric backend's printer, writing named helpers for σ, σ' and σ'' instead of
    the slots of a compiled batch, and `backend.` for the array module."""

    def __init__(self, backend: str, activation: str) -> None:
        super().__init__({})
        self.backend, self.activation = backend, activation
        self.used: dict[str, str] = {}  # helper name -> the source of its value

    def _print_Elementwise(self, expr: Elementwise) -> str:
        name = self.activation if expr.fn == GENERIC else expr.fn
        get_function(name)  # a SymresError for a name outside the catalogue
        helper = _helper_name(name, expr.order)
        self.used[helper] = function_source(self.backend, name, expr.order)
        return f"{helper}({self._print(expr.arg)})"

    def _print_Deriv(self, expr: Deriv) -> str:
        raise SymresError("--emit: the expression still holds an unevaluated derivative")


def _calls(helpers: dict[str, str], src: str) -> set[str]:
    return {h for h in helpers if re.search(rf"\b{h}\b", src)}


def _helper_source(backend: str, used: dict[str, str], body: str) -> list[str]:
    helpers = _HELPERS[backend]
    names = _calls(helpers, body).union(*(_calls(helpers, src) for src in used.values()))
    return [helpers[h] for h in helpers if h in names] + [f"def {h}(u):\n    return {used[h]}" for h in sorted(used)]


def _conversion(backend: str, name: str, sym: Basic) -> str:
    if isinstance(sym, MatrixSymbol):
        rows, cols = (int(n) for n in sym.shape)
        if backend == "numpy":
            conv = f"numpy.asarray({name}, dtype=float)"
        else:
            conv = f"torch.as_tensor({name}).to(torch.float64)"
        return f"{name} = {conv}.reshape({rows}, {cols})"
    if backend == "numpy":
        return f"{name} = float(numpy.asarray({name}, dtype=float).reshape(()))"
    return f"{name} = torch.as_tensor({name}).to(torch.float64).reshape(())"


def _shape_text(sym: Basic) -> str:
    if isinstance(sym, MatrixSymbol):
        rows, cols = (int(n) for n in sym.shape)
        return f"{rows}," if cols == 1 else f"{rows}×{cols}"
    return "scalar"


@dataclass(frozen=True)
class _Returned:
    """What the emitted function returns: its name's prefix, the docstring's lines on the
    value and its layout, the label (∂y/∂vec(W_1)) and whether a 1×1 result is a 0-d scalar."""

    prefix: str
    lines: tuple[str, ...]
    label: str
    scalar: bool = False


def _returned(proof: Proof, names: dict[Basic, str]) -> _Returned:
    """The mode of the proof (derive's meta["mode"]): ∂y/∂x, ∂y/∂vec(W), ∇_W s or ∇²_x s."""
    mode = proof.meta.get("mode")
    assert proof.result is not None
    m, n = (int(k) for k in proof.result.shape)
    lines: tuple[str, ...]
    if mode is None and "tokens" in proof.meta:  # a token block: X ∈ R^{n×d}
        lines = (
            f"∂vec(Y)/∂vec(X) in numerator layout, an array of shape ({m}, {n}), float64: vec stacks the",
            "columns, so entry i + n·j of vec(X) is X[i, j] (from torch's jacobian of shape (n, d', n, d):",
            f"J.permute(1, 0, 3, 2).reshape({m}, {n})).",
        )
        return _Returned("jacobian", lines, "∂vec(Y)/∂vec(X)")
    if mode is None:
        return _Returned(
            "jacobian", (f"∂y/∂x in numerator layout: J[i, j] = ∂y_i/∂x_j, an array of shape ({m}, {n}), float64.",), "∂y/∂x"
        )
    v = proof.meta["wrt"]
    arg = names.get(v, python_name(str(v)))
    matrix = isinstance(v, MatrixSymbol) and int(v.shape[1]) != 1
    if mode == "wrt" and matrix:
        p, q = (int(k) for k in v.shape)
        lines = (
            f"∂y/∂vec({arg}) in numerator layout, an array of shape ({m}, {n}), float64: vec stacks the columns",
            f"of {arg} ({p}×{q}), so column i + {p}·j (0-based) holds ∂y/∂{arg}[i, j]",
            f"(from torch's jacobian of shape ({m}, {p}, {q}): J.transpose(1, 2).reshape({m}, {n})).",
        )
        return _Returned(f"jacobian_wrt_{arg}", lines, f"∂y/∂vec({arg})")
    if mode == "wrt":
        kind = "a column: the symbol is a scalar" if not isinstance(v, MatrixSymbol) else f"{arg} a vector"
        lines = (f"∂y/∂{arg} in numerator layout: J[i, j] = ∂y_i/∂{arg}_j, an array of shape ({m}, {n}), float64 ({kind}).",)
        return _Returned(f"jacobian_wrt_{arg}", lines, f"∂y/∂{arg}")
    if mode == "grad":
        if matrix:
            shape = f"{m}×{n}, G[i, j] = ∂s/∂{arg}[i, j]"
        elif isinstance(v, MatrixSymbol):
            shape = f"a column, {m}×1 (a vector is a column in symres)"
        else:
            shape = "a 0-d array (a scalar)"
        lines = (
            f"∇_{arg} s, the gradient of the scalar s = gᵀy (g the upstream gradient ∂ℒ/∂y, a column)",
            f"with respect to {arg}, in the shape of {arg}: {shape}, float64.",
        )
        return _Returned(f"gradient_{arg}", lines, f"∇_{arg} s", scalar=not isinstance(v, MatrixSymbol))
    lines = (
        "∇²ₓ s, the Hessian of the scalar s = gᵀy (g the upstream gradient ∂ℒ/∂y, a column)",
        f"with respect to x: H[i, j] = ∂²s/∂x_i∂x_j, a symmetric array of shape ({m}, {n}), float64.",
    )
    return _Returned("hessian", lines, "∇²ₓ s")


def _kink_conventions(expr: Basic, activation: str) -> list[str]:
    """The conventions at the kinks of the functions in expr, with the second derivative's
    value there when f'' appears (ReLU''(0) := 0, as torch's autograd computes it)."""
    out: list[str] = []
    for node in sorted(expr.atoms(Elementwise), key=lambda e: (e.fn, e.order)):
        fn = get_function(activation if node.fn == GENERIC else node.fn)
        if not fn.convention:
            continue
        if fn.convention not in out:
            out.append(fn.convention)
        if node.order == 2:
            head = fn.convention.split("'")[0]
            second = ", ".join(f"{head}''({k:g}) := {float(fn.numpy(2)(np.array([k]))[0]):g}" for k in fn.kinks)
            if second not in out:
                out.append(second)
    return out


def emit(proof: Proof, backend: str = "numpy", *, name: str | None = None) -> str:
    """The source of a module defining one function of a block's symbols that computes the
    derived matrix of `proof` (from `derive`), in NumPy or PyTorch, float64:

    - a Jacobian proof: `jacobian_<block>`, ∂y/∂x in numerator layout (m×d);
    - `wrt="W"`: `jacobian_wrt_W_<block>`, ∂y/∂vec(W) (m×pq, vec stacking the columns);
    - `grad="W"`: `gradient_W_<block>`, ∇_W (gᵀy) in the shape of W (a 0-d array for a scalar);
    - `hessian=True`: `hessian_<block>`, ∇²_x (gᵀy), d×d.

    The arguments are the block's symbols, x first, then its parameters in the order the
    proof lists them (g, the upstream gradient, last); the docstring names the block, what
    is returned and its layout, the activation bound to σ and the convention at kinks."""
    if backend not in BACKENDS:
        raise SymresError(f"--emit {backend!r}: choose one of {', '.join(BACKENDS)}")
    if proof.result is None or "instance" not in proof.meta:
        raise SymresError("--emit needs the proof of a block's Jacobian, derivative, gradient or Hessian (from derive)")
    from symres.activations import get_activation
    from symres.render import text, unicode_math

    inst = proof.meta["instance"]
    activation = proof.meta["activation"]
    params = list(inst.params)
    names = [python_name(str(p.symbol)) for p in params]
    if len(set(names)) != len(names):
        raise SymresError(f"--emit: two symbols share the Python name among {', '.join(map(str, inst.symbols))}")
    renamed = {p.symbol: _renamed(p.symbol, n) for p, n in zip(params, names) if str(p.symbol) != n}
    expr = proof.result.xreplace(renamed) if renamed else proof.result
    used = expr.free_symbols
    printer = _EmitPrinter(backend, activation)
    body = printer.doprint(sizes_to_values(expr))  # a size printed as d is a number in code
    block = proof.meta["block"]
    what = _returned(proof, dict(zip((p.symbol for p in params), names)))
    fname = name or python_name(f"{what.prefix}_" + re.sub(r"\W", "_", block))
    lines = [f"    {n} ({_shape_text(p.symbol)}): {_plain(p.description)}" for p, n in zip(params, names)]
    uses_sigma = any(e.fn == GENERIC for e in proof.result.atoms(Elementwise))
    kinks = _kink_conventions(proof.result, activation)
    sigma = [f"σ = {activation} ({get_activation(activation).title})."] if uses_sigma else []
    title = unicode_math(getattr(inst.block, "title", "") or block)
    doc = [
        f"{what.label} of the block {_plain(block)}: {_plain(title)}.",
        f"Source: {_plain(unicode_math(proof.meta.get('source', '')))}.",
        "",
        "Returns " + what.lines[0],
        *what.lines[1:],
        *sigma,
        f"Convention at kinks: {', '.join(kinks) if kinks else 'none (every function here is differentiable)'}.",
        "",
        "Arguments (in this order, or as keywords; vectors 1-D or as columns):",
        *lines,
        "",
        f"Generated by symres from the derived {what.label} = {_plain(text(proof.result))}",
    ]
    module = "numpy" if backend == "numpy" else "torch"
    imports = ["import math", f"import {module}"] + (["import numpy"] if backend == "torch" and "numpy." in body else [])
    src = [
        f'"""{backend} code generated by symres: {what.label} of the block {_plain(block)}."""',
        "",
        *imports,
        "",
        "",
        *("\n\n\n".join(_helper_source(backend, printer.used, body)).splitlines()),
        "",
        "",
        f"def {fname}({', '.join(names)}):",
        '    """' + "\n".join(("    " + t) if t and i else t for i, t in enumerate(doc)) + '\n    """',
        *(f"    {_conversion(backend, n, p.symbol)}" for p, n in zip(params, names) if renamed.get(p.symbol, p.symbol) in used),
        f"    return ({body}).reshape(())" if what.scalar else f"    return {body}",
        "",
    ]
    return "\n".join(src)


def _renamed(sym: Basic, name: str) -> Basic:
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol(name, *sym.shape)
    return sp.Symbol(name, real=True)


def _plain(s: str) -> str:
    return s.replace('"""', "'''").replace("\\", "\\\\")
