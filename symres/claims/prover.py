"""The prover: SymPy (non-commutative symbols, exact rules of s I + t M), and proof by
theorems (bounds built by applying named theorems to the syntax tree).

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from symres import grammar as g
from symres.budget import time_limit
from symres.claims.functions import TABLE, Function
from symres.claims.interpret import Backend, evaluate
from symres.claims.model import Claim, Key, _label, _match

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


#: size limits that keep SymPy fast; beyond them the statement is left to the numbers
MAX_TERMS = 4096
#: the prover does not write out a power with a larger exponent
MAX_PROVER_EXPONENT = 64
MAX_SIMPLIFY_OPS = 120
_SV = tuple[str, Any]  # ("s", scalar) | ("m", matrix, 1 standing for I) | ("ms", _MS)


class _Prover(Backend[Any]):
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
                except _NoProof:
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
        """One name for f(M) and the arguments f cannot tell from M (Mᵀ, cyclic shifts)."""
        row = TABLE[fn]
        variants = [core]
        if row.transpose_invariant:
            variants.append(self._poly(self._transpose(self._expr(core))))
        if row.cyclic:
            for v in list(variants):
                if len(v) == 1:
                    ((w, c),) = v.items()
                    variants += [{w[i:] + w[:i]: c} for i in range(1, len(w))]
        keys = [self._poly_str(v) for v in variants]
        return min(keys)

    # ------------------------------------------------------------------ the AST walk
    # ------------------------------------------------------------------ the backend of `evaluate`
    def conv(self, node: g.Node, scope: Mapping[str, Any]) -> _SV:
        """The SymPy form of ``node``: ("s", scalar), ("m", non-commutative matrix
        expression, 1 standing for I) or ("ms", _MS); `_NoProof` where there is none."""
        return evaluate(node, self, scope)

    def number(self, value: Fraction) -> _SV:
        return ("s", self.sp.Rational(value.numerator, value.denominator))

    def pi(self) -> _SV:
        return ("s", self.sp.pi)

    def identity(self) -> _SV:
        return ("m", self.sp.Integer(1))

    def index(self, node: g.Name, value: Any) -> _SV:
        if isinstance(value, str):
            raise _NoProof
        return ("s", self.sp.Integer(value) if isinstance(value, int) else value)

    def neg(self, x: _SV) -> _SV:
        tag, v = x
        return (tag, _MS(v.fn, v.key, -v.shift, -v.scale)) if tag == "ms" else (tag, -v)

    def transpose(self, x: _SV) -> _SV:
        tag, v = x
        return (tag, self._transpose(v)) if tag == "m" else (tag, v)

    def symbol(self, node: g.Name, key: Key) -> _SV:
        sp = self.sp
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

    def add(self, node: g.BinOp, x: _SV, y: _SV, sign: int) -> _SV:
        (ta, a), (tb, b) = x, y
        if "ms" in (ta, tb):
            if ta == "ms" and tb == "s":
                return ("ms", _MS(a.fn, a.key, a.shift + sign * b, a.scale))
            if ta == "s" and tb == "ms":
                return ("ms", _MS(b.fn, b.key, a + sign * b.shift, sign * b.scale))
            raise _NoProof
        return ("m" if "m" in (ta, tb) else "s", a + sign * b)

    def divide(self, node: g.BinOp, x: _SV, y: _SV) -> _SV:
        (ta, a), (tb, b) = x, y
        if tb != "s":
            raise _NoProof
        if ta == "ms":
            return ("ms", _MS(a.fn, a.key, a.shift / b, a.scale / b))
        return (ta, a / b)

    def multiply(self, node: g.BinOp, x: _SV, y: _SV) -> _SV:
        (ta, a), (tb, b) = x, y
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

    def power(self, node: g.Pow, x: _SV, y: _SV) -> _SV:
        sp = self.sp
        (ta, a), (te, e) = x, y
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

    def call(self, node: g.Call, fn: Function, x: _SV) -> _SV:
        """A function by its SymPy column of `symres.claims.functions.TABLE`."""
        sp = self.sp
        tag, v = x
        if tag == "ms":
            if v.key is not None and not (
                fn.sympy_multiset == "abs" and v.fn == "svals" and v.shift == 0 and v.scale.is_nonnegative
            ):
                raise _NoProof
            if fn.sympy_multiset == "abs":
                return ("ms", _MS(v.fn, v.key, sp.Abs(v.shift), v.scale))
            if fn.sympy_multiset == "extreme":
                return ("s", v.shift)
            raise _NoProof
        if tag == "s":
            if fn.sympy_scalar is None:
                raise _NoProof
            return ("s", getattr(sp, fn.sympy_scalar)(v))
        return self._matrix_function(fn, v)

    def _matrix_function(self, fn: Function, e: Any) -> _SV:
        sp = self.sp
        f, rule = fn.symbol_name, fn.sympy_rule
        poly = self._poly(e)
        if set(poly) <= {()}:
            if fn.sympy_identity is None:
                raise _NoProof
            s = poly.get((), sp.Integer(0))
            self.note("s I has every eigenvalue s and every singular value |s|")
            tag, value = fn.sympy_identity(sp, s, self.d)
            return ("ms", _MS(f, None, value, sp.Integer(0))) if tag == "ms" else (tag, value)
        if rule == "shift":
            s0 = poly.pop((), sp.Integer(0))
            t, core = self._split(poly)
            if s0 != 0 or t != 1:
                self.note(f"{f}(s I + t M) = s + t·{f}(M)")
            return ("ms", _MS(f, self._canon(core, f), s0, t))
        if rule == "linear":
            total = 0
            for w, c in poly.items():
                total += c * (self.d if not w else sp.Symbol(f"{f}⟨{self._canon({w: 1}, f)}⟩", real=True))
            self.note("the trace is linear and cyclic")
            return ("s", total)
        if rule == "opaque":
            key = self._canon(poly, f)
            letter = sp.Symbol(f"{f}⟨{key}⟩", commutative=False)
            if letter not in self.tmap:
                other = sp.Symbol(f"{f}⟨{self._canon(self._poly(self._transpose(self._expr(poly))), f)}⟩", commutative=False)
                self.tmap[letter], self.tmap[other] = other, letter
            return ("m", letter)
        if rule not in ("scale-abs", "scale-power"):
            raise _NoProof
        t, core = self._split(poly)
        key = self._canon(core, f)
        if t != 1:
            self.note(f"{f}(t M) = |t|·{f}(M)" if rule == "scale-abs" else f"{f}(t M) = t^d {f}(M)")
        if rule == "scale-power":
            return ("s", t**self.d * sp.Symbol(f"{f}⟨{key}⟩", real=True))
        if fn.result is g.Kind.MULTISET:
            return ("ms", _MS(f, key, sp.Integer(0), sp.Abs(t)))
        return ("s", sp.Abs(t) * sp.Symbol(f"{f}⟨{key}⟩", nonnegative=True))

    def reduce(self, node: g.Reduce, scope: Mapping[str, Any]) -> _SV:
        """Written out for a few terms; a closed form for symbolic bounds (equal terms)."""
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
