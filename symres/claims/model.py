"""The claim: constants, the parsed statement and its constraints (`Claim`, `parse`).

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from symres import grammar as g
from symres.errors import SymresError

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


# later parts of the package, needed only when functions run (import cycles)


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
