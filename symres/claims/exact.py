"""Exact decisions at one instance: the statement in rational arithmetic on the values as
printed (`_decide_exactly`), and the premises (properties, commutation, norm bounds)
decided exactly (`_premises`, `_exact_norm_bound`).

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from symres import grammar as g
from symres.claims import rational
from symres.claims.functions import Function
from symres.claims.interpret import Backend, evaluate, reduce_terms
from symres.claims.model import Array, Claim, Key, Sub, _bindings, _match
from symres.claims.rational import Exact, NotRational
from symres.claims.sampling import _to_float
from symres.errors import SymresError

if TYPE_CHECKING:
    from symres.claims.search import _Instance


@dataclass(frozen=True)
class _Decision:
    """The certified outcome of the statement at one instance.

    ``state``: "violated" (a comparison is false and every constraint holds), "holds"
    (every comparison is true), "undecided" (the enclosure of a margin still contains
    0 at the highest precision tried), "infeasible" (a constraint fails or cannot be
    certified), "failed" (the arithmetic could not be carried out). ``interval`` is the
    enclosure [lo, hi] of the deciding margin (as doubles), ``text`` the same enclosure
    written at 3 significant digits without underflow (``[-2.4e-481, 1.1e-481]``);
    ``comparison`` names the comparison; ``digits`` is the precision that decided (0:
    exact rationals)."""

    state: str
    interval: tuple[float, float] | None = None
    comparison: str = ""
    digits: int = 0
    text: str = ""


def _exact(v: Array) -> list[list[Fraction]]:
    """A matrix as printed, in exact rationals."""
    a = np.atleast_2d(np.asarray(v, dtype=float))
    return [[Fraction(repr(float(x))) for x in row] for row in a]


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
        return rational.psd(x)
    if prop == "nilpotent":
        power = x
        for _ in range(n - 1):
            power = rational.mul(power, x)
        return all(e == 0 for row in power for e in row)
    if prop == "orthogonal":
        xt = [list(r) for r in zip(*x)]
        eye = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
        return rational.mul(xt, x) == eye
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
            if rational.mul(x, y) != rational.mul(y, x):
                return False
    return True


def _exact_scalar(claim: Claim, inst: _Instance, node: g.Node, scope: Mapping[str, Sub]) -> Fraction | None:
    """A scalar node in exact rationals (see `_Exact`), or None."""
    v = _Exact(claim, inst).attempt(node, scope)
    return v if isinstance(v, Fraction) else None


class _Exact(Backend[Exact]):
    """The backend of `evaluate` for the statement on an instance as printed, in exact
    rationals: literals, symbols, + − · /, integer powers, transposes, finite products
    and sums, and each function where its ``exact`` column gives a rational value (det
    and tr of any matrix; norm, σ_min, ρ of diagonal matrices, the 1×1 counterexamples
    and the zero matrix among them). Anything else raises `NotRational`: the caller
    falls back to enclosures (`_certify`)."""

    MAX_STEPS = 20_000
    MAX_TERMS = 200
    MAX_EXPONENT = 64

    def __init__(self, claim: Claim, inst: _Instance) -> None:
        self.claim, self.inst, self.d = claim, inst, inst.d
        self.sig = claim.signature
        self.steps = 0

    def attempt(self, node: g.Node, scope: Mapping[str, Sub]) -> Exact | None:
        """The exact value of ``node``, or None where it is not rational (or too costly)."""
        try:
            return evaluate(node, self, scope)
        except NotRational:
            return None

    def _tick(self) -> None:
        self.steps += 1
        if self.steps > self.MAX_STEPS:
            raise NotRational

    def number(self, value: Fraction) -> Exact:
        return value

    def pi(self) -> Exact:
        raise NotRational

    def identity(self) -> Exact:
        return rational.eye(self.d)

    def index(self, node: g.Name, value: Any) -> Exact:
        if not isinstance(value, int):
            raise NotRational
        return Fraction(value)

    def symbol(self, node: g.Name, key: Key) -> Exact:
        self._tick()
        base, sub = key
        if sub is None and base in self.inst.ints:
            return Fraction(self.inst.ints[base])
        for dfn in self.claim.rules.defs:
            binding = _match(dfn.target, key)
            if binding is not None:
                if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                    kind = self.sig.kinds[base]
                    if kind is g.Kind.SCALAR:
                        return Fraction(0)
                    return [[Fraction(0)] * (self.d if kind is g.Kind.MATRIX else 1) for _ in range(self.d)]
                return evaluate(dfn.expr, self, binding)
        found = self.inst.values.get(key)
        if found is None:
            raise NotRational
        return Fraction(repr(float(found))) if np.ndim(found) == 0 else _exact(found)

    def neg(self, x: Exact) -> Exact:
        return rational.scale(x, Fraction(-1))

    def transpose(self, x: Exact) -> Exact:
        return [list(r) for r in zip(*x)] if isinstance(x, list) else x

    def add(self, node: g.BinOp, x: Exact, y: Exact, sign: int) -> Exact:
        self._tick()
        if isinstance(x, Fraction) and isinstance(y, Fraction):
            return x + sign * y
        if self.sig.kind(node.left) is g.Kind.ZERO:
            return rational.scale(y, Fraction(sign))
        if self.sig.kind(node.right) is g.Kind.ZERO:
            return x
        if isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and len(x[0]) == len(y[0]):
            return [[p + sign * q for p, q in zip(r, t)] for r, t in zip(x, y)]
        raise NotRational

    def divide(self, node: g.BinOp, x: Exact, y: Exact) -> Exact:
        if not isinstance(y, Fraction) or y == 0:
            raise NotRational
        return rational.scale(x, 1 / y)

    def multiply(self, node: g.BinOp, x: Exact, y: Exact) -> Exact:
        self._tick()
        if isinstance(x, Fraction):
            return rational.scale(y, x)
        if isinstance(y, Fraction):
            return rational.scale(x, y)
        if len(x[0]) != len(y):
            raise NotRational
        out = rational.mul(x, y)
        return out[0][0] if self.sig.kind(node) is g.Kind.SCALAR and len(out) == 1 and len(out[0]) == 1 else out

    def power(self, node: g.Pow, x: Exact, e: Exact) -> Exact:
        if not isinstance(e, Fraction) or e.denominator != 1 or abs(e) > self.MAX_EXPONENT:
            raise NotRational
        if isinstance(x, Fraction):
            if x == 0 and e < 0:
                raise NotRational
            return x ** int(e)
        if e < 0:
            raise NotRational
        out = rational.eye(self.d)
        for _ in range(int(e)):
            self._tick()
            out = rational.mul(out, x)
        return out

    def call(self, node: g.Call, fn: Function, x: Exact) -> Exact:
        self._tick()
        return fn.exact(x)  # type: ignore[no-any-return]

    def reduce(self, node: g.Reduce, scope: Mapping[str, Sub]) -> Exact:
        return reduce_terms(node, self, scope)

    def whole(self, x: Exact, node: g.Node) -> int:
        if not isinstance(x, Fraction) or x.denominator != 1:
            raise NotRational
        return int(x)

    def count_terms(self, node: g.Reduce, count: int) -> None:
        if count > self.MAX_TERMS:
            raise NotRational

    def accumulate(self, node: g.Reduce, acc: Exact, term: Exact) -> Exact:
        self._tick()
        if node.op == "sum":
            if isinstance(acc, Fraction) and isinstance(term, Fraction):
                return acc + term
            raise NotRational
        if isinstance(term, Fraction):
            return rational.scale(acc, term)
        if isinstance(acc, Fraction):
            return rational.scale(term, acc)
        if len(term[0]) != len(acc):
            raise NotRational
        return rational.mul(term, acc)  # later factors on the left

    def empty(self, node: g.Reduce) -> Exact:
        if self.sig.kind(node) is not g.Kind.SCALAR:
            raise NotRational
        return Fraction(1 if node.op == "prod" else 0)


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
    gram = rational.mul([list(r) for r in zip(*x)], x)
    n = len(gram)
    m = [[(c * c if i == j else Fraction(0)) - gram[i][j] for j in range(n)] for i in range(n)]
    if op == "<=":
        return c >= 0 and rational.psd(m)
    return c > 0 and rational.psd(m) and rational.det_by_elimination(m, Fraction(1)) != 0


def _decide_exactly(claim: Claim, inst: _Instance) -> _Decision | None:
    """The statement decided in exact rationals when every comparison (of the statement
    and of its premises) is between rational expressions of literals and scalar
    symbols as printed (``1 + 1e-30 > 1``, ``c + m <= c where 0 <= c <= 1``); else None."""
    cache: dict[Any, bool | None] = {}
    for a, op, b in claim.rules.links:
        for binding in _bindings(list(inst.values), (a, b)):
            held = _exact_norm_bound(claim, inst, a, op, b, binding, cache)
            if held is None:
                lhs, rhs = _exact_scalar(claim, inst, a, binding), _exact_scalar(claim, inst, b, binding)
                if lhs is None or rhs is None:
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
        x = ex.attempt(a, {})
        y = ex.attempt(b, {})
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


def _compare(x: Fraction, op: str, y: Fraction) -> bool:
    return {"<=": x <= y, "<": x < y, ">=": x >= y, ">": x > y, "=": x == y}[op]
