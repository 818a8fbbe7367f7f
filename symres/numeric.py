"""The numeric backend: the printed SymPy expression, evaluated with NumPy.

An expression is lambdified once, by a subclass of SymPy's NumPy printer, into a
function that evaluates a whole batch of instances at a time: every symbol carries a
leading trial axis (a d×n matrix symbol is an array (N, d, n), a scalar (N, 1, 1)).
Unevaluated derivatives `Deriv(u, x)` are evaluated by central finite differences of
u, so the very same mechanism checks a derived Jacobian and every line of a proof.

Instances are drawn from `numpy.random.default_rng(seed)`: reproducible from the seed.
"""

from __future__ import annotations

import functools
import keyword
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy import Basic, MatrixExpr, MatrixSymbol
from sympy.printing.numpy import NumPyPrinter

from symres.activations import GENERIC, Activation, get_activation, get_function
from symres.errors import SymresError
from symres.expr import (
    Abbrev,
    Defined,
    DefinedJacobian,
    Deriv,
    Det,
    Elementwise,
    Inv,
    Kron,
    LogDet,
    Scalar,
    Tr,
    Vec,
    VStack,
    sizes_to_values,
)
from symres.proof import Check
from symres.tokens import NUMPY as TOKEN_NUMPY

__all__ = [
    "BatchPrinter",
    "Domain",
    "POSITIVE",
    "Kink",
    "Compiled",
    "compile_expr",
    "draw",
    "check_equal",
    "evaluate",
    "parse_value",
    "FD_STEP",
    "TOLERANCE",
]

Array = np.ndarray

#: central finite-difference step: truncation ~h², rounding ~eps/h, both ≲ 1e-10 here
FD_STEP = 1e-5
#: default tolerance on the relative error max|a-b| / max(1, max|b|) of one instance
TOLERANCE = 1e-6
#: the most numbers drawn in one batch (2^27 floats = 1 GiB); beyond it, a clear error
MAX_ENTRIES = 2**27
#: instances whose activation arguments lie this close to a kink are drawn again, since
#: a finite difference across a kink measures neither one-sided derivative
KINK_MARGIN = 1e-4
#: instances whose arguments of a function with poles (tan) come this close to a pole
#: (measured as the function's `pole_gap`, |cos t| for tan) are drawn again
POLE_MARGIN = 0.1


@dataclass(frozen=True)
class Domain:
    """How to draw random instances of one symbol: entries ~ N(loc, scale²) or,
    with `low`/`high`, uniform on [low, high]. `scale=None` means 1/√(columns of the
    matrix the symbol multiplies), the usual fan-in scaling of weights."""

    loc: float = 0.0
    scale: float | None = 1.0
    low: float | None = None
    high: float | None = None
    description: str = ""
    above: float | None = None  # the values the symbol may take at all: every entry > above (ε > 0)

    def admits(self, value: Array) -> bool:
        """Whether value (a point given by the user) lies where the symbol is defined."""
        return self.above is None or bool(np.all(np.asarray(value) > self.above))

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
        if self.low is not None and self.high is not None:
            return rng.uniform(self.low, self.high, size=shape)
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(shape[-1])
        return self.loc + scale * rng.standard_normal(shape)


WEIGHT = Domain(scale=None, description="entries ~ N(0, 1/fan-in)")
STANDARD = Domain(description="entries ~ N(0, 1)")
#: a symbol that must be positive (x under log or √): entries ~ U(0.5, 2), every entry > 0
POSITIVE = Domain(low=0.5, high=2.0, description="entries ~ U(0.5, 2), every entry > 0", above=0.0)


@dataclass(frozen=True)
class Kink:
    """An activation derivative evaluated exactly at a non-differentiable point."""

    where: str  # the term, in LaTeX, e.g. "\\sigma'(W_{1} \\sigma(x))"
    activation: str
    component: int
    argument: float
    value: float
    convention: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Tracker:
    """Collects what the elementwise functions saw during one evaluation."""

    exact: bool = False  # record exact kink hits (evaluation at a given point)
    kinks: list[Kink] = field(default_factory=list)
    distance: Array | None = None  # per-instance distance of any argument to a kink
    poles: Array | None = None  # per-instance least pole gap of any argument (tan)
    outside: set[str] = field(default_factory=set)  # functions applied outside their domain (log of t ≤ 0)
    singular: Array | None = None  # per instance: a singular X⁻¹, det X ≤ 0 under log det, or 1/0


def _shape(sym: Basic) -> tuple[int, ...]:
    if isinstance(sym, MatrixSymbol):
        try:
            return (int(sym.shape[0]), int(sym.shape[1]))
        except TypeError:
            raise SymresError(f"{sym} has a symbolic shape {sym.shape}; give concrete sizes") from None
    return (1, 1)


class BatchPrinter(NumPyPrinter):  # type: ignore[misc]
    """NumPy code in which every operand has a leading trial axis (the same code runs on
    unbatched operands; `symres.emit` subclasses it to write standalone functions)."""

    def __init__(self, elementwise: dict[Elementwise, int]) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
        self._ew = elementwise

    def _print_Inv(self, expr: Inv) -> str:
        return f"_inv({self._print(expr.arg)})"

    def _print_Tr(self, expr: Tr) -> str:
        return f"_tr({self._print(expr.arg)})"

    def _print_Det(self, expr: Det) -> str:
        return f"_det({self._print(expr.arg)})"

    def _print_LogDet(self, expr: LogDet) -> str:
        return f"_logdet({self._print(expr.arg)})"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        coeff, mats = expr.as_coeff_matrices()
        body = " @ ".join(f"({self._print(m)})" for m in mats)
        return body if coeff == 1 else f"({self._print(coeff)}) * ({body})"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return "(" + " + ".join(f"({self._print(t)})" for t in expr.args) + ")"

    def _print_HadamardProduct(self, expr: Basic) -> str:
        return "(" + " * ".join(f"({self._print(t)})" for t in expr.args) + ")"

    def _print_Identity(self, expr: Basic) -> str:
        return f"_eye({int(expr.shape[0])})"

    def _print_ZeroMatrix(self, expr: Basic) -> str:
        return f"_zeros({int(expr.shape[0])}, {int(expr.shape[1])})"

    def _print_Transpose(self, expr: Basic) -> str:
        return f"_T({self._print(expr.arg)})"

    def _print_Diag(self, expr: Basic) -> str:
        return f"_diag({self._print(expr.vec)})"

    def _print_Elementwise(self, expr: Elementwise) -> str:
        idx = self._ew.setdefault(expr, len(self._ew))
        return f"_ew[{idx}]({self._print(expr.arg)})"

    def _print_Deriv(self, expr: Deriv) -> str:
        x = self._print(expr.wrt)
        return f"_fd((lambda {x}: {self._print(expr.expr)}), {x})"

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return str(expr.name)

    def _print_OneMatrix(self, expr: Basic) -> str:
        return f"_ones({int(expr.shape[0])}, {int(expr.shape[1])})"

    def _print_Scalar(self, expr: Scalar) -> str:
        return f"({self._print(expr.expr)})"  # (N, 1, 1): broadcasts against any (N, m, n)

    def _print_Abbrev(self, expr: Abbrev) -> str:
        return f"({self._print(expr.definition)})"

    def _print_Defined(self, expr: Defined) -> str:
        return f"((lambda {self._print(expr.variable)}: {self._print(expr.body)})({self._print(expr.arg)}))"

    def _print_DefinedJacobian(self, expr: DefinedJacobian) -> str:
        (u,) = expr.definition.variables
        return f"((lambda {self._print(u)}: {self._print(expr.definition.expr)})({self._print(expr.arg)}))"

    def _print_VStack(self, expr: VStack) -> str:
        return "_vstack(" + ", ".join(self._print(p) for p in expr.args) + ")"

    def _print_Vec(self, expr: Vec) -> str:
        return f"_vec({self._print(expr.args[0])})"

    def _print_Kron(self, expr: Kron) -> str:
        return f"_kron({self._print(expr.args[0])}, {self._print(expr.args[1])})"


class _WatchingPrinter(BatchPrinter):
    """The batch printer of `Compiled`: X⁻¹, log det X and 1/s also pass the slot of their
    node, so that an evaluation can say which matrix is singular or which divisor is 0."""

    def __init__(self, elementwise: dict[Elementwise, int]) -> None:
        super().__init__(elementwise)
        self.watched: list[Basic] = []

    def _watch(self, expr: Basic) -> int:
        if expr not in self.watched:
            self.watched.append(expr)
        return self.watched.index(expr)

    def _print_Inv(self, expr: Inv) -> str:
        return f"_inv({self._print(expr.arg)}, {self._watch(expr)})"

    def _print_LogDet(self, expr: LogDet) -> str:
        return f"_logdet({self._print(expr.arg)}, {self._watch(expr)})"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp.is_negative and not expr.base.is_Number:  # 1/s: s = 0 is reported, not a silent inf
            base = f"_nonzero({self._print(expr.base)}, {self._watch(expr.base)})"
            return f"({base} ** ({self._print(expr.exp)}))"
        return str(super()._print_Pow(expr, rational))


#: a matrix whose reciprocal condition number is below this is singular for the checks
#: (a central difference through X⁻¹ loses about cond(X)³ · 1e-10: cond ≤ 20 keeps it below 1e-6)
SINGULAR_RCOND = 0.05


def _term_latex(node: Elementwise) -> str:
    from symres.latex import latex

    return latex(node)


def _diag(v: Array) -> Array:
    return v * np.eye(v.shape[-2])  # (N, n, 1) * (n, n) -> (N, n, n)


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _stand_in(sym: Basic, i: int) -> Basic:
    if isinstance(sym, MatrixSymbol):
        return MatrixSymbol(f"_arg{i}", *sym.shape)
    return sp.Symbol(f"_arg{i}", real=True)


def _vstack(*parts: Array) -> Array:
    """[a; b; …] for batched (N, m_i, n) and constant (m_i, n) blocks."""
    parts_ = [np.asarray(p, dtype=float) for p in parts]
    batch = np.broadcast_shapes(*(p.shape[:-2] for p in parts_))
    return np.concatenate([np.broadcast_to(p, (*batch, *p.shape[-2:])) for p in parts_], axis=-2)


def _fd(f: Callable[[Array], Array], x: Array) -> Array:
    """Central finite-difference Jacobian, numerator layout: (N, m, d) for x (N, d, 1);
    for a matrix x (N, p, q) the columns are those of vec(x) (columns stacked), (N, m, pq);
    a scalar x (N,) or (N, 1, 1) gives (N, m, 1)."""
    x = np.asarray(x, dtype=float)
    shape = x.shape[-2:] if x.ndim >= 2 else ()
    cols = []
    rows, ncols = shape if shape else (1, 1)
    for j in range(rows * ncols):
        e = np.zeros(shape)
        if shape:
            e[j % rows, j // rows] = FD_STEP
        else:
            e = np.asarray(FD_STEP)
        cols.append((f(x + e) - f(x - e))[..., 0] / (2 * FD_STEP))
    return np.stack(cols, axis=-1)


def _vec(m: Array) -> Array:
    """Batched vec, columns stacked: (N, p, q) -> (N, pq, 1)."""
    m = np.asarray(m, dtype=float)
    t = np.swapaxes(m, -1, -2)
    return t.reshape(*t.shape[:-2], t.shape[-1] * t.shape[-2], 1)


def _kron(a: Array, b: Array) -> Array:
    """Batched Kronecker product: (N, p, q) ⊗ (N, r, s) -> (N, pr, qs)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(*out.shape[:-4], a.shape[-2] * b.shape[-2], a.shape[-1] * b.shape[-1])


class Compiled:
    """An expression lambdified once for batched evaluation.

    `symbols` is the argument order; call with a mapping name → array of shape
    (N, *shape) (or (N,) for scalars). The σ of a block (named `GENERIC`) is bound to
    `activation`; other elementwise functions resolve by their own names.
    """

    def __init__(self, expr: MatrixExpr, symbols: Iterable[Basic], activation: str = "relu") -> None:
        self.expr = expr
        self.symbols = tuple(symbols)
        self.activation = get_activation(activation)
        expr = sizes_to_values(expr)  # 1/d is evaluated at the size of the instance
        missing = (expr.free_symbols - set(self.symbols)) - {s for s in expr.free_symbols if s.is_Integer}
        if missing:
            raise SymresError(f"no value for {', '.join(sorted(map(str, missing)))}")
        nodes: dict[Elementwise, int] = {}
        printer = _WatchingPrinter(nodes)
        self._watched = printer.watched
        self._tracker = _Tracker()
        self._ew: list[Callable[[Array], Array]] = []
        namespace = {
            "_eye": np.eye,
            "_zeros": lambda m, n: np.zeros((m, n)),
            "_ones": lambda m, n: np.ones((m, n)),
            "_vstack": _vstack,
            "_T": lambda a: np.swapaxes(a, -1, -2),
            "_diag": _diag,
            "_fd": _fd,
            "_kron": _kron,
            "_vec": _vec,
            "_ew": self._ew,
            **TOKEN_NUMPY,  # commutation matrices, row-wise maps, ⊕ blocks, the causal mask
            "_tr": lambda a: np.trace(a, axis1=-2, axis2=-1)[..., None, None],
            "_det": lambda a: np.linalg.det(a)[..., None, None],
            "_inv": self._inv,
            "_logdet": self._logdet,
            "_nonzero": self._nonzero,
        }
        # names that are not Python identifiers (`lambda`, `W_{1}`) get safe stand-ins
        renamed = {s: _stand_in(s, i) for i, s in enumerate(self.symbols) if not _identifier(str(s))}
        self._inverse = {v: k for k, v in renamed.items()}
        args = [renamed.get(s, s) for s in self.symbols]
        body = expr.xreplace(renamed) if renamed else expr
        # docstring_limit=0: rendering the expression into the docstring costs more than compiling it
        self._fn = sp.lambdify(args, body, modules=[namespace, "numpy"], printer=printer, docstring_limit=0)
        for node in sorted(nodes, key=nodes.__getitem__):
            self._ew.append(self._elementwise(node))

    def _flag(self, bad: Array, slot: int, what: str) -> None:
        """Record the instances where the watched node `slot` is undefined; at a given point
        (exact mode) a SymresError naming the node, in symres notation."""
        bad = np.asarray(bad, dtype=bool)
        if bad.ndim > 1:  # inside a row-wise map (symres.tokens): rows lead, the instances come last
            bad = np.asarray(bad.reshape(-1, bad.shape[-1]).any(axis=0))
        if self._tracker.exact and np.any(bad):
            from symres.render import text

            node = self._watched[slot]
            raise SymresError(what.format(node=text(node.xreplace(self._inverse) if self._inverse else node)))
        old = self._tracker.singular
        self._tracker.singular = bad if old is None else (old | bad)

    def _square(self, a: Array) -> tuple[Array, Array]:
        """a with non-finite matrices replaced by I (so LAPACK never sees a NaN), and where."""
        a = np.asarray(a, dtype=float)
        finite = np.all(np.isfinite(a), axis=(-2, -1))
        return np.where(finite[..., None, None], a, np.eye(a.shape[-1])), finite

    def _inv(self, a: Array, slot: int) -> Array:
        a, finite = self._square(a)
        sv = np.linalg.svd(a, compute_uv=False)
        rcond = sv[..., -1] / np.where(sv[..., 0] > 0, sv[..., 0], 1.0)
        singular = finite & ~(rcond > 1e-14)
        # random checks also set aside the ill-conditioned draws; the value is X⁻¹ all the same
        bad = singular if self._tracker.exact else finite & ~(rcond > SINGULAR_RCOND)
        self._flag(bad, slot, "{node} is singular at this point (reciprocal condition number < 1e-14): no inverse")
        out = np.linalg.inv(np.where(singular[..., None, None], np.eye(a.shape[-1]), a))
        return np.where((singular | ~finite)[..., None, None], np.nan, out)

    def _logdet(self, a: Array, slot: int) -> Array:
        a, finite = self._square(a)
        sign, logabs = np.linalg.slogdet(a)
        bad = finite & (sign <= 0)
        det = float(np.ravel(sign * np.exp(logabs))[0]) if np.any(bad) else 0.0
        self._flag(bad, slot, f"{{node}} needs det > 0, but the determinant is {det:.6g} at this point")
        return np.where(bad | ~finite, np.nan, logabs)[..., None, None]

    def _nonzero(self, s: Array, slot: int) -> Array:
        s = np.asarray(s, dtype=float)
        size = np.abs(s).reshape(*s.shape[:-2], -1).max(axis=-1) if s.ndim >= 2 else np.abs(s)
        bad = size == 0 if self._tracker.exact else size < 1e-8
        self._flag(bad, slot, "division by {node} = 0 at this point")
        return s

    def _resolve(self, node: Elementwise) -> Activation:
        return self.activation if node.fn == GENERIC else get_function(node.fn)

    def _elementwise(self, node: Elementwise) -> Callable[[Array], Array]:
        act, order = self._resolve(node), node.order
        fn = act.numpy(order)
        where = _term_latex(node.xreplace(self._inverse) if self._inverse else node)
        tracker = self._tracker

        def call(u: Array) -> Array:
            if act.pole_gap is not None and np.ndim(u) == 3:
                gap = np.min(act.pole_gap(u), axis=(-2, -1))
                tracker.poles = gap if tracker.poles is None else np.minimum(tracker.poles, gap)
            if act.kinks:
                # an argument exactly on a kink is a structural zero (e.g. W σ(x) with σ(x) = 0),
                # locally constant, so a difference quotient there is sound; only near misses count
                gap = np.abs(u[..., None] - np.asarray(act.kinks))
                dist = np.min(np.where(gap == 0, np.inf, gap), axis=(-3, -2, -1))
                tracker.distance = dist if tracker.distance is None else np.minimum(tracker.distance, dist)
                if tracker.exact and order >= 1:
                    for n, i, j in zip(*np.nonzero(act.kinks_hit(u))):
                        tracker.kinks.append(
                            Kink(where, act.name, int(i), float(u[n, i, j]), float(fn(u[n, i, j])), act.convention)
                        )
            if "domain" not in act.extra:
                return fn(u)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = fn(u)
            if act.name not in tracker.outside:
                if np.any(~np.isfinite(out) & np.isfinite(u)):
                    tracker.outside.add(act.name)
            return out

        return call

    def __call__(self, values: Mapping[str, Array], *, exact_kinks: bool = False) -> Array:
        self._tracker.exact, self._tracker.kinks, self._tracker.distance = exact_kinks, [], None
        self._tracker.poles = None  # (outside accumulates over calls: any evaluation outside counts)
        self._tracker.singular = None
        args = [np.asarray(values[str(s)], dtype=float) for s in self.symbols]
        n = max((a.shape[0] for a in args), default=1)
        out = np.asarray(self._fn(*args), dtype=float)
        shape = tuple(int(k) for k in self.expr.shape) if getattr(self.expr, "is_Matrix", False) else (1, 1)
        return np.broadcast_to(out, (n, *shape)) if out.ndim < 3 else out  # a constant: one value for all

    @property
    def kinks(self) -> list[Kink]:
        """Kinks hit in the last call with exact_kinks=True (derivatives only, deduplicated)."""
        seen: dict[tuple[str, int], Kink] = {}
        for k in self._tracker.kinks:
            seen.setdefault((k.where, k.component), k)
        return list(seen.values())

    @property
    def kink_distance(self) -> Array | None:
        """Per instance, the least distance of any activation argument to a kink."""
        return self._tracker.distance

    @property
    def outside(self) -> set[str]:
        """The functions (log, sqrt, …) some evaluation applied outside their domain."""
        return self._tracker.outside

    @property
    def singular(self) -> Array | None:
        """Per instance (or one flag for a constant), whether the last call met a singular
        X⁻¹, a determinant ≤ 0 under log det, or a divisor 1/s with s ≈ 0."""
        return self._tracker.singular

    @property
    def pole_gap(self) -> Array | None:
        """Per instance, the least pole gap of any argument of a function with poles."""
        return self._tracker.poles


@functools.lru_cache(maxsize=256)  # a proof's step i ends where step i + 1 starts: compile it once
def _compiled(expr: MatrixExpr, symbols: tuple[Basic, ...], activation: str) -> Compiled:
    return Compiled(expr, symbols, activation)


def compile_expr(expr: MatrixExpr, symbols: Iterable[Basic], activation: str = "relu") -> Compiled:
    """Lambdify expr once for batched evaluation (see `Compiled`)."""
    return Compiled(expr, symbols, activation)


def draw(symbols: Iterable[Basic], domains: Mapping[str, Domain], n: int, rng: np.random.Generator) -> dict[str, Array]:
    """n random instances of every symbol: arrays (n, rows, cols); scalars (n, 1, 1).
    Raises SymresError when the batch would exceed MAX_ENTRIES numbers."""
    symbols = list(symbols)
    entries = n * sum(int(np.prod(_shape(s))) for s in symbols)
    if entries > MAX_ENTRIES:
        raise SymresError(
            f"{n} random instances of {', '.join(map(str, symbols))} need {entries * 8 / 2**30:.1f} GiB; "
            f"lower --dim or --trials (at most {MAX_ENTRIES * 8 / 2**30:.0f} GiB in one batch)"
        )
    return {str(s): domains.get(str(s), WEIGHT if _is_weight(s) else STANDARD).sample(rng, (n, *_shape(s))) for s in symbols}


def _is_weight(sym: Basic) -> bool:
    return isinstance(sym, MatrixSymbol) and sym.shape[1] != 1


def _symbols_of(*exprs: Basic) -> list[Basic]:
    syms = set().union(*(sizes_to_values(e).free_symbols for e in exprs))
    return sorted((s for s in syms if not s.is_Integer), key=str)


def check_equal(
    lhs: MatrixExpr,
    rhs: MatrixExpr,
    *,
    domains: Mapping[str, Domain] | None = None,
    activation: str = "relu",
    trials: int = 200,
    seed: int = 0,
    tolerance: float = TOLERANCE,
) -> Check:
    """Compare lhs and rhs on `trials` seeded random instances in one batch.

    Each side is lambdified once; unevaluated derivatives are central finite
    differences with step FD_STEP. Instances within KINK_MARGIN of an activation's
    kink are drawn again (a difference quotient across a kink is meaningless there).
    """
    if trials < 1:
        raise SymresError(f"--trials must be a positive integer, got {trials}")
    symbols = _symbols_of(lhs, rhs)
    left, right = _compiled(lhs, tuple(symbols), activation), _compiled(rhs, tuple(symbols), activation)
    rng = np.random.default_rng(seed)
    domains = domains or {}
    kept, redrawn = 0, 0
    batches: list[tuple[dict[str, Array], Array, Array]] = []
    rounds = 0
    while kept < trials:
        rounds += 1
        if rounds > 100:
            raise SymresError(
                f"only {kept} of {trials} random instances avoid the kinks, poles and singular matrices "
                "(X⁻¹, log det X with det X ≤ 0, 1/s with s = 0); give the symbols a domain where the expression is defined"
            )
        cand = draw(symbols, domains, trials - kept + 8, rng)
        a, b = left(cand), right(cand)
        dist = [d for d in (left.kink_distance, right.kink_distance) if d is not None]
        good = np.all([d > KINK_MARGIN for d in dist], axis=0) if dist else np.ones(a.shape[0], bool)
        for gap in (left.pole_gap, right.pole_gap):
            if gap is not None:
                good &= gap > POLE_MARGIN
        for singular in (left.singular, right.singular):
            if singular is not None:
                good &= ~singular
        redrawn += int(np.sum(~good))
        ok = good & (np.cumsum(good) <= trials - kept)
        batches.append(({k: v[ok] for k, v in cand.items()}, a[ok], b[ok]))
        kept += int(ok.sum())
    values = {k: np.concatenate([bt[0][k] for bt in batches]) for k in batches[0][0]}
    a = np.concatenate([bt[1] for bt in batches])
    b = np.concatenate([bt[2] for bt in batches])
    scale = np.maximum(1.0, np.max(np.abs(b), axis=(-2, -1)))
    err = np.max(np.abs(a - b), axis=(-2, -1)) / scale
    err = np.where(np.isfinite(err), err, np.inf)
    worst = int(np.argmax(err))
    max_error = float(err[worst])
    how = "central finite differences" if (lhs.has(Deriv) or rhs.has(Deriv)) else "both sides evaluated"
    if redrawn:
        how += f"; {redrawn} draws within {KINK_MARGIN:g} of a kink, near a pole or at a singular matrix replaced"
    passed = bool(max_error <= tolerance)
    outside = sorted(left.outside | right.outside)
    if not passed and outside:
        from symres.activations import get_function as _fn

        where = "; ".join(f"{n} needs {_fn(n).extra['domain']}" for n in outside)
        how += (
            f"; arguments outside the domain ({where}): declare the symbols under it positive, "
            'e.g. Block.define(..., x_domain="positive") or v.matrix("W", domain=POSITIVE)'
        )
    instance = None
    if not passed:
        instance = {k: (v[worst][..., 0] if v.shape[-1] == 1 else v[worst]).tolist() for k, v in values.items()}
    return Check(
        method="numeric",
        passed=passed,
        detail=how,
        trials=int(a.shape[0]),
        max_error=max_error,
        tolerance=tolerance,
        seed=seed,
        instance=instance,
    )


def evaluate(
    exprs: Mapping[str, MatrixExpr], values: Mapping[str, Array], *, activation: str = "relu"
) -> tuple[dict[str, Array], list[Kink]]:
    """Evaluate each expression at one point (values: name → array of the symbol's
    shape). Returns name → array and the kinks hit by activation derivatives, with
    the convention used there."""
    symbols = _symbols_of(*exprs.values())
    batch = {str(s): np.asarray(values[str(s)], dtype=float)[None] for s in symbols if str(s) in values}
    out: dict[str, Array] = {}
    kinks: list[Kink] = []
    for name, expr in exprs.items():
        fn = Compiled(expr, symbols, activation)
        out[name] = fn(batch, exact_kinks=True)[0]
        kinks += [k for k in fn.kinks if k not in kinks]
    return out, kinks


def parse_value(text: str, shape: tuple[int, ...], name: str = "value") -> Array:
    """A value given on the command line, as an array of `shape`.

    Accepted: `I` (identity, square matrices), `0` (zeros of any shape), a number c
    (a scalar; c·I for a square matrix; every entry c for a vector), a vector `-1,1`,
    or a matrix with rows split by `;` (`1,0;0,1`).
    """
    accepted = "I, 0, a finite number, a vector like -1,1, or a matrix like 1,0;0,1"
    t = text.strip()
    rows, cols = (shape + (1, 1))[:2]
    try:
        if t == "I":
            if rows != cols:
                raise SymresError(f"{name}=I needs a square matrix, but {name} is {rows}×{cols}")
            return np.eye(rows)
        if "," not in t and ";" not in t:
            c = float(t)
            if not np.isfinite(c):
                raise ValueError
            if rows == cols and rows > 1:
                return c * np.eye(rows)
            return np.full((rows, cols), c)
        grid = [[float(v) for v in row.split(",")] for row in t.split(";")]
        if not all(np.isfinite(v) for row in grid for v in row):
            raise ValueError
    except ValueError:
        raise SymresError(f"bad value for {name}: {text!r}; accepted: {accepted}") from None
    arr = np.array(grid, dtype=float) if len({len(r) for r in grid}) == 1 else None
    if arr is None:
        raise SymresError(f"bad value for {name}: rows of different lengths in {text!r}")
    if cols == 1 and arr.shape == (1, rows):
        arr = arr.T  # a vector is written as one row, it is a column
    if arr.shape != (rows, cols):
        got = f"{arr.size} entries" if 1 in arr.shape else f"a {arr.shape[0]}×{arr.shape[1]} matrix"
        want = f"a vector of {rows} entries" if cols == 1 else f"a {rows}×{cols} matrix"
        raise SymresError(f"wrong size for {name}: got {got}, expected {want}")
    return arr
