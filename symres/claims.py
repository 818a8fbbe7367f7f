"""Claims about residual gradients: prove them, check them numerically, or refute them.

A `Claim` is a statement of the `symres.grammar` language, such as
``norm(prod(l=1..L, I + J_l)) >= 1 where norm(J_l) <= 0.1, L = 100``. `check` returns a
`Verdict`:

``proved``
    SymPy settles it: both sides expanded with non-commutative symbols (so A B ≠ B A
    unless a constraint says they commute), or a small set of exact rules about
    eigenvalues and norms of ``s I + t M``. Every proof is also cross-checked on the
    seeded random trials.
``holds``
    *holds numerically*: no violation in N seeded trials (dimension 3 by default) nor
    in a counterexample search at dimensions 1-4. This is evidence, not a proof.
``refuted``
    a concrete counterexample: the smallest dimension and depth found, entries rounded
    and zeroed where that keeps it a counterexample, re-verified before it is returned.

The search for a counterexample runs, at each dimension, (1) random sampling that honours
the constraints (norm bounds drawn up to and exactly at the bound, diagonal, symmetric,
commuting, ... matrices), (2) structured candidates (±cI, rotations, rank-one and
nilpotent matrices, tied across a family J_1..J_L), and (3) a local optimisation of the
margin (a batched (1+λ) evolution strategy in NumPy; SciPy is not needed).

Numerics are batched: every symbol carries a leading trial axis (a matrix is an array
(T, d, d)), the statement's AST is walked once per batch, and every random draw comes
from ``numpy.random.default_rng``. The margin of ``a <= b`` is ``(b - a) / max(1, |a|,
|b|)``; a violation needs a margin below ``-tolerance`` (1e-8, or 1e-6 when eigenvalues
are compared).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from symres import grammar as g
from symres.budget import OutOfTime, time_limit
from symres.errors import SymresError
from symres.outcome import Outcome

__all__ = [
    "Claim",
    "Verdict",
    "Counterexample",
    "LinkValue",
    "parse",
    "check",
    "recheck",
    "format_value",
    "TOLERANCE",
    "EIG_TOLERANCE",
]

#: relative tolerance of a comparison (see the module docstring)
TOLERANCE = 1e-8
#: relative tolerance when eigenvalues are involved (they are less well conditioned)
EIG_TOLERANCE = 1e-6
#: a strict bound c in ``norm(J) < c`` is sampled at c·(1 - STRICT_GAP), not at c
STRICT_GAP = 1e-6
#: default range of an integer (a depth L, a path length k) with no bounds
DEFAULT_INT_RANGE = (1, 6)
#: default range of a real scalar with no bounds
DEFAULT_SCALAR_RANGE = (-3.0, 3.0)
#: most terms of one prod(...) / sum(...), and most trials, evaluated
MAX_FACTORS = 10_000
MAX_TRIALS = 100_000
#: dimensions searched for a counterexample when --dim is not given
SEARCH_DIMS = (1, 2, 3, 4)

Array = np.ndarray
Sub = str | int | None
Key = tuple[str, Sub]  # (base, subscript): ("J", 3) is J_3, ("J", "l") the generic J_l


def _label(key: Key) -> str:
    base, sub = key
    return base if sub is None else f"{base}_{sub}"


# =========================================================================== the claim


@dataclass(frozen=True)
class _Def:
    """``target = expr`` in the where part (for every member when the subscript is a letter)."""

    target: g.Name
    expr: g.Node


@dataclass(frozen=True)
class _Bound:
    """A one-sided bound on a symbol (``c < 1``) or on the norm of one (``norm(J_l) <= c``)."""

    target: g.Name
    upper: bool
    strict: bool
    expr: g.Node
    on_norm: bool


@dataclass(frozen=True)
class _Rules:
    defs: tuple[_Def, ...]
    bounds: tuple[_Bound, ...]
    props: tuple[tuple[g.Name, str], ...]
    commute: tuple[tuple[g.Name, ...], ...]
    ranges: tuple[g.Membership, ...]
    links: tuple[tuple[g.Node, str, g.Node], ...]  # constraint comparisons re-checked on every draw


def _match(target: g.Name, key: Key) -> dict[str, Sub] | None:
    """Does the constraint's name ``target`` speak about ``key``? Returns the binding of
    a letter subscript (``J_l`` matches every member J_1, J_2, ..., binding l) or None."""
    base, sub = key
    if target.base != base:
        return None
    if target.sub is None:
        return {} if sub is None else None
    if target.sub.isdigit():
        return {} if sub == int(target.sub) else None
    return None if sub is None else {target.sub: sub}


def _names_in(node: g.Node) -> Iterator[g.Name]:
    for n in g._walk(node):
        if isinstance(n, g.Name):
            yield n


def _rules(statement: g.Statement, sig: g.Signature) -> _Rules:
    defs: list[_Def] = []
    bounds: list[_Bound] = []
    props: list[tuple[g.Name, str]] = []
    commute: list[tuple[g.Name, ...]] = []
    ranges: list[g.Membership] = []
    links: list[tuple[g.Node, str, g.Node]] = []
    for c in statement.constraints:
        if isinstance(c, g.Property):
            if c.prop == "commute":
                commute.append(c.subjects)
            elif c.prop in g.PROPERTIES:
                props.extend((s, c.prop) for s in c.subjects)
            continue
        if isinstance(c, g.Membership):
            ranges.append(c)
            continue
        first = c.operands[0]
        if c.ops == ("=",) and isinstance(first, g.Name) and not _mentions(c.operands[1], first):
            defs.append(_Def(first, c.operands[1]))
            continue
        for a, op, b in c.links():
            links.append((a, op, b))
            if op == "=":
                continue
            for x, y, upper in ((a, b, op in ("<=", "<")), (b, a, op in (">=", ">"))):
                strict = op in ("<", ">")
                if isinstance(x, g.Name) and sig.kinds.get(x.base) is g.Kind.SCALAR and not _mentions(y, x):
                    bounds.append(_Bound(x, upper, strict, y, on_norm=False))
                    break
                if (
                    isinstance(x, g.Call)
                    and x.func == "norm"
                    and isinstance(x.arg, g.Name)
                    and sig.kinds.get(x.arg.base) in (g.Kind.MATRIX, g.Kind.VECTOR)
                    and not _mentions(y, x.arg)
                ):
                    bounds.append(_Bound(x.arg, upper, strict, y, on_norm=True))
                    break
    return _Rules(tuple(defs), tuple(bounds), tuple(props), tuple(commute), tuple(ranges), tuple(links))


def _mentions(node: g.Node, name: g.Name) -> bool:
    """Does ``node`` use the symbol ``name`` stands for (a member, for a family pattern)?"""
    return any(n.base == name.base and (n.sub is None) == (name.sub is None) for n in _names_in(node))


@dataclass(frozen=True, eq=False)
class Claim:
    """A parsed and kind-checked statement with its constraints.

    ``text`` is the statement as written; ``statement`` its AST; ``signature`` the
    kinds of its symbols. Build one with `parse`.
    """

    text: str
    statement: g.Statement
    signature: g.Signature
    rules: _Rules
    tolerance: float

    @property
    def relation(self) -> g.Chain:
        return self.statement.relation

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Claim:
    """Parse and kind-check a statement; raise `SymresError` (one line naming the
    column) if it is malformed. Never evaluates the text as code.

    >>> parse("eig(I+J) = 1 + eig(J)").signature.kinds["J"].value
    'matrix'
    """
    statement = g.parse(text)
    sig = g.analyse(statement)
    rules = _rules(statement, sig)
    _check_constraint_targets(statement, rules)
    uses_eig = any(isinstance(n, g.Call) and n.func in ("eig", "rho") for n in g._walk(statement.relation))
    return Claim(text.strip(), statement, sig, rules, EIG_TOLERANCE if uses_eig else TOLERANCE)


def _check_constraint_targets(statement: g.Statement, rules: _Rules) -> None:
    """``norm(J) <= 0.1`` when the statement only uses J_1, J_l, ...: name the mistake."""
    used: set[tuple[str, bool]] = set()
    for root in statement.relation.operands:
        used.update((n.base, n.sub is None) for n in _names_in(root))
    for d in rules.defs:
        used.update((n.base, n.sub is None) for n in _names_in(d.expr))
    for b in rules.bounds:
        used.update((n.base, n.sub is None) for n in _names_in(b.expr))
    targets = [b.target for b in rules.bounds] + [p[0] for p in rules.props] + [d.target for d in rules.defs]
    for t in targets:
        if t.sub is None and (t.base, True) not in used and (t.base, False) in used:
            raise SymresError(
                f"malformed statement, column {t.col}: the constraint names {t.base}, but the statement "
                f"uses {t.base}_l; write {t.base}_l to constrain every member"
            )
        if t.sub is not None and not t.sub.isdigit() and (t.base, False) not in used and (t.base, True) in used:
            raise SymresError(
                f"malformed statement, column {t.col}: the constraint names {t.label}, but the statement "
                f"uses {t.base}; write {t.base} instead"
            )


# =========================================================================== numbers


def _finite_rows(a: Array) -> Array:
    return np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)


def _safe(a: Array, fn: Callable[[Array], Array]) -> Array:
    """Apply a LAPACK routine to the finite trials only (NaN elsewhere)."""
    ok = _finite_rows(a)
    if ok.all():
        return fn(a)
    filler = np.where(ok.reshape((-1,) + (1,) * (a.ndim - 1)), a, 0.0)
    out = np.asarray(fn(filler))
    out = out.astype(np.result_type(out.dtype, np.float64))
    out[~ok] = np.nan
    return out


def _spectral_norm(a: Array) -> Array:
    return _safe(a, lambda x: np.linalg.norm(x, 2, axis=(-2, -1)))


def _svals(a: Array) -> Array:
    return np.sort(_safe(a, lambda x: np.linalg.svd(x, compute_uv=False)), axis=-1)


def _eigvals(a: Array) -> Array:
    return _safe(a, np.linalg.eigvals)


def _inverse(a: Array) -> Array:
    s = _svals(a)
    bad = ~(s[:, 0] > 1e-13 * np.maximum(s[:, -1], 1e-300))
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    out = np.linalg.inv(np.where(bad[:, None, None], eye, np.nan_to_num(a)))
    out[bad] = np.nan
    return out


def _expm(a: Array) -> Array:
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


class _Env:
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
        n = _spectral_norm(m)
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
                x = _safe(x, _psd_part)
                x = (x + np.swapaxes(x, -1, -2)) / 2
            if "orthogonal" in props:
                x = _safe(x, _polar)
        for a, b in self._ranges(key):
            x = np.clip(x, np.reshape(a, (-1, 1, 1)), np.reshape(b, (-1, 1, 1)))
        lo_n, hi_n = self._interval(key, on_norm=True)
        if (lo_n is not None or hi_n is not None) and "orthogonal" not in props:
            n = _spectral_norm(x)
            target = n
            if hi_n is not None:
                target = np.minimum(target, hi_n)
            if lo_n is not None:
                target = np.maximum(target, lo_n)
            x = x * np.where(n > 0, target / np.maximum(n, 1e-300), 1.0)[:, None, None]
        return x

    # ------------------------------------------------------------------ the AST walk
    def eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Array:
        """The value of ``node`` on every trial: a scalar is (T,), a matrix or vector
        (T, rows, cols), a multiset (T, d) (sorted only where it matters)."""
        kind = self.sig.kind(node)
        t = self.t
        if isinstance(node, g.Num):
            return np.full(t, _to_float(node.value))
        if isinstance(node, g.Pi):
            return np.full(t, math.pi)
        if isinstance(node, g.Identity):
            return np.broadcast_to(np.eye(self.d), (t, self.d, self.d))
        if isinstance(node, g.Name):
            if node.sub is None and node.base in scope:
                v = scope[node.base]
                if not isinstance(v, int):
                    raise SymresError(f"the index {node.base} has no numeric value here (column {node.col})")
                return np.full(t, float(v))
            return self.value(self._key(node, scope))
        if isinstance(node, g.Neg):
            return -self.eval(node.arg, scope)
        if isinstance(node, g.Transpose):
            arg = self.eval(node.arg, scope)
            return np.swapaxes(arg, -1, -2) if arg.ndim == 3 else arg
        if isinstance(node, g.BinOp):
            return self._binop(node, scope, kind)
        if isinstance(node, g.Pow):
            return self._pow(node, scope)
        if isinstance(node, g.Call):
            return self._call(node, scope)
        if isinstance(node, g.Reduce):
            return self._reduce(node, scope, kind)
        raise SymresError(f"cannot evaluate {type(node).__name__}")

    def _key(self, node: g.Name, scope: Mapping[str, Sub]) -> Key:
        text = node.sub
        if text is None:
            return (node.base, None)
        if text in scope:
            return (node.base, scope[text])
        return (node.base, int(text) if text.isdigit() else text)

    def _binop(self, node: g.BinOp, scope: Mapping[str, Sub], kind: g.Kind) -> Array:
        ka, kb = self.sig.kind(node.left), self.sig.kind(node.right)
        a = self.eval(node.left, scope)
        b = self.eval(node.right, scope)
        if node.op in "+-":
            sign = 1.0 if node.op == "+" else -1.0
            if ka is g.Kind.ZERO:
                return sign * b
            if kb is g.Kind.ZERO:
                return a
            return _lift(a, kb) + sign * _lift(b, ka)
        if node.op == "/":
            return a / _expand(b, a.ndim)
        if a.ndim == 3 and b.ndim == 3:
            out = a @ b
            return out[:, 0, 0] if kind is g.Kind.SCALAR else out
        if a.ndim == 1:
            return _expand(a, b.ndim) * b
        return a * _expand(b, a.ndim)

    def _pow(self, node: g.Pow, scope: Mapping[str, Sub]) -> Array:
        a = self.eval(node.base, scope)
        e = self.eval(node.exp, scope)
        if a.ndim == 3:
            n = self._constant_int(e, node.exp)
            base = _inverse(a) if n < 0 else a
            return np.linalg.matrix_power(base, abs(n)) if n != 0 else np.broadcast_to(np.eye(self.d), a.shape)
        return np.power(a.astype(complex) if np.iscomplexobj(a) else a, _expand(e, a.ndim))

    def _constant_int(self, v: Array, node: g.Node) -> int:
        if v.size == 0:
            return 0
        first = v.flat[0]
        if not (np.all(v == first) and float(first).is_integer()):
            raise SymresError(f"column {node.col}: {g.render(node)} must be the same whole number on every trial")
        return int(first)

    def _call(self, node: g.Call, scope: Mapping[str, Sub]) -> Array:
        a = self.eval(node.arg, scope)
        f = node.func
        if f == "norm":
            return np.abs(a) if a.ndim == 1 else _spectral_norm(a)
        if f == "abs":
            return np.abs(a)
        if f == "sqrt":
            return np.sqrt(a)
        if f == "exp":
            return _expm(a) if a.ndim == 3 else np.exp(a)
        if f == "svals":
            return _svals(a)
        if f == "smin":
            return _svals(a)[:, 0]
        if f == "smax":
            return _spectral_norm(a)
        if f == "eig":
            return _eigvals(a)
        if f == "rho":
            return np.abs(_eigvals(a)).max(axis=-1)
        if f == "det":
            return _safe(a, np.linalg.det)
        if f == "tr":
            return np.trace(a, axis1=-2, axis2=-1)
        # max / min of a multiset
        real = _real(a, f"{f}(·) of complex eigenvalues is undefined; use abs(·) or rho(·)", node.col)
        return real.max(axis=-1) if f == "max" else real.min(axis=-1)

    def _reduce(self, node: g.Reduce, scope: Mapping[str, Sub], kind: g.Kind) -> Array:
        lo = self._constant_int(self.eval(node.lo, scope), node.lo)
        hi = self._constant_int(self.eval(node.hi, scope), node.hi)
        if hi - lo + 1 > MAX_FACTORS:
            raise SymresError(f"column {node.col}: {node.op}(...) over {hi - lo + 1} terms; at most {MAX_FACTORS}")
        acc: Array | None = None
        for i in range(lo, hi + 1):
            v = self.eval(node.body, {**scope, node.var: i})
            if self.sig.kind(node.body) is g.Kind.ZERO:
                v = np.zeros(self.t)
            if acc is None:
                acc = v
            elif node.op == "sum":
                acc = acc + v
            else:
                acc = v @ acc if v.ndim == 3 else v * acc
        if acc is not None:
            return acc
        if kind is g.Kind.MATRIX:
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


def _real(a: Array, message: str, col: int) -> Array:
    if np.iscomplexobj(a):
        scale = np.maximum(1.0, np.nan_to_num(np.abs(a), nan=0.0).max(initial=0.0))
        if np.nanmax(np.abs(a.imag), initial=0.0) > 1e-9 * scale:
            raise SymresError(f"column {col}: {message}")
        return a.real
    return a


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
            ra = _real(a, "an inequality between complex numbers", col)
            rb = _real(b, "an inequality between complex numbers", col)
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
    ra = np.sort(_real(a, "an inequality between complex eigenvalues; use abs(·) or rho(·)", col), axis=1)
    rb = np.sort(_real(b, "an inequality between complex eigenvalues; use abs(·) or rho(·)", col), axis=1)
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


# =========================================================================== 40 digits

PRECISE_DIGITS = 40


class _Unconfirmed(Exception):
    """The high-precision evaluation could not be carried out (internal)."""


class _Precise:
    """The same walk over the AST on one instance, in 40-digit mpmath arithmetic: the
    independent re-verification of every counterexample (floating-point error in double
    precision, e.g. of det(exp(M)) or of the eigenvalues of a defective matrix, can
    fake a violation; at 40 digits it cannot at the tolerances used here)."""

    def __init__(self, claim: Claim, inst: _Instance, digits: int = PRECISE_DIGITS) -> None:
        import mpmath

        self.mp = mpmath.MPContext()
        self.mp.dps = digits
        self.claim = claim
        self.sig = claim.signature
        self.inst = inst
        self.d = inst.d
        self.cache: dict[Key, Any] = {}
        self._busy: set[Key] = set()
        self.peak = 1.0  # the largest magnitude met: how many digits cancellation can eat
        self.big = self.mp.mpf(0)  # the largest magnitude met, from 0: the scale of rounding errors

    def _track(self, v: Any) -> Any:
        mp = self.mp
        items = list(v) if isinstance(v, (list, mp.matrix)) else [v]
        for x in items:
            m = abs(x)
            if mp.isfinite(m) and m > self.peak:
                self.peak = float(min(m, mp.mpf("1e300")))
            if mp.isfinite(m) and m > self.big:
                self.big = m
        return v

    def _num(self, x: Any) -> Any:
        """A value of the instance as printed: the shortest decimal that reads back as
        the double (``0.1`` means 1/10 here, not 0.1000000000000000055...)."""
        return self.mp.mpf(repr(float(x)))

    def value(self, key: Key) -> Any:
        if key in self.cache:
            return self.cache[key]
        base, sub = key
        if sub is None and base in self.inst.ints:
            return self.mp.mpf(self.inst.ints[base])
        if key in self._busy:
            raise _Unconfirmed
        self._busy.add(key)
        try:
            for dfn in self.claim.rules.defs:
                binding = _match(dfn.target, key)
                if binding is not None:
                    out = self.eval(dfn.expr, binding)
                    if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                        kind = self.sig.kinds[base]
                        out = self.mp.zeros(self.d, self.d if kind is g.Kind.MATRIX else 1) if kind is not g.Kind.SCALAR else 0
                    break
            else:
                if key not in self.inst.values:
                    raise _Unconfirmed
                v = np.asarray(self.inst.values[key], dtype=float)
                out = self._num(v) if v.ndim == 0 else self.mp.matrix([[self._num(x) for x in row] for row in v.tolist()])
        finally:
            self._busy.discard(key)
        self.cache[key] = out
        return out

    def eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Any:
        return self._track(self._eval(node, scope))

    def _eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        if isinstance(node, g.Num):
            return mp.mpf(node.value.numerator) / node.value.denominator
        if isinstance(node, g.Pi):
            return mp.pi
        if isinstance(node, g.Identity):
            return mp.eye(self.d)
        if isinstance(node, g.Name):
            if node.sub is None and node.base in scope:
                v = scope[node.base]
                if not isinstance(v, int):
                    raise _Unconfirmed
                return mp.mpf(v)
            text = node.sub
            sub: Sub = None if text is None else (scope[text] if text in scope else (int(text) if text.isdigit() else text))
            return self.value((node.base, sub))
        if isinstance(node, g.Neg):
            x = self.eval(node.arg, scope)
            return [-y for y in x] if isinstance(x, list) else -x
        if isinstance(node, g.Transpose):
            x = self.eval(node.arg, scope)
            return x.T if isinstance(x, mp.matrix) else x
        if isinstance(node, g.BinOp):
            return self._binop(node, scope)
        if isinstance(node, g.Pow):
            return self._pow(node, scope)
        if isinstance(node, g.Call):
            return self._call(node.func, self.eval(node.arg, scope))
        if isinstance(node, g.Reduce):
            return self._reduce(node, scope)
        raise _Unconfirmed

    def _binop(self, node: g.BinOp, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        ka, kb = self.sig.kind(node.left), self.sig.kind(node.right)
        a, b = self.eval(node.left, scope), self.eval(node.right, scope)
        if node.op in "+-":
            sign = 1 if node.op == "+" else -1
            if ka is g.Kind.ZERO:
                return [sign * y for y in b] if isinstance(b, list) else sign * b
            if kb is g.Kind.ZERO:
                return a
            if isinstance(a, list) or isinstance(b, list):
                if isinstance(a, list) and isinstance(b, list):
                    raise _Unconfirmed
                if isinstance(a, list):
                    return [x + sign * b for x in a]
                return [a + sign * y for y in b]
            return a + sign * b
        if node.op == "/":
            return [x / b for x in a] if isinstance(a, list) else a * (1 / b)
        if isinstance(a, list):
            return [x * b for x in a]
        if isinstance(b, list):
            return [a * y for y in b]
        out = a * b
        if self.sig.kind(node) is g.Kind.SCALAR and isinstance(out, mp.matrix):
            return out[0, 0]
        return out

    def _pow(self, node: g.Pow, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        a, e = self.eval(node.base, scope), self.eval(node.exp, scope)
        if isinstance(a, mp.matrix):
            n = int(e)
            if n < 0:
                if mp.det(a) == 0:
                    raise _Unconfirmed
                return (a**-1) ** (-n)
            return a**n if n else mp.eye(self.d)
        if isinstance(a, list):
            return [mp.power(x, e) for x in a]
        return mp.power(a, e)

    def _svals(self, a: Any) -> list[Any]:
        return sorted(self.mp.svd_r(a, compute_uv=False)) if a.rows * a.cols else []

    def _call(self, f: str, a: Any) -> Any:
        mp = self.mp
        if isinstance(a, list):
            if f == "abs":
                return [abs(x) for x in a]
            reals = [self._real(x) for x in a]
            return max(reals) if f == "max" else min(reals)
        if not isinstance(a, mp.matrix):
            table: dict[str, Callable[[Any], Any]] = {"norm": abs, "abs": abs, "sqrt": mp.sqrt, "exp": mp.exp}
            return table[f](a)
        if f in ("norm", "smax"):
            return self._svals(a)[-1]
        if f == "svals":
            return self._svals(a)
        if f == "smin":
            return self._svals(a)[0]
        if f == "eig":
            return self._eig(a)
        if f == "rho":
            return max(abs(x) for x in self._eig(a))
        if f == "det":
            return self._det(a)
        if f == "tr":
            return mp.fsum(a[i, i] for i in range(a.rows))
        if f == "exp":
            return mp.expm(a)
        raise _Unconfirmed

    def _eig(self, a: Any) -> list[Any]:
        # mpmath returns (E, ER, EL) for a 1×1 matrix even with left=right=False
        values = self.mp.eig(a, left=False, right=False)
        return list(values[0] if isinstance(values, tuple) else values)

    def _det(self, a: Any) -> Any:
        """Gaussian elimination with partial pivoting and no singularity threshold (mpmath's
        det returns an exact 0 below its threshold, which two precisions can agree on)."""
        m = [[a[i, j] for j in range(a.cols)] for i in range(a.rows)]
        n, det = len(m), self.mp.mpf(1)
        for k in range(n):
            piv = max(range(k, n), key=lambda i: abs(m[i][k]))
            if m[piv][k] == 0:
                return self.mp.mpf(0)
            if piv != k:
                m[k], m[piv] = m[piv], m[k]
                det = -det
            det *= m[k][k]
            for i in range(k + 1, n):
                f = m[i][k] / m[k][k]
                for j in range(k, n):
                    m[i][j] -= f * m[k][j]
        return det

    def _real(self, x: Any) -> Any:
        if isinstance(x, self.mp.mpc):
            if abs(x.imag) > 1e-9 * max(1, abs(x)):
                raise _Unconfirmed
            return x.real
        return x

    def _reduce(self, node: g.Reduce, scope: Mapping[str, Sub]) -> Any:
        lo = int(self.eval(node.lo, scope))
        hi = int(self.eval(node.hi, scope))
        acc: Any = None
        for i in range(lo, hi + 1):
            v = self.eval(node.body, {**scope, node.var: i})
            if self.sig.kind(node.body) is g.Kind.ZERO:
                v = self.mp.mpf(0)
            acc = v if acc is None else (acc + v if node.op == "sum" else v * acc)
        if acc is not None:
            return acc
        if self.sig.kind(node) is g.Kind.MATRIX:
            return self.mp.eye(self.d) if node.op == "prod" else self.mp.zeros(self.d, self.d)
        return self.mp.mpf(1 if node.op == "prod" else 0)

    def sides(self, a: g.Node, b: g.Node, scope: Mapping[str, Sub] | None = None) -> tuple[Any, Any]:
        scope = scope or {}
        return self.eval(a, scope), self.eval(b, scope)

    def flat(self, v: Any) -> Array:
        """A value as a complex vector (multisets sorted), to compare two precisions."""
        mp = self.mp
        items = list(v) if isinstance(v, (list, mp.matrix)) else [v]
        out = np.array([complex(x) for x in items], dtype=complex)
        return out[np.lexsort((out.imag.round(6), out.real.round(6)))] if isinstance(v, list) else out

    def margin(self, a: g.Node, op: str, b: g.Node, scope: Mapping[str, Sub] | None = None) -> float:
        """The relative margin of ``a op b`` (an mpf at this precision; its sign decides)."""
        mp = self.mp
        scope = scope or {}
        ka, kb = self.sig.kind(a), self.sig.kind(b)
        x, y = self.sides(a, b, scope)
        if ka is g.Kind.ZERO:
            x = y * 0 if not isinstance(y, list) else [0 * v for v in y]
        if kb is g.Kind.ZERO:
            y = x * 0 if not isinstance(x, list) else [0 * v for v in x]
        if isinstance(x, mp.matrix) or isinstance(y, mp.matrix):
            diff = max((abs(v) for v in (x - y)), default=mp.mpf(0))
            scale = max([mp.mpf(1)] + [abs(v) for v in x] + [abs(v) for v in y])
            return -diff / scale
        if isinstance(x, list) or isinstance(y, list):
            xs = x if isinstance(x, list) else [x] * len(y)
            ys = y if isinstance(y, list) else [y] * len(x)
            if len(xs) != len(ys):
                raise _Unconfirmed
            scale = max([mp.mpf(1)] + [abs(v) for v in xs + ys])
            if op == "=":
                perms = itertools.permutations(range(len(ys))) if len(ys) <= 5 else [tuple(range(len(ys)))]
                if len(ys) > 5:
                    xs, ys = sorted(xs, key=lambda v: (mp.re(v), mp.im(v))), sorted(ys, key=lambda v: (mp.re(v), mp.im(v)))
                best = min(max((abs(xs[i] - ys[p[i]]) for i in range(len(xs))), default=mp.mpf(0)) for p in perms)
                return -best / scale
            rx, ry = sorted(self._real(v) for v in xs), sorted(self._real(v) for v in ys)
            diffs = [(v - u) if op in ("<=", "<") else (u - v) for u, v in zip(rx, ry)]
            return min(diffs, default=mp.mpf(0)) / scale
        rx, ry = self._real(x), self._real(y)
        scale = max(mp.mpf(1), abs(rx), abs(ry))
        diff = {"=": -abs(rx - ry), "<=": ry - rx, "<": ry - rx, ">=": rx - ry, ">": rx - ry}[op]
        return diff / scale


#: the precision tried last before a comparison is `undecided` (raised by long literals)
MAX_DIGITS = 320
#: after this many double-precision violations that certified arithmetic does not confirm, stop trying
MAX_UNCONFIRMED = 25
#: how many near ties (too close to call in floats) are certified per statement
MAX_NEAR = 40


@dataclass(frozen=True)
class _Decision:
    """The certified outcome of the statement at one instance.

    ``state``: "violated" (a comparison is false and every constraint holds), "holds"
    (every comparison is true), "undecided" (the enclosure of a margin still contains
    0 at the highest precision tried), "infeasible" (a constraint fails or cannot be
    certified), "failed" (the arithmetic could not be carried out). ``interval`` is the
    enclosure [lo, hi] of the deciding margin; ``comparison`` names it."""

    state: str
    interval: tuple[float, float] | None = None
    comparison: str = ""
    digits: int = 0


def _judge(op: str, m: Any, prev: Any, mp: Any, rounding: Any) -> tuple[str, Any, Any]:
    """Is a margin certainly on one side of 0? Its enclosure is m ± (10·|m − m'| +
    rounding), m' the same margin at half the precision, ``rounding`` the largest
    magnitude met times 10^(3 − digits) (0 when every value met was 0). Returns
    ("yes" | "no" | "?", lo, hi)."""
    r = 10 * abs(m - mp.mpf(prev)) + rounding
    lo, hi = m - r, m + r
    if op == "=":
        state = "yes" if (m == 0 and r == 0) else ("no" if hi < 0 else "?")
    elif op in ("<", ">"):
        state = "yes" if lo > 0 else ("no" if hi <= 0 else "?")
    else:
        state = "yes" if lo >= 0 else ("no" if hi < 0 else "?")
    return state, lo, hi


def _pass(
    claim: Claim, inst: _Instance, digits: int, cache: dict[Any, bool | None]
) -> tuple[_Precise, list[tuple[str, str, Any]], list[tuple[str, Any]]]:
    """One evaluation at ``digits`` digits: the margins of the statement's comparisons
    (label, op, margin) and of the constraints' comparisons and ranges (op, margin).
    ``cache`` keeps the exact premise checks, which do not depend on the precision."""
    p = _Precise(claim, inst, digits)
    rel = [(f"{g.render(a)} {op} {g.render(b)}", op, p.margin(a, op, b)) for a, op, b in claim.relation.links()]
    cons: list[tuple[str, Any]] = []
    for a, op, b in claim.rules.links:
        for binding in _bindings(list(p.cache), (a, b)):
            exact = _exact_norm_bound(claim, inst, a, op, b, binding, cache)
            if exact is None:
                cons.append((op, p.margin(a, op, b, binding)))
            elif not exact:
                cons.append(("<=", p.mp.mpf(-1)))  # certainly violated
    for rg in claim.rules.ranges:
        for key in list(p.cache):
            found = _match(rg.subject, key)
            if found is None:
                continue
            v, lo, hi = p.cache[key], p.eval(rg.lo, found), p.eval(rg.hi, found)
            for x in list(v) if isinstance(v, p.mp.matrix) else [v]:
                cons += [(">=", x - lo), (">=", hi - x)]
    return p, rel, cons


def _exact(v: Array) -> list[list[Fraction]]:
    """A matrix as printed, in exact rationals."""
    a = np.atleast_2d(np.asarray(v, dtype=float))
    return [[Fraction(repr(float(x))) for x in row] for row in a]


def _exact_mul(x: list[list[Fraction]], y: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum((x[i][k] * y[k][j] for k in range(len(y))), Fraction(0)) for j in range(len(y[0]))] for i in range(len(x))]


def _exact_psd(x: list[list[Fraction]]) -> bool:
    """Symmetric positive semidefinite, decided exactly (symmetric elimination)."""
    n = len(x)
    if any(x[i][j] != x[j][i] for i in range(n) for j in range(n)):
        return False
    m = [row[:] for row in x]
    for k in range(n):
        piv = m[k][k]
        if piv < 0:
            return False
        if piv == 0:
            if any(m[k][j] != 0 for j in range(k, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = m[i][k] / piv
            for j in range(k, n):
                m[i][j] -= f * m[k][j]
    return True


def _exact_property(v: Array, prop: str) -> bool:
    """Does a matrix as printed have the property (decided in exact rationals)?"""
    x = _exact(v)
    n = len(x)
    if prop == "diagonal":
        return all(x[i][j] == 0 for i in range(n) for j in range(n) if i != j)
    if prop == "symmetric":
        return all(x[i][j] == x[j][i] for i in range(n) for j in range(n))
    if prop == "skew":
        return all(x[i][j] == -x[j][i] for i in range(n) for j in range(n))
    if prop == "psd":
        return _exact_psd(x)
    if prop == "nilpotent":
        power = x
        for _ in range(n - 1):
            power = _exact_mul(power, x)
        return all(e == 0 for row in power for e in row)
    if prop == "orthogonal":
        xt = [list(r) for r in zip(*x)]
        eye = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
        return _exact_mul(xt, x) == eye
    raise SymresError(f"unknown property {prop}")


def _premises(claim: Claim, inst: _Instance) -> bool:
    """The properties and commutation constraints, on the values as printed, exactly (so
    an orthogonal matrix in a counterexample is one with rational entries, e.g. a signed
    permutation: a rounded rotation is not orthogonal and proves nothing)."""
    keys = list(inst.values)
    for name, prop in claim.rules.props:
        for key in keys:
            if _match(name, key) is not None:
                if not _exact_property(inst.values[key], prop):
                    return False
    for names in claim.rules.commute:
        members = [k for k in keys if any(_match(n, k) is not None for n in names)]
        for k1, k2 in itertools.combinations(members, 2):
            x, y = _exact(inst.values[k1]), _exact(inst.values[k2])
            if _exact_mul(x, y) != _exact_mul(y, x):
                return False
    return True


_XM = list[list[Fraction]]


def _exact_scalar(claim: Claim, inst: _Instance, node: g.Node, scope: Mapping[str, Sub]) -> Fraction | None:
    """A scalar node in exact rationals (see `_Exact`), or None."""
    v = _Exact(claim, inst).value(node, scope)
    return v if isinstance(v, Fraction) else None


class _Exact:
    """The statement on an instance as printed, in exact rationals: literals, symbols,
    + − · /, integer powers, transposes, finite products and sums, det and tr of any
    matrix, and norm, σ_min, ρ, |·| where they are rational (diagonal matrices: the 1×1
    counterexamples and the zero matrix among them). Anything else is None: the caller
    falls back to enclosures (`_certify`)."""

    MAX_STEPS = 20_000

    def __init__(self, claim: Claim, inst: _Instance) -> None:
        self.claim, self.inst, self.d = claim, inst, inst.d
        self.sig = claim.signature
        self.steps = 0

    def _eye(self, s: Fraction) -> _XM:
        return [[s if i == j else Fraction(0) for j in range(self.d)] for i in range(self.d)]

    def value(self, node: g.Node, scope: Mapping[str, Sub], depth: int = 0) -> Fraction | _XM | None:
        self.steps += 1
        if depth > 200 or self.steps > self.MAX_STEPS:
            return None
        kind = self.sig.kind(node)
        if isinstance(node, g.Num):
            return node.value
        if isinstance(node, g.Identity):
            return self._eye(Fraction(1))
        if isinstance(node, g.Neg):
            x = self.value(node.arg, scope, depth + 1)
            return _scale(x, Fraction(-1))
        if isinstance(node, g.Transpose):
            x = self.value(node.arg, scope, depth + 1)
            return [list(r) for r in zip(*x)] if isinstance(x, list) else x
        if isinstance(node, g.Name):
            return self._name(node, scope, depth)
        if isinstance(node, g.BinOp):
            x, y = self.value(node.left, scope, depth + 1), self.value(node.right, scope, depth + 1)
            if x is None or y is None:
                return None
            if node.op == "/":
                return _scale(x, 1 / y) if isinstance(y, Fraction) and y != 0 else None
            if node.op in "+-":
                sign = Fraction(1 if node.op == "+" else -1)
                if isinstance(x, Fraction) and isinstance(y, Fraction):
                    return x + sign * y
                if self.sig.kind(node.left) is g.Kind.ZERO:
                    return _scale(y, sign)
                if self.sig.kind(node.right) is g.Kind.ZERO:
                    return x
                if isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and len(x[0]) == len(y[0]):
                    return [[p + sign * q for p, q in zip(r, t)] for r, t in zip(x, y)]
                return None
            if isinstance(x, Fraction):
                return _scale(y, x)
            if isinstance(y, Fraction):
                return _scale(x, y)
            if len(x[0]) != len(y):
                return None
            out = _exact_mul(x, y)
            return out[0][0] if kind is g.Kind.SCALAR and len(out) == 1 and len(out[0]) == 1 else out
        if isinstance(node, g.Pow):
            x, e = self.value(node.base, scope, depth + 1), self.value(node.exp, scope, depth + 1)
            if x is None or not isinstance(e, Fraction) or e.denominator != 1 or not 0 <= e <= 64:
                if isinstance(x, Fraction) and isinstance(e, Fraction) and e.denominator == 1 and abs(e) <= 64 and x != 0:
                    return x ** int(e)
                return None
            if isinstance(x, Fraction):
                return x ** int(e)
            out = self._eye(Fraction(1))
            for _ in range(int(e)):
                out = _exact_mul(out, x)
            return out
        if isinstance(node, g.Call):
            return self._call(node.func, self.value(node.arg, scope, depth + 1))
        if isinstance(node, g.Reduce):
            lo, hi = self.value(node.lo, scope, depth + 1), self.value(node.hi, scope, depth + 1)
            if not (isinstance(lo, Fraction) and isinstance(hi, Fraction)) or hi - lo + 1 > 200:
                return None
            acc: Fraction | _XM | None = None
            for i in range(int(lo), int(hi) + 1):
                v = self.value(node.body, {**scope, node.var: i}, depth + 1)
                if v is None:
                    return None
                if acc is None:
                    acc = v
                elif node.op == "sum":
                    acc = acc + v if isinstance(acc, Fraction) and isinstance(v, Fraction) else None
                    if acc is None:
                        return None
                else:
                    acc = acc * v if isinstance(acc, Fraction) and isinstance(v, Fraction) else _prod(v, acc)
                    if acc is None:
                        return None
            if acc is None:
                return Fraction(1 if node.op == "prod" else 0) if kind is g.Kind.SCALAR else None
            return acc
        return None

    def _name(self, node: g.Name, scope: Mapping[str, Sub], depth: int) -> Fraction | _XM | None:
        if node.sub is None and node.base in scope:
            v = scope[node.base]
            return Fraction(v) if isinstance(v, int) else None
        sub: Sub = None
        if node.sub is not None:
            sub = scope[node.sub] if node.sub in scope else (int(node.sub) if node.sub.isdigit() else node.sub)
        key: Key = (node.base, sub)
        if sub is None and node.base in self.inst.ints:
            return Fraction(self.inst.ints[node.base])
        for dfn in self.claim.rules.defs:
            binding = _match(dfn.target, key)
            if binding is not None:
                if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                    kind = self.sig.kinds[node.base]
                    if kind is g.Kind.SCALAR:
                        return Fraction(0)
                    return [[Fraction(0)] * (self.d if kind is g.Kind.MATRIX else 1) for _ in range(self.d)]
                return self.value(dfn.expr, binding, depth + 1)
        found = self.inst.values.get(key)
        if found is None:
            return None
        return Fraction(repr(float(found))) if np.ndim(found) == 0 else _exact(found)

    def _call(self, f: str, x: Fraction | _XM | None) -> Fraction | _XM | None:
        if x is None:
            return None
        if isinstance(x, Fraction):
            if f in ("abs", "norm"):
                return abs(x)
            if f == "exp" and x == 0:
                return Fraction(1)
            return None
        n = len(x)
        if len(x[0]) != n:  # a vector: its norm is rational only by luck
            return None
        if f == "det":
            return _exact_det(x)
        if f == "tr":
            return sum((x[i][i] for i in range(n)), Fraction(0))
        diagonal = all(x[i][j] == 0 for i in range(n) for j in range(n) if i != j)
        if not diagonal:
            return None
        mags = [abs(x[i][i]) for i in range(n)]
        if f in ("norm", "smax", "rho"):
            return max(mags)
        if f == "smin":
            return min(mags)
        if f == "exp" and all(x[i][i] == 0 for i in range(n)):
            return self._eye(Fraction(1))
        return None


def _scale(x: Fraction | _XM | None, s: Fraction) -> Fraction | _XM | None:
    if x is None:
        return None
    if isinstance(x, Fraction):
        return x * s
    return [[s * e for e in row] for row in x]


def _prod(later: Fraction | _XM, acc: Fraction | _XM) -> Fraction | _XM | None:
    """``later · acc`` (a product keeps later factors on the left)."""
    if isinstance(later, Fraction):
        return _scale(acc, later)
    if isinstance(acc, Fraction):
        return _scale(later, acc)
    return _exact_mul(later, acc) if len(later[0]) == len(acc) else None


def _exact_norm_bound(
    claim: Claim, inst: _Instance, a: g.Node, op: str, b: g.Node, scope: Mapping[str, Sub], cache: dict[Any, bool | None]
) -> bool | None:
    """A premise ``norm(J) <= c`` (or <, or written the other way round) decided exactly
    on the values as printed: ‖J‖ ≤ c ⟺ c ≥ 0 and c² I − JᵀJ is positive semidefinite
    (definite for <). None when it is not of that form."""
    if op in (">=", ">"):
        a, b, op = b, a, {">=": "<=", ">": "<"}[op]
    if op not in ("<=", "<") or not (isinstance(a, g.Call) and a.func in ("norm", "smax") and isinstance(a.arg, g.Name)):
        return None
    name = a.arg
    sub: Sub = None if name.sub is None else (scope.get(name.sub) or (int(name.sub) if name.sub.isdigit() else name.sub))
    memo = (id(a), op, id(b), sub)
    if memo not in cache:
        cache[memo] = _exact_norm_bound_uncached(claim, inst, name, sub, op, b, scope)
    return cache[memo]


def _exact_norm_bound_uncached(
    claim: Claim, inst: _Instance, name: g.Name, sub: Sub, op: str, b: g.Node, scope: Mapping[str, Sub]
) -> bool | None:
    v = inst.values.get((name.base, sub))
    c = _exact_scalar(claim, inst, b, scope)
    if v is None or c is None or any(_match(dfn.target, (name.base, sub)) is not None for dfn in claim.rules.defs):
        return None
    x = _exact(v)
    gram = _exact_mul([list(r) for r in zip(*x)], x)
    n = len(gram)
    m = [[(c * c if i == j else Fraction(0)) - gram[i][j] for j in range(n)] for i in range(n)]
    if op == "<=":
        return c >= 0 and _exact_psd(m)
    return c > 0 and _exact_psd(m) and _exact_det(m) != 0


def _exact_det(x: list[list[Fraction]]) -> Fraction:
    m = [row[:] for row in x]
    n, det = len(m), Fraction(1)
    for k in range(n):
        piv = next((i for i in range(k, n) if m[i][k] != 0), None)
        if piv is None:
            return Fraction(0)
        if piv != k:
            m[k], m[piv] = m[piv], m[k]
            det = -det
        det *= m[k][k]
        for i in range(k + 1, n):
            f = m[i][k] / m[k][k]
            for j in range(k, n):
                m[i][j] -= f * m[k][j]
    return det


def _literal_digits(claim: Claim) -> int:
    """The most digits a literal of the statement needs (1e-300 needs 300)."""
    most = 0
    for n in g._walk(claim.statement.relation):
        if isinstance(n, g.Num):
            mantissa, _, exponent = n.text.lower().partition("e")
            most = max(most, len(mantissa) + abs(int(exponent or 0)))
    for c in claim.statement.constraints:
        for root in g._constraint_nodes(c):
            for n in g._walk(root):
                if isinstance(n, g.Num):
                    mantissa, _, exponent = n.text.lower().partition("e")
                    most = max(most, len(mantissa) + abs(int(exponent or 0)))
    return most


def _decide_exactly(claim: Claim, inst: _Instance) -> _Decision | None:
    """The statement decided in exact rationals when every comparison (of the statement
    and of its premises) is between rational expressions of literals and scalar
    symbols as printed (``1 + 1e-30 > 1``, ``c + m <= c where 0 <= c <= 1``); else None."""
    cache: dict[Any, bool | None] = {}
    for a, op, b in claim.rules.links:
        held = _exact_norm_bound(claim, inst, a, op, b, {}, cache) if not _has_letters(a, b) else None
        if held is None:
            lhs, rhs = _exact_scalar(claim, inst, a, {}), _exact_scalar(claim, inst, b, {})
            if lhs is None or rhs is None or _has_letters(a, b):
                return None
            held = _compare(lhs, op, rhs)
        if not held:
            return _Decision("infeasible")
    for rg in claim.rules.ranges:
        for key, v in inst.values.items():
            if _match(rg.subject, key) is None:
                continue
            lo, hi = _exact_scalar(claim, inst, rg.lo, {}), _exact_scalar(claim, inst, rg.hi, {})
            if lo is None or hi is None or np.ndim(v) != 0:
                return None
            if not lo <= Fraction(repr(float(v))) <= hi:
                return _Decision("infeasible")
    ex = _Exact(claim, inst)
    for a, op, b in claim.relation.links():
        x: Fraction | _XM | None = ex.value(a, {})
        y: Fraction | _XM | None = ex.value(b, {})
        if isinstance(x, list) or isinstance(y, list):
            if op != "=":
                return None
            if not isinstance(x, list):
                if claim.signature.kind(a) is not g.Kind.ZERO or not isinstance(y, list):
                    return None
                x = [[Fraction(0)] * len(y[0]) for _ in y]
            if not isinstance(y, list):
                if claim.signature.kind(b) is not g.Kind.ZERO:
                    return None
                y = [[Fraction(0)] * len(x[0]) for _ in x]
            if len(x) != len(y) or len(x[0]) != len(y[0]):
                return None
            dist = max(abs(p - q) for r, t in zip(x, y) for p, q in zip(r, t))
            if dist != 0:
                return _Decision("violated", (-_to_float(dist),) * 2, f"{g.render(a)} {op} {g.render(b)}", 0)
            continue
        if not isinstance(x, Fraction) or not isinstance(y, Fraction):
            return None
        if not _compare(x, op, y):
            m = _to_float(y - x if op in ("<", "<=") else x - y) if op != "=" else -_to_float(abs(x - y))
            return _Decision("violated", (m, m), f"{g.render(a)} {op} {g.render(b)}", 0)
    return _Decision("holds")


def _has_letters(*nodes: g.Node) -> bool:
    """Does a node name a family member by a letter (J_l: one comparison per member)?"""
    return any(isinstance(n, g.Name) and n.sub is not None and not n.sub.isdigit() for x in nodes for n in g._walk(x))


def _compare(x: Fraction, op: str, y: Fraction) -> bool:
    return {"<=": x <= y, "<": x < y, ">=": x >= y, ">": x > y, "=": x == y}[op]


def _certify(claim: Claim, inst: _Instance, *, constant: bool = False) -> _Decision:
    """Decide the statement at one instance (its values as printed) with certified
    precision: evaluate at D and 2D digits (D = 40 plus what the largest magnitude met
    can cancel), enclose every margin (see `_judge`) and double the precision while an
    enclosure contains 0, up to `MAX_DIGITS` (more for long literals). A non-strict
    comparison whose enclosure still contains 0 at the last precision is counted as
    holding at that point (equality within 10^-D); a strict one, or any comparison of
    a statement without free symbols (``constant``), is "undecided"."""
    import mpmath

    if not _premises(claim, inst):
        return _Decision("infeasible")
    exact = _decide_exactly(claim, inst)
    if exact is not None:
        return exact
    try:
        with np.errstate(all="ignore"):
            cache: dict[Any, bool | None] = {}
            p, prev_rel, prev_cons = _pass(claim, inst, PRECISE_DIGITS, cache)
            digits = PRECISE_DIGITS + int(math.ceil(inst.d * math.log10(max(p.peak, 1.0))))
            top = max(MAX_DIGITS, 4 * _literal_digits(claim) + 80, 2 * digits)
            if digits > PRECISE_DIGITS:
                _, prev_rel, prev_cons = _pass(claim, inst, digits, cache)
            while True:
                digits *= 2
                p, rel, cons = _pass(claim, inst, digits, cache)
                mp = p.mp
                rounding = p.big * mp.mpf(10) ** (3 - digits)
                judged = [(lab, op, *_judge(op, m, pm, mp, rounding)) for (lab, op, m), (_, _, pm) in zip(rel, prev_rel)]
                judged_cons = [(op, *_judge(op, m, pm, mp, rounding)) for (op, m), (_, pm) in zip(cons, prev_cons)]
                last = 2 * digits > top
                if any(st == "no" for _, st, _, _ in judged_cons) or (
                    last and any(st == "?" and op in ("<", ">") for op, st, _, _ in judged_cons)
                ):
                    return _Decision("infeasible", digits=digits)
                cons_open = not last and any(st == "?" for _, st, _, _ in judged_cons)
                for lab, _op, st, lo, hi in judged:
                    if st == "no" and not cons_open:
                        return _Decision("violated", (float(lo), float(hi)), lab, digits)
                open_ = [(lab, op, lo, hi) for lab, op, st, lo, hi in judged if st == "?"]
                if not open_ and not cons_open:
                    return _Decision("holds", digits=digits)
                if last:
                    for lab, op, lo, hi in open_:
                        if constant or op in ("<", ">"):
                            return _Decision("undecided", (float(lo), float(hi)), lab, digits)
                    return _Decision("holds", digits=digits)
                prev_rel, prev_cons = rel, cons
    except (_Unconfirmed, ArithmeticError, mpmath.libmp.NoConvergence):
        return _Decision("failed")


# =========================================================================== batches


@dataclass
class _Batch:
    env: _Env
    links: list[_LinkEval]
    margin: Array
    violated: Array  # valid, and the float screen sees a violation
    valid: Array
    near: Array  # valid, and too close to call in floats


def _evaluate(
    claim: Claim,
    d: int,
    ints: Mapping[str, int],
    t: int,
    rng: np.random.Generator,
    proposals: Mapping[Key, Array] | None = None,
    *,
    project: bool = True,
    fixed_only: bool = False,
) -> _Batch:
    """Evaluate the relation and the constraints on a batch of T trials."""
    env = _Env(claim, d, t, ints, rng, proposals, project=project, fixed_only=fixed_only)
    sig = claim.signature
    with np.errstate(all="ignore"):
        links = []
        for a, op, b in claim.relation.links():
            va, vb = env.eval(a, {}), env.eval(b, {})
            links.append(_margin(va, sig.kind(a), op, vb, sig.kind(b), claim.tolerance, b.col))
        feasible = _feasible(claim, env)
    margin = np.min([ln.margin for ln in links], axis=0)
    valid = feasible
    violated = np.any([ln.violated for ln in links], axis=0) & valid
    near = np.any([ln.near for ln in links], axis=0) & valid & ~violated
    return _Batch(env, links, margin, violated, valid, near)


def _pattern_letters(node: g.Node, bound: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    """(base, letter) for every name whose letter subscript is not a reduction index."""
    out: set[tuple[str, str]] = set()
    if isinstance(node, g.Name):
        if node.sub is not None and not node.sub.isdigit() and node.sub not in bound:
            out.add((node.base, node.sub))
        return out
    if isinstance(node, g.Reduce):
        out |= _pattern_letters(node.lo, bound) | _pattern_letters(node.hi, bound)
        return out | _pattern_letters(node.body, bound | {node.var})
    for child in g._children(node):
        out |= _pattern_letters(child, bound)
    return out


def _bindings(keys: Iterable[Key], nodes: Sequence[g.Node]) -> list[dict[str, Sub]]:
    """Every way to bind the letter subscripts of a constraint to the members in ``keys``."""
    keys = list(keys)
    pairs: set[tuple[str, str]] = set()
    for n in nodes:
        pairs |= _pattern_letters(n)
    letters = sorted({letter for _, letter in pairs})
    choices = []
    for letter in letters:
        bases = {b for b, x in pairs if x == letter}
        subs = sorted({k[1] for k in keys if k[0] in bases and k[1] is not None}, key=str)
        choices.append(subs)
    return [dict(zip(letters, combo)) for combo in itertools.product(*choices)]


def _feasible(claim: Claim, env: _Env) -> Array:
    """Which trials satisfy every constraint (within the tolerance)."""
    ok = np.ones(env.t, dtype=bool)
    sig, tol = claim.signature, max(claim.tolerance, 1e-8)
    for a, op, b in claim.rules.links:
        for binding in _bindings(env.cache, (a, b)):
            ln = _margin(env.eval(a, binding), sig.kind(a), op, env.eval(b, binding), sig.kind(b), tol, b.col)
            margin = np.nan_to_num(ln.margin, nan=-np.inf)
            ok &= (margin > 0) if op in ("<", ">") else (margin >= -tol)  # strict constraints hold strictly
    keys = list(env.cache)
    for name, prop in claim.rules.props:
        for key in keys:
            if _match(name, key) is not None:
                ok &= _has_property(env.cache[key], prop, tol)
    for names in claim.rules.commute:
        members = [k for k in keys if any(_match(n, k) is not None for n in names)]
        for k1, k2 in itertools.combinations(members, 2):
            x, y = env.cache[k1], env.cache[k2]
            scale = np.maximum(1.0, np.abs(x).max(axis=(-2, -1)) * np.abs(y).max(axis=(-2, -1)))
            ok &= np.abs(x @ y - y @ x).max(axis=(-2, -1)) <= tol * 10 * scale
    for m in claim.rules.ranges:
        for key in keys:
            found = _match(m.subject, key)
            if found is not None:
                v = env.cache[key]
                lo = _expand(np.broadcast_to(env.eval(m.lo, found), (env.t,)), v.ndim)
                hi = _expand(np.broadcast_to(env.eval(m.hi, found), (env.t,)), v.ndim)
                inside = (v >= lo - tol) & (v <= hi + tol)
                ok &= inside.reshape(env.t, -1).all(axis=1)
    return ok


def _has_property(x: Array, prop: str, tol: float) -> Array:
    scale = np.maximum(1.0, np.abs(x).max(axis=(-2, -1)))
    xt = np.swapaxes(x, -1, -2)
    d = x.shape[-1]
    off = np.abs(x * (1 - np.eye(d))).max(axis=(-2, -1))
    if prop == "diagonal":
        return off <= tol * scale
    if prop == "symmetric":
        return np.abs(x - xt).max(axis=(-2, -1)) <= tol * scale
    if prop == "skew":
        return np.abs(x + xt).max(axis=(-2, -1)) <= tol * scale
    if prop == "psd":
        sym = np.abs(x - xt).max(axis=(-2, -1)) <= tol * scale
        return sym & (_safe((x + xt) / 2, np.linalg.eigvalsh).min(axis=-1) >= -tol * scale)
    if prop == "orthogonal":
        return np.abs(xt @ x - np.eye(d)).max(axis=(-2, -1)) <= tol * 10
    if prop == "nilpotent":
        return np.abs(np.linalg.matrix_power(x / scale[:, None, None], d)).max(axis=(-2, -1)) <= tol * 10
    raise SymresError(f"unknown property {prop}")


# =========================================================================== integers


def _int_value(node: g.Node, ints: Mapping[str, int]) -> Fraction:
    """Exact value of a bound such as ``100`` or ``L - 1`` from the integers known so far."""
    if isinstance(node, g.Num):
        return node.value
    if isinstance(node, g.Name) and node.sub is None and node.base in ints:
        return Fraction(ints[node.base])
    if isinstance(node, g.Neg):
        return -_int_value(node.arg, ints)
    if isinstance(node, g.BinOp):
        a, b = _int_value(node.left, ints), _int_value(node.right, ints)
        if node.op == "/" and b == 0:
            raise SymresError(f"malformed statement, column {node.col}: division by zero")
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[node.op]
    if isinstance(node, g.Pow):
        e = _int_value(node.exp, ints)
        if e.denominator == 1 and abs(e) <= 64:
            return _int_value(node.base, ints) ** int(e)
    raise _NeedsInts(node)


class _NeedsInts(Exception):
    def __init__(self, node: g.Node) -> None:
        super().__init__(node)
        self.node = node


@dataclass(frozen=True)
class _IntDomain:
    name: str
    fixed: g.Node | None  # L = 100
    lows: tuple[tuple[g.Node, bool], ...]
    highs: tuple[tuple[g.Node, bool], ...]

    def interval(self, ints: Mapping[str, int]) -> tuple[int, int]:
        lo = max((_int_bound(n, ints, strict, True) for n, strict in self.lows), default=None)
        hi = min((_int_bound(n, ints, strict, False) for n, strict in self.highs), default=None)
        if lo is None:
            lo = DEFAULT_INT_RANGE[0] if hi is None or hi >= DEFAULT_INT_RANGE[0] else hi - 5
        if hi is None:
            hi = lo + (DEFAULT_INT_RANGE[1] - DEFAULT_INT_RANGE[0])
        if lo > hi:
            raise SymresError(f"no whole number {self.name} satisfies the constraints ({lo} > {hi})")
        return lo, hi


def _int_bound(node: g.Node, ints: Mapping[str, int], strict: bool, lower: bool) -> int:
    try:
        v = _int_value(node, ints)
    except _NeedsInts as exc:
        raise SymresError(f"malformed statement, column {exc.node.col}: a bound on an integer must be a whole number") from None
    if lower:
        n = math.ceil(v)
        return n + 1 if strict and n == v else n
    n = math.floor(v)
    return n - 1 if strict and n == v else n


def _int_domains(claim: Claim) -> list[_IntDomain]:
    out = []
    for name in sorted(claim.signature.integers):
        fixed = next((d.expr for d in claim.rules.defs if d.target.base == name and d.target.sub is None), None)
        lows = tuple((b.expr, b.strict) for b in claim.rules.bounds if b.target.base == name and not b.upper)
        highs = tuple((b.expr, b.strict) for b in claim.rules.bounds if b.target.base == name and b.upper)
        out.append(_IntDomain(name, fixed, lows, highs))
    return out


def _resolve_ints(domains: Sequence[_IntDomain], free: Mapping[str, int]) -> dict[str, int]:
    """The values of every integer: the free ones given, the defined ones computed."""
    ints = dict(free)
    pending = [dm for dm in domains if dm.fixed is not None]
    for _ in range(len(pending) + 1):
        left = []
        for dm in pending:
            assert dm.fixed is not None
            try:
                v = _int_value(dm.fixed, ints)
            except _NeedsInts:
                left.append(dm)
                continue
            if v.denominator != 1:
                raise SymresError(f"{dm.name} must be a whole number, not {v}")
            ints[dm.name] = int(v)
        pending = left
    if pending:
        raise SymresError(f"cannot work out the integer {pending[0].name} from the constraints")
    return ints


def _draw_ints(claim: Claim, t: int, rng: np.random.Generator) -> list[tuple[dict[str, int], Array]]:
    """Integer values per trial, grouped: [(values, trial indices), ...]."""
    domains = _int_domains(claim)
    free = [dm for dm in domains if dm.fixed is None]
    if not domains:
        return [({}, np.arange(t))]
    columns = []
    for i, dm in enumerate(free):
        lo, hi = dm.interval({})
        col = rng.integers(lo, hi + 1, size=t)
        col[(np.arange(t) + i) % 7 == 0] = lo
        col[(np.arange(t) + i) % 7 == 1] = hi
        columns.append(col)
    table = np.stack(columns, axis=1) if columns else np.zeros((t, 0), dtype=int)
    groups = []
    for row in np.unique(table, axis=0):
        idx = np.nonzero(np.all(table == row, axis=1))[0]
        values = _resolve_ints(domains, {dm.name: int(v) for dm, v in zip(free, row)})
        groups.append((values, idx))
    return groups


def _int_choices(claim: Claim) -> list[dict[str, int]]:
    """A few integer settings for the structured search: each free integer at its lower
    end, one above it, and its upper end (smallest first)."""
    domains = _int_domains(claim)
    free = [dm for dm in domains if dm.fixed is None]
    options = []
    for dm in free:
        lo, hi = dm.interval({})
        options.append(sorted({lo, min(lo + 1, hi), hi}))
    combos = sorted(itertools.product(*options), key=lambda c: (sum(c), c))
    return [_resolve_ints(domains, {dm.name: int(v) for dm, v in zip(free, combo)}) for combo in combos]


# =========================================================================== instances


@dataclass
class _Instance:
    """One concrete assignment of every free symbol (no trial axis)."""

    d: int
    ints: dict[str, int]
    values: dict[Key, Array]
    margin: float


@dataclass
class _Stats:
    candidates: int = 0
    worst: float = math.inf
    unconfirmed: int = 0
    near: int = 0
    undecided: _Decision | None = None  # the first point certified arithmetic could not decide

    def see(self, batch: _Batch) -> None:
        self.candidates += batch.env.t
        m = batch.margin[batch.valid]
        m = m[np.isfinite(m)]
        if m.size:
            self.worst = min(self.worst, float(m.min()))

    def decide(self, claim: Claim, inst: _Instance) -> _Decision:
        """`_certify` at one instance, remembering the first undecided one."""
        got = _certify(claim, inst)
        if got.state == "undecided" and self.undecided is None:
            self.undecided = got
        return got


def _take(batch: _Batch, i: int, d: int, ints: Mapping[str, int]) -> _Instance:
    values = {k: np.array(batch.env.cache[k][i], dtype=float) for k in batch.env.free}
    return _Instance(d, dict(ints), values, float(batch.margin[i]))


def _best(batch: _Batch, d: int, ints: Mapping[str, int], mask: Array, n: int = 1) -> list[_Instance]:
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        return []
    order = idx[np.argsort(batch.margin[idx], kind="stable")[:n]]
    return [_take(batch, int(i), d, ints) for i in order]


def _first_confirmed(
    claim: Claim, batch: _Batch, d: int, ints: Mapping[str, int], stats: _Stats, *, by_margin: bool = True, limit: int = 10
) -> _Instance | None:
    """The first trial of a batch that certified arithmetic shows violating: the float
    violations first (worst margin first), then a few near ties."""
    idx = np.nonzero(batch.violated)[0]
    if by_margin:
        idx = idx[np.argsort(batch.margin[idx], kind="stable")]
    limit = min(limit, MAX_UNCONFIRMED - stats.unconfirmed)
    for i in idx[: max(limit, 0)]:
        inst = _take(batch, int(i), d, ints)
        if stats.decide(claim, inst).state == "violated":
            return inst
        stats.unconfirmed += 1
    near = np.nonzero(batch.near)[0][: max(0, min(3, MAX_NEAR - stats.near))]
    for i in near:
        stats.near += 1
        inst = _take(batch, int(i), d, ints)
        if stats.decide(claim, inst).state == "violated":
            return inst
    return None


def _run(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator, *, project: bool = False) -> _Batch | None:
    """Evaluate instances sharing d, integers and symbols in one batch (None if one lacks a symbol)."""
    first = cands[0]
    proposals = {k: np.stack([c.values[k] for c in cands]) for k in first.values}
    try:
        return _evaluate(claim, first.d, first.ints, len(cands), rng, proposals, project=project, fixed_only=True)
    except _Missing:
        return None


# =========================================================================== search


RANDOM_DRAWS = 256
MAX_STRUCTURED = 1500
OPT_PARENTS = 3
OPT_ITERATIONS = 20
OPT_CHILDREN = 24
#: a family with at most this many members gets independent structured candidates
UNTIED_MEMBERS = 3


def _run_trials(claim: Claim, d: int, t: int, rng: np.random.Generator, stats: _Stats) -> tuple[int, _Instance | None]:
    """The seeded trials: returns (number of valid trials, the first violation or None)."""
    valid = 0
    violation: _Instance | None = None
    for ints, idx in _draw_ints(claim, t, rng):
        batch = _evaluate(claim, d, ints, len(idx), rng)
        stats.see(batch)
        valid += int(batch.valid.sum())
        if violation is None and (batch.violated.any() or batch.near.any()):
            violation = _first_confirmed(claim, batch, d, ints, stats)
    return valid, violation


def _search_dim(claim: Claim, d: int, seed: int, stats: _Stats) -> _Instance | None:
    """Random draws, then structured candidates, then local optimisation, at dimension d."""
    rng = np.random.default_rng([seed, d, 7])
    pool: list[_Instance] = []
    random_hit: _Instance | None = None
    for ints, idx in _draw_ints(claim, RANDOM_DRAWS, rng):
        batch = _evaluate(claim, d, ints, len(idx), rng)
        stats.see(batch)
        pool += _best(batch, d, ints, batch.valid & ~batch.violated, OPT_PARENTS)
        if random_hit is None and (batch.violated.any() or batch.near.any()):
            random_hit = _first_confirmed(claim, batch, d, ints, stats)
    structured_hit = _structured_search(claim, d, rng, stats, pool)
    if structured_hit is not None:  # preferred: structured candidates are the simplest
        return structured_hit
    if random_hit is not None:
        return random_hit
    pool.sort(key=lambda inst: inst.margin)
    return _optimise(claim, pool[:OPT_PARENTS], rng, stats)


def _matrix_shapes(d: int) -> list[Array]:
    eye = np.eye(d)
    e11 = np.zeros((d, d))
    e11[0, 0] = 1.0
    shapes = [np.zeros((d, d)), eye, -eye, e11, -e11]
    if d >= 2:
        rot = np.eye(d)
        rot[:2, :2] = [[0.0, -1.0], [1.0, 0.0]]
        e12 = np.zeros((d, d))
        e12[0, 1] = 1.0
        shift = np.eye(d, k=1)
        refl = np.eye(d)
        refl[1, 1] = -1.0
        half = np.eye(d)
        half[:2, :2] = [[math.sqrt(0.5), -math.sqrt(0.5)], [math.sqrt(0.5), math.sqrt(0.5)]]
        shapes += [rot, rot.T, e12, e12.T, shift, shift.T, refl, -refl, half]
    shapes.append(np.ones((d, d)) / d)
    return shapes


def _vector_shapes(d: int) -> list[Array]:
    e1 = np.zeros((d, 1))
    e1[0, 0] = 1.0
    shapes = [np.zeros((d, 1)), e1, -e1, np.ones((d, 1)) / math.sqrt(d)]
    if d >= 2:
        e2 = np.zeros((d, 1))
        e2[1, 0] = 1.0
        shapes.append(e2)
    return shapes


def _bounded(claim: Claim, key: Key, on_norm: bool) -> tuple[bool, bool]:
    """Whether ``key`` (or its norm) has a lower / an upper bound in the constraints."""
    lo = hi = False
    for b in claim.rules.bounds:
        if b.on_norm == on_norm and _match(b.target, key) is not None:
            hi |= b.upper
            lo |= not b.upper
    if not on_norm:
        if any(_match(m.subject, key) is not None for m in claim.rules.ranges):
            lo = hi = True
    return lo, hi


def _candidates(claim: Claim, d: int, key: Key) -> Array:
    kind = claim.signature.kinds[key[0]]
    probe = (key[0], 1) if key[1] == "*" else key
    if kind is g.Kind.SCALAR:
        lo, hi = _bounded(claim, probe, on_norm=False)
        values = [0.0, 1.0, -1.0, 0.5, 2.0, -0.5] + ([-1e6] if lo else []) + ([1e6] if hi else [])
        return np.array(values)
    shapes = _matrix_shapes(d) if kind is g.Kind.MATRIX else _vector_shapes(d)
    _, hi = _bounded(claim, probe, on_norm=True)
    scales = (1e6, 1.0, 0.5) if hi else (1.0, 0.5, 2.0)
    return np.stack([s * m for s in scales for m in shapes])


def _combos(sizes: Sequence[int], rng: np.random.Generator) -> Array:
    """Index tuples into each candidate list, simplest (smallest indices) first."""
    total = math.prod(sizes)
    if total <= MAX_STRUCTURED:
        combos = np.array(list(itertools.product(*[range(n) for n in sizes])), dtype=int).reshape(-1, len(sizes))
    else:
        tied = [[i % n for n in sizes] for i in range(max(sizes))]
        rand = rng.integers(0, np.array(sizes), size=(MAX_STRUCTURED - len(tied), len(sizes)))
        combos = np.unique(np.concatenate([np.array(tied, dtype=int), rand]), axis=0)
    order = np.lexsort(combos.T[::-1])
    combos = combos[order]
    return combos[np.argsort(combos.sum(axis=1), kind="stable")]


def _structured_search(claim: Claim, d: int, rng: np.random.Generator, stats: _Stats, pool: list[_Instance]) -> _Instance | None:
    """±cI, rotations, rank-one and nilpotent matrices (every member of a family J_1..J_L
    tied to the same one), with the scalars at 0, ±1 and their bounds."""
    for ints in _int_choices(claim):
        probe = _evaluate(claim, d, ints, 1, rng)
        members: dict[str, int] = {}
        for base, sub in probe.env.free:
            members[base] = members.get(base, 0) + isinstance(sub, int)
        groups: list[Key] = []
        for base, sub in probe.env.free:
            tie = isinstance(sub, int) and members[base] > UNTIED_MEMBERS
            gk: Key = (base, "*") if tie else (base, sub)
            if gk not in groups:
                groups.append(gk)
        if not groups:
            continue
        lists = [_candidates(claim, d, gk) for gk in groups]
        combos = _combos([len(c) for c in lists], rng)
        proposals = {gk: lists[j][combos[:, j]] for j, gk in enumerate(groups)}
        try:
            batch = _evaluate(claim, d, ints, len(combos), rng, proposals, project=True, fixed_only=True)
        except _Missing:
            continue
        stats.see(batch)
        pool += _best(batch, d, ints, batch.valid & ~batch.violated, OPT_PARENTS)
        hit = _first_confirmed(claim, batch, d, ints, stats, by_margin=False, limit=20)
        if hit is not None:
            return hit
    return None


def _optimise(claim: Claim, parents: Sequence[_Instance], rng: np.random.Generator, stats: _Stats) -> _Instance | None:
    """Lower the margin from the best instances so far by a (1+λ) evolution strategy,
    batched: λ perturbed copies per step, pulled back onto the constraints."""
    for parent in parents:
        current, sigma = parent, 0.5
        for _ in range(OPT_ITERATIONS):
            proposals = {}
            for key, v in current.values.items():
                scale = max(float(np.abs(v).max(initial=0.0)), 0.1)
                proposals[key] = v[None] + sigma * scale * rng.standard_normal((OPT_CHILDREN,) + v.shape)
            try:
                batch = _evaluate(claim, current.d, current.ints, OPT_CHILDREN, rng, proposals, project=True, fixed_only=True)
            except _Missing:
                break
            stats.see(batch)
            if batch.violated.any() or batch.near.any():
                hit = _first_confirmed(claim, batch, current.d, current.ints, stats, limit=3)
                if hit is not None:
                    return hit
            best = _best(batch, current.d, current.ints, batch.valid & ~batch.violated)
            if best and best[0].margin < current.margin:
                current, sigma = best[0], sigma * 1.5
            else:
                sigma *= 0.5
            if sigma < 1e-3:
                break
    return None


# =========================================================================== minimising


def _verified(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator) -> list[_Instance | None]:
    """Evaluate exact candidates (no projection) in double precision: each is returned,
    trimmed to the symbols it uses, if it is still a counterexample that satisfies the
    constraints."""
    if not cands:
        return []
    batch = _run(claim, cands, rng)
    if batch is None:
        return [None] * len(cands)
    out: list[_Instance | None] = []
    for i, c in enumerate(cands):
        out.append(_take(batch, i, c.d, c.ints) if (batch.violated[i] or batch.near[i]) else None)
    return out


def _first_good(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator) -> _Instance | None:
    """The first candidate that is a counterexample in double precision and at 40 digits."""
    for got in _verified(claim, cands, rng):
        if got is not None and _certify(claim, got).state == "violated":
            return got
    return None


def _minimise(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    """Make a counterexample small: lower the integers, tie the members of a family,
    round the entries, and zero the entries that are not needed."""
    checked = _first_good(claim, [inst], rng)
    if checked is None:  # should not happen: it was found violating and confirmed
        return inst
    inst = checked
    inst = _shrink_ints(claim, inst, rng)
    inst = _tie_families(claim, inst, rng)
    inst = _round(claim, inst, rng)
    inst = _signs(claim, inst, rng)
    return _zero_entries(claim, inst, rng)


def _shrink_ints(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    domains = _int_domains(claim)
    for dm in domains:
        if dm.fixed is not None:
            continue
        lo, _ = dm.interval({})
        free = {x.name: inst.ints[x.name] for x in domains if x.fixed is None}
        for v in range(lo, inst.ints[dm.name]):
            ints = _resolve_ints(domains, {**free, dm.name: v})
            got = _first_good(claim, [_Instance(inst.d, ints, inst.values, inst.margin)], rng)
            if got is not None:
                inst = got
                break
    return inst


def _families(inst: _Instance) -> dict[str, list[Key]]:
    fam: dict[str, list[Key]] = {}
    for key in inst.values:
        if isinstance(key[1], int):
            fam.setdefault(key[0], []).append(key)
    return {b: ks for b, ks in fam.items() if len(ks) > 1}


def _tie_families(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    for _base, keys in _families(inst).items():
        if all(np.array_equal(inst.values[k], inst.values[keys[0]]) for k in keys):
            continue
        cands = []
        for src in keys:
            values = dict(inst.values)
            values.update({k: inst.values[src] for k in keys})
            cands.append(_Instance(inst.d, inst.ints, values, inst.margin))
        got = _first_good(claim, cands, rng)
        if got is not None:
            inst = got
    return inst


def _round(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    cands = [
        _Instance(inst.d, inst.ints, {k: np.round(v, digits) + 0.0 for k, v in inst.values.items()}, inst.margin)
        for digits in range(0, 9)
    ]
    return _first_good(claim, cands, rng) or inst


def _signs(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    """Try entries in {-1, 0, 1}: all symbols at once, then one unit at a time."""

    def signed(base: _Instance, keys: Sequence[Key]) -> _Instance:
        values = dict(base.values)
        values.update({k: np.sign(values[k]) + 0.0 for k in keys})
        return _Instance(base.d, base.ints, values, base.margin)

    got = _first_good(claim, [signed(inst, list(inst.values))], rng)
    if got is not None:
        return got
    for unit in _units(inst):
        if np.array_equal(np.sign(inst.values[unit[0]]), inst.values[unit[0]]):
            continue
        got = _first_good(claim, [signed(inst, unit)], rng)
        if got is not None:
            inst = got
    return inst


def _units(inst: _Instance) -> list[list[Key]]:
    """Symbols that move together: a family whose members are all equal is one unit."""
    units: list[list[Key]] = []
    tied: set[Key] = set()
    for keys in _families(inst).values():
        if all(np.array_equal(inst.values[k], inst.values[keys[0]]) for k in keys):
            units.append(keys)
            tied.update(keys)
    units += [[k] for k in inst.values if k not in tied]
    return units


def _zero_entries(claim: Claim, inst: _Instance, rng: np.random.Generator, budget: int = 40) -> _Instance:
    def zeroed(base: _Instance, unit: list[Key], index: tuple[int, ...]) -> _Instance:
        values = dict(base.values)
        for k in unit:
            v = values[k].copy()
            v[index] = 0.0
            values[k] = v
        return _Instance(base.d, base.ints, values, base.margin)

    moves: list[tuple[list[Key], tuple[int, ...]]] = []
    for unit in _units(inst):
        v = inst.values[unit[0]]
        if v.ndim == 0:
            if v != 0:
                moves.append((unit, ()))
        else:
            moves += [(unit, tuple(int(i) for i in ix)) for ix in zip(*np.nonzero(v))]
    if not moves or len(moves) > 400:
        return inst
    singles = _verified(claim, [zeroed(inst, u, ix) for u, ix in moves], rng)
    for (unit, index), ok in zip(moves, singles):
        if ok is None or budget <= 0:
            continue
        budget -= 1
        got = _first_good(claim, [zeroed(inst, unit, index)], rng)
        if got is not None:
            inst = got
    return inst


# =========================================================================== symbolic proof


class _NoProof(Exception):
    """The symbolic rules do not settle this statement (it may still be true)."""


@dataclass(frozen=True)
class _MS:
    """A multiset ``shift + scale·fn(M)`` (``key`` names M) or, with key None, d copies of ``shift``."""

    fn: str
    key: str | None
    shift: Any
    scale: Any


_TRANSPOSE_INVARIANT = frozenset({"norm", "smin", "svals", "eig", "rho", "det"})
#: size limits that keep SymPy fast; beyond them the statement is left to the numbers
MAX_TERMS = 4096
#: the prover does not write out a power with a larger exponent
MAX_PROVER_EXPONENT = 64
MAX_SIMPLIFY_OPS = 120
_SV = tuple[str, Any]  # ("s", scalar) | ("m", matrix, 1 standing for I) | ("ms", _MS)


class _Prover:
    """Prove a claim with SymPy: matrices are non-commutative symbols (A B ≠ B A unless
    the constraints say they commute), I is 1, and a few exact rules handle norms,
    singular values and eigenvalues of s I + t M. Raises `_NoProof` when it cannot."""

    def __init__(self, claim: Claim) -> None:
        import sympy

        self.sp = sympy
        self.claim = claim
        self.sig = claim.signature
        self.rules = claim.rules
        self.d = sympy.Symbol("d", integer=True, positive=True)
        self.notes: list[str] = []
        self.letters: dict[str, Any] = {}
        self.letter_keys: dict[Any, Key] = {}
        self.tmap: dict[Any, Any] = {}
        self.assume: dict[Any, list[Any]] = {}
        self._busy: set[str] = set()
        self.theorems: list[str] = []  # the theorems applied (proof by theorems), in order

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ------------------------------------------------------------------ entry
    def prove(self) -> str:
        self.assume = self._assumptions()
        for a, op, b in self.claim.relation.links():
            try:
                self._link(self.conv(a, {}), op, self.conv(b, {}))
            except _NoProof:
                if op == "=":
                    raise
                bounds = _Bounds(self)
                bounds.link(a, op, b)
                self.theorems += [t for t in bounds.used if t not in self.theorems]
                self.note(f"{g.render(a)} {op} {g.render(b)} by theorems")
        return "; ".join(self.notes) or "both sides simplify to the same expression"

    def _assumptions(self) -> dict[Any, list[Any]]:
        """Numeric bounds on scalar symbols from the constraints (``0 <= c < 1``), used by
        the interval arithmetic below. (SymPy's ``ask``/``refine`` are not used: ``ask``
        wrongly answers True for Q.nonnegative(c - x*y) given Q.positive(c).)"""
        box: dict[Any, list[Any]] = {}
        assumed: list[str] = []
        saved = list(self.notes)
        for a, op, b in self.rules.links:
            if op == "=":
                continue
            for x, y, upper in ((a, b, op in ("<=", "<")), (b, a, op in (">=", ">"))):
                if not isinstance(x, g.Name) or self.sig.kinds.get(x.base) is not g.Kind.SCALAR:
                    continue
                try:
                    (tx, sx), (ty, sy) = self.conv(x, {}), self.conv(y, {})
                except (_NoProof, SymresError):
                    continue
                if tx != "s" or ty != "s" or not sx.is_Symbol or not sy.is_number or not sy.is_real:
                    continue
                enclosure = self._range(sy)  # outward-rounded: the bound itself, not its nearest double
                if enclosure is None:
                    continue
                bounds = box.setdefault(sx, [None, None])
                if upper:
                    bounds[1] = enclosure.b if bounds[1] is None else min(bounds[1], enclosure.b)
                else:
                    bounds[0] = enclosure.a if bounds[0] is None else max(bounds[0], enclosure.a)
                assumed.append(f"{g.render(a)} {op} {g.render(b)}")
                break
        self.notes = saved + ([f"assuming {', '.join(dict.fromkeys(assumed))}"] if assumed else [])
        return box

    def _range(self, e: Any) -> Any:
        """An interval (mpmath.iv, outward-rounded) containing every value of ``e``, or None."""
        from mpmath import iv

        sp = self.sp
        everything = iv.mpf(["-inf", "inf"])
        if e.is_Rational:
            return iv.mpf(int(e.p)) / int(e.q)
        if e is sp.pi:
            return iv.pi
        if e.is_Symbol:
            lo, hi = self.assume.get(e, [None, None])
            if e.is_nonnegative:
                lo = 0 if lo is None else max(lo, 0)
            if e.is_integer and e.is_positive:
                lo = 1 if lo is None else max(lo, 1)
            if e.is_real is not True:
                return None
            return iv.mpf(["-inf" if lo is None else lo, "inf" if hi is None else hi])
        if e.is_Add or e.is_Mul:
            parts = [self._range(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            out = parts[0]
            for p in parts[1:]:
                out = out + p if e.is_Add else out * p
            return out
        if isinstance(e, sp.Abs):
            x = self._range(e.args[0])
            return None if x is None else abs(x)
        if isinstance(e, sp.exp):
            x = self._range(e.args[0])
            return None if x is None else iv.exp(x)
        if e.is_Pow:
            base = self._range(e.base)
            if base is None:
                return None
            if e.exp.is_Integer:
                n = int(e.exp)
                if n < 0 and base.a <= 0 <= base.b:
                    return everything
                return base**n
            lo_b, hi_b = base.a, base.b
            if e.exp.is_Rational and lo_b >= 0:
                if hi_b == iv.inf or (e.exp < 0 and lo_b <= 0):
                    return iv.mpf([0, "inf"])
                return base ** (iv.mpf(int(e.exp.p)) / int(e.exp.q))
            ex = self._range(e.exp)
            if ex is None or lo_b < 0:
                return None
            if ex.a >= 0 and hi_b <= 1:
                return iv.mpf([0, 1])
            if ex.a >= 0 and lo_b >= 1:
                return iv.mpf([1, "inf"])
            return iv.mpf([0, "inf"])
        return None

    def _sign(self, e: Any) -> tuple[bool, bool]:
        """(certainly >= 0, certainly > 0) by SymPy's symbol assumptions or intervals."""
        nonneg, pos = e.is_nonnegative is True, e.is_positive is True
        if not pos:
            r = self._range(e)
            if r is not None:
                nonneg, pos = nonneg or r.a >= 0, r.a > 0
        return nonneg or pos, pos

    def _refine_abs(self, e: Any) -> Any:
        """Drop |·| where the argument's sign is certain."""
        sp = self.sp

        def fix(x: Any) -> Any:
            arg = x.args[0]
            if self._sign(arg)[0]:
                return arg
            if self._sign(-arg)[0]:
                return -arg
            return x

        return e.replace(lambda x: isinstance(x, sp.Abs), fix)

    # ------------------------------------------------------------------ comparing
    def _link(self, a: _SV, op: str, b: _SV) -> None:
        if "ms" in (a[0], b[0]):
            self._multiset_link(a, op, b)
        elif "m" in (a[0], b[0]):
            if op != "=" or self._poly(a[1] - b[1]):
                raise _NoProof
            self.note("expanded both sides with non-commutative symbols (A B ≠ B A)")
        else:
            self._scalar_link(a[1], op, b[1])

    def _simp(self, e: Any) -> Any:
        sp = self.sp
        e = sp.expand(e)
        if e == 0 or sp.count_ops(e) > MAX_SIMPLIFY_OPS:
            return e
        return sp.simplify(self._refine_abs(sp.simplify(e)))

    def _scalar_link(self, a: Any, op: str, b: Any) -> None:
        diff = self._simp(b - a if op in ("<=", "<") else a - b)
        if op == "=":
            if diff != 0:
                raise _NoProof
            self.note("simplified with SymPy")
            return
        strict = op in ("<", ">")
        nonneg, pos = self._sign(diff)
        if not (pos if strict else nonneg):
            raise _NoProof
        self.note(f"the difference is {'positive' if strict else 'non-negative'} (sign rules and interval arithmetic)")

    def _multiset_link(self, a: _SV, op: str, b: _SV) -> None:
        def as_ms(v: _SV) -> _MS:
            if v[0] == "ms":
                return v[1]
            if v[0] == "s":
                return _MS("const", None, v[1], self.sp.Integer(0))
            raise _NoProof

        x, y = as_ms(a), as_ms(b)
        if x.key is None and y.key is None:
            self._scalar_link(x.shift, op, y.shift)
            return
        if op != "=" or (x.fn, x.key) != (y.fn, y.key):
            raise _NoProof
        if self._simp(x.shift - y.shift) != 0 or self._simp(x.scale - y.scale) != 0:
            raise _NoProof

    # ------------------------------------------------------------------ letters
    def _letter(self, key: Key) -> Any:
        sp = self.sp
        label = _label(key)
        if label in self.letters:
            return self.letters[label]
        a = sp.Symbol(label, commutative=False)
        props = {p for n, p in self.rules.props if _match(n, key) is not None}
        if props & {"symmetric", "diagonal", "psd"}:
            self.tmap[a] = a
            self.note(f"{label}^T = {label} ({'symmetric' if 'diagonal' not in props else 'diagonal'})")
        elif "skew" in props:
            self.tmap[a] = -a
        else:
            at = sp.Symbol(label + "ᵀ", commutative=False)
            self.tmap[a], self.tmap[at] = at, a
        self.letters[label] = a
        self.letter_keys[a] = key
        return a

    def _commute(self, x: Any, y: Any) -> bool:
        if x == y:
            return True
        kx, ky = self.letter_keys.get(x), self.letter_keys.get(y)
        if kx is None or ky is None:
            return False
        diag = {k for k in (kx, ky) if any(p == "diagonal" and _match(n, k) is not None for n, p in self.rules.props)}
        if len(diag) == 2:
            self.note("diagonal matrices commute")
            return True
        for names in self.rules.commute:
            if any(_match(n, kx) is not None for n in names) and any(_match(n, ky) is not None for n in names):
                self.note(f"used that {', '.join(n.label for n in names)} commute")
                return True
        return False

    def _transpose(self, e: Any) -> Any:
        sp = self.sp
        if e.is_commutative:
            return e
        if e.is_Symbol:
            if e not in self.tmap:
                raise _NoProof
            return self.tmap[e]
        if e.is_Add:
            return sp.Add(*[self._transpose(x) for x in e.args])
        if e.is_Mul:
            c, nc = e.args_cnc()
            return sp.Mul(*c) * sp.Mul(*[self._transpose(x) for x in reversed(nc)])
        if e.is_Pow:
            return sp.Pow(self._transpose(e.base), e.exp)
        raise _NoProof

    # ------------------------------------------------------------------ polynomials
    def _normal_form(self, word: tuple[Any, ...]) -> tuple[Any, ...]:
        """The least word equal to ``word`` when commuting letters may be swapped."""
        rest, out = list(word), []
        while rest:
            best = None
            for i, x in enumerate(rest):
                if all(self._commute(x, y) for y in rest[:i]) and (best is None or str(x) < str(rest[best])):
                    best = i
            assert best is not None
            out.append(rest.pop(best))
        return tuple(out)

    def _terms(self, e: Any) -> int:
        """How many terms expanding ``e`` can produce (an upper bound)."""
        if e.is_Add:
            return sum(self._terms(a) for a in e.args)
        if e.is_Mul:
            return math.prod(self._terms(a) for a in e.args)
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            return int(min(self._terms(e.base) ** min(int(e.exp), 64), 10**9))
        return 1

    def _poly(self, e: Any) -> dict[tuple[Any, ...], Any]:
        """A matrix expression as {word: coefficient} in non-commuting letters."""
        sp = self.sp
        if self._terms(e) > MAX_TERMS:
            raise _NoProof
        acc: dict[tuple[Any, ...], Any] = {}
        for term in sp.Add.make_args(sp.expand(e)):
            if term == 0:
                continue
            c, nc = term.args_cnc()
            word: list[Any] = []
            for f in nc:
                if f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp > 0:
                    word += [f.base] * int(f.exp)
                else:
                    word.append(f)
            w = self._normal_form(tuple(word))
            acc[w] = acc.get(w, 0) + sp.Mul(*c)
        out = {}
        for w, coeff in acc.items():
            coeff = self._simp(coeff)
            if coeff != 0:
                out[w] = coeff
        return out

    def _expr(self, poly: Mapping[tuple[Any, ...], Any]) -> Any:
        sp = self.sp
        return sp.Add(*[c * sp.Mul(*w) for w, c in poly.items()])

    @staticmethod
    def _word_key(w: tuple[Any, ...]) -> tuple[int, tuple[str, ...]]:
        return (len(w), tuple(str(x) for x in w))

    def _poly_str(self, poly: Mapping[tuple[Any, ...], Any]) -> str:
        sp = self.sp
        items = sorted(poly.items(), key=lambda kv: self._word_key(kv[0]))
        return " + ".join(f"{sp.sstr(c)}*{'·'.join(str(x) for x in w) or 'I'}" for w, c in items)

    def _split(self, poly: dict[tuple[Any, ...], Any]) -> tuple[Any, dict[tuple[Any, ...], Any]]:
        """poly = t·core with core's first coefficient 1, when t divides every coefficient."""
        sp = self.sp
        first = min(poly, key=self._word_key)
        t = poly[first]
        core = {}
        for w, c in poly.items():
            q = sp.cancel(c / t)
            if sp.fraction(q)[1].free_symbols:
                return sp.Integer(1), poly
            core[w] = q
        return t, core

    def _canon(self, core: dict[tuple[Any, ...], Any], fn: str) -> str:
        keys = [self._poly_str(core)]
        variants = [core]
        if fn in _TRANSPOSE_INVARIANT:
            variants.append(self._poly(self._transpose(self._expr(core))))
        if fn in ("eig", "tr"):
            for v in list(variants):
                if len(v) == 1:
                    ((w, c),) = v.items()
                    variants += [{w[i:] + w[:i]: c} for i in range(1, len(w))]
        keys = [self._poly_str(v) for v in variants]
        return min(keys)

    # ------------------------------------------------------------------ the AST walk
    def conv(self, node: g.Node, scope: Mapping[str, Any]) -> _SV:
        sp = self.sp
        if isinstance(node, g.Num):
            return ("s", sp.Rational(node.value.numerator, node.value.denominator))
        if isinstance(node, g.Pi):
            return ("s", sp.pi)
        if isinstance(node, g.Identity):
            return ("m", sp.Integer(1))
        if isinstance(node, g.Name):
            return self._name(node, scope)
        if isinstance(node, g.Neg):
            tag, v = self.conv(node.arg, scope)
            return (tag, _MS(v.fn, v.key, -v.shift, -v.scale)) if tag == "ms" else (tag, -v)
        if isinstance(node, g.Transpose):
            tag, v = self.conv(node.arg, scope)
            return (tag, self._transpose(v)) if tag == "m" else (tag, v)
        if isinstance(node, g.BinOp):
            return self._binop(node, scope)
        if isinstance(node, g.Pow):
            return self._pow(node, scope)
        if isinstance(node, g.Call):
            return self._call(node, scope)
        if isinstance(node, g.Reduce):
            return self._reduce(node, scope)
        raise _NoProof

    def _name(self, node: g.Name, scope: Mapping[str, Any]) -> _SV:
        sp = self.sp
        if node.sub is None and node.base in scope:
            v = scope[node.base]
            if isinstance(v, str):
                raise _NoProof
            return ("s", sp.Integer(v) if isinstance(v, int) else v)
        sub: Any = node.sub
        if sub is not None:
            sub = scope[sub] if sub in scope else (int(sub) if sub.isdigit() else sub)
        key: Key = (node.base, sub)
        label = _label(key)
        for d in self.rules.defs:
            binding = _match(d.target, key)
            if binding is not None:
                if label in self._busy:
                    raise _NoProof
                self._busy.add(label)
                try:
                    self.note(f"used {g.render(d.target)} = {g.render(d.expr)}")
                    return self.conv(d.expr, binding)
                finally:
                    self._busy.discard(label)
        if node.base in self.sig.integers:
            positive = not any(b.target.base == node.base and not b.upper for b in self.rules.bounds)
            return ("s", sp.Symbol(node.base, integer=True, positive=positive or None))
        if self.sig.kinds[node.base] is g.Kind.SCALAR:
            return ("s", sp.Symbol(label, real=True))
        return ("m", self._letter(key))

    def _binop(self, node: g.BinOp, scope: Mapping[str, Any]) -> _SV:
        (ta, a), (tb, b) = self.conv(node.left, scope), self.conv(node.right, scope)
        if node.op in "+-":
            sign = 1 if node.op == "+" else -1
            if "ms" in (ta, tb):
                if ta == "ms" and tb == "s":
                    return ("ms", _MS(a.fn, a.key, a.shift + sign * b, a.scale))
                if ta == "s" and tb == "ms":
                    return ("ms", _MS(b.fn, b.key, a + sign * b.shift, sign * b.scale))
                raise _NoProof
            return ("m" if "m" in (ta, tb) else "s", a + sign * b)
        if node.op == "/":
            if tb != "s":
                raise _NoProof
            if ta == "ms":
                return ("ms", _MS(a.fn, a.key, a.shift / b, a.scale / b))
            return (ta, a / b)
        if ta == "ms" and tb == "s":
            return ("ms", _MS(a.fn, a.key, a.shift * b, a.scale * b))
        if ta == "s" and tb == "ms":
            return ("ms", _MS(b.fn, b.key, a * b.shift, a * b.scale))
        if "ms" in (ta, tb):
            raise _NoProof
        product = a * b
        if self.sig.kind(node) is g.Kind.SCALAR and not product.is_commutative:
            raise _NoProof  # a 1×1 product such as x^T x
        return ("m" if "m" in (ta, tb) else "s", product)

    def _pow(self, node: g.Pow, scope: Mapping[str, Any]) -> _SV:
        sp = self.sp
        (ta, a), (te, e) = self.conv(node.base, scope), self.conv(node.exp, scope)
        if te != "s":
            raise _NoProof
        if e.is_number and abs(e) > MAX_PROVER_EXPONENT and not (a.is_number and abs(a) in (0, 1)):
            raise _NoProof  # 9^(9^9) exactly, or a word of 10^9 letters: too costly to write out
        if ta == "s":
            return ("s", a**e)
        if ta == "ms":
            if a.key is not None:
                raise _NoProof
            return ("ms", _MS(a.fn, None, a.shift**e, sp.Integer(0)))
        if e.is_Integer and e >= 0:
            return ("m", a**e)
        return ("m", a**e if (a.is_commutative or a.is_Symbol) else sp.Pow(a, e))

    def _call(self, node: g.Call, scope: Mapping[str, Any]) -> _SV:
        sp = self.sp
        tag, v = self.conv(node.arg, scope)
        f = node.func
        if tag == "ms":
            if v.key is not None and not (f == "abs" and v.fn == "svals" and v.shift == 0 and v.scale.is_nonnegative):
                raise _NoProof
            if f == "abs":
                return ("ms", _MS(v.fn, v.key, sp.Abs(v.shift), v.scale))
            if f in ("max", "min"):
                return ("s", v.shift)
            raise _NoProof
        if tag == "s":
            table = {"norm": sp.Abs, "abs": sp.Abs, "sqrt": sp.sqrt, "exp": sp.exp}
            if f not in table:
                raise _NoProof
            return ("s", table[f](v))
        return self._matrix_function(f, v)

    def _matrix_function(self, f: str, e: Any) -> _SV:
        sp = self.sp
        f = "norm" if f == "smax" else f
        poly = self._poly(e)
        if set(poly) <= {()}:
            s = poly.get((), sp.Integer(0))
            self.note("s I has every eigenvalue s and every singular value |s|")
            if f in ("norm", "smin", "rho"):
                return ("s", sp.Abs(s))
            if f == "svals":
                return ("ms", _MS("svals", None, sp.Abs(s), sp.Integer(0)))
            if f == "eig":
                return ("ms", _MS("eig", None, s, sp.Integer(0)))
            if f == "det":
                return ("s", s**self.d)
            if f == "tr":
                return ("s", self.d * s)
            if f == "exp":
                return ("m", sp.exp(s))
            raise _NoProof
        if f == "eig":
            s0 = poly.pop((), sp.Integer(0))
            t, core = self._split(poly)
            if s0 != 0 or t != 1:
                self.note("eig(s I + t M) = s + t·eig(M)")
            return ("ms", _MS("eig", self._canon(core, "eig"), s0, t))
        if f == "tr":
            total = 0
            for w, c in poly.items():
                total += c * (self.d if not w else sp.Symbol(f"tr⟨{self._canon({w: 1}, 'tr')}⟩", real=True))
            self.note("the trace is linear and cyclic")
            return ("s", total)
        if f == "exp":
            key = self._canon(poly, "exp")
            letter = sp.Symbol(f"exp⟨{key}⟩", commutative=False)
            if letter not in self.tmap:
                other = sp.Symbol(f"exp⟨{self._canon(self._poly(self._transpose(self._expr(poly))), 'exp')}⟩", commutative=False)
                self.tmap[letter], self.tmap[other] = other, letter
            return ("m", letter)
        t, core = self._split(poly)
        key = self._canon(core, f)
        if t != 1:
            self.note(f"{f}(t M) = |t|·{f}(M)" if f != "det" else "det(t M) = t^d det(M)")
        if f == "svals":
            return ("ms", _MS("svals", key, sp.Integer(0), sp.Abs(t)))
        if f == "det":
            return ("s", t**self.d * sp.Symbol(f"det⟨{key}⟩", real=True))
        if f in ("norm", "smin", "rho"):
            return ("s", sp.Abs(t) * sp.Symbol(f"{f}⟨{key}⟩", nonnegative=True))
        raise _NoProof

    def _reduce(self, node: g.Reduce, scope: Mapping[str, Any]) -> _SV:
        sp = self.sp
        (tl, lo), (th, hi) = self.conv(node.lo, scope), self.conv(node.hi, scope)
        if tl != "s" or th != "s":
            raise _NoProof
        tag = "m" if self.sig.kind(node) is g.Kind.MATRIX else "s"
        if lo.is_Integer and hi.is_Integer:
            if hi - lo + 1 > 12:
                raise _NoProof
            values = [self.conv(node.body, {**scope, node.var: i})[1] for i in range(int(lo), int(hi) + 1)]
            if len(values) > 12 or (len(values) > 6 and not all(v.is_commutative for v in values)):
                raise _NoProof
            acc: Any = sp.Integer(1 if node.op == "prod" else 0)
            for v in values:
                acc = v * acc if node.op == "prod" else acc + v
            if node.op == "prod" and tag == "m":
                self.note("wrote out the ordered product, later factors on the left")
            return (tag, acc)
        index = sp.Symbol(f"{node.var}'", integer=True)
        btag, body = self.conv(node.body, {**scope, node.var: index})
        if btag == "ms" or index in body.free_symbols or any(index.name in str(x) for x in body.free_symbols):
            raise _NoProof
        count = hi - lo + 1
        if not self._sign(count)[0]:
            raise _NoProof  # an empty product for some values: the closed form would be wrong
        if node.op == "prod":
            if body.is_commutative:
                self.note(f"a product of {sp.sstr(count)} equal factors s I is s^{sp.sstr(count)} I")
            return (tag, body**count)
        self.note(f"a sum of {sp.sstr(count)} equal terms")
        return (tag, count * body)


# =========================================================================== proof by theorems

#: the theorems the bound prover applies, by name (each is also in symres.theorems as data)
THM_SUBMULT = "submultiplicativity: ‖P Q‖ ≤ ‖P‖ ‖Q‖"
THM_TRIANGLE = "triangle inequality: ‖P + Q‖ ≤ ‖P‖ + ‖Q‖"
THM_WEYL = "Weyl's inequality for singular values: σ_min(P + Q) ≥ σ_min(P) − ‖Q‖"
THM_SUPERMULT = "supermultiplicativity of σ_min: σ_min(P Q) ≥ σ_min(P) σ_min(Q)"
THM_POWER = "(1 ± c)^L bounds: a product of L factors each bounded by u ≥ 0 is bounded by u^L"
THM_SMIN_NORM = "σ_min(P) ≤ ‖P‖"
THM_RHO_NORM = "ρ(P) ≤ ‖P‖ (every eigenvalue is at most the spectral norm in modulus)"
THM_SCALE = "‖s P‖ = |s| ‖P‖, σ_min(s P) = |s| σ_min(P), ‖Pᵀ‖ = ‖P‖, ‖I‖ = σ_min(I) = 1"
THM_MONOTONE = "monotonicity: sums, products and powers of non-negative bounds are bounds"


class _Bounds:
    """Proof by theorems: an upper bound of the left side and a lower bound of the right
    side of ``a <= b``, built by applying named theorems to the syntax tree (a product's
    norm by submultiplicativity, σ_min(I + J) by Weyl, a premise ``norm(J_l) <= c``, ...);
    the link is proved when SymPy and interval arithmetic show lower(b) − upper(a) ≥ 0.
    Every theorem applied is recorded, in order. Raises `_NoProof` when no chain fits."""

    def __init__(self, prover: _Prover) -> None:
        self.p = prover
        self.sp = prover.sp
        self.used: list[str] = []
        self.premises = True  # bound ‖J‖ by its premise ‖J‖ <= c

    def use(self, name: str) -> None:
        if name not in self.used:
            self.used.append(name)

    # ------------------------------------------------------------------ helpers
    def _kind(self, node: g.Node) -> g.Kind:
        return self.p.sig.kind(node)

    def _exact(self, node: g.Node, scope: Mapping[str, Any]) -> Any:
        tag, v = self.p.conv(node, scope)
        if tag != "s":
            raise _NoProof
        return v

    def _nonneg(self, e: Any) -> bool:
        """Is ``e`` certainly ≥ 0 (as written, where powers keep their sign, or simplified)?"""
        return self.p._sign(e)[0] or self.p._sign(self.p._simp(e))[0]

    def _clamp(self, e: Any) -> Any:
        """A lower bound of a σ_min made ≥ 0 (σ_min is never negative)."""
        return e if self._nonneg(e) else self.sp.Integer(0)

    def _has_bounds(self, node: g.Node) -> bool:
        """Does a scalar node contain a matrix function to bound (norm, σ_min, ρ)?"""
        return any(
            isinstance(n, g.Call) and n.func in ("norm", "smin", "smax", "rho") and self._kind(n.arg) is g.Kind.MATRIX
            for n in g._walk(node)
        )

    def _index(self, node: g.Reduce, scope: Mapping[str, Any]) -> tuple[Any, Any]:
        """(count of factors, the scope with the index as a symbol) of a reduction."""
        lo, hi = self._exact(node.lo, scope), self._exact(node.hi, scope)
        count = self.sp.simplify(hi - lo + 1)
        if not self._nonneg(count):
            raise _NoProof
        return count, {**scope, node.var: self.sp.Symbol(f"{node.var}'", integer=True)}

    def _uniform(self, body: Any, inner: Mapping[str, Any], var: str) -> Any:
        if any(s.name == f"{var}'" for s in body.free_symbols):
            raise _NoProof  # the bound depends on the index: no closed form here
        return body

    # ------------------------------------------------------------------ matrices
    def norm_upper(self, node: g.Node, scope: Mapping[str, Any]) -> Any:
        """An expression ≥ ‖node‖ (the spectral norm of a matrix node)."""
        sp = self.sp
        if isinstance(node, g.Identity):
            self.use(THM_SCALE)
            return sp.Integer(1)
        if isinstance(node, g.Name):
            return self._premise(node, scope)
        if isinstance(node, (g.Neg, g.Transpose)):
            self.use(THM_SCALE) if isinstance(node, g.Transpose) else None
            return self.norm_upper(node.arg, scope)
        if isinstance(node, g.BinOp):
            kl, kr = self._kind(node.left), self._kind(node.right)
            if node.op == "*" and kl is g.Kind.SCALAR:
                self.use(THM_SCALE)
                return sp.Abs(self._exact(node.left, scope)) * self.norm_upper(node.right, scope)
            if node.op in ("*", "/") and kr is g.Kind.SCALAR:
                self.use(THM_SCALE)
                s = self._exact(node.right, scope)
                return self.norm_upper(node.left, scope) * (sp.Abs(s) if node.op == "*" else 1 / sp.Abs(s))
            if node.op == "*":
                self.use(THM_SUBMULT)
                return self.norm_upper(node.left, scope) * self.norm_upper(node.right, scope)
            if node.op in "+-" and kl is g.Kind.MATRIX and kr is g.Kind.MATRIX:
                self.use(THM_TRIANGLE)
                return self.norm_upper(node.left, scope) + self.norm_upper(node.right, scope)
            raise _NoProof
        if isinstance(node, g.Pow):
            n = self._exact(node.exp, scope)
            if not (n.is_integer and self._nonneg(n)):
                raise _NoProof
            self.use(THM_SUBMULT)
            return self.norm_upper(node.base, scope) ** n
        if isinstance(node, g.Reduce):
            count, inner = self._index(node, scope)
            u = self._uniform(self.norm_upper(node.body, inner), inner, node.var)
            if node.op == "prod":
                self.use(THM_SUBMULT)
                self.use(THM_POWER)
                return u**count
            self.use(THM_TRIANGLE)
            return count * u
        raise _NoProof

    def _premise(self, node: g.Name, scope: Mapping[str, Any]) -> Any:
        """‖J‖ for a matrix symbol: a premise ``norm(J) <= c`` if there is one, else ‖J‖ itself."""
        sub: Any = node.sub
        if sub is not None:
            sub = scope[sub] if sub in scope else (int(sub) if sub.isdigit() else sub)
        key: Key = (node.base, sub)
        for b in self.p.rules.bounds if self.premises else ():
            found = _match(b.target, key)
            if b.on_norm and b.upper and found is not None:
                return self._exact(b.expr, {**scope, **found})
        return self._exact(g.Call("norm", node, node.col), scope)

    def smin_lower(self, node: g.Node, scope: Mapping[str, Any]) -> Any:
        """An expression ≤ σ_min(node) (not necessarily ≥ 0; products clamp their factors)."""
        sp = self.sp
        if isinstance(node, g.Identity):
            self.use(THM_SCALE)
            return sp.Integer(1)
        if isinstance(node, (g.Neg, g.Transpose)):
            return self.smin_lower(node.arg, scope)
        if isinstance(node, g.BinOp):
            kl, kr = self._kind(node.left), self._kind(node.right)
            if node.op == "*" and kl is g.Kind.SCALAR:
                self.use(THM_SCALE)
                return sp.Abs(self._exact(node.left, scope)) * self._clamp(self.smin_lower(node.right, scope))
            if node.op == "*" and kl is g.Kind.MATRIX and kr is g.Kind.MATRIX:
                self.use(THM_SUPERMULT)
                return self._clamp(self.smin_lower(node.left, scope)) * self._clamp(self.smin_lower(node.right, scope))
            if node.op in "+-" and kl is g.Kind.MATRIX and kr is g.Kind.MATRIX:
                self.use(THM_WEYL)
                first, second = (node.left, node.right)
                if node.op == "+" and isinstance(node.right, g.Identity):
                    first, second = node.right, node.left
                return self.smin_lower(first, scope) - self.norm_upper(second, scope)
            raise _NoProof
        if isinstance(node, g.Pow):
            n = self._exact(node.exp, scope)
            if not (n.is_integer and self._nonneg(n)):
                raise _NoProof
            self.use(THM_SUPERMULT)
            return self._clamp(self.smin_lower(node.base, scope)) ** n
        if isinstance(node, g.Reduce) and node.op == "prod":
            count, inner = self._index(node, scope)
            u = self._uniform(self._clamp(self.smin_lower(node.body, inner)), inner, node.var)
            self.use(THM_SUPERMULT)
            self.use(THM_POWER)
            return u**count
        if isinstance(node, g.Name):
            return self._exact(g.Call("smin", node, node.col), scope)
        raise _NoProof

    # ------------------------------------------------------------------ scalars
    def upper(self, node: g.Node, scope: Mapping[str, Any]) -> Any:
        """An expression ≥ the scalar node, for every instance meeting the premises."""
        return self._bound(node, scope, upper=True)

    def lower(self, node: g.Node, scope: Mapping[str, Any]) -> Any:
        """An expression ≤ the scalar node."""
        return self._bound(node, scope, upper=False)

    def _bound(self, node: g.Node, scope: Mapping[str, Any], upper: bool) -> Any:
        sp = self.sp
        if not self._has_bounds(node):
            return self._exact(node, scope)
        if isinstance(node, g.Call) and self._kind(node.arg) is g.Kind.MATRIX:
            f = "norm" if node.func == "smax" else node.func
            if isinstance(node.arg, g.Name) and f in ("norm", "smin"):
                return self._exact(node, scope) if not (f == "norm" and upper) else self.norm_upper(node.arg, scope)
            if f == "norm":
                if upper:
                    return self.norm_upper(node.arg, scope)
                self.use(THM_SMIN_NORM)
                return self.smin_lower(node.arg, scope)
            if f == "smin":
                if upper:
                    self.use(THM_SMIN_NORM)
                    return self.norm_upper(node.arg, scope)
                return self.smin_lower(node.arg, scope)
            if f == "rho":
                if upper:
                    self.use(THM_RHO_NORM)
                    return self.norm_upper(node.arg, scope)
                return sp.Integer(0)
            raise _NoProof
        if isinstance(node, g.Neg):
            return -self._bound(node.arg, scope, not upper)
        if isinstance(node, g.BinOp) and self._kind(node) is g.Kind.SCALAR:
            if node.op in "+-":
                right = self._bound(node.right, scope, upper if node.op == "+" else not upper)
                left = self._bound(node.left, scope, upper)
                return left + right if node.op == "+" else left - right
            if node.op in "*/":
                lo_l, lo_r = self._bound(node.left, scope, False), self._bound(node.right, scope, False)
                if not (self._nonneg(lo_l) and self._nonneg(lo_r)):
                    raise _NoProof
                if node.op == "/":
                    if upper:
                        return (
                            self._bound(node.left, scope, True) / lo_r
                            if lo_r.is_positive or self.p._sign(lo_r)[1]
                            else self._fail()
                        )
                    return lo_l / self._bound(node.right, scope, True)
                out = self._bound(node.left, scope, True) * self._bound(node.right, scope, True) if upper else lo_l * lo_r
                if out != self._exact(node, scope):
                    self.use(THM_MONOTONE)
                return out
        if isinstance(node, g.Pow) and self._kind(node) is g.Kind.SCALAR and self._has_bounds(node.base):
            n = self._exact(node.exp, scope)
            lo = self._bound(node.base, scope, False)
            if not (self._nonneg(lo) and self._nonneg(n)):
                raise _NoProof
            self.use(THM_MONOTONE)
            return (self._bound(node.base, scope, True) if upper else lo) ** n
        return self._exact(node, scope)

    def _fail(self) -> Any:
        raise _NoProof

    def link(self, a: g.Node, op: str, b: g.Node) -> None:
        """Prove the scalar link ``a op b`` (op an inequality) by theorems, or raise `_NoProof`."""
        if op == "=" or self._kind(a) is not g.Kind.SCALAR and self._kind(a) is not g.Kind.ZERO:
            raise _NoProof
        small, big = (a, b) if op in ("<=", "<") else (b, a)
        if (
            op in ("<=", ">=")
            and isinstance(small, g.Call)
            and isinstance(big, g.Call)
            and small.func in ("smin", "rho")
            and big.func in ("norm", "smax")
            and g.render(small.arg) == g.render(big.arg)
        ):
            self.use(THM_SMIN_NORM if small.func == "smin" else THM_RHO_NORM)
            return
        if op in ("<=", ">="):
            for f, bounded, name in (("norm", small, THM_SUBMULT), ("smin", big, THM_SUPERMULT)):
                if self._termwise(f, small if bounded is small else big, big if bounded is small else small):
                    self.use(name)
                    return
        for premises in (False, True):  # the atoms ‖J‖ themselves first, then their premises ‖J‖ <= c
            self.premises = premises
            used = list(self.used)
            try:
                diff = self.lower(big, {}) - self.upper(small, {})
                for e in (diff, self.p._simp(diff)):
                    nonneg, pos = self.p._sign(e)
                    if pos if op in ("<", ">") else nonneg:
                        return
            except _NoProof:
                pass
            self.used = used
        raise _NoProof

    def _termwise(self, f: str, outer: g.Node, factors: g.Node) -> bool:
        """``f(prod(l=a..b, X_l))`` against ``prod(l=a..b, f(X_l))`` (same range and body)."""
        if not (
            isinstance(outer, g.Call) and outer.func == f and isinstance(outer.arg, g.Reduce) and isinstance(factors, g.Reduce)
        ):
            return False
        r, q = outer.arg, factors
        return (
            r.op == q.op == "prod"
            and (r.var, g.render(r.lo), g.render(r.hi)) == (q.var, g.render(q.lo), g.render(q.hi))
            and isinstance(q.body, g.Call)
            and q.body.func == f
            and g.render(q.body.arg) == g.render(r.body)
        )


class _ProverOutOfTime(BaseException):
    """The prover's share of the time budget ran out (internal; means "no proof")."""


def _prove(claim: Claim, seconds: float) -> tuple[str, tuple[str, ...]] | None:
    """(the symbolic method, the theorems applied) that prove ``claim``, or None. Only the
    prover's own "no proof" (and its share of the time budget running out) mean "no
    proof": any other exception is a bug and propagates."""
    try:
        with time_limit(seconds, _ProverOutOfTime):
            prover = _Prover(claim)
            method = prover.prove()
            return method, tuple(prover.theorems)
    except (_NoProof, _ProverOutOfTime):
        return None


# =========================================================================== verdicts


@dataclass(frozen=True)
class LinkValue:
    """Both sides of one comparison of the statement on a counterexample."""

    lhs: str
    op: str
    rhs: str
    lhs_value: Any
    rhs_value: Any
    margin: float
    violated: bool


@dataclass(frozen=True)
class Counterexample:
    """A concrete instance on which the statement is false (re-verified).

    ``values`` maps each free symbol (``"J_3"``, ``"c"``) to its value: a (d, d) array for
    a matrix, (d, 1) for a vector, a float for a scalar. ``integers`` holds L, k, ...
    """

    dim: int
    integers: Mapping[str, int]
    values: Mapping[str, Any]
    links: tuple[LinkValue, ...]
    seed: int
    margin: float
    interval: tuple[float, float] | None = None  # the certified enclosure of the violated margin
    digits: int = 0  # the precision that certified it

    def grouped(self) -> list[tuple[str, Any]]:
        """The values with equal consecutive members of a family shown once:
        ``[("J_l (l = 1..100)", array), ...]``."""
        out: list[tuple[str, Any]] = []
        items = list(self.values.items())
        i = 0
        while i < len(items):
            name, v = items[i]
            base, _, sub = name.partition("_")
            j = i
            if sub.isdigit():
                while (
                    j + 1 < len(items)
                    and items[j + 1][0] == f"{base}_{int(sub) + (j + 1 - i)}"
                    and np.array_equal(np.asarray(items[j + 1][1]), np.asarray(v))
                ):
                    j += 1
            if j > i:
                out.append((f"{base}_l (l = {sub}..{int(sub) + j - i})", v))
            else:
                out.append((name, v))
            i = j + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "integers": dict(self.integers),
            "values": {name: _jsonable(v) for name, v in self.values.items()},
            "sides": [
                {
                    "lhs": ln.lhs,
                    "op": ln.op,
                    "rhs": ln.rhs,
                    "lhs_value": _jsonable(ln.lhs_value),
                    "rhs_value": _jsonable(ln.rhs_value),
                    "margin": ln.margin,
                    "holds": not ln.violated,
                }
                for ln in self.links
            ],
            "seed": self.seed,
            "certified": {"interval": [_finite(x) for x in self.interval] if self.interval else None, "digits": self.digits},
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome of `check`: ``verdict`` is an `Outcome` (proved, holds, refuted,
    undecided; it compares equal to its name)."""

    verdict: Outcome
    statement: str
    method: str
    trials: int
    seed: int
    dim: int
    worst_margin: float | None
    tolerance: float
    search_dims: tuple[int, ...] = ()
    search_candidates: int = 0
    search_worst_margin: float | None = None
    counterexample: Counterexample | None = None
    notes: tuple[str, ...] = ()
    #: undecided: the enclosure [lo, hi] of the margin that could not be decided, and where
    interval: tuple[float, float] | None = None
    undecided_at: str = ""
    #: proved by theorems: the theorems applied, in order
    theorems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False only for refuted (exit status 1); see `exit_status` for undecided (3)."""
        return self.verdict != Outcome.REFUTED

    @property
    def exit_status(self) -> int:
        """0 proved or holds, 1 refuted, 3 undecided."""
        return Outcome(self.verdict).exit_status

    @property
    def summary(self) -> str:
        if self.verdict == Outcome.PROVED:
            return (
                "proved by theorems"
                if self.theorems
                else ("proved by certified arithmetic" if self.method.startswith("certified") else "proved symbolically")
            )
        if self.verdict == Outcome.HOLDS:
            return f"holds numerically ({self.trials} trials, seed {self.seed})"
        if self.verdict == Outcome.UNDECIDED:
            if self.interval is None:
                return "undecided (out of time)"
            lo, hi = self.interval
            return f"undecided: the margin of {self.undecided_at} lies in [{lo:.3g}, {hi:.3g}], which contains 0"
        cx = self.counterexample
        return f"refuted (counterexample at dimension {cx.dim if cx else '?'}, seed {self.seed})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": str(self.verdict),
            "summary": self.summary,
            "statement": self.statement,
            "method": self.method,
            "trials": self.trials,
            "seed": self.seed,
            "dim": self.dim,
            "worst_margin": self.worst_margin,
            "tolerance": self.tolerance,
            "search": {
                "dims": list(self.search_dims),
                "candidates": self.search_candidates,
                "worst_margin": self.search_worst_margin,
            },
            "notes": list(self.notes),
        }
        if self.theorems:
            out["theorems"] = list(self.theorems)
        if self.interval is not None:
            lo, hi = self.interval
            out["interval"] = {"comparison": self.undecided_at, "lo": _finite(lo), "hi": _finite(hi)}
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample.to_json()
        return out


def _jsonable(v: Any) -> Any:
    a = np.asarray(v)
    if np.iscomplexobj(a):
        if np.all(np.abs(a.imag) <= 1e-12 * np.maximum(1.0, np.abs(a))):
            a = a.real
        else:
            return [{"re": float(x.real), "im": float(x.imag)} for x in a.reshape(-1)]
    if a.ndim == 0:
        return float(a)
    return a.tolist()


def _number(x: complex | float, exact: bool = False) -> str:
    z = complex(x)
    if exact and z.imag == 0:
        text = repr(z.real + 0.0)
        return text[:-2] if text.endswith(".0") else text
    if abs(z.imag) <= 1e-12 * max(1.0, abs(z)):
        return f"{z.real + 0.0:.6g}"
    return f"{z.real + 0.0:.6g}{z.imag:+.6g}i"


def format_value(v: Any, exact: bool = False) -> str:
    """A value for the terminal: ``0.5``, a multiset ``{0, 2}``, a matrix ``[[1, 0], [0, 1]]``.
    ``exact``: the shortest decimal that reads back as the same double (a counterexample
    is certified on exactly what is printed); otherwise 6 significant digits."""
    a = np.asarray(v)
    if a.ndim == 0:
        return _number(a.item(), exact)
    if a.ndim == 1:
        return "{" + ", ".join(_number(x, exact) for x in a) + "}"
    return "[" + ", ".join("[" + ", ".join(_number(x, exact) for x in row) + "]" for row in a) + "]"


def _finite(x: float) -> float | None:
    return None if not math.isfinite(x) else x


def _counterexample(claim: Claim, inst: _Instance, seed: int, rng: np.random.Generator) -> Counterexample | None:
    batch = _run(claim, [inst], rng)
    if batch is None:
        return None
    decision = _certify(claim, inst)
    if decision.state != "violated":
        return None
    links = []
    for (a, op, b), ln in zip(claim.relation.links(), batch.links):
        links.append(
            LinkValue(
                g.render(a),
                op,
                g.render(b),
                _squeeze(ln.lhs[0]),
                _squeeze(ln.rhs[0]),
                float(ln.margin[0]),
                f"{g.render(a)} {op} {g.render(b)}" == decision.comparison,
            )
        )
    values = {_label(k): _squeeze(v) for k, v in inst.values.items()}
    return Counterexample(
        inst.d, dict(inst.ints), values, tuple(links), seed, float(batch.margin[0]), decision.interval, decision.digits
    )


def _squeeze(v: Any) -> Any:
    a = np.asarray(v)
    if a.ndim == 0:
        return complex(a) if np.iscomplexobj(a) else float(a)
    if a.ndim == 1 and np.iscomplexobj(a):
        return np.sort_complex(a)
    return np.sort(a) if a.ndim == 1 else a.copy()


def recheck(claim: Claim | str, cx: Counterexample) -> bool:
    """Evaluate the statement again on a counterexample's values: True if it is still
    violated and satisfies every constraint."""
    claim = parse(claim) if isinstance(claim, str) else claim
    values: dict[Key, Array] = {}
    for name, v in cx.values.items():
        base, _, sub = name.partition("_")
        key: Key = (base, (int(sub) if sub.isdigit() else sub) if sub else None)
        values[key] = np.asarray(v, dtype=float)
    inst = _Instance(cx.dim, dict(cx.integers), values, cx.margin)
    batch = _run(claim, [inst], np.random.default_rng(0))
    return batch is not None and _certify(claim, inst).state == "violated"


# =========================================================================== check


#: the default time budget of one statement, in seconds (`check(timeout=...)`, `--timeout`)
DEFAULT_TIMEOUT = 20.0
#: the prover's share of the time budget
PROVER_SHARE = 0.25
#: the recursion limit while a statement is checked: a 2,000-character statement nests at
#: most ~1,000 operations deep, a few frames each
_RECURSION_LIMIT = 20_000


@dataclass
class _Progress:
    """How far `check` got (what a timeout reports)."""

    stage: str = "parsing"
    claim: Claim | None = None
    method: str | None = None


def check(
    statement: str | Claim, *, trials: int = 200, seed: int = 0, dim: int | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Verdict:
    """Prove, check numerically, or refute a statement; ``undecided`` when certified
    arithmetic cannot tell or ``timeout`` seconds run out.

    ``trials`` seeded random instances are drawn at dimension ``dim`` (3 by default); if
    no proof is found and no trial fails, a counterexample is searched for at dimension
    ``dim`` or, by default, at 1, 2, 3 and 4. Every draw comes from
    ``numpy.random.default_rng`` seeded by ``seed``. Every decision (a counterexample, a
    statement without free symbols) is certified at the witness point (`_certify`).
    Raises `SymresError` on a malformed or too costly statement, or on constraints that
    no instance satisfies.
    """
    if not 1 <= trials <= MAX_TRIALS:
        raise SymresError(f"--trials must be between 1 and {MAX_TRIALS}")
    if dim is not None and not 1 <= dim <= 12:
        raise SymresError("--dim must be between 1 and 12")
    if not 0 < timeout <= 3600:
        raise SymresError("--timeout must be between 0 and 3600 seconds")
    progress = _Progress()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        with time_limit(timeout):
            return _check(statement, trials, seed, dim, timeout, progress)
    except OutOfTime:
        text = progress.claim.text if progress.claim else str(statement).strip()
        common = dict(statement=text, trials=trials, seed=seed, dim=dim or 3, worst_margin=None, tolerance=TOLERANCE)
        notes: tuple[str, ...] = (f"the time budget of {timeout:g} s ran out during {progress.stage}",)
        if progress.method is not None:
            notes += ("the numeric cross-check of the proof was cut short",)
            return Verdict(Outcome.PROVED, method=f"symbolic: {progress.method}", notes=notes, **common)  # type: ignore[arg-type]
        return Verdict(Outcome.UNDECIDED, method="out of time", notes=notes, **common)  # type: ignore[arg-type]
    finally:
        sys.setrecursionlimit(limit)


def _is_constant(claim: Claim) -> bool:
    """No symbol and no I: the statement is one number compared with another."""
    roots = [claim.relation, *(n for c in claim.statement.constraints for n in g._constraint_nodes(c))]
    return not claim.signature.kinds and not any(isinstance(n, (g.Name, g.Identity)) for root in roots for n in g._walk(root))


def _check_constant(claim: Claim, seed: int) -> Verdict:
    """A statement without symbols: decided by certified arithmetic alone."""
    inst = _Instance(1, {}, {}, 0.0)
    decision = _certify(claim, inst, constant=True)
    common = dict(statement=claim.text, trials=0, seed=seed, dim=1, worst_margin=None, tolerance=0.0)
    how = (
        f"certified arithmetic: both sides enclosed at {decision.digits} digits"
        if decision.digits
        else "certified arithmetic: exact rational arithmetic"
    )
    if decision.state == "holds":
        return Verdict(Outcome.PROVED, method=how, **common)  # type: ignore[arg-type]
    if decision.state == "violated":
        cx = _counterexample(claim, inst, seed, np.random.default_rng(seed))
        return Verdict(Outcome.REFUTED, method=how, counterexample=cx, **common)  # type: ignore[arg-type]
    if decision.state == "undecided":
        return Verdict(
            Outcome.UNDECIDED,
            method=how,
            interval=decision.interval,
            undecided_at=decision.comparison,
            **common,  # type: ignore[arg-type]
        )
    raise SymresError(f"cannot evaluate {claim.text!r} (a value is undefined, e.g. a division by zero)")


def _check(statement: str | Claim, trials: int, seed: int, dim: int | None, timeout: float, progress: _Progress) -> Verdict:
    claim = statement if isinstance(statement, Claim) else parse(statement)
    progress.claim = claim
    if _is_constant(claim):
        progress.stage = "certified evaluation"
        return _check_constant(claim, seed)
    progress.stage = "the symbolic prover"
    proof = _prove(claim, max(1.0, PROVER_SHARE * timeout))
    method, theorems = proof if proof is not None else (None, ())
    progress.method = method
    progress.stage = "the seeded trials"
    trial_dim = dim or 3
    rng = np.random.default_rng(seed)
    stats = _Stats()
    valid, violation = _run_trials(claim, trial_dim, trials, rng, stats)
    if valid == 0:
        raise SymresError(
            f"no random instance satisfies the constraints of {claim.text!r}; "
            "give bounds that can be met (e.g. norm(J) <= c with c >= 0)"
        )
    worst = _finite(stats.worst)
    search = _Stats()
    dims: tuple[int, ...] = (dim,) if dim else SEARCH_DIMS
    notes: list[str] = []
    if valid < trials:
        notes.append(f"{trials - valid} of {trials} trials were discarded (constraints unmet or values undefined)")
    searched: list[int] = []
    progress.stage = "the counterexample search"
    if violation is None and method is None:
        for d in dims:
            searched.append(d)
            violation = _search_dim(claim, d, seed, search)
            if violation is not None:
                break
    elif violation is not None and dim is None:
        for d in (x for x in dims if x < trial_dim):
            searched.append(d)
            smaller = _search_dim(claim, d, seed, search)
            if smaller is not None:
                violation = smaller
                break
    unconfirmed = stats.unconfirmed + search.unconfirmed
    if unconfirmed:
        notes.append(
            f"{unconfirmed} apparent violation(s) in double precision were not confirmed by certified arithmetic "
            "(floating-point error, or a premise broken by rounding) and were discarded"
        )
    common = dict(
        statement=claim.text,
        trials=trials,
        seed=seed,
        dim=trial_dim,
        worst_margin=worst,
        tolerance=claim.tolerance,
        search_candidates=search.candidates,
        search_worst_margin=_finite(search.worst),
    )
    if violation is None:
        if method is not None:
            return Verdict(
                Outcome.PROVED,
                method=f"{'theorems' if theorems else 'symbolic'}: {method}",
                notes=tuple(notes),
                theorems=theorems,
                **common,  # type: ignore[arg-type]
            )
        undecided = stats.undecided or search.undecided
        if undecided is not None:
            return Verdict(
                Outcome.UNDECIDED,
                method=f"certified arithmetic could not decide an instance at {undecided.digits} digits; no counterexample found",
                search_dims=tuple(searched),
                notes=tuple(notes),
                interval=undecided.interval,
                undecided_at=undecided.comparison,
                **common,  # type: ignore[arg-type]
            )
        return Verdict(
            Outcome.HOLDS,
            method=(
                f"numeric: {trials} seeded trials at dimension {trial_dim}, then a counterexample search "
                f"(random, structured, optimised) at dimension {', '.join(map(str, dims))}; not a proof"
            ),
            search_dims=tuple(searched),
            notes=tuple(notes),
            **common,  # type: ignore[arg-type]
        )
    progress.stage = "minimising the counterexample"
    mrng = np.random.default_rng([seed, 99])
    small = _minimise(claim, violation, mrng)
    cx = _counterexample(claim, small, seed, mrng) or _counterexample(claim, violation, seed, mrng)
    if cx is None:  # cannot happen for a genuine violation; never report what did not re-verify
        raise SymresError("internal error: a counterexample did not re-verify")
    if method is not None:
        notes.append(f"a symbolic rule claimed a proof ({method}) but the numbers refute it: please report this")
    return Verdict(
        Outcome.REFUTED,
        method=(
            "counterexample, minimised and re-verified in certified arithmetic "
            f"({f'{cx.digits} digits' if cx.digits else 'exact rationals'}), premises included"
        ),
        search_dims=tuple(searched),
        counterexample=cx,
        notes=tuple(notes),
        **common,  # type: ignore[arg-type]
    )
