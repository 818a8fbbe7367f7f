"""Path spectra of real residual stacks: the derived Jacobian of a block, evaluated along
an actual forward pass, fed to the exact path DP of `symres.paths`.

A stack of L copies of one block (each with its own parameters) maps h_0 to h_L by
h_ℓ = y_ℓ(h_{ℓ-1}). The block's Jacobian A_ℓ = ∂y/∂x (numerator layout, d×d) is derived
symbolically by `symres.blocks.derive`, lambdified once (`symres.numeric.compile_expr`)
and evaluated for all L blocks in one batched call at the inputs h_{ℓ-1} of the forward
pass. The path decomposition needs ∂h_L/∂h_0 = A_L ⋯ A_1 = (I + J_L) ⋯ (I + J_1), so

    J_ℓ := A_ℓ − I,

which for a block y = x + F(x) is exactly ∂F/∂x at h_{ℓ-1} (the residual branch), and for
a block without an identity shortcut (postact, plain, …) is the deviation of its
Jacobian from the identity; in both cases the product of the (I + J_ℓ) is the true
Jacobian of the stack, which is what the consistency check of the spectrum compares.

Parameters of layer ℓ (drawn in `stack_parameters`, one generator ``default_rng(seed)``
in a fixed order): weight matrices (the block's fan-in-scaled symbols, e.g. W_1, W_2) by
``init``: ``he`` N(0, 2/fan-in), ``xavier`` N(0, 2/(fan-in + fan-out)), ``zero-branch``
He with W_2 (the last layer of the branch) set to zero; normalisation gains γ = 1,
shifts β and biases b = 0, LayerNorm ε = 1e-5. Any other symbol (a gate α, λ, p) has no
natural initial value and must be given (``lets``, e.g. ``{"alpha": "0.1"}``, parsed by
`symres.numeric.parse_value`); ``lets`` may also fix any other symbol for every layer,
and ``weights`` (arrays of shape (L, rows, cols) or (rows, cols), scalars (1, 1), e.g. from an .npz file)
replaces drawn values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from symres.errors import SymresError
from symres.paths import PathSpectrum, ProgressFn, path_spectrum

__all__ = ["INITS", "RealStack", "build_stack", "parameter_names", "stack_parameters", "stack_spectrum", "load_weights"]

INITS = ("he", "xavier", "zero-branch")
Init = Literal["he", "xavier", "zero-branch"]

#: LayerNorm ε at initialisation (PyTorch's default)
LAYERNORM_EPS = 1e-5


@dataclass(frozen=True)
class RealStack:
    """A forward pass through L copies of one block and the derived Jacobians along it.

    ``inputs[ℓ-1]`` = h_{ℓ-1} (shape (L+1, d): h_0..h_L); ``jacobians[ℓ-1]`` = J_ℓ =
    A_ℓ − I with A_ℓ = ∂y/∂x of block ℓ at h_{ℓ-1} (numerator layout, later block left in
    every product); ``grad`` the unit row gradient g at h_L.
    """

    block: str
    depth: int
    width: int
    init: str
    activation: str
    seed: int
    inputs: np.ndarray
    jacobians: np.ndarray
    grad: np.ndarray
    params: dict[str, np.ndarray]

    def describe(self) -> dict[str, Any]:
        """The configuration, JSON-ready."""
        return {
            "block": self.block,
            "depth": self.depth,
            "width": self.width,
            "init": self.init,
            "activation": self.activation,
            "seed": self.seed,
            "jacobian": "J_l = dy/dx of block l at h_{l-1} minus I (derived symbolically, evaluated batched)",
        }


def _shape(sym: Any) -> tuple[int, int]:
    """(rows, cols) of a symbol; (1, 1) for a scalar (as `symres.numeric` batches them)."""
    return (int(sym.shape[0]), int(sym.shape[1])) if getattr(sym, "is_Matrix", False) else (1, 1)


def _default(param: Any, name: str) -> float | None:
    """The value a non-weight parameter has at initialisation (None: must be given)."""
    from symres.blocks import EPSILON, GAIN

    if param.domain == GAIN:
        return 1.0
    if param.domain == EPSILON:
        return LAYERNORM_EPS
    if name.startswith(("beta", "b_")):
        return 0.0
    return None


def stack_parameters(
    instance: Any,
    depth: int,
    *,
    init: str = "he",
    rng: np.random.Generator,
    lets: Mapping[str, str] | None = None,
    weights: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-layer values of every parameter of a block instance (not x): name → array of
    shape (L, rows, cols) (scalars (L, 1, 1)), drawn and fixed as described in the module doc."""
    from symres.numeric import WEIGHT, parse_value

    if init not in INITS:
        raise SymresError(f"unknown --init {init!r}; choose one of {', '.join(INITS)}")
    lets = dict(lets or {})
    weights = dict(weights or {})
    params = {str(p.symbol): p for p in instance.params if p.symbol != instance.x}
    aliases = {n.replace("_", ""): n for n in params}
    given: dict[str, str] = {}
    for key, text in lets.items():
        name = key if key in params else aliases.get(key.replace("_", ""))
        if name is None:
            raise SymresError(f"--let {key}: the block has no parameter {key!r}; its parameters: {', '.join(params)}")
        given[name] = text
    for key in weights:
        if key not in params:
            raise SymresError(f"--weights: the block has no parameter {key!r}; its parameters: {', '.join(params)}")
    out: dict[str, np.ndarray] = {}
    missing = []
    for name, p in params.items():  # drawn in the order the block declares them
        shape = _shape(p.symbol)
        if name in weights:
            arr = np.asarray(weights[name], dtype=np.float64)
            if arr.shape == shape:
                arr = np.broadcast_to(arr, (depth, *shape)).copy()
            if arr.shape != (depth, *shape):
                raise SymresError(f"--weights: {name} has shape {arr.shape}; expected {(depth, *shape)} or {shape}")
            if not np.all(np.isfinite(arr)):
                raise SymresError(f"--weights: {name} holds non-finite values")
            out[name] = arr
        elif name in given:
            value = parse_value(given[name], shape, name)
            out[name] = np.broadcast_to(value, (depth, *shape)).copy()
        elif p.domain == WEIGHT and shape[1] > 1:
            fan_out, fan_in = shape
            var = 2.0 / (fan_in + fan_out) if init == "xavier" else 2.0 / fan_in
            out[name] = math.sqrt(var) * rng.standard_normal((depth, *shape))
            if init == "zero-branch" and name == "W_2":
                out[name][:] = 0.0
        else:
            value0 = _default(p, name)
            if value0 is None:
                missing.append(name)
                continue
            out[name] = np.full((depth, *shape), value0)
    if missing:
        raise SymresError(
            f"no initial value for {', '.join(missing)} (a gate or constant of the block); give it with --let, "
            f"e.g. --let {missing[0]}=0.1"
        )
    if init == "zero-branch" and "W_2" not in params:
        raise SymresError("--init zero-branch zeroes W_2, the last layer of the branch, but the block has no W_2")
    return out


def parameter_names(block: Any, width: int) -> list[str]:
    """The names of the parameters (not x) of ``block`` (a name or a `Block`) at width d."""
    from symres.blocks import Block, get_block

    blk = block if isinstance(block, Block) else get_block(block)
    inst = blk.instance(width)
    return [str(p.symbol) for p in inst.params if p.symbol != inst.x]


def load_weights(path: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (no pickles), name → array."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise SymresError(f"cannot read --weights {path}: {' '.join(str(exc).split())}") from None


def build_stack(
    block: Any,
    depth: int,
    width: int,
    *,
    init: str = "he",
    seed: int = 0,
    activation: str = "relu",
    lets: Mapping[str, str] | None = None,
    weights: Mapping[str, np.ndarray] | None = None,
) -> RealStack:
    """Build L copies of ``block`` (a registered name or a `Block`), run a forward pass
    from h_0 ~ N(0, I_d) and evaluate J_ℓ = ∂y/∂x − I of every block at h_{ℓ-1}.

    One generator ``default_rng(seed)`` draws h_0, then the parameters
    (`stack_parameters`), then the unit row gradient g. The block's Jacobian is derived
    once (`symres.blocks.derive`, check=False: the derivation is checked by `symres
    derive`) and both the forward map and the Jacobian are lambdified once; the
    Jacobians of all L blocks are evaluated in one batched call.
    """
    from symres.blocks import Block, derive, get_block
    from symres.numeric import compile_expr
    from symres.paths import non_negative_int

    depth, width, seed = non_negative_int(depth, "depth"), non_negative_int(width, "width"), non_negative_int(seed, "seed")
    if width < 1:
        raise SymresError("width must be a positive integer, got 0")
    blk = block if isinstance(block, Block) else get_block(block)
    proof = derive(blk, dim=width, activation=activation, check=False)
    inst = proof.meta["instance"]
    if int(inst.forward.shape[0]) != width:
        raise SymresError(
            f"block {blk.name!r} maps R^{width} to R^{int(inst.forward.shape[0])}; a stack needs a block from R^d to R^d"
        )
    rng = np.random.default_rng(seed)
    h0 = rng.standard_normal(width)
    values = stack_parameters(inst, depth, init=init, rng=rng, lets=lets, weights=weights)
    g = rng.standard_normal(width)
    g /= np.linalg.norm(g)
    symbols = inst.symbols
    forward = compile_expr(inst.forward, symbols, activation)
    jac = compile_expr(proof.result, symbols, activation)
    x_name = str(inst.x)
    H = np.empty((depth + 1, width))
    H[0] = h0
    with np.errstate(all="ignore"):
        for l in range(depth):
            point = {name: v[l : l + 1] for name, v in values.items()}
            point[x_name] = H[l].reshape(1, width, 1)
            H[l + 1] = forward(point)[0, :, 0]
            if not np.all(np.isfinite(H[l + 1])):
                raise SymresError(f"the forward pass of {blk.name!r} overflowed at block {l + 1} of {depth}")
        batch = dict(values)
        batch[x_name] = H[:depth].reshape(depth, width, 1)
        A = np.array(jac(batch), dtype=np.float64) if depth else np.zeros((0, width, width))
    if not np.all(np.isfinite(A)):
        raise SymresError(f"the Jacobian of {blk.name!r} is not finite along the forward pass")
    J = A - np.eye(width)
    return RealStack(blk.name, depth, width, init, activation, seed, H, J, g, values)


def stack_spectrum(
    block: Any,
    depth: int,
    width: int,
    *,
    init: str = "he",
    seed: int = 0,
    activation: str = "relu",
    lets: Mapping[str, str] | None = None,
    weights: Mapping[str, np.ndarray] | None = None,
    mc_samples: int = 1000,
    band_threshold: float = 0.9,
    progress: ProgressFn | None = None,
    device: str | None = None,
) -> tuple[RealStack, PathSpectrum]:
    """The exact path-length spectrum of a real stack (`build_stack`), checked against
    the full product as in `symres.paths.path_spectrum` (the DP on ``device``, see
    there). Returns (stack, spectrum)."""
    stack = build_stack(block, depth, width, init=init, seed=seed, activation=activation, lets=lets, weights=weights)
    spec = path_spectrum(
        jacobians=stack.jacobians if depth else np.zeros((0, width, width)),
        grad=stack.grad,
        seed=seed,
        mc_samples=mc_samples,
        mc_lengths=None if depth else (),
        band_threshold=band_threshold,
        progress=progress,
        device=device,
    )
    return stack, spec
