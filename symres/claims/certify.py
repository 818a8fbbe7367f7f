"""Certified decisions at one instance (`_certify`): exact rationals where the values are
rational (`symres.claims.exact`), else rigorous interval arithmetic (`symres.claims.enclose`)
at widening precision.

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from symres import grammar as g
from symres.claims.enclose import Arithmetic, IMat, Imprecise, NoEnclosure, Undefined, order_statistics
from symres.claims.exact import _decide_exactly, _Decision, _exact_norm_bound, _premises
from symres.claims.functions import Function
from symres.claims.interpret import Backend, evaluate, reduce_terms
from symres.claims.model import Claim, Key, Sub, _bindings, _match

if TYPE_CHECKING:
    from symres.claims.search import _Instance

__all__ = ["_certify", "_Decision", "MAX_NEAR", "MAX_UNCONFIRMED", "START_DIGITS", "MAX_DIGITS", "MAX_DIGITS_AT_INSTANCE"]

#: the first precision tried (decimal digits); it doubles while a margin straddles 0
START_DIGITS = 30
#: the precision tried last before a comparison is `undecided` (raised by long literals):
#: for a statement without symbols, and at a sampled instance (whose values have 17
#: significant digits; a relative margin below 10^-100 there comes only from a literal)
MAX_DIGITS = 480
MAX_DIGITS_AT_INSTANCE = 120
#: after this many double-precision violations that certified arithmetic does not confirm, stop trying
MAX_UNCONFIRMED = 25
#: how many near ties (too close to call in floats) are certified per statement
MAX_NEAR = 40

#: the properties that make a matrix symmetric (its eigenvalues are then enclosed by inertia)
_SYMMETRIC_PROPS = frozenset({"symmetric", "psd", "diagonal"})


class _Enclosed(Backend[Any]):
    """The statement's syntax tree evaluated on one instance (its values as printed) in
    interval arithmetic: every result encloses the exact value."""

    def __init__(self, claim: Claim, inst: _Instance, digits: int) -> None:
        self.claim = claim
        self.sig = claim.signature
        self.inst = inst
        self.d = inst.d
        self.ar = Arithmetic(digits)
        self.cache: dict[Key, Any] = {}
        self._busy: set[Key] = set()

    # ------------------------------------------------------------------ symbols
    def value(self, key: Key) -> Any:
        if key in self.cache:
            return self.cache[key]
        ar = self.ar
        base, sub = key
        if sub is None and base in self.inst.ints:
            return ar.num(self.inst.ints[base])
        if key in self._busy:
            raise Undefined("circular definitions")
        self._busy.add(key)
        try:
            for dfn in self.claim.rules.defs:
                binding = _match(dfn.target, key)
                if binding is not None:
                    out = self.eval(dfn.expr, binding)
                    if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                        out = self._zero_of(self.sig.kinds[base])
                    break
            else:
                if key not in self.inst.values:
                    raise Undefined(f"no value of {base}")
                out = self._printed(key)
        finally:
            self._busy.discard(key)
        self.cache[key] = out
        return out

    def _printed(self, key: Key) -> Any:
        """A value of the instance as printed: the shortest decimal that reads back as the
        double (``0.1`` is 1/10 here), enclosed."""
        v = np.asarray(self.inst.values[key], dtype=float)
        if v.ndim == 0:
            return self.ar.num(Fraction(repr(float(v))))
        rows = [[self.ar.num(Fraction(repr(float(x)))) for x in row] for row in np.atleast_2d(v).tolist()]
        sym = any(p in _SYMMETRIC_PROPS for name, p in self.claim.rules.props if _match(name, key) is not None)
        m = IMat(rows)
        return self.ar.symmetrised(m) if sym else m

    def _zero_of(self, kind: g.Kind) -> Any:
        if kind is g.Kind.MATRIX:
            return self.ar.zeros(self.d, self.d)
        if kind is g.Kind.VECTOR:
            return self.ar.zeros(self.d, 1)
        if kind is g.Kind.ROW:
            return self.ar.zeros(1, self.d)
        return self.ar.iv.mpf(0)

    # ------------------------------------------------------------------ the backend of `evaluate`
    def eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Any:
        return evaluate(node, self, scope)

    def number(self, value: Fraction) -> Any:
        return self.ar.num(value)

    def pi(self) -> Any:
        return self.ar.iv.pi

    def identity(self) -> Any:
        return self.ar.eye(self.d)

    def index(self, node: g.Name, value: Any) -> Any:
        if not isinstance(value, int):
            raise Undefined(f"the index {node.base} has no value")
        return self.ar.num(value)

    def symbol(self, node: g.Name, key: Key) -> Any:
        return self.value(key)

    def neg(self, x: Any) -> Any:
        return self._scaled(x, self.ar.iv.mpf(-1))

    def transpose(self, x: Any) -> Any:
        return self.ar.transpose(x) if isinstance(x, IMat) else x

    def _scaled(self, x: Any, s: Any) -> Any:
        if isinstance(x, IMat):
            return self.ar.scale(x, s)
        if isinstance(x, list):
            return [s * v for v in x]
        return s * x

    def add(self, node: g.BinOp, a: Any, b: Any, sign: int) -> Any:
        if self.sig.kind(node.left) is g.Kind.ZERO:
            return self._scaled(b, self.ar.iv.mpf(sign))
        if self.sig.kind(node.right) is g.Kind.ZERO:
            return a
        if isinstance(a, IMat):
            return self.ar.add(a, b, sign)
        if isinstance(a, list):
            return [v + sign * b for v in a]
        if isinstance(b, list):
            return [a + sign * v for v in b]
        return a + sign * b

    def divide(self, node: g.BinOp, a: Any, b: Any) -> Any:
        if isinstance(a, IMat | list):
            return self._scaled(a, self.ar.divide(self.ar.iv.mpf(1), b))
        return self.ar.divide(a, b)

    def multiply(self, node: g.BinOp, a: Any, b: Any) -> Any:
        if isinstance(a, IMat) and isinstance(b, IMat):
            out = self.ar.matmul(a, b, sym=_gram(node))
            return out.rows[0][0] if self.sig.kind(node) is g.Kind.SCALAR else out
        if isinstance(a, IMat | list):
            return self._scaled(a, b)
        return self._scaled(b, a)

    def power(self, node: g.Pow, a: Any, e: Any) -> Any:
        ar = self.ar
        if isinstance(a, IMat):
            return ar.matpow(a, self.whole(e, node.exp))
        if isinstance(a, list):
            return [ar.power(v, e) for v in a]
        return ar.power(a, e)

    def call(self, node: g.Call, fn: Function, a: Any) -> Any:
        return fn.interval(self.ar, a)

    def reduce(self, node: g.Reduce, scope: Mapping[str, Sub]) -> Any:
        return reduce_terms(node, self, scope)

    def whole(self, x: Any, node: g.Node) -> int:
        """An exponent or a bound of prod/sum: an exact whole number."""
        lo, hi = self.ar.ends(self.ar.real(x))
        if lo != hi or lo != int(lo):
            raise NoEnclosure("an exponent that is not a whole number")
        return int(lo)

    def zero_term(self, node: g.Reduce) -> Any:
        return self.ar.iv.mpf(0)

    def accumulate(self, node: g.Reduce, acc: Any, term: Any) -> Any:
        if node.op == "sum":
            return self.ar.add(acc, term, 1) if isinstance(acc, IMat) else acc + term
        if isinstance(term, IMat) and isinstance(acc, IMat):
            return self.ar.matmul(term, acc)  # later factors on the left
        return self._scaled(term, acc) if isinstance(term, IMat) else self._scaled(acc, term)

    def empty(self, node: g.Reduce) -> Any:
        if self.sig.kind(node) is g.Kind.MATRIX:
            return self.ar.eye(self.d) if node.op == "prod" else self.ar.zeros(self.d, self.d)
        return self.ar.num(1 if node.op == "prod" else 0)

    # ------------------------------------------------------------------ margins
    def margin(self, a: g.Node, op: str, b: g.Node, scope: Mapping[str, Sub] | None = None) -> tuple[Any, Any]:
        """An enclosure [lo, hi] of the relative margin of ``a op b``: the difference
        (b − a for <, <=; a − b for >, >=; −|a − b| for =) over max(1, |a|, |b|)
        (the scale is a number, so the sign of the margin is the sign of the difference)."""
        ar = self.ar
        scope = scope or {}
        x, y = self.eval(a, scope), self.eval(b, scope)
        if self.sig.kind(a) is g.Kind.ZERO:
            x = self._like(y)
        if self.sig.kind(b) is g.Kind.ZERO:
            y = self._like(x)
        if isinstance(x, IMat) or isinstance(y, IMat):
            diffs = [ar.absolute(p - q) for p, q in zip(x.entries(), y.entries())]
            lo, hi = _extreme_ends(ar, diffs, top=True)
            lo, hi = -hi, -lo
            values = list(x.entries()) + list(y.entries())
        elif isinstance(x, list) or isinstance(y, list):
            xs = x if isinstance(x, list) else [x] * len(y)
            ys = y if isinstance(y, list) else [y] * len(x)
            lo, hi = self._multiset(xs, op, ys)
            values = xs + ys
        else:
            if op == "=":
                hi, lo = (-e for e in ar.ends(ar.absolute(x - y)))
            else:
                rx, ry = ar.real(x), ar.real(y)
                lo, hi = ar.ends(ry - rx if op in ("<", "<=") else rx - ry)
            values = [x, y]
        scale = max([ar.mp.mpf(1)] + [m for m in (ar.ends(ar.absolute(v))[1] for v in values) if ar.mp.isfinite(m)])
        return lo / scale, hi / scale

    def _like(self, other: Any) -> Any:
        if isinstance(other, IMat):
            return self.ar.zeros(*other.shape)
        if isinstance(other, list):
            return [self.ar.iv.mpf(0)] * len(other)
        return self.ar.iv.mpf(0)

    def _multiset(self, xs: list[Any], op: str, ys: list[Any]) -> tuple[Any, Any]:
        ar = self.ar
        if len(xs) != len(ys):
            raise Undefined("multisets of different sizes")
        if op != "=":
            ox, oy = order_statistics(ar, xs), order_statistics(ar, ys)
            diffs = [(v - u) if op in ("<=", "<") else (u - v) for u, v in zip(ox, oy)]
            return _extreme_ends(ar, diffs, top=False)
        try:  # real multisets: equal exactly when their order statistics are
            ox, oy = order_statistics(ar, xs), order_statistics(ar, ys)
            lo, hi = _extreme_ends(ar, [abs(u - v) for u, v in zip(ox, oy)], top=True)
            return -hi, -lo
        except (Imprecise, Undefined):
            pass
        if len(xs) > 5:
            raise NoEnclosure("a matching of more than 5 complex values")
        best: tuple[Any, Any] | None = None
        for perm in itertools.permutations(range(len(ys))):
            lo, hi = _extreme_ends(ar, [ar.absolute(xs[i] - ys[p]) for i, p in enumerate(perm)], top=True)
            best = (lo, hi) if best is None else (min(best[0], lo), min(best[1], hi))
        lo, hi = best if best is not None else (ar.mp.mpf(0), ar.mp.mpf(0))
        return -hi, -lo


def _gram(node: g.BinOp) -> bool:
    """Is the product XᵀX or X Xᵀ (a symmetric matrix, whatever X)? The two X are the
    same text in the same scope, so the same value."""
    left, right = node.left, node.right
    if isinstance(left, g.Transpose):
        return g.render(left.arg) == g.render(right)
    return isinstance(right, g.Transpose) and g.render(right.arg) == g.render(left)


def _extreme_ends(ar: Arithmetic, xs: list[Any], *, top: bool) -> tuple[Any, Any]:
    """The enclosure of the max (``top``) or min of real numbers known by enclosures."""
    if not xs:
        return ar.mp.mpf(0), ar.mp.mpf(0)
    ends = [ar.ends(ar.real(x)) for x in xs]
    pick = max if top else min
    return pick(e[0] for e in ends), pick(e[1] for e in ends)


# =========================================================================== deciding


def _decision(state: str, lo: Any, hi: Any, label: str, digits: int) -> _Decision:
    """A decision carrying the enclosure [lo, hi] of its margin, as doubles and as text."""
    import mpmath

    text = f"[{mpmath.nstr(lo, 3)}, {mpmath.nstr(hi, 3)}]"
    return _Decision(state, (float(lo), float(hi)), label, digits, text)


def _judge(op: str, lo: Any, hi: Any) -> str:
    """Is the margin [lo, hi] of ``op`` certainly on one side of 0? "yes", "no" or "?"."""
    if op == "=":
        return "yes" if lo == hi == 0 else ("no" if hi < 0 else "?")
    if op in ("<", ">"):
        return "yes" if lo > 0 else ("no" if hi <= 0 else "?")
    return "yes" if lo >= 0 else ("no" if hi < 0 else "?")


def _pass(
    claim: Claim, inst: _Instance, digits: int, cache: dict[Any, bool | None]
) -> tuple[list[tuple[str, str, Any, Any]], list[tuple[str, Any, Any]]]:
    """One evaluation at ``digits`` digits: the margins of the statement's comparisons
    (label, op, lo, hi) and of the constraints' comparisons and ranges (op, lo, hi).
    ``cache`` keeps the exact premise checks, which do not depend on the precision."""
    p = _Enclosed(claim, inst, digits)
    rel = [(f"{g.render(a)} {op} {g.render(b)}", op, *p.margin(a, op, b)) for a, op, b in claim.relation.links()]
    cons: list[tuple[str, Any, Any]] = []
    one = p.ar.mp.mpf(1)
    for a, op, b in claim.rules.links:
        for binding in _bindings(list(p.cache), (a, b)):
            exact = _exact_norm_bound(claim, inst, a, op, b, binding, cache)
            if exact is None:
                cons.append((op, *p.margin(a, op, b, binding)))
            elif not exact:
                cons.append(("<=", -one, -one))  # certainly violated
    for rg in claim.rules.ranges:
        for key in list(p.cache):
            found = _match(rg.subject, key)
            if found is None:
                continue
            v, lo, hi = p.cache[key], p.eval(rg.lo, found), p.eval(rg.hi, found)
            for x in v.entries() if isinstance(v, IMat) else [v]:
                cons += [(">=", *p.ar.ends(x - lo)), (">=", *p.ar.ends(hi - x))]
    return rel, cons


def _literal_digits(claim: Claim) -> int:
    """The most digits a literal of the statement needs (1e-300 needs 300)."""
    most = 0
    roots = [claim.statement.relation, *(n for c in claim.statement.constraints for n in g._constraint_nodes(c))]
    for root in roots:
        for n in g._walk(root):
            if isinstance(n, g.Num):
                mantissa, _, exponent = n.text.lower().partition("e")
                most = max(most, len(mantissa) + abs(int(exponent or 0)))
    return most


def _certify(claim: Claim, inst: _Instance, *, constant: bool = False) -> _Decision:
    """Decide the statement at one instance (its values as printed) with certified
    arithmetic: exactly in rationals where every value is rational, else in interval
    arithmetic at `START_DIGITS` digits, doubling while an enclosure contains 0, up to
    `MAX_DIGITS` for a statement without symbols (``constant``), `MAX_DIGITS_AT_INSTANCE`
    at a sampled instance (more for long literals).

    "violated" needs a comparison certainly false and every premise certainly true;
    "holds" every comparison certainly true. At the last precision, a comparison still
    open is "undecided" if it is strict or the statement has no free symbols
    (``constant``); a non-strict one is counted as holding at that point (equal within
    10^-digits: numeric evidence, never a proof). A point where a value has no rigorous
    enclosure (`NoEnclosure`, e.g. eigenvalues of a non-symmetric 3×3 block) is never
    "violated": "undecided" when double precision sees a violation, else "holds"
    (evidence only)."""
    if not _premises(claim, inst):
        return _Decision("infeasible")
    exact = _decide_exactly(claim, inst)
    if exact is not None:
        return exact
    cache: dict[Any, bool | None] = {}
    top = max(MAX_DIGITS if constant else MAX_DIGITS_AT_INSTANCE, 2 * _literal_digits(claim) + 80)
    digits = START_DIGITS
    last_open: tuple[str, Any, Any] | None = None
    while True:
        final = 2 * digits > top
        try:
            rel, cons = _pass(claim, inst, digits, cache)
        except NoEnclosure:
            if constant or inst.margin < -claim.tolerance:
                return _Decision("undecided", (float("-inf"), float("inf")), "a value without a rigorous enclosure", digits)
            return _Decision("holds", digits=digits)
        except Imprecise:
            if final:
                label = last_open[0] if last_open else g.render(claim.relation)
                return _Decision("undecided", (float("-inf"), float("inf")), label, digits)
            digits *= 2
            continue
        except Undefined:
            return _Decision("failed", digits=digits)
        judged_cons = [(op, _judge(op, lo, hi)) for op, lo, hi in cons]
        if any(st == "no" for _, st in judged_cons):
            return _Decision("infeasible", digits=digits)
        premises_open = any(st == "?" for _, st in judged_cons)
        judged = [(lab, op, _judge(op, lo, hi), lo, hi) for lab, op, lo, hi in rel]
        for lab, _op, st, lo, hi in judged:
            if st == "no" and not premises_open:
                return _decision("violated", lo, hi, lab, digits)
        open_ = [(lab, op, lo, hi) for lab, op, st, lo, hi in judged if st == "?"]
        if not open_ and not premises_open:
            return _Decision("holds", digits=digits)
        if open_:
            last_open = (open_[0][0], open_[0][2], open_[0][3])
        if final:
            if premises_open and any(st == "?" and op in ("<", ">") for op, st in judged_cons):
                return _Decision("infeasible", digits=digits)  # a strict premise at equality
            refuting = [(lab, lo, hi) for lab, _op, st, lo, hi in judged if st == "no"]
            if refuting:  # violated, but a premise cannot be certified: no counterexample
                lab, lo, hi = refuting[0]
                return _decision("undecided", lo, hi, lab, digits)
            for lab, op, lo, hi in open_:
                if constant or op in ("<", ">"):
                    return _decision("undecided", lo, hi, lab, digits)
            return _Decision("holds", digits=digits)
        digits *= 2
