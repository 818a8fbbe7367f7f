"""The functions of the statement language, one row each: what kind of argument a
function takes and returns (read by `symres.grammar`'s kind checker), its NumPy batch
implementation (the seeded trials, `symres.claims.sampling`), its interval
implementation (certified decisions, `symres.claims.enclose`), and its SymPy form (the
prover, `symres.claims.prover`). A new function is a new row of `TABLE`.

Batches carry a leading trial axis: a scalar is (T,), a matrix or vector (T, r, c), a
multiset (T, d).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from symres.claims import enclose as iv
from symres.claims import rational as q
from symres.errors import SymresError
from symres.grammar import Kind

Array = np.ndarray

_MATRIXLIKE = frozenset({Kind.MATRIX, Kind.VECTOR, Kind.ROW})
_NUMBERS = frozenset({Kind.SCALAR, Kind.ZERO})


# =========================================================================== NumPy batches


def _finite_rows(a: Array) -> Array:
    return np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)


def safe(a: Array, fn: Callable[[Array], Array]) -> Array:
    """Apply a LAPACK routine to the finite trials only (NaN elsewhere)."""
    ok = _finite_rows(a)
    if ok.all():
        return fn(a)
    filler = np.where(ok.reshape((-1,) + (1,) * (a.ndim - 1)), a, 0.0)
    out = np.asarray(fn(filler))
    out = out.astype(np.result_type(out.dtype, np.float64))
    out[~ok] = np.nan
    return out


def spectral_norm(a: Array) -> Array:
    """‖A‖₂ of every trial of a (T, r, c) batch."""
    return safe(a, lambda x: np.linalg.norm(x, 2, axis=(-2, -1)))


def singular_values(a: Array) -> Array:
    """The singular values of every trial, ascending: (T, min(r, c))."""
    return np.sort(safe(a, lambda x: np.linalg.svd(x, compute_uv=False)), axis=-1)


def _eigvals(a: Array) -> Array:
    return safe(a, np.linalg.eigvals)


def expm(a: Array) -> Array:
    """Matrix exponential of a stack (T, d, d): scaling and squaring with Taylor terms."""
    a = np.where(np.isfinite(a), a, np.nan)
    norm1 = np.nan_to_num(np.abs(a).sum(axis=-2).max(axis=-1), nan=0.0, posinf=0.0)
    s = int(max(0, math.ceil(math.log2(max(float(norm1.max(initial=0.0)), 1e-300) / 0.25)))) if norm1.size else 0
    s = min(s, 200)
    x = a / 2.0**s
    term = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    out = term.copy()
    for k in range(1, 20):
        term = term @ x / k
        out = out + term
    for _ in range(s):
        out = out @ out
    return out


def real_part(a: Array, message: str, col: int) -> Array:
    """A batch known to be real (imaginary parts within 1e-9 of the scale); else the
    statement is ill-posed: `SymresError` with ``message`` at column ``col``."""
    if np.iscomplexobj(a):
        scale = np.maximum(1.0, np.nan_to_num(np.abs(a), nan=0.0).max(initial=0.0))
        if np.nanmax(np.abs(a.imag), initial=0.0) > 1e-9 * scale:
            raise SymresError(f"column {col}: {message}")
        return a.real
    return a


def _extreme(top: bool) -> Callable[[Array, int], Array]:
    def apply(a: Array, col: int) -> Array:
        name = "max" if top else "min"
        real = real_part(a, f"{name}(·) of complex eigenvalues is undefined; use abs(·) or rho(·)", col)
        return real.max(axis=-1) if top else real.min(axis=-1)

    return apply


# =========================================================================== SymPy forms


def _identity_norm(sp: Any, s: Any, d: Any) -> tuple[str, Any]:
    return ("s", sp.Abs(s))


# =========================================================================== the table


@dataclass(frozen=True)
class Function:
    """One function of the statement language.

    ``accepts``: the kinds of argument it takes (else ``refusal``, formatted with
    ``{f}`` and ``{kind}``, is the kind checker's message); ``result``: the kind it
    returns (None: the argument's kind, the literal 0 giving a scalar). ``numpy(batch,
    col)``, ``interval(arithmetic, value)`` (rigorous enclosures) and ``exact(value)``
    (rationals; `NotRational` where the value is not) evaluate it. SymPy: ``sympy_scalar`` names
    the SymPy function applied to a scalar argument; ``sympy_multiset`` what it does to
    d copies of s ("abs": |s|, "extreme": s); ``sympy_identity(sp, s, d)`` its value at
    s I as ("s" | "m" | "ms", value) ("ms": d copies); ``sympy_rule`` how it treats
    t M ("scale-abs": |t| f(M), "scale-power": t^d f(M), "shift": s + t f(M) for
    s I + t M, "linear", "opaque"); ``sympy_name`` the symbol it shares (smax is norm);
    ``transpose_invariant``: f(Mᵀ) = f(M); ``cyclic``: f(P Q) = f(Q P)."""

    name: str
    accepts: frozenset[Kind]
    result: Kind | None
    refusal: str
    numpy: Callable[[Array, int], Array]
    interval: Callable[[Any, Any], Any]
    exact: Callable[[Any], Any] = q.not_rational
    sympy_scalar: str | None = None
    sympy_multiset: str | None = None
    sympy_identity: Callable[[Any, Any, Any], tuple[str, Any]] | None = None
    sympy_rule: str | None = None
    sympy_name: str = ""
    transpose_invariant: bool = False
    cyclic: bool = False

    @property
    def symbol_name(self) -> str:
        return self.sympy_name or self.name

    def kind(self, arg: Kind) -> Kind | None:
        """The kind of ``f(arg)``, or None if ``f`` does not take a ``arg``."""
        if arg not in self.accepts:
            return None
        if self.result is not None:
            return self.result
        return Kind.SCALAR if arg is Kind.ZERO else arg


_SQUARE = "{f}(·) needs a square matrix, not a {kind}"
_ANY_MATRIX = "{f}(·) needs a matrix, not a {kind}"
_ELEMENTWISE = "{f}(·) of a matrix is not defined; use norm(·)"

TABLE: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "norm",
            _NUMBERS | _MATRIXLIKE,
            Kind.SCALAR,
            "norm(·) of a multiset is not defined; use max(abs(·))",
            lambda a, col: np.abs(a) if a.ndim == 1 else spectral_norm(a),
            iv.norm,
            sympy_scalar="Abs",
            sympy_identity=_identity_norm,
            sympy_rule="scale-abs",
            transpose_invariant=True,
            exact=q.exact_norm,
        ),
        Function(
            "abs",
            _NUMBERS | {Kind.MULTISET},
            None,
            _ELEMENTWISE,
            lambda a, col: np.abs(a),
            iv.elementwise(iv.Arithmetic.absolute),
            sympy_scalar="Abs",
            sympy_multiset="abs",
            exact=q.exact_abs,
        ),
        Function(
            "sqrt",
            _NUMBERS | {Kind.MULTISET},
            None,
            _ELEMENTWISE,
            lambda a, col: np.sqrt(a),
            iv.elementwise(iv.Arithmetic.sqrt),
            sympy_scalar="sqrt",
            exact=q.exact_sqrt,
        ),
        Function(
            "exp",
            _NUMBERS | {Kind.MATRIX, Kind.MULTISET},
            None,
            "exp(·) needs a scalar or a square matrix",
            lambda a, col: expm(a) if a.ndim == 3 else np.exp(a),
            iv.exp,
            sympy_scalar="exp",
            sympy_identity=lambda sp, s, d: ("m", sp.exp(s)),
            sympy_rule="opaque",
            exact=q.exact_exp,
        ),
        Function(
            "svals",
            _MATRIXLIKE,
            Kind.MULTISET,
            _ANY_MATRIX,
            lambda a, col: singular_values(a),
            lambda ar, x: ar.svals(x),
            sympy_identity=lambda sp, s, d: ("ms", sp.Abs(s)),
            sympy_rule="scale-abs",
            transpose_invariant=True,
        ),
        Function(
            "smin",
            _MATRIXLIKE,
            Kind.SCALAR,
            _ANY_MATRIX,
            lambda a, col: singular_values(a)[:, 0],
            lambda ar, x: ar.svals(x)[0],
            sympy_identity=_identity_norm,
            sympy_rule="scale-abs",
            transpose_invariant=True,
            exact=q.exact_smin,
        ),
        Function(
            "smax",
            _MATRIXLIKE,
            Kind.SCALAR,
            _ANY_MATRIX,
            lambda a, col: spectral_norm(a),
            lambda ar, x: ar.svals(x)[-1],
            sympy_identity=_identity_norm,
            sympy_rule="scale-abs",
            sympy_name="norm",
            exact=q.exact_smax,
        ),
        Function(
            "eig",
            frozenset({Kind.MATRIX}),
            Kind.MULTISET,
            _SQUARE,
            lambda a, col: _eigvals(a),
            lambda ar, x: ar.eigs(x),
            sympy_identity=lambda sp, s, d: ("ms", s),
            sympy_rule="shift",
            transpose_invariant=True,
            cyclic=True,
        ),
        Function(
            "rho",
            frozenset({Kind.MATRIX}),
            Kind.SCALAR,
            _SQUARE,
            lambda a, col: np.abs(_eigvals(a)).max(axis=-1),
            iv.spectral_radius,
            sympy_identity=_identity_norm,
            sympy_rule="scale-abs",
            transpose_invariant=True,
            exact=q.exact_smax,
        ),
        Function(
            "det",
            frozenset({Kind.MATRIX}),
            Kind.SCALAR,
            _SQUARE,
            lambda a, col: safe(a, np.linalg.det),
            lambda ar, x: ar.det(x),
            sympy_identity=lambda sp, s, d: ("s", s**d),
            sympy_rule="scale-power",
            transpose_invariant=True,
            exact=q.exact_det,
        ),
        Function(
            "tr",
            frozenset({Kind.MATRIX}),
            Kind.SCALAR,
            _SQUARE,
            lambda a, col: np.trace(a, axis1=-2, axis2=-1),
            lambda ar, x: ar.trace(x),
            sympy_identity=lambda sp, s, d: ("s", d * s),
            sympy_rule="linear",
            cyclic=True,
            exact=q.exact_trace,
        ),
        Function(
            "max",
            frozenset({Kind.MULTISET}),
            Kind.SCALAR,
            "{f}(·) takes a multiset such as svals(J)",
            _extreme(True),
            iv.extreme(True),
            sympy_multiset="extreme",
        ),
        Function(
            "min",
            frozenset({Kind.MULTISET}),
            Kind.SCALAR,
            "{f}(·) takes a multiset such as svals(J)",
            _extreme(False),
            iv.extreme(False),
            sympy_multiset="extreme",
        ),
    )
}
