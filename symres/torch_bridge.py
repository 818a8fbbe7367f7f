"""The PyTorch bridge: a user's own nn.Module traced with torch.fx into a symres Block.

`from_torch(module)` traces a module whose forward maps a vector x ∈ R^d (a batch of one,
shape (1, d), or a 1-D tensor (d,)) and writes its graph in symres's `Vocabulary`, so the
Jacobian is derived and every line checked exactly as for a registered block. A module on
signals or images takes `input_shape=(C, L)` or `(C, H, W)` (one input, without the batch
dimension): x ∈ R^d, d = C·L or C·H·W, is that input flattened in C order (torch's
reshape(-1)): entry c·H·W + h·W + w is x[c, h, w]. In vec terms (vec stacks columns),
x = vec(Xᵀ) for the C×HW matrix X whose row c is channel c read row by row. The output y
is flattened the same way. The layers and operations understood:

- nn.Linear (and F.linear): W x + b, W and b named after the layer (`W_1`, `b_1` for
  `fc1`, `W_s` for a `shortcut`, `W_mlp_up` for `mlp.up`);
- nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU (exact) and their functional and method forms;
- nn.LayerNorm over the vector (the vocabulary's LayerNorm, defined from its formula);
- nn.Conv1d and nn.Conv2d (any stride, padding, padding_mode, dilation, groups): a linear
  operator on the flattened input, a matrix symbol K named after the layer's path
  (`K_conv1` for `conv1`, `K_shortcut_0` for `shortcut.0`), its value the operator's matrix
  taken from torch (the convolution without bias applied to the unit basis); the bias is a
  vector symbol `b_conv1`, each channel's bias repeated over its positions;
- nn.BatchNorm1d and nn.BatchNorm2d in eval mode: the diagonal affine map γ ⊙ u + β,
  running statistics folded in, γ and β per channel repeated over its positions;
- nn.Dropout and F.dropout in eval mode, nn.Identity, nn.Flatten, flatten/view/reshape
  (none reorders the entries of the C-order flattening): the identity;
- residual adds and subtractions (`+`, torch.add, torch.sub), multiplication by a number,
  by a scalar parameter (a gate α) or by a vector parameter (diag(λ) u), the elementwise
  product of two branches, matmul with a parameter (`P @ h` is P h; `h @ P` on a row is Pᵀ h).

Anything else is one `SymresError` naming the layer or operation and its node in the graph.
The module's own weights are the block's default evaluation point (`TorchBlock.values`);
`derive_module` derives the Jacobian and checks it against
`torch.autograd.functional.jacobian` on the module itself. torch is imported only here,
and only when one of these functions is called.
"""

from __future__ import annotations

import copy
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sympy as sp
from sympy import Basic, MatrixExpr

from symres.blocks import Block, Vocabulary, derive
from symres.errors import SymresError
from symres.expr import Elementwise, Term, unwrap
from symres.proof import Check, Proof, Step

__all__ = ["TORCH_HINT", "TorchBlock", "autograd_check", "derive_module", "from_torch", "import_torch", "load_module"]

TORCH_HINT = "PyTorch is not installed: pip install 'symres[torch]'"
#: tolerance of the autograd check: max|J_symres − J_torch| / max(1, max|J_torch|), float64 on both sides
AUTOGRAD_TOLERANCE = 1e-9
#: first path components that name a projection shortcut: its weight is W_s
_SHORTCUT_NAMES = ("shortcut", "downsample", "projection", "proj", "skip")
_ACTIVATIONS = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "GELU": "gelu"}
_IDENTITY_MODULES = ("Identity", "Dropout", "Dropout1d", "Dropout2d", "AlphaDropout", "Flatten", "Unflatten")
_CONVOLUTIONS = ("Conv1d", "Conv2d")
_RESHAPES = ("view", "reshape", "flatten", "squeeze", "unsqueeze", "contiguous")


def import_torch() -> Any:
    """The torch module, or a SymresError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise SymresError(TORCH_HINT) from None
    return torch


@dataclass(frozen=True)
class TorchBlock(Block):
    """A Block traced from an nn.Module at input size `dim`.

    `values` maps every symbol except x to its value in the module (NumPy float64 arrays in
    the symbol's shape: W m×n, vectors n×1, scalars 1×1): the default evaluation point.
    `module` is the traced copy in eval mode; `input_shape` the shape x is passed in,
    (1, d) or (d,); `notes` say what was changed to trace it (e.g. eval mode).
    """

    dim: int = 0
    values: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    module: Any = field(default=None, compare=False, repr=False)
    input_shape: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class _Symbols:
    """Readable, unique names for the layers' parameters (one name per layer and kind)."""

    linear: dict[str, str]  # Linear path -> index k of W_k, b_k
    norm: dict[str, str]  # BatchNorm/LayerNorm path -> index k of gamma_k, beta_k
    conv: dict[str, str]  # Conv1d/Conv2d path -> suffix s of K_s, b_s (the path, dots as _)
    params: dict[str, str]  # parameter path (fc1.weight, alpha) -> symbol name


def _short(path: str) -> str:
    head = path.split(".")[0]
    if head in _SHORTCUT_NAMES:
        return "s"
    match = re.fullmatch(r"[A-Za-z]+_?(\d+)", path)
    return match.group(1) if match else path.replace(".", "_")


def _unique(paths: list[str]) -> dict[str, str]:
    short = {p: _short(p) for p in paths}
    counts: dict[str, int] = {}
    for k in short.values():
        counts[k] = counts.get(k, 0) + 1
    return {p: (k if counts[k] == 1 else p.replace(".", "_")) for p, k in short.items()}


def _name_symbols(gm: Any) -> _Symbols:
    torch = import_torch()
    nn = torch.nn
    linear, norm, attrs, convs = [], [], [], []
    for node in gm.graph.nodes:
        if node.op == "call_module":
            mod = gm.get_submodule(node.target)
            if isinstance(mod, nn.Linear):
                linear.append(node.target)
            elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
                norm.append(node.target)
            elif isinstance(mod, (nn.Conv1d, nn.Conv2d)):
                convs.append(node.target)
        elif node.op == "get_attr":
            attrs.append(node.target)
    lin, nrm = _unique(list(dict.fromkeys(linear))), _unique(list(dict.fromkeys(norm)))
    params: dict[str, str] = {}
    for path, k in lin.items():
        params[f"{path}.weight"], params[f"{path}.bias"] = f"W_{k}", f"b_{k}"
    conv = {path: re.sub(r"\W", "_", path) for path in dict.fromkeys(convs)}
    for path, k in conv.items():
        bias = f"b_{k}" if f"b_{k}" not in params.values() else f"bK_{k}"  # fc1's b_1 and a conv at .1
        params[f"{path}.weight"], params[f"{path}.bias"] = f"K_{k}", bias
    taken = set(params.values()) | {"x"} | {f"{g}_{k}" for k in nrm.values() for g in ("gamma", "beta", "epsilon")}
    for path in attrs:
        if path not in params:
            name = re.sub(r"\W", "_", path.replace(".", "_"))
            params[path] = name if name not in taken and name.isidentifier() else f"p_{name}"
            taken.add(params[path])
    return _Symbols(lin, nrm, conv, params)


def _vector_shape(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 1 and all(s == 1 for s in shape[:-1])


def _number(value: float) -> Basic:
    """A Python number as SymPy: exact when SymPy recognises it (0.5 → 1/2), else a Float."""
    exact = sp.nsimplify(value)
    return exact if float(exact) == float(value) else sp.Float(value)


class _Translator:
    """Walks a traced graph and writes it in a Vocabulary. At the module's size it records
    the module's weights; at any other size d it writes the same graph with every size
    mapped injectively (the input size to d, the others to d+1, d+2, …), which is how the
    proof shows its steps symbolically at a small size."""

    def __init__(self, gm: Any, name: str, dim: int, sizes: list[int]) -> None:
        self.gm, self.name, self.dim = gm, name, dim
        self.symbols = _name_symbols(gm)
        others = sorted({s for s in sizes if s not in (dim, 1)})
        self._others = others
        self.values: dict[str, np.ndarray] = {}

    def size(self, d: int, n: int) -> int:
        """The size that the module's size n has in the graph written at input size d."""
        if d == self.dim or n == 1:
            return n
        return d if n == self.dim else d + 1 + self._others.index(n)

    def _record(self, v: Vocabulary, name: str, value: Any) -> None:
        if v.d == self.dim:
            self.values[name] = np.asarray(value.detach().cpu().double().numpy() if hasattr(value, "detach") else value)

    def fail(self, node: Any, what: str) -> SymresError:
        return SymresError(f"{self.name}: {what} at node {node.name!r} of the traced graph is not supported")

    # ------------------------------------------------------------------ parameters
    def param(self, v: Vocabulary, node: Any) -> Term:
        """A parameter read with get_attr: a scalar, a vector or a matrix symbol."""
        tensor = self.gm.get_parameter(node.target) if _is_param(self.gm, node.target) else _buffer(self.gm, node.target)
        if tensor is None:
            raise self.fail(node, f"the attribute {node.target!r}")
        name = self.symbols.params[node.target]
        shape = tuple(tensor.shape)
        if tensor.numel() == 1:
            sym: Basic = v.scalar(name, description=f"{self.name}.{node.target}, a scalar parameter")
            self._record(v, name, tensor.reshape(1, 1))
        elif len(shape) == 1:
            sym = v.vector(name, self.size(v.d, shape[0]), description=f"{self.name}.{node.target}, a vector of {shape[0]}")
            self._record(v, name, tensor.reshape(-1, 1))
        elif len(shape) == 2:
            rows, cols = (self.size(v.d, n) for n in shape)
            sym = v.matrix(name, rows, cols, description=f"{self.name}.{node.target}, {shape[0]}×{shape[1]}")
            self._record(v, name, tensor)
        else:
            raise self.fail(node, f"the {len(shape)}-dimensional parameter {node.target!r}")
        return Term(sym)

    # ------------------------------------------------------------------ layers
    def flat(self, node: Any, features: int, kind: str) -> None:
        """A layer acting on the last axis (Linear, LayerNorm) acts on the whole flattened
        input only when that axis is all of it."""
        shape = _shape(node.args[0])
        if int(np.prod(shape)) != features:
            raise self.fail(node, f"{kind} ({node.target}) on an input of shape {shape} (it acts on the last axis only)")

    def linear(self, v: Vocabulary, path: str, mod: Any, u: Term) -> Term:
        k = self.symbols.linear[path]
        rows, cols = self.size(v.d, mod.out_features), self.size(v.d, mod.in_features)
        W = v.matrix(f"W_{k}", rows, cols, description=f"{self.name}.{path}.weight, {mod.out_features}×{mod.in_features}")
        self._record(v, f"W_{k}", mod.weight)
        out = Term(W) @ u
        if mod.bias is not None:
            b = v.vector(f"b_{k}", rows, description=f"{self.name}.{path}.bias")
            self._record(v, f"b_{k}", mod.bias.reshape(-1, 1))
            out = out + Term(b)
        return out

    def conv(self, v: Vocabulary, node: Any, mod: Any, u: Term) -> Term:
        """A convolution as the linear operator K on the C-order flattening of one input
        (its matrix taken from torch) plus the bias b, each channel's bias repeated over
        the output positions."""
        torch = import_torch()
        kind = type(mod).__name__
        spatial = mod.weight.dim() - 2
        in_shape, out_shape = _shape(node.args[0]), _shape(node)
        one_in, one_out = (s[1:] if len(s) == spatial + 2 else s for s in (in_shape, out_shape))
        n_in, n_out = int(np.prod(one_in)), int(np.prod(one_out))
        rows, cols = self.size(v.d, n_out), self.size(v.d, n_in)
        geometry = ", ".join(
            f"{a} {_tuple_text(getattr(mod, a))}" for a in ("kernel_size", "stride", "padding", "dilation") if hasattr(mod, a)
        )
        extra = f", groups {mod.groups}" if mod.groups != 1 else ""
        extra += f", padding_mode {mod.padding_mode}" if mod.padding_mode != "zeros" else ""
        K = v.matrix(
            self.symbols.params[f"{node.target}.weight"],
            rows,
            cols,
            description=(
                f"{self.name}.{node.target}, {kind}({mod.in_channels}→{mod.out_channels}, {geometry}{extra}) as a linear "
                f"operator from {_shape_text(one_in)} to {_shape_text(one_out)} flattened in C order, {n_out}×{n_in}"
            ),
        )
        if v.d == self.dim:
            with torch.no_grad():
                basis = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *one_in)
                image = mod._conv_forward(basis, mod.weight.detach().double(), None)  # padding_mode as the layer's
                self._record(v, str(K), image.reshape(n_in, n_out).T)
        out = Term(K) @ u
        if mod.bias is not None:
            name = self.symbols.params[f"{node.target}.bias"]
            positions = n_out // mod.out_channels
            b = v.vector(name, rows, description=f"{self.name}.{node.target}.bias, each channel's repeated {positions}×")
            self._record(v, name, mod.bias.detach().double().repeat_interleave(positions).reshape(-1, 1))
            out = out + Term(b)
        return out

    def batchnorm(self, v: Vocabulary, node: Any, mod: Any, u: Term) -> Term:
        """BatchNorm in eval mode: γ ⊙ u + β with the running statistics folded into γ and
        β, one value per channel repeated over the channel's positions (BatchNorm2d, or
        BatchNorm1d on (N, C, L))."""
        torch = import_torch()
        if mod.training or mod.running_mean is None:
            kind = type(mod).__name__
            raise self.fail(node, f"{kind} {node.target!r} without running statistics (it normalises over the batch)")
        k = self.symbols.norm[node.target]
        out = Term(v.bn(unwrap(u), k))  # type: ignore[arg-type]
        with torch.no_grad():
            scale = torch.rsqrt(mod.running_var.double() + mod.eps)
            if mod.weight is not None:
                scale = scale * mod.weight.double()
            shift = -mod.running_mean.double() * scale
            if mod.bias is not None:
                shift = shift + mod.bias.double()
        positions = int(np.prod(_shape(node.args[0]))) // mod.num_features
        self._record(v, f"gamma_{k}", scale.repeat_interleave(positions).reshape(-1, 1))
        self._record(v, f"beta_{k}", shift.repeat_interleave(positions).reshape(-1, 1))
        return out

    def layernorm(self, v: Vocabulary, node: Any, mod: Any, u: Term) -> Term:
        torch = import_torch()
        if len(mod.normalized_shape) != 1:
            raise self.fail(node, f"LayerNorm {node.target!r} over the shape {tuple(mod.normalized_shape)}")
        k = self.symbols.norm[node.target]
        out = Term(v.layernorm(unwrap(u), k))  # type: ignore[arg-type]
        n = mod.normalized_shape[0]
        self._record(v, f"gamma_{k}", (mod.weight if mod.weight is not None else torch.ones(n)).reshape(-1, 1))
        bias = getattr(mod, "bias", None)
        self._record(v, f"beta_{k}", (bias if bias is not None else torch.zeros(n)).reshape(-1, 1))
        self._record(v, f"epsilon_{k}", np.array([[float(mod.eps)]]))
        return out

    def call_module(self, v: Vocabulary, node: Any, args: list[Any]) -> Term:
        torch = import_torch()
        nn = torch.nn
        mod = self.gm.get_submodule(node.target)
        kind = type(mod).__name__
        u = args[0] if args else None
        if not isinstance(u, Term) or len(args) != 1 or node.kwargs:
            raise self.fail(node, f"the layer {kind} ({node.target}) called with these arguments")
        if isinstance(mod, nn.Linear):
            self.flat(node, mod.in_features, "Linear")
            return self.linear(v, node.target, mod, u)
        if kind in _CONVOLUTIONS and isinstance(mod, getattr(nn, kind)):
            return self.conv(v, node, mod, u)
        if isinstance(mod, nn.GELU) and mod.approximate != "none":
            raise self.fail(node, f"GELU(approximate={mod.approximate!r}) ({node.target})")
        if kind in _ACTIVATIONS and isinstance(mod, getattr(nn, kind)):
            return Term(v.act(_ACTIVATIONS[kind], unwrap(u)))
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            return self.batchnorm(v, node, mod, u)
        if isinstance(mod, nn.LayerNorm):
            if len(mod.normalized_shape) == 1:
                self.flat(node, mod.normalized_shape[0], "LayerNorm")
            return self.layernorm(v, node, mod, u)
        if kind in _IDENTITY_MODULES and isinstance(mod, getattr(nn, kind)):
            return u  # eval mode: dropout is the identity
        raise self.fail(node, f"the layer {kind} ({node.target})")

    # ------------------------------------------------------------------ functions
    def call_function(self, v: Vocabulary, node: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        torch = import_torch()
        F = torch.nn.functional
        fn = node.target
        act = {torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", F.tanh: "tanh"}
        act.update({torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", F.gelu: "gelu"})
        if fn in act:
            if kwargs.get("approximate", "none") != "none" or kwargs.get("inplace", False):
                raise self.fail(node, f"{_fname(fn)} with {kwargs}")
            return Term(v.act(act[fn], unwrap(args[0])))
        if fn is F.dropout:
            if kwargs.get("training", args[2] if len(args) > 2 else True):
                raise self.fail(node, "dropout in training mode (random)")
            return args[0]
        if fn in (operator.add, torch.add, operator.sub, torch.sub) and "alpha" not in kwargs and len(args) == 2:
            a, b = (self.operand(node, x) for x in args)
            return a + b if fn in (operator.add, torch.add) else a - b
        if fn in (operator.mul, torch.mul) and len(args) == 2:
            return self.times(node, *args)
        if fn is operator.truediv and len(args) == 2 and not isinstance(args[1], Term):
            return self.operand(node, args[0]) / self.operand(node, args[1])
        if fn is operator.neg:
            return -self.operand(node, args[0])
        if fn in (operator.matmul, torch.matmul) and len(args) == 2:
            return self.matmul(node, *args)
        if fn is F.linear:
            u, W = args[0], self.operand(node, args[1])
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            out = W @ u
            return out if b is None else out + self.operand(node, b)
        if fn is torch.flatten:
            return self.reshaped(node, args[0])
        raise self.fail(node, f"the operation {_fname(fn)}")

    def operand(self, node: Any, a: Any) -> Any:
        if isinstance(a, (Term, _Param)):
            return a.term if isinstance(a, _Param) else a
        if isinstance(a, (int, float)) and not isinstance(a, bool):
            return _number(a)
        raise self.fail(node, f"the operand {a!r} of {_fname(node.target)}")

    def times(self, node: Any, a: Any, b: Any) -> Term:
        for p, u in ((a, b), (b, a)):  # a vector parameter λ times a branch: diag(λ) u
            if isinstance(p, _Param) and isinstance(u, Term) and p.term.shape[1:] == (1,) and p.term.shape[0] != 1:
                return Term(p.vocab.diag(unwrap(p.term))) @ u
        return self.operand(node, a) * self.operand(node, b)  # type: ignore[no-any-return]

    def matmul(self, node: Any, a: Any, b: Any) -> Term:
        if isinstance(a, Term) and isinstance(b, _Param) and _vector_shape(_shape(node.args[0])):  # (h P)ᵀ = Pᵀ h
            return b.term.T @ a
        if isinstance(a, _Param) and isinstance(b, Term) and len(_shape(node.args[1])) == 1:
            return a.term @ b
        raise self.fail(node, "matmul of these operands (only a parameter times the vector)")

    def reshaped(self, node: Any, u: Any) -> Term:
        """A reshape keeps the C-order flattening of one input: the identity on x's entries."""
        if not isinstance(u, Term):
            raise self.fail(node, f"{_fname(node.target)} of {u!r}")
        return u

    # ------------------------------------------------------------------ the walk
    def build(self, v: Vocabulary) -> MatrixExpr:
        env: dict[Any, Any] = {}
        x_seen = False
        for node in self.gm.graph.nodes:
            args = [_lookup(env, a) for a in node.args]
            kwargs = {k: _lookup(env, a) for k, a in node.kwargs.items()}
            if node.op == "placeholder":
                if x_seen:
                    raise self.fail(node, "a second input")
                env[node], x_seen = Term(v.x), True
            elif node.op == "get_attr":
                env[node] = _Param(self.param(v, node), v)
            elif node.op == "call_module":
                env[node] = self.call_module(v, node, args)
            elif node.op == "call_function":
                env[node] = self.call_function(v, node, args, kwargs)
            elif node.op == "call_method":
                env[node] = self.call_method(v, node, args, kwargs)
            elif node.op == "output":
                out = args[0]
                if not isinstance(out, Term):
                    raise self.fail(node, "an output that is not one tensor")
                return unwrap(out)  # type: ignore[no-any-return]
        raise SymresError(f"{self.name}: the traced graph has no output")

    def call_method(self, v: Vocabulary, node: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = node.target
        if name in ("relu", "tanh", "sigmoid") and len(args) == 1:
            return Term(v.act(name, unwrap(args[0])))
        if name in ("add", "sub") and len(args) == 2 and not kwargs:
            a, b = (self.operand(node, x) for x in args)
            return a + b if name == "add" else a - b
        if name == "mul" and len(args) == 2:
            return self.times(node, *args)
        if name in _RESHAPES:
            return self.reshaped(node, args[0])
        raise self.fail(node, f"the method .{name}()")


@dataclass(frozen=True)
class _Param:
    """A parameter read by get_attr: its symbol (as a Term), kept apart from the branches."""

    term: Term
    vocab: Vocabulary


def _lookup(env: dict[Any, Any], a: Any) -> Any:
    if isinstance(a, (list, tuple)):
        return type(a)(_lookup(env, b) for b in a)
    return env.get(a, a) if _is_node(a) else a


def _is_node(a: Any) -> bool:
    import torch.fx

    return isinstance(a, torch.fx.Node)


def _shape(node: Any) -> tuple[int, ...]:
    """The shape of the tensor a node computed in `_propagate` (() when not a tensor)."""
    return tuple(node.meta.get("symres_shape", ())) if _is_node(node) else ()


def _tuple_text(t: Any) -> str:
    """(3, 3) → 3×3, (1,) → 1, 'same' → same."""
    if isinstance(t, tuple):
        return "×".join(map(str, t)) if len(set(t)) > 1 else str(t[0])
    return str(t)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _fname(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", repr(fn))
    return f"{module}.{name}" if module and module not in ("_operator", "builtins") else name


def _is_param(gm: Any, path: str) -> bool:
    try:
        gm.get_parameter(path)
    except AttributeError:
        return False
    return True


def _buffer(gm: Any, path: str) -> Any:
    try:
        return gm.get_buffer(path)
    except AttributeError:
        return None


def _nodes_from_input(gm: Any) -> Iterator[Any]:
    """The nodes that use the input, directly or not, breadth first (nearest first)."""
    frontier = [n for n in gm.graph.nodes if n.op == "placeholder"][:1]
    seen = set()
    while frontier:
        node = frontier.pop(0)
        for user in node.users:
            if user not in seen:
                seen.add(user)
                yield user
                frontier.append(user)


def _infer_dim(gm: Any) -> int | None:
    """The input size d read off the first layer that fixes it (Linear, BatchNorm1d,
    LayerNorm, a parameter matmul), or None."""
    torch = import_torch()
    nn = torch.nn
    for node in _nodes_from_input(gm):
        if node.op == "call_module":
            mod = gm.get_submodule(node.target)
            if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.BatchNorm2d)):
                return None  # the channels are known, the length or height and width are not
            if isinstance(mod, nn.Linear):
                return int(mod.in_features)
            if isinstance(mod, nn.BatchNorm1d):
                return int(mod.num_features)
            if isinstance(mod, nn.LayerNorm) and len(mod.normalized_shape) == 1:
                return int(mod.normalized_shape[0])
        if node.op == "call_function" and node.target in (operator.matmul, torch.matmul, torch.nn.functional.linear):
            for a in node.args:
                if getattr(a, "op", None) == "get_attr" and _is_param(gm, a.target):
                    shape = tuple(gm.get_parameter(a.target).shape)
                    if len(shape) == 2:
                        if node.target is torch.nn.functional.linear:
                            return int(shape[1])
                        return int(shape[0] if a is node.args[1] else shape[1])
    return None


def _needs_eval(module: Any, gm: Any) -> bool:
    """The module is in training mode and has a layer that behaves differently in eval mode."""
    torch = import_torch()
    nn = torch.nn
    kinds = (nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout, nn.Dropout1d, nn.AlphaDropout)
    functional = any(n.op == "call_function" and n.target is nn.functional.dropout for n in gm.graph.nodes)
    return bool(module.training) and (functional or any(isinstance(m, kinds) for m in module.modules()))


def from_torch(
    module: Any,
    *,
    dim: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    name: str | None = None,
    source: str = "",
) -> TorchBlock:
    """The Block of an nn.Module whose forward maps a vector x ∈ R^d (passed as (1, d), or
    (d,) when the module wants a 1-D tensor) to a vector y ∈ R^m.

    `input_shape`, the shape of one input without the batch dimension ((C, L) for Conv1d,
    (C, H, W) for Conv2d), makes x ∈ R^d, d = C·H·W, that input flattened in C order
    (passed as (1, C, H, W), or (C, H, W) when the module wants no batch dimension); the
    output is flattened in C order too (see the module's docstring for vec).

    The module is traced with torch.fx on a copy in eval mode (a module in training mode
    is switched, and `notes` says so); `dim` is read off the first layer when not given.
    Weights become named symbols (`W_1`, `b_1` for `fc1`; `W_s` for a `shortcut`; a scalar
    parameter `alpha` stays `alpha`), their values in `TorchBlock.values`. The Jacobian
    derived from it is ∂y/∂x in numerator layout, m×d. An unsupported layer or operation
    is a SymresError naming it and its node in the graph.
    """
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise SymresError(f"{name or type(module).__name__} is a {type(module).__name__}, not a torch.nn.Module")
    label = name or type(module).__name__
    try:
        copied = copy.deepcopy(module).eval()
        gm = torch.fx.symbolic_trace(copied)
    except (Exception, SystemExit) as exc:  # the user's forward: one line, not a traceback
        raise SymresError(f"torch.fx cannot trace {label}: {type(exc).__name__}: {_one_line(exc)}") from None
    notes = []
    if _needs_eval(module, gm):
        notes.append(f"{label} is in training mode; traced in eval mode (BatchNorm with its running statistics, Dropout off)")
    if input_shape is not None:
        if not input_shape or any(int(n) < 1 for n in input_shape):
            raise SymresError(f"--input-shape must be positive integers such as 1,6,6, got {','.join(map(str, input_shape))}")
        size = int(np.prod(input_shape))
        if dim is not None and dim != size:
            raise SymresError(f"--dim {dim} and --input-shape {','.join(map(str, input_shape))} (size {size}) disagree")
        d = size
        shapes: tuple[tuple[int, ...], ...] = ((1, *input_shape), tuple(input_shape))
    else:
        inferred = dim if dim is not None else _infer_dim(gm)
        if inferred is None:
            raise SymresError(
                f"cannot read the input size of {label} off its first layer; give it with --dim (dim=), "
                f"or the shape of one input with --input-shape C,H,W (input_shape=)"
            )
        d = inferred
        shapes = ((1, d), (d,))
    if d < 1:
        raise SymresError(f"--dim must be a positive integer, got {d}")
    passed_shape, out_shape = _propagate(gm, shapes, label)
    if not out_shape:
        raise SymresError(f"{label} maps R^{d} to a number, not a tensor with a batch of one")
    sizes = _sizes(gm, d)
    tr = _Translator(gm, label, d, sizes)
    m = int(np.prod(out_shape))
    block = TorchBlock(
        name=label,
        title=f"the PyTorch module {label}, traced with torch.fx" + _flattening(input_shape, d),
        source=source or f"the nn.Module {label}",
        build=tr.build,
        out_dim=lambda k: tr.size(k, m),
        dim=d,
        values=tr.values,
        module=gm,
        input_shape=passed_shape,
        notes=tuple(notes),
    )
    forward = block.instance(d).forward  # writes the graph once: an unsupported node fails here; records the weights
    conventions = sorted({c for c in map(_convention, forward.atoms(Elementwise)) if c})
    return replace(block, title=f"{block.title}; {', '.join(conventions)} as in PyTorch") if conventions else block


def _flattening(input_shape: tuple[int, ...] | None, d: int) -> str:
    """How x holds an input of several axes: its flattening in C order."""
    if input_shape is None or len(input_shape) < 2:
        return ""
    rest = int(np.prod(input_shape[1:]))
    row = "a row" if len(input_shape) == 2 else "a row, read row by row"
    return (
        f", on one input of shape {_shape_text(tuple(input_shape))}: x ∈ R^{d} is it flattened in C order "
        f"(x = vec(Xᵀ), X the {input_shape[0]}×{rest} matrix with one channel {row}), y likewise"
    )


def _convention(node: Elementwise) -> str:
    from symres.activations import get_function

    return get_function(node.fn).convention


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _propagate(gm: Any, shapes: tuple[tuple[int, ...], ...], label: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Run the traced module on a zero input of the first of `shapes` it accepts ((1, d),
    else (d,)), recording every node's shape; returns (input shape, output shape)."""
    torch = import_torch()

    class Shapes(torch.fx.Interpreter):  # type: ignore[misc, name-defined]
        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            n.meta["symres_shape"] = tuple(out.shape) if isinstance(out, torch.Tensor) else ()
            return out

    error: BaseException | None = None
    dtype = next((t.dtype for t in (*gm.parameters(), *gm.buffers()) if t.is_floating_point()), torch.float32)
    for shape in shapes:
        try:
            with torch.no_grad():
                interpreter = Shapes(gm)
                interpreter.extra_traceback = False  # the user's error as it is, in one line
                interpreter.run(torch.zeros(shape, dtype=dtype))
        except (Exception, SystemExit) as exc:  # the user's forward rejects this shape: try the other
            error = exc
            continue
        out = [n for n in gm.graph.nodes if n.op == "output"][0]
        return shape, _shape(out.args[0]) if _is_node(out.args[0]) else ()
    why = f"{type(error).__name__}: {_one_line(error)}" if error is not None else "no shape fits"
    what = f"of size {shapes[-1][0]}" if len(shapes[-1]) == 1 else f"of shape {_shape_text(shapes[-1])}"
    raise SymresError(f"{label} does not accept an input x {what}: {why}")


def _sizes(gm: Any, d: int) -> list[int]:
    """Every tensor size met in the graph (the input size d first)."""
    sizes = [d]
    for node in gm.graph.nodes:
        sizes += [int(s) for s in _shape(node)] + [int(np.prod(_shape(node)))]
        if node.op == "get_attr":
            tensor = _buffer(gm, node.target) if not _is_param(gm, node.target) else gm.get_parameter(node.target)
            sizes += [int(s) for s in getattr(tensor, "shape", ())]
    for mod in gm.modules():
        for attr in ("in_features", "out_features", "num_features"):
            if isinstance(getattr(mod, attr, None), int):
                sizes.append(int(getattr(mod, attr)))
    return sizes


# --------------------------------------------------------------------------- the autograd check


def module_function(block: TorchBlock) -> Callable[[Any], Any]:
    """The module in float64 as a function of a 1-D tensor x (d,) returning y (m,)."""
    model = copy.deepcopy(block.module).double()

    def f(x: Any) -> Any:
        return model(x.reshape(block.input_shape)).reshape(-1)

    return f


def autograd_check(proof: Proof, block: TorchBlock, *, points: int = 4, seed: int = 0) -> tuple[Check, float]:
    """Compare the derived Jacobian (and the traced forward map) with
    torch.autograd.functional.jacobian of the module itself, at the module's own weights
    and `points` seeded random inputs x ~ N(0, I), in float64 on both sides.

    Returns the Check (max_error relative: max|ΔJ| / max(1, max|J_torch|), also for y) and
    the max absolute error of the Jacobians."""
    torch = import_torch()
    from symres.numeric import evaluate

    f = module_function(block)
    rng = np.random.default_rng(seed)
    rel, absolute = 0.0, 0.0
    for _ in range(points):
        x = rng.standard_normal(block.dim)
        t = torch.tensor(x, dtype=torch.float64)
        J_torch = torch.autograd.functional.jacobian(f, t).numpy()
        with torch.no_grad():
            y_torch = f(t).numpy()
        out, _ = evaluate(
            {"J": proof.result, "y": proof.meta["forward"]},
            {**block.values, "x": x[:, None]},
            activation=proof.meta["activation"],
        )
        dJ = float(np.max(np.abs(out["J"] - J_torch)))
        dy = float(np.max(np.abs(out["y"][:, 0] - y_torch)))
        absolute = max(absolute, dJ)
        rel = max(rel, dJ / max(1.0, float(np.max(np.abs(J_torch)))), dy / max(1.0, float(np.max(np.abs(y_torch)))))
    passed = bool(rel <= AUTOGRAD_TOLERANCE)
    detail = (
        f"against torch.autograd.functional.jacobian of the module itself at its own weights, float64, "
        f"x ~ N(0, I); the output y compared too; max abs error of the Jacobian {absolute:.1e}"
    )
    check = Check("numeric", passed, detail, trials=points, max_error=rel, tolerance=AUTOGRAD_TOLERANCE, seed=seed)
    return check, absolute


def derive_module(
    module: Any,
    *,
    dim: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    trials: int = 200,
    seed: int = 0,
    points: int = 4,
    source: str = "",
) -> Proof:
    """The Jacobian ∂y/∂x (numerator layout, m×d) of an nn.Module (or a TorchBlock), derived
    and checked as for any block, plus one more checked fact: it agrees with
    torch.autograd.functional.jacobian on the module itself at its own weights
    (`proof.meta["autograd"]`: passed, max_abs_error, max_error, points, seed)."""
    block = module if isinstance(module, TorchBlock) else from_torch(module, dim=dim, input_shape=input_shape, source=source)
    proof = derive(block, dim=block.dim, trials=trials, seed=seed)
    check, absolute = autograd_check(proof, block, points=points, seed=seed)
    fact = Step(
        rhs=proof.result,
        lhs=r"\frac{\partial y}{\partial x}\Big|_{\text{torch}}",
        reason="torch.autograd.functional.jacobian of the module itself, at its own weights, agrees with the derived Jacobian",
        check=check,
        short="torch autograd",
    )
    autograd = {
        "passed": check.passed,
        "max_abs_error": absolute,
        "max_error": check.max_error,
        "tolerance": check.tolerance,
        "points": points,
        "seed": seed,
    }
    meta = {**proof.meta, "autograd": autograd, "notes": list(block.notes), "dim": block.dim}
    return replace(proof, facts=(*proof.facts, fact), meta=meta)


def load_module(spec: str) -> Any:
    """The nn.Module named by `path/file.py:Name` or `package.module:Name`: an instance as
    it is, a subclass of nn.Module instantiated as Name() (the module's code
    runs guarded: an exception, or SystemExit, is one SymresError line naming it)."""
    import inspect

    torch = import_torch()
    from symres.blocks import load_object

    obj = load_object(spec, "--module")
    attr = spec.rpartition(":")[2]
    if isinstance(obj, torch.nn.Module):
        return obj
    if not (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        raise SymresError(f"--module {spec!r}: {attr} is a {type(obj).__name__}, not an nn.Module or a subclass of it")
    try:
        inspect.signature(obj).bind()
    except TypeError:
        raise SymresError(
            f"--module {spec!r}: {attr}() needs arguments {inspect.signature(obj)}; give them defaults, "
            f"or name an instance (e.g. block = {attr}(...)) instead"
        ) from None
    except ValueError:  # no signature to read: let the call say
        pass
    try:
        return obj()
    except (Exception, SystemExit) as exc:  # the user's constructor: one line, not a traceback
        raise SymresError(f"--module {spec!r}: {attr}() raised {type(exc).__name__}: {_one_line(exc)}") from None
