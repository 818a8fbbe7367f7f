"""One interpreter of a statement's syntax tree; the backends give it meaning.

`evaluate` walks the tree once for every backend: the NumPy batch of seeded trials
(`symres.claims.sampling._Env`), rigorous intervals at one instance
(`symres.claims.certify._Enclosed`) and SymPy (`symres.claims.prover._Prover`). A backend
says what each construct means given the values of its parts (`Backend`); functions come
from the one table (`symres.claims.functions.TABLE`). A finite ``prod``/``sum`` is
evaluated term by term (`reduce_terms`, later factors on the left) by the numeric
backends; the prover also finds closed forms for symbolic bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Generic, TypeVar

from symres import grammar as g
from symres.claims.functions import TABLE, Function
from symres.claims.model import Key
from symres.errors import SymresError

V = TypeVar("V")


class Backend(Generic[V]):
    """The meaning of each construct, given the values of its parts. ``sig`` is the
    statement's signature (the kind of every node)."""

    sig: g.Signature

    def number(self, value: Fraction) -> V:
        raise NotImplementedError

    def pi(self) -> V:
        raise NotImplementedError

    def identity(self) -> V:
        raise NotImplementedError

    def index(self, node: g.Name, value: Any) -> V:
        """The value of a bound index (``l`` inside ``prod(l=1..L, ...)``)."""
        raise NotImplementedError

    def symbol(self, node: g.Name, key: Key) -> V:
        """The value of a symbol (``J_3``, ``c``, the generic ``J_l``) or of its definition."""
        raise NotImplementedError

    def neg(self, x: V) -> V:
        raise NotImplementedError

    def transpose(self, x: V) -> V:
        raise NotImplementedError

    def add(self, node: g.BinOp, a: V, b: V, sign: int) -> V:
        """``a + b`` (sign 1) or ``a − b`` (sign −1)."""
        raise NotImplementedError

    def divide(self, node: g.BinOp, a: V, b: V) -> V:
        raise NotImplementedError

    def multiply(self, node: g.BinOp, a: V, b: V) -> V:
        raise NotImplementedError

    def power(self, node: g.Pow, a: V, e: V) -> V:
        raise NotImplementedError

    def call(self, node: g.Call, fn: Function, a: V) -> V:
        raise NotImplementedError

    def reduce(self, node: g.Reduce, scope: Mapping[str, Any]) -> V:
        raise NotImplementedError

    # ------------------------------------------------------------------ for reduce_terms
    def whole(self, x: V, node: g.Node) -> int:
        """A bound of prod/sum as a whole number."""
        raise NotImplementedError

    def accumulate(self, node: g.Reduce, acc: V, term: V) -> V:
        """``acc + term`` (sum) or ``term · acc`` (prod: later factors on the left)."""
        raise NotImplementedError

    def empty(self, node: g.Reduce) -> V:
        """An empty sum (0) or product (1, or I)."""
        raise NotImplementedError

    def zero_term(self, node: g.Reduce) -> V:
        """The value of a body that is the literal 0."""
        return self.number(Fraction(0))

    def count_terms(self, node: g.Reduce, count: int) -> None:
        """Refuse (`SymresError`) a reduction with too many terms; nothing by default."""


def key_of(node: g.Name, scope: Mapping[str, Any]) -> Key:
    """The symbol a name stands for under the bound indices of ``scope``:
    ``J_l`` with l = 3 is ("J", 3); the generic ``J_l`` is ("J", "l")."""
    text = node.sub
    if text is None:
        return (node.base, None)
    if text in scope:
        return (node.base, scope[text])
    return (node.base, int(text) if text.isdigit() else text)


def evaluate(node: g.Node, backend: Backend[V], scope: Mapping[str, Any]) -> V:
    """The value of ``node`` in ``backend``, with the bound indices of ``scope``."""
    if isinstance(node, g.Num):
        return backend.number(node.value)
    if isinstance(node, g.Pi):
        return backend.pi()
    if isinstance(node, g.Identity):
        return backend.identity()
    if isinstance(node, g.Name):
        if node.sub is None and node.base in scope:
            return backend.index(node, scope[node.base])
        return backend.symbol(node, key_of(node, scope))
    if isinstance(node, g.Neg):
        return backend.neg(evaluate(node.arg, backend, scope))
    if isinstance(node, g.Transpose):
        return backend.transpose(evaluate(node.arg, backend, scope))
    if isinstance(node, g.BinOp):
        a, b = evaluate(node.left, backend, scope), evaluate(node.right, backend, scope)
        if node.op in "+-":
            return backend.add(node, a, b, 1 if node.op == "+" else -1)
        if node.op == "/":
            return backend.divide(node, a, b)
        return backend.multiply(node, a, b)
    if isinstance(node, g.Pow):
        return backend.power(node, evaluate(node.base, backend, scope), evaluate(node.exp, backend, scope))
    if isinstance(node, g.Call):
        return backend.call(node, TABLE[node.func], evaluate(node.arg, backend, scope))
    if isinstance(node, g.Reduce):
        return backend.reduce(node, scope)
    raise SymresError(f"cannot evaluate {g.render(node)}")


def reduce_terms(node: g.Reduce, backend: Backend[V], scope: Mapping[str, Any]) -> V:
    """A finite prod/sum term by term: the bounds are whole numbers, the body is
    evaluated for each index, products keep later factors on the left."""
    lo = backend.whole(evaluate(node.lo, backend, scope), node.lo)
    hi = backend.whole(evaluate(node.hi, backend, scope), node.hi)
    backend.count_terms(node, hi - lo + 1)
    zero_body = backend.sig.kind(node.body) is g.Kind.ZERO
    acc: V | None = None
    for i in range(lo, hi + 1):
        term = backend.zero_term(node) if zero_body else evaluate(node.body, backend, {**scope, node.var: i})
        acc = term if acc is None else backend.accumulate(node, acc, term)
    return backend.empty(node) if acc is None else acc
