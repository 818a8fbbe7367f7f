"""Sampling and batched NumPy evaluation of a statement (`_Env`), and the float screen of its comparisons.

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from symres import grammar as g
from symres.claims.functions import Function, real_part, safe, singular_values, spectral_norm
from symres.claims.interpret import Backend, evaluate, reduce_terms
from symres.claims.model import DEFAULT_SCALAR_RANGE, MAX_FACTORS, STRICT_GAP, Array, Claim, Key, Sub, _label, _match
from symres.errors import SymresError

# =========================================================================== numbers


def _inverse(a: Array) -> Array:
    s = singular_values(a)
    bad = ~(s[:, 0] > 1e-13 * np.maximum(s[:, -1], 1e-300))
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    out = np.linalg.inv(np.where(bad[:, None, None], eye, np.nan_to_num(a)))
    out[bad] = np.nan
    return out


def _psd_part(x: Array) -> Array:
    w, v = np.linalg.eigh(x)
    return (v * np.maximum(w, 0.0)[:, None, :]) @ np.swapaxes(v, -1, -2)


def _polar(x: Array) -> Array:
    u, _, vt = np.linalg.svd(x)
    return u @ vt


#: a random norm drawn near the bound stays this much inside it: scaling a matrix to norm
#: c in doubles lands within a few ulps either side of c, and a counterexample must meet
#: its premises exactly (the special draws and structured candidates such as c I still sit
#: exactly on the bound, where scaling is exact)
_INSIDE = 1 - 1e-12


def _signed_permutations(rng: np.random.Generator, t: int, d: int, *, signed: bool = True) -> Array:
    """T random (signed) permutation matrices, (T, d, d): orthogonal in exact arithmetic."""
    out = np.zeros((t, d, d))
    cols = np.argsort(rng.random((t, d)), axis=1)
    signs = rng.choice([-1.0, 1.0], size=(t, d)) if signed else np.ones((t, d))
    out[np.arange(t)[:, None], np.arange(d)[None, :], cols] = signs
    return out


def _orthogonal(rng: np.random.Generator, t: int, d: int) -> Array:
    q, r = np.linalg.qr(rng.standard_normal((t, d, d)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]


# =========================================================================== evaluation


class _Missing(Exception):
    """A fixed instance lacks a free symbol (internal)."""


class _Env(Backend[Array]):
    """One batch of T trials at dimension d: the value of every symbol, drawn lazily.

    ``proposals`` maps keys (or ``(base, "*")`` for every member of a family) to arrays
    with a leading trial axis; with ``project`` they are first pulled onto the
    constraints (clip, scale to the norm bound, symmetrise, ...). With ``fixed_only`` a
    free symbol missing from ``proposals`` is an error instead of a fresh draw.
    """

    def __init__(
        self,
        claim: Claim,
        d: int,
        t: int,
        ints: Mapping[str, int],
        rng: np.random.Generator,
        proposals: Mapping[Key, Array] | None = None,
        *,
        project: bool = True,
        fixed_only: bool = False,
    ) -> None:
        self.claim = claim
        self.sig = claim.signature
        self.rules = claim.rules
        self.d = d
        self.t = t
        self.ints = dict(ints)
        self.rng = rng
        self.proposals = dict(proposals or {})
        self.project = project
        self.fixed_only = fixed_only
        self.cache: dict[Key, Array] = {}
        self.free: list[Key] = []
        self._busy: set[Key] = set()
        self._generators: dict[int, Array] = {}

    # ------------------------------------------------------------------ symbols
    def value(self, key: Key) -> Array:
        if key in self.cache:
            return self.cache[key]
        base, sub = key
        if sub is None and base in self.ints:
            return np.full(self.t, float(self.ints[base]))
        if key in self._busy:
            raise SymresError(f"the constraints on {_label(key)} are circular")
        self._busy.add(key)
        try:
            found = self._definition(key)
            if found is not None:
                expr, binding = found
                arr = self.eval(expr, binding)
                if self.sig.kind(expr) is g.Kind.ZERO:
                    arr = self._zeros(key)
            else:
                proposal = self.proposals.get(key)
                if proposal is None and sub is not None:
                    proposal = self.proposals.get((base, "*"))
                if proposal is not None:
                    arr = self._project(key, np.array(proposal, dtype=float)) if self.project else proposal
                elif self.fixed_only:
                    raise _Missing(_label(key))
                else:
                    arr = self._sample(key)
                self.free.append(key)
        finally:
            self._busy.discard(key)
        self.cache[key] = arr
        return arr

    def _definition(self, key: Key) -> tuple[g.Node, dict[str, Sub]] | None:
        for d in self.rules.defs:
            binding = _match(d.target, key)
            if binding is not None:
                return d.expr, binding
        return None

    def _zeros(self, key: Key) -> Array:
        kind = self.sig.kinds[key[0]]
        if kind is g.Kind.MATRIX:
            return np.zeros((self.t, self.d, self.d))
        if kind is g.Kind.VECTOR:
            return np.zeros((self.t, self.d, 1))
        return np.zeros(self.t)

    # ------------------------------------------------------------------ bounds
    def _interval(self, key: Key, on_norm: bool) -> tuple[Array | None, Array | None]:
        """The tightest lower and upper bound of a scalar (or of norm(key)) per trial,
        strict bounds moved inward by STRICT_GAP; None where there is none."""
        lo: Array | None = None
        hi: Array | None = None
        for b in self.rules.bounds:
            if b.on_norm != on_norm:
                continue
            binding = _match(b.target, key)
            if binding is None:
                continue
            v = np.broadcast_to(self.eval(b.expr, binding), (self.t,)).astype(float)
            if b.strict:
                v = v - STRICT_GAP * np.maximum(1.0, np.abs(v)) * (1 if b.upper else -1)
            if b.upper:
                hi = v if hi is None else np.minimum(hi, v)
            else:
                lo = v if lo is None else np.maximum(lo, v)
        if not on_norm:
            for m in self.rules.ranges:
                binding = _match(m.subject, key)
                if binding is not None:
                    low = np.broadcast_to(self.eval(m.lo, binding), (self.t,))
                    high = np.broadcast_to(self.eval(m.hi, binding), (self.t,))
                    lo = low if lo is None else np.maximum(lo, low)
                    hi = high if hi is None else np.minimum(hi, high)
        return lo, hi

    def _props(self, key: Key) -> set[str]:
        return {p for name, p in self.rules.props if _match(name, key) is not None}

    def _ranges(self, key: Key) -> list[tuple[Array, Array]]:
        out = []
        for m in self.rules.ranges:
            binding = _match(m.subject, key)
            if binding is not None:
                out.append((self.eval(m.lo, binding), self.eval(m.hi, binding)))
        return out

    def _commute_group(self, key: Key) -> int | None:
        for i, names in enumerate(self.rules.commute):
            if any(_match(n, key) is not None for n in names):
                return i
        return None

    def _specials(self, salt: int) -> Array:
        return (np.arange(self.t) + salt) % 10

    # ------------------------------------------------------------------ drawing
    def _sample(self, key: Key) -> Array:
        kind = self.sig.kinds[key[0]]
        if kind is g.Kind.SCALAR:
            return self._sample_scalar(key)
        shape = (self.d, self.d) if kind is g.Kind.MATRIX else (self.d, 1)
        return self._sample_matrix(key, shape)

    def _bounds_a_norm(self, key: Key) -> bool:
        """Is ``key`` the bound in ``norm(J) <= key``? Then it is drawn >= 0 (a negative
        value would only produce instances that no J satisfies)."""
        return any(
            b.on_norm and b.upper and isinstance(b.expr, g.Name) and _match(b.expr, key) is not None for b in self.rules.bounds
        )

    def _sample_scalar(self, key: Key) -> Array:
        lo, hi = self._interval(key, on_norm=False)
        if lo is None and self._bounds_a_norm(key):
            lo = np.zeros(self.t)
        if lo is None and hi is None:
            lo, hi = np.full(self.t, DEFAULT_SCALAR_RANGE[0]), np.full(self.t, DEFAULT_SCALAR_RANGE[1])
        elif lo is None:
            assert hi is not None
            lo = hi - 3.0
        elif hi is None:
            hi = lo + 3.0
        x = lo + self.rng.random(self.t) * (hi - lo)
        which = self._specials(len(self.free))
        x = np.where(which == 0, lo, x)
        x = np.where(which == 1, hi, x)
        for slot, special in ((2, 0.0), (3, 1.0), (4, -1.0)):
            x = np.where((which == slot) & (lo <= special) & (special <= hi), special, x)
        return np.where(lo <= hi, x, np.nan)

    def _structured(self, props: set[str], t: int) -> Array:
        d, rng = self.d, self.rng
        gauss = rng.standard_normal((t, d, d))
        if "orthogonal" in props:
            if "diagonal" in props:
                return np.eye(d) * rng.choice([-1.0, 1.0], size=(t, 1, d))
            q = _orthogonal(rng, t, d)
            exact = rng.random(t) < 0.5  # half signed permutations: orthogonal exactly, also as printed
            q = np.where(exact[:, None, None], _signed_permutations(rng, t, d), q)
            if "symmetric" in props:
                signs = rng.choice([-1.0, 1.0], size=(t, 1, d))
                return (q * signs) @ np.swapaxes(q, -1, -2)
            return q
        if "nilpotent" in props:
            if props & {"diagonal", "symmetric", "psd", "skew"}:
                return np.zeros((t, d, d))
            # a permuted strictly triangular matrix: nilpotent exactly, also as printed
            perm = _signed_permutations(rng, t, d, signed=False)
            return perm @ np.triu(gauss, 1) @ np.swapaxes(perm, -1, -2)
        if "diagonal" in props:
            diag = np.abs(gauss[:, 0, :]) if "psd" in props else gauss[:, 0, :]
            return diag[:, None, :] * np.eye(d)
        if "psd" in props:
            psd = gauss @ np.swapaxes(gauss, -1, -2) / d
            return (psd + np.swapaxes(psd, -1, -2)) / 2  # symmetric exactly
        if "symmetric" in props:
            return (gauss + np.swapaxes(gauss, -1, -2)) / 2
        if "skew" in props:
            return (gauss - np.swapaxes(gauss, -1, -2)) / 2
        return gauss

    def _sample_matrix(self, key: Key, shape: tuple[int, int]) -> Array:
        t, rng = self.t, self.rng
        props = self._props(key)
        group = self._commute_group(key)
        if shape[1] == 1:
            m = rng.standard_normal((t,) + shape)
        elif group is not None:
            if group not in self._generators:
                names = self.rules.commute[group]
                shared = {p for n, p in self.rules.props if any(n.base == s.base for s in names)}
                self._generators[group] = self._structured(shared & {"symmetric", "diagonal"}, t)
            gen = self._generators[group]
            coef = rng.standard_normal((3, t, 1, 1))
            m = coef[0] * np.eye(self.d) + coef[1] * gen + coef[2] * (gen @ gen)
        else:
            m = self._structured(props, t)
        ranges = self._ranges(key)
        if ranges:
            lo = np.max([np.broadcast_to(a, (t,)) for a, _ in ranges], axis=0)[:, None, None]
            hi = np.min([np.broadcast_to(b, (t,)) for _, b in ranges], axis=0)[:, None, None]
            m = lo + rng.random(m.shape) * (hi - lo)
            if "diagonal" in props:
                m = m * np.eye(self.d)
            if "symmetric" in props:
                m = np.triu(m) + np.swapaxes(np.triu(m, 1), -1, -2)
            return m
        if "orthogonal" in props:
            return m
        lo_n, hi_n = self._interval(key, on_norm=True)
        which = self._specials(len(self.free))
        if hi_n is not None:
            base = np.maximum(lo_n, 0.0) if lo_n is not None else np.zeros(t)
            s = rng.random(t)
            s = np.where(which == 0, 1.0, np.where(which == 1, 0.0, s))
            r = base + s * (hi_n - base) * np.where(which == 0, 1.0, _INSIDE)
            r = np.where(hi_n >= base, r, np.nan)
        elif lo_n is not None:
            r = np.maximum(lo_n, 0.0) + 10.0 ** rng.uniform(-1.0, 0.5, t)
        else:
            r = 10.0 ** rng.uniform(-1.0, 0.5, t)
            r = np.where(which == 1, 0.0, np.where(which == 2, 10.0 ** rng.uniform(0.5, 1.5, t), r))
        n = spectral_norm(m)
        return m * (r / np.maximum(n, 1e-300))[:, None, None]

    # ------------------------------------------------------------------ projection
    def _project(self, key: Key, x: Array) -> Array:
        """Pull a proposed value onto the constraints of ``key`` (as far as cheaply possible)."""
        kind = self.sig.kinds[key[0]]
        if kind is g.Kind.SCALAR:
            lo, hi = self._interval(key, on_norm=False)
            if lo is not None:
                x = np.maximum(x, lo)
            if hi is not None:
                x = np.minimum(x, hi)
            return x
        props = self._props(key)
        if kind is g.Kind.MATRIX:
            xt = np.swapaxes(x, -1, -2)
            if "diagonal" in props:
                x = x * np.eye(self.d)
            if props & {"symmetric", "psd"}:
                x = (x + xt) / 2
            if "skew" in props:
                x = (x - xt) / 2
            if "psd" in props:
                x = safe(x, _psd_part)
                x = (x + np.swapaxes(x, -1, -2)) / 2
            if "orthogonal" in props:
                x = safe(x, _polar)
        for a, b in self._ranges(key):
            x = np.clip(x, np.reshape(a, (-1, 1, 1)), np.reshape(b, (-1, 1, 1)))
        lo_n, hi_n = self._interval(key, on_norm=True)
        if (lo_n is not None or hi_n is not None) and "orthogonal" not in props:
            n = spectral_norm(x)
            target = n
            if hi_n is not None:
                target = np.minimum(target, hi_n)
            if lo_n is not None:
                target = np.maximum(target, lo_n)
            x = x * np.where(n > 0, target / np.maximum(n, 1e-300), 1.0)[:, None, None]
        return x

    # ------------------------------------------------------------------ the backend of `evaluate`
    def eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Array:
        """The value of ``node`` on every trial: a scalar is (T,), a matrix or vector
        (T, rows, cols), a multiset (T, d) (sorted only where it matters)."""
        return evaluate(node, self, scope)

    def number(self, value: Fraction) -> Array:
        return np.full(self.t, _to_float(value))

    def pi(self) -> Array:
        return np.full(self.t, math.pi)

    def identity(self) -> Array:
        return np.broadcast_to(np.eye(self.d), (self.t, self.d, self.d))

    def index(self, node: g.Name, value: Any) -> Array:
        if not isinstance(value, int):
            raise SymresError(f"the index {node.base} has no numeric value here (column {node.col})")
        return np.full(self.t, float(value))

    def symbol(self, node: g.Name, key: Key) -> Array:
        return self.value(key)

    def neg(self, x: Array) -> Array:
        return -x

    def transpose(self, x: Array) -> Array:
        return np.swapaxes(x, -1, -2) if x.ndim == 3 else x

    def add(self, node: g.BinOp, a: Array, b: Array, sign: int) -> Array:
        ka, kb = self.sig.kind(node.left), self.sig.kind(node.right)
        if ka is g.Kind.ZERO:
            return float(sign) * b
        if kb is g.Kind.ZERO:
            return a
        return _lift(a, kb) + float(sign) * _lift(b, ka)

    def divide(self, node: g.BinOp, a: Array, b: Array) -> Array:
        return a / _expand(b, a.ndim)

    def multiply(self, node: g.BinOp, a: Array, b: Array) -> Array:
        if a.ndim == 3 and b.ndim == 3:
            out = a @ b
            return out[:, 0, 0] if self.sig.kind(node) is g.Kind.SCALAR else out
        if a.ndim == 1:
            return _expand(a, b.ndim) * b
        return a * _expand(b, a.ndim)

    def power(self, node: g.Pow, a: Array, e: Array) -> Array:
        if a.ndim == 3:
            n = self.whole(e, node.exp)
            base = _inverse(a) if n < 0 else a
            return np.linalg.matrix_power(base, abs(n)) if n != 0 else np.broadcast_to(np.eye(self.d), a.shape)
        return np.power(a.astype(complex) if np.iscomplexobj(a) else a, _expand(e, a.ndim))

    def call(self, node: g.Call, fn: Function, a: Array) -> Array:
        return fn.numpy(a, node.col)

    def reduce(self, node: g.Reduce, scope: Mapping[str, Sub]) -> Array:
        return reduce_terms(node, self, scope)

    def whole(self, v: Array, node: g.Node) -> int:
        if v.size == 0:
            return 0
        first = v.flat[0]
        if not (np.all(v == first) and float(first).is_integer()):
            raise SymresError(f"column {node.col}: {g.render(node)} must be the same whole number on every trial")
        return int(first)

    def count_terms(self, node: g.Reduce, count: int) -> None:
        if count > MAX_FACTORS:
            raise SymresError(f"column {node.col}: {node.op}(...) over {count} terms; at most {MAX_FACTORS}")

    def zero_term(self, node: g.Reduce) -> Array:
        return np.zeros(self.t)

    def accumulate(self, node: g.Reduce, acc: Array, term: Array) -> Array:
        if node.op == "sum":
            return acc + term
        return term @ acc if term.ndim == 3 else term * acc

    def empty(self, node: g.Reduce) -> Array:
        if self.sig.kind(node) is g.Kind.MATRIX:
            eye = np.broadcast_to(np.eye(self.d), (self.t, self.d, self.d))
            return eye if node.op == "prod" else np.zeros_like(eye)
        return np.full(self.t, 1.0 if node.op == "prod" else 0.0)


def _to_float(x: Fraction) -> float:
    """A literal as a double: ±inf beyond the range of doubles (certified arithmetic,
    which reads the literal exactly, decides such statements)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _expand(a: Array, ndim: int) -> Array:
    """A per-trial scalar (T,) shaped to broadcast against an array of rank ``ndim``."""
    return a.reshape(a.shape + (1,) * (ndim - a.ndim)) if a.ndim == 1 else a


def _lift(a: Array, other: g.Kind) -> Array:
    """A scalar added to a multiset acts on every element."""
    return a[:, None] if (a.ndim == 1 and other is g.Kind.MULTISET) else a


# =========================================================================== comparing


@dataclass(frozen=True)
class _LinkEval:
    lhs: Array
    rhs: Array
    op: str
    margin: Array
    violated: Array  # the float screen sees a violation beyond the relative tolerance
    near: Array  # too close to call in floats (or not finite): certified arithmetic decides


#: the smallest scale of a relative margin (0 compared with 0 has margin 0, not NaN)
_TINY = 1e-300


def _margin(a: Array, ka: g.Kind, op: str, b: Array, kb: g.Kind, tol: float, col: int) -> _LinkEval:
    """Relative margin of ``a op b`` per trial: the difference over max(|a|, |b|)
    (negative: violated by that much). This is a screen in double precision; it never
    decides a verdict: what it flags (`violated`, `near`) is decided by `_certify`."""
    if ka is g.Kind.ZERO:
        a = np.zeros_like(b, dtype=float) if kb is not g.Kind.SCALAR else np.zeros(len(b))
        ka = kb
    if kb is g.Kind.ZERO:
        b = np.zeros_like(a, dtype=float) if ka is not g.Kind.SCALAR else np.zeros(len(a))
        kb = ka
    with np.errstate(invalid="ignore", over="ignore"):
        if a.ndim == 3:  # matrices and vectors: only "="
            dist = np.abs(a - b).max(axis=(-2, -1))
            scale = np.maximum(np.abs(a).max(axis=(-2, -1)), np.abs(b).max(axis=(-2, -1)))
            margin = -dist / np.maximum(scale, _TINY)
        elif a.ndim == 2 or b.ndim == 2:
            margin = _multiset_margin(a, op, b, col)
        else:
            ra = real_part(a, "an inequality between complex numbers", col)
            rb = real_part(b, "an inequality between complex numbers", col)
            scale = np.maximum(np.maximum(np.abs(ra), np.abs(rb)), _TINY)
            margin = {
                "=": -np.abs(ra - rb),
                "<=": rb - ra,
                "<": rb - ra,
                ">=": ra - rb,
                ">": ra - rb,
            }[op] / scale
        finite = np.isfinite(margin)
        violated = (margin < -tol) & finite
        near = ~finite | (~violated & ((margin > -tol) if op == "=" else (margin < tol)))
    return _LinkEval(a, b, op, margin, violated, near)


def _multiset_margin(a: Array, op: str, b: Array, col: int) -> Array:
    if a.ndim == 1:
        a = np.broadcast_to(a[:, None], b.shape)
    if b.ndim == 1:
        b = np.broadcast_to(b[:, None], a.shape)
    if a.shape != b.shape:
        raise SymresError(f"column {col}: the multisets have different sizes ({a.shape[1]} and {b.shape[1]})")
    scale = np.maximum(_TINY, np.maximum(np.abs(a).max(axis=1), np.abs(b).max(axis=1)))
    if op == "=":
        return -_matched_distance(a, b) / scale
    ra = np.sort(real_part(a, "an inequality between complex eigenvalues; use abs(·) or rho(·)", col), axis=1)
    rb = np.sort(real_part(b, "an inequality between complex eigenvalues; use abs(·) or rho(·)", col), axis=1)
    diff = (rb - ra) if op in ("<=", "<") else (ra - rb)
    return diff.min(axis=1) / scale


def _matched_distance(a: Array, b: Array) -> Array:
    """max_i |a_i - b_π(i)| for the best matching π of two multisets, per trial."""
    k = a.shape[1]
    if not (np.iscomplexobj(a) or np.iscomplexobj(b)):
        return np.abs(np.sort(a, axis=1) - np.sort(b, axis=1)).max(axis=1, initial=0.0)
    if k <= 5:
        perms = np.array(list(itertools.permutations(range(k))))
        diffs = np.abs(a[:, None, :] - b[:, perms])
        return diffs.max(axis=2, initial=0.0).min(axis=1)
    out = np.empty(a.shape[0])
    for i in range(a.shape[0]):  # greedy nearest matching for large multisets
        left = list(b[i])
        worst = 0.0
        for x in a[i]:
            j = int(np.argmin([abs(x - y) for y in left]))
            worst = max(worst, abs(x - left.pop(j)))
        out[i] = worst
    return out


# later parts of the package, needed only when functions run (import cycles)
