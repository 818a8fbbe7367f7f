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

import sympy as sp
from sympy import Basic, MatrixSymbol

from symres.activations import GENERIC, get_function
from symres.errors import SymresError
from symres.expr import Deriv, Elementwise, sizes_to_values
from symres.numeric import BatchPrinter
from symres.proof import Proof

__all__ = ["BACKENDS", "emit", "python_name"]

BACKENDS = ("numpy", "torch")

# each catalogue function and its derivative, written once per backend; `u` the argument
_FUNCTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "numpy": {
        "relu": ("numpy.maximum(u, 0.0)", "(u > 0).astype(float)"),
        "tanh": ("numpy.tanh(u)", "1.0 - numpy.tanh(u) ** 2"),
        "sigmoid": ("0.5 * (1.0 + numpy.tanh(0.5 * u))", "_sigmoid(u) * (1.0 - _sigmoid(u))"),
        "gelu": (
            "0.5 * u * (1.0 + _erf(u / math.sqrt(2.0)))",
            "0.5 * (1.0 + _erf(u / math.sqrt(2.0))) + u * numpy.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)",
        ),
        "identity": ("u", "numpy.ones_like(u)"),
        "rsqrt": ("1.0 / numpy.sqrt(u)", "-0.5 / (u * numpy.sqrt(u))"),
        "exp": ("numpy.exp(u)", "numpy.exp(u)"),
        "log": ("numpy.log(u)", "1.0 / u"),
        "sin": ("numpy.sin(u)", "numpy.cos(u)"),
        "cos": ("numpy.cos(u)", "-numpy.sin(u)"),
        "tan": ("numpy.tan(u)", "1.0 / numpy.cos(u) ** 2"),
        "sqrt": ("numpy.sqrt(u)", "0.5 / numpy.sqrt(u)"),
    },
    "torch": {
        "relu": ("torch.relu(u)", "(u > 0).to(u.dtype)"),
        "tanh": ("torch.tanh(u)", "1.0 - torch.tanh(u) ** 2"),
        "sigmoid": ("torch.sigmoid(u)", "torch.sigmoid(u) * (1.0 - torch.sigmoid(u))"),
        "gelu": (
            "0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0)))",
            "0.5 * (1.0 + torch.erf(u / math.sqrt(2.0))) + u * torch.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)",
        ),
        "identity": ("u", "torch.ones_like(u)"),
        "rsqrt": ("torch.rsqrt(u)", "-0.5 * torch.rsqrt(u) ** 3"),
        "exp": ("torch.exp(u)", "torch.exp(u)"),
        "log": ("torch.log(u)", "1.0 / u"),
        "sin": ("torch.sin(u)", "torch.cos(u)"),
        "cos": ("torch.cos(u)", "-torch.sin(u)"),
        "tan": ("torch.tan(u)", "1.0 / torch.cos(u) ** 2"),
        "sqrt": ("torch.sqrt(u)", "0.5 * torch.rsqrt(u)"),
    },
}

# the array helpers the printer's code calls (see numeric.BatchPrinter)
_HELPERS: dict[str, dict[str, str]] = {
    "numpy": {
        "_eye": "def _eye(n):\n    return numpy.eye(n)",
        "_zeros": "def _zeros(m, n):\n    return numpy.zeros((m, n))",
        "_ones": "def _ones(m, n):\n    return numpy.ones((m, n))",
        "_T": "def _T(a):\n    return numpy.swapaxes(a, -1, -2)",
        "_diag": "def _diag(v):\n    return v * numpy.eye(v.shape[-2])",
        "_vstack": "def _vstack(*parts):\n    return numpy.concatenate(parts, axis=-2)",
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


class _EmitPrinter(BatchPrinter):
    """The numeric backend's printer, writing named helpers for σ and σ' instead of the
    slots of a compiled batch, and `backend.` for the array module."""

    def __init__(self, backend: str, activation: str) -> None:
        super().__init__({})
        self.backend, self.activation = backend, activation
        self.used: set[str] = set()

    def _print_Elementwise(self, expr: Elementwise) -> str:
        name = self.activation if expr.fn == GENERIC else expr.fn
        get_function(name)  # a SymresError for a name outside the catalogue
        if expr.order > 1 or name not in _FUNCTIONS[self.backend]:
            raise SymresError(f"--emit: no {self.backend} code for derivative {expr.order} of {name}")
        helper = f"_{name}" + ("_d" if expr.order == 1 else "")
        self.used.add(helper)
        return f"{helper}({self._print(expr.arg)})"

    def _print_Deriv(self, expr: Deriv) -> str:
        raise SymresError("--emit: the expression still holds an unevaluated derivative")


def _helper_source(backend: str, used: set[str], body: str) -> list[str]:
    funcs = _FUNCTIONS[backend]
    out: list[str] = []
    names = [h for h in _HELPERS[backend] if re.search(rf"\b{h}\(", body)]
    for helper in sorted(used):
        name, order = (helper[1:-2], 1) if helper.endswith("_d") else (helper[1:], 0)
        src = funcs[name][order]
        names += [h for h in _HELPERS[backend] if re.search(rf"\b{h}\(", src)]
        out.append(f"def {helper}(u):\n    return {src}")
    defs = [_HELPERS[backend][h] for h in _HELPERS[backend] if h in names]
    return defs + out


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


def emit(proof: Proof, backend: str = "numpy", *, name: str | None = None) -> str:
    """The source of a module defining `jacobian_<block>(x, …)`: the derived Jacobian ∂y/∂x
    of a block's proof (from `derive`), numerator layout (m×d), in NumPy or PyTorch.

    The arguments are the block's symbols, x first, then its parameters in the order the
    proof lists them; the docstring names the block, the layout, the activation bound to
    σ and the convention at kinks."""
    if backend not in BACKENDS:
        raise SymresError(f"--emit {backend!r}: choose one of {', '.join(BACKENDS)}")
    if proof.result is None or "instance" not in proof.meta:
        raise SymresError("--emit needs the proof of a block's Jacobian (from derive)")
    from symres.activations import get_activation
    from symres.render import text

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
    fname = name or python_name("jacobian_" + re.sub(r"\W", "_", block))
    m, d = (int(n) for n in proof.result.shape)
    lines = [f"    {n} ({_shape_text(p.symbol)}): {_plain(p.description)}" for p, n in zip(params, names)]
    uses_sigma = any(e.fn == GENERIC for e in proof.result.atoms(Elementwise))
    acts = {activation if e.fn == GENERIC else e.fn for e in proof.result.atoms(Elementwise)}
    kinks = sorted({get_function(a).convention for a in acts if get_function(a).convention})
    sigma = f" σ = {activation} ({get_activation(activation).title})." if uses_sigma else ""
    doc = [
        f"∂y/∂x, the {_plain(proof.title)}.",
        f"Source: {_plain(proof.meta.get('source', ''))}.",
        "",
        f"Numerator layout: J[i, j] = ∂y_i/∂x_j, a {m}×{d} array (float64).{sigma}",
        f"Convention at kinks: {', '.join(kinks) if kinks else 'none (every function here is differentiable)'}.",
        "",
        "Arguments (in this order, or as keywords; vectors 1-D or as columns):",
        *lines,
        "",
        f"Generated by symres from the derived Jacobian {text(proof.result)}",
    ]
    module = "numpy" if backend == "numpy" else "torch"
    imports = ["import math", f"import {module}"] + (["import numpy"] if backend == "torch" and "numpy." in body else [])
    src = [
        f'"""{backend} code generated by symres: the derived Jacobian of the block {block}."""',
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
        f"    return {body}",
        "",
    ]
    return "\n".join(src)


def _renamed(sym: Basic, name: str) -> Basic:
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol(name, *sym.shape)
    return sp.Symbol(name, real=True)


def _plain(s: str) -> str:
    return s.replace('"""', "'''").replace("\\", "\\\\")
