"""The statement language of `symres check`: tokenizer, parser, AST and static kinds.

A statement is a chain of (in)equalities, optionally followed by ``where`` and
comma-separated constraints::

    norm(prod(l=1..L, I + J_l)) >= 1 where norm(J_l) <= 0.1, L = 100

The user's text is only ever read by the tokenizer and the recursive-descent parser
below; it is never handed to ``eval``, ``sympify`` or ``parse_expr``. Every error is a
`SymresError` whose one-line message names the column (1-based) where reading stopped.

Grammar (EBNF; ``juxt`` is a product written without ``*``, as in ``A B`` or ``2 J``)::

    statement  = chain [ "where" constraint { "," constraint } ]
    chain      = expr relop expr { relop expr }          relop: = <= >= < >
    constraint = chain
               | names property                         (J diagonal;  A, B commute)
               | name "in" "[" expr "," expr "]"         (entries or value in a range)
    expr       = term { ("+" | "-") term }
    term       = factor { ("*" | "/" | juxt) factor }
    factor     = ("-" | "+") factor | power
    power      = primary { "^T" | "^" exponent }
    exponent   = ["-"] NUMBER | NAME | "(" expr ")"
    primary    = NUMBER | NAME | "I" | "pi" | "(" expr ")"
               | FUNC "(" expr ")"
               | ("prod" | "sum") "(" NAME "=" expr ".." expr "," expr ")"

Names: a letter, then letters or digits, optionally a subscript ``_1``, ``_l``, ``_{12}``.
By default a name starting with a capital letter is a d×d matrix and any other name is a
real scalar; names used in an exponent or a ``prod``/``sum`` bound, or set to a whole
number in the ``where`` part (``L = 100``), are integers. ``x vector``, ``c scalar``,
``A matrix`` and ``k integer`` declare a kind explicitly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from symres.errors import SymresError

FUNCTIONS = frozenset({"norm", "eig", "svals", "smin", "smax", "rho", "det", "tr", "abs", "exp", "sqrt", "max", "min"})
REDUCTIONS = frozenset({"prod", "sum"})
PROPERTIES = frozenset({"diagonal", "symmetric", "skew", "orthogonal", "psd", "nilpotent", "commute"})
DECLARATIONS = frozenset({"scalar", "vector", "matrix", "integer"})
KEYWORDS = FUNCTIONS | REDUCTIONS | PROPERTIES | DECLARATIONS | {"where", "in", "I", "pi"}
RELOPS = ("=", "<=", ">=", "<", ">")

# ---------------------------------------------------------------------------- tokens

_ALIASES = {"≤": "<=", "≥": ">=", "==": "=", "−": "-", "·": "*", "×": "*", "ᵀ": "^T"}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_FRACTIONS = {
    "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5",
    "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8", "⅞": "7/8",
}  # fmt: skip
#: the largest power of ten a literal may carry (1e400 is fine; 1e999999999 would take minutes to read)
MAX_LITERAL_EXPONENT = 10_000
#: the most digits a literal may have
MAX_LITERAL_DIGITS = 1_000
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<sup>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
  | (?P<frac>[½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞])
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d_ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞][^\W_ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞]*
      (?:_(?:[^\W_ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹]+|\{[^\W_ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹]+\}))?)
  | (?P<op>\.\.|<=|>=|==|\^T\b|[≤≥−·×ᵀ+\-*/^()\[\],=<>])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "num" | "name" | "op" | "end"
    text: str
    col: int  # 1-based column of the first character


MAX_LENGTH = 2000
MAX_DEPTH = 50


def tokenize(text: str) -> list[Token]:
    """Split a statement into tokens; an unknown character raises `SymresError`."""
    if len(text) > MAX_LENGTH:
        raise SymresError(f"malformed statement, column {MAX_LENGTH + 1}: longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    depth = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            ch = text[pos]
            hint = " (names start with a letter)" if ch == "_" else ""
            raise SymresError(f"malformed statement, column {pos + 1}: unexpected character {ch!r}{hint}")
        kind = m.lastgroup or ""
        if kind == "sup":  # A² is A^2, A⁻¹ is A^-1
            digits = m.group().translate(_SUPERSCRIPTS)
            tokens.append(Token("op", "^", pos + 1))
            if digits.startswith("-"):
                tokens.append(Token("op", "-", pos + 1))
                digits = digits[1:]
            tokens.append(Token("num", digits, pos + 1))
        elif kind == "frac":  # ½ is (1/2); 2½ is ambiguous (2·½ or 5/2) and refused
            if tokens and tokens[-1].kind == "num" and tokens[-1].col + len(tokens[-1].text) == pos + 1:
                raise SymresError(
                    f"malformed statement, column {pos + 1}: a mixed number such as 2½ is ambiguous; write 5/2 or 2 * 1/2"
                )
            num, _, den = _FRACTIONS[m.group()].partition("/")
            tokens += [Token(k, t, pos + 1) for k, t in (("op", "("), ("num", num), ("op", "/"), ("num", den), ("op", ")"))]
        elif kind == "name" and any(unicodedata.category(ch) == "No" for ch in m.group()):
            bad = next(i for i, ch in enumerate(m.group()) if unicodedata.category(ch) == "No")
            raise SymresError(f"malformed statement, column {pos + bad + 1}: unexpected character {m.group()[bad]!r} in a name")
        elif kind != "space":
            raw = m.group()
            if kind == "op":
                raw = _ALIASES.get(raw, raw)
            if kind == "name":
                raw = raw.replace("{", "").replace("}", "")
            depth += raw in ("(", "[")
            depth -= raw in (")", "]")
            if depth > MAX_DEPTH:
                raise SymresError(f"malformed statement, column {pos + 1}: brackets nested deeper than {MAX_DEPTH}")
            tokens.append(Token(kind, raw, pos + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# ---------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Num:
    value: Fraction
    text: str
    col: int


@dataclass(frozen=True)
class Name:
    """A symbol: ``base`` with an optional subscript ``sub`` (digits or a letter index)."""

    base: str
    sub: str | None
    col: int

    @property
    def label(self) -> str:
        return self.base if self.sub is None else f"{self.base}_{self.sub}"


@dataclass(frozen=True)
class Identity:
    col: int


@dataclass(frozen=True)
class Pi:
    col: int


@dataclass(frozen=True)
class Neg:
    arg: Node
    col: int


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-", "*", "/"
    left: Node
    right: Node
    col: int


@dataclass(frozen=True)
class Pow:
    base: Node
    exp: Node
    col: int


@dataclass(frozen=True)
class Transpose:
    arg: Node
    col: int


@dataclass(frozen=True)
class Call:
    func: str
    arg: Node
    col: int


@dataclass(frozen=True)
class Reduce:
    """``prod(var=lo..hi, body)`` (later index on the LEFT) or ``sum(var=lo..hi, body)``."""

    op: str
    var: str
    lo: Node
    hi: Node
    body: Node
    col: int


Node = Num | Name | Identity | Pi | Neg | BinOp | Pow | Transpose | Call | Reduce


@dataclass(frozen=True)
class Chain:
    """``operands[0] ops[0] operands[1] ops[1] ...``: every adjacent pair must hold."""

    operands: tuple[Node, ...]
    ops: tuple[str, ...]
    col: int
    op_cols: tuple[int, ...] = ()

    def links(self) -> Iterator[tuple[Node, str, Node]]:
        for i, op in enumerate(self.ops):
            yield self.operands[i], op, self.operands[i + 1]


@dataclass(frozen=True)
class Property:
    subjects: tuple[Name, ...]
    prop: str  # a PROPERTIES or DECLARATIONS word
    col: int


@dataclass(frozen=True)
class Membership:
    subject: Name
    lo: Node
    hi: Node
    col: int


Constraint = Chain | Property | Membership


@dataclass(frozen=True)
class Statement:
    relation: Chain
    constraints: tuple[Constraint, ...]
    text: str


# ---------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def _fail(self, expected: str, tok: Token | None = None) -> SymresError:
        tok = tok or self.tok
        found = "the end of the statement" if tok.kind == "end" else repr(tok.text)
        return SymresError(f"malformed statement, column {tok.col}: expected {expected}, found {found}")

    def _is(self, text: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text == text

    def _take(self, text: str, expected: str | None = None) -> Token:
        if not self._is(text):
            raise self._fail(expected or repr(text))
        tok = self.tok
        self.pos += 1
        return tok

    # -- statement
    def statement(self, text: str) -> Statement:
        relation = self.chain()
        constraints: list[Constraint] = []
        if self._is("where"):
            self.pos += 1
            constraints.append(self.constraint())
            while self._is(","):
                self.pos += 1
                constraints.append(self.constraint())
        if self.tok.kind != "end":
            expected = "',' or the end of the statement" if constraints else "an operator, 'where' or the end"
            raise self._fail(expected)
        return Statement(relation, tuple(constraints), text)

    def chain(self) -> Chain:
        start = self.tok
        operands = [self.expr()]
        ops: list[str] = []
        cols: list[int] = []
        while self.tok.kind == "op" and self.tok.text in RELOPS:
            ops.append(self.tok.text)
            cols.append(self.tok.col)
            self.pos += 1
            operands.append(self.expr())
        if not ops:
            raise self._fail("'=', '<=' or '>=' (a statement compares two sides)")
        return Chain(tuple(operands), tuple(ops), start.col, tuple(cols))

    def constraint(self) -> Constraint:
        start = self.tok
        group = self._name_list_property()
        if group is not None:
            return group
        first = self.expr()
        if self.tok.kind == "name" and self.tok.text in PROPERTIES | DECLARATIONS:
            prop = self.tok.text
            self.pos += 1
            return Property(_subjects(first, prop), prop, start.col)
        if self._is("in"):
            if not isinstance(first, Name):
                raise self._fail("a name before 'in'", start)
            self.pos += 1
            self._take("[")
            lo = self.expr()
            self._take(",")
            hi = self.expr()
            self._take("]")
            return Membership(first, lo, hi, start.col)
        ops: list[str] = []
        cols: list[int] = []
        operands = [first]
        while self.tok.kind == "op" and self.tok.text in RELOPS:
            ops.append(self.tok.text)
            cols.append(self.tok.col)
            self.pos += 1
            operands.append(self.expr())
        if not ops:
            last = first.right if isinstance(first, BinOp) and first.op == "*" else None
            if isinstance(last, Name) and last.sub is None and last.base[0].islower():
                raise SymresError(
                    f"malformed statement, column {last.col}: unknown property {last.base!r} "
                    f"(properties: {', '.join(sorted(PROPERTIES | DECLARATIONS))})"
                )
            raise self._fail("a comparison, 'in [a, b]' or a property such as 'diagonal'")
        return Chain(tuple(operands), tuple(ops), start.col, tuple(cols))

    def _name_list_property(self) -> Property | None:
        """``A, B commute`` / ``A, B diagonal``: names separated by commas, then a property."""
        i = self.pos
        names: list[Name] = []
        while True:
            tok = self.tokens[i]
            if tok.kind != "name" or tok.text in KEYWORDS:
                return None
            names.append(_name(tok))
            nxt = self.tokens[i + 1]
            if nxt.kind == "op" and nxt.text == ",":
                i += 2
                continue
            if len(names) > 1 and nxt.kind == "name" and nxt.text in PROPERTIES | DECLARATIONS:
                self.pos = i + 2
                return Property(tuple(names), nxt.text, names[0].col)
            return None

    # -- expressions
    def expr(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            tok = self.tok
            self.pos += 1
            node = BinOp(tok.text, node, self.term(), tok.col)
        return node

    def _starts_primary(self) -> bool:
        tok = self.tok
        if tok.kind == "op":
            return tok.text == "("
        if tok.kind == "name":
            return tok.text not in KEYWORDS or tok.text in FUNCTIONS | REDUCTIONS | {"I", "pi"}
        return False

    def term(self) -> Node:
        node = self.factor()
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ("*", "/"):
                self.pos += 1
                node = BinOp(tok.text, node, self.factor(), tok.col)
            elif self._starts_primary() or (tok.kind == "num" and self.tokens[self.pos - 1].kind != "num"):
                node = BinOp("*", node, self.factor(), tok.col)
            elif tok.kind == "num":
                raise self._fail("an operator between two numbers")
            else:
                return node

    def factor(self) -> Node:
        tok = self.tok
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.pos += 1
            arg = self.factor()
            return Neg(arg, tok.col) if tok.text == "-" else arg
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        while self.tok.kind == "op" and self.tok.text in ("^", "^T"):
            tok = self.tok
            self.pos += 1
            if tok.text == "^T" or (self.tok.kind == "name" and self.tok.text == "T"):
                if tok.text == "^":
                    self.pos += 1
                node = Transpose(node, tok.col)
            else:
                node = Pow(node, self.exponent(), tok.col)
        return node

    def exponent(self) -> Node:
        tok = self.tok
        if tok.kind == "op" and tok.text == "-":
            self.pos += 1
            num = self.tok
            if num.kind != "num":
                raise self._fail("a number after '^-'")
            self.pos += 1
            return Neg(_number(num), tok.col)
        if tok.kind == "num":
            self.pos += 1
            return _number(tok)
        if tok.kind == "name" and tok.text not in KEYWORDS:
            self.pos += 1
            return _name(tok)
        if self._is("("):
            self.pos += 1
            node = self.expr()
            self._take(")")
            return node
        raise self._fail("an exponent: 'T', a number, a name or '(...)'")

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.pos += 1
            return _number(tok)
        if self._is("("):
            self.pos += 1
            node = self.expr()
            self._take(")", "')'")
            return node
        if tok.kind == "name":
            if tok.text == "I":
                self.pos += 1
                return Identity(tok.col)
            if tok.text == "pi":
                self.pos += 1
                return Pi(tok.col)
            if tok.text in FUNCTIONS:
                self.pos += 1
                self._take("(", f"'(' after {tok.text}")
                arg = self.expr()
                self._take(")", f"')' closing {tok.text}(")
                return Call(tok.text, arg, tok.col)
            if tok.text in REDUCTIONS:
                return self.reduction()
            if tok.text in KEYWORDS:
                raise self._fail("an expression", tok)
            nxt = self.tokens[self.pos + 1]
            if nxt.text == "(" and nxt.col == tok.col + len(tok.text) and not tok.text[0].isupper():
                raise SymresError(
                    f"malformed statement, column {tok.col}: unknown function {tok.text!r} (functions: "
                    f"{', '.join(sorted(FUNCTIONS | REDUCTIONS))}); for a product write '{tok.text} (...)'"
                )
            self.pos += 1
            return _name(tok)
        raise self._fail("an expression")

    def reduction(self) -> Reduce:
        head = self.tok
        self.pos += 1
        self._take("(", f"'(' after {head.text}")
        var = self.tok
        if var.kind != "name" or var.text in KEYWORDS or "_" in var.text:
            raise self._fail(f"an index name, as in {head.text}(l=1..L, ...)")
        self.pos += 1
        self._take("=", "'=' after the index name")
        lo = self.expr()
        self._take("..", "'..' between the bounds")
        hi = self.expr()
        self._take(",", "',' after the bounds")
        body = self.expr()
        self._take(")", f"')' closing {head.text}(")
        return Reduce(head.text, var.text, lo, hi, body, head.col)


def _number(tok: Token) -> Num:
    mantissa, _, exponent = tok.text.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_LITERAL_EXPONENT:
        raise SymresError(
            f"statement too costly, column {tok.col}: the literal {tok.text} has an exponent beyond ±{MAX_LITERAL_EXPONENT}"
        )
    if len(mantissa) > MAX_LITERAL_DIGITS:
        raise SymresError(f"statement too costly, column {tok.col}: a literal with more than {MAX_LITERAL_DIGITS} digits")
    return Num(Fraction(tok.text), tok.text, tok.col)


def _name(tok: Token) -> Name:
    base, _, sub = tok.text.partition("_")
    return Name(base, sub or None, tok.col)


def _subjects(node: Node, prop: str) -> tuple[Name, ...]:
    """The names of ``A B commute`` / ``J diagonal``: one name or a juxtaposition of names."""
    if isinstance(node, Name):
        return (node,)
    if isinstance(node, BinOp) and node.op == "*":
        return _subjects(node.left, prop) + _subjects(node.right, prop)
    raise SymresError(f"malformed statement, column {_col(node)}: '{prop}' applies to names, as in 'J {prop}'")


def _col(node: Node | Chain) -> int:
    return node.col


def parse(text: str) -> Statement:
    """Parse a statement; raise `SymresError` naming the column on malformed input."""
    if not text.strip():
        raise SymresError("malformed statement, column 1: the statement is empty")
    return _Parser(text).statement(text)


# ---------------------------------------------------------------------------- rendering

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def render(node: Node | Chain, prec: int = 0) -> str:
    """The canonical text of a node (parenthesised only where needed)."""
    if isinstance(node, Chain):
        parts = [render(node.operands[0])]
        for op, operand in zip(node.ops, node.operands[1:]):
            parts += [op, render(operand)]
        return " ".join(parts)
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Name):
        return node.label
    if isinstance(node, Identity):
        return "I"
    if isinstance(node, Pi):
        return "pi"
    if isinstance(node, Neg):
        text = "-" + render(node.arg, 3)
        return f"({text})" if prec > 1 else text
    if isinstance(node, BinOp):
        p = _PREC[node.op]
        left = render(node.left, 0 if isinstance(node.left, Neg) else p)
        right = render(node.right, p + 1)
        text = f"{left} {right}" if node.op == "*" and not _numeric_right(node) else f"{left} {node.op} {right}"
        return f"({text})" if p < prec else text
    if isinstance(node, Pow):
        return f"{render(node.base, 4)}^{render(node.exp, 4)}"
    if isinstance(node, Transpose):
        return f"{render(node.arg, 4)}^T"
    if isinstance(node, Call):
        return f"{node.func}({render(node.arg)})"
    if isinstance(node, Reduce):
        return f"{node.op}({node.var}={render(node.lo)}..{render(node.hi)}, {render(node.body)})"
    raise SymresError(f"cannot render {type(node).__name__}")


def _numeric_right(node: BinOp) -> bool:
    return isinstance(node.right, (Num, Neg))


# ---------------------------------------------------------------------------- kinds


class Kind(Enum):
    SCALAR = "scalar"
    MATRIX = "matrix"  # d×d
    VECTOR = "vector"  # d×1
    ROW = "row"  # 1×d
    MULTISET = "multiset"  # d values (eig, svals)
    ZERO = "zero"  # the literal 0: a zero of whatever kind it meets


_SHAPE = {Kind.MATRIX: ("d", "d"), Kind.VECTOR: ("d", 1), Kind.ROW: (1, "d"), Kind.SCALAR: (1, 1)}
_FROM_SHAPE = {v: k for k, v in _SHAPE.items()}
_MATRIXLIKE = (Kind.MATRIX, Kind.VECTOR, Kind.ROW)


@dataclass(frozen=True)
class Signature:
    """What the static pass learnt about a statement: the kind of every symbol base,
    which bases are integers, and the kind of every node (keyed by node)."""

    kinds: dict[str, Kind]
    integers: frozenset[str]
    node_kinds: dict[Node, Kind]

    def kind(self, node: Node) -> Kind:
        return self.node_kinds[node]


def _walk(node: Node | Chain) -> Iterator[Node]:
    if isinstance(node, Chain):
        for operand in node.operands:
            yield from _walk(operand)
        return
    yield node
    for child in _children(node):
        yield from _walk(child)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Neg, Transpose, Call)):
        return (node.arg,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Pow):
        return (node.base, node.exp)
    if isinstance(node, Reduce):
        return (node.lo, node.hi, node.body)
    return ()


def _constraint_nodes(c: Constraint) -> Iterator[Node]:
    if isinstance(c, Chain):
        yield from _walk(c)
    elif isinstance(c, Property):
        yield from c.subjects
    else:
        yield c.subject
        yield from _walk(c.lo)
        yield from _walk(c.hi)


def _integer_positions(node: Node, out: dict[str, int], inside: bool = False) -> None:
    """Collect names standing in an exponent or a reduction bound (they are integers)."""
    if isinstance(node, Name) and inside and node.sub is None:
        out.setdefault(node.base, node.col)
    if isinstance(node, Pow):
        _integer_positions(node.base, out, inside)
        _integer_positions(node.exp, out, True)
        return
    if isinstance(node, Reduce):
        _integer_positions(node.lo, out, True)
        _integer_positions(node.hi, out, True)
        _integer_positions(node.body, out, inside)
        return
    for child in _children(node):
        _integer_positions(child, out, inside)


def analyse(statement: Statement) -> Signature:
    """Infer and check the kind of every symbol and node; raise `SymresError` on a
    mismatch (a scalar added to a matrix, a matrix compared with ``<=``, ...)."""
    declared: dict[str, tuple[Kind, int]] = {}
    int_declared: dict[str, int] = {}
    for c in statement.constraints:
        if isinstance(c, Property) and c.prop in DECLARATIONS:
            for s in c.subjects:
                if c.prop == "integer":
                    int_declared[s.base] = s.col
                else:
                    declared[s.base] = ({"scalar": Kind.SCALAR, "vector": Kind.VECTOR, "matrix": Kind.MATRIX}[c.prop], s.col)
    int_cols: dict[str, int] = dict(int_declared)
    bound_vars: set[str] = set()
    for root in _all_roots(statement):
        _integer_positions(root, int_cols)
        bound_vars.update(n.var for n in _walk(root) if isinstance(n, Reduce))
    for c in statement.constraints:  # L = 100: a name set to a whole number is an integer
        if (
            isinstance(c, Chain)
            and c.ops == ("=",)
            and isinstance(c.operands[0], Name)
            and c.operands[0].sub is None
            and _is_whole(c.operands[1], nonzero=True)
        ):
            int_cols.setdefault(c.operands[0].base, c.operands[0].col)
    kinds: dict[str, Kind] = {}
    for root in _all_roots(statement):
        for n in _walk(root):
            if isinstance(n, Name) and n.base not in kinds:
                if n.base in int_cols:
                    if n.base in declared and declared[n.base][0] is not Kind.SCALAR:
                        raise SymresError(
                            f"malformed statement, column {declared[n.base][1]}: {n.base} is declared a "
                            f"{declared[n.base][0].value} but used as an integer at column {int_cols[n.base]}"
                        )
                    kinds[n.base] = Kind.SCALAR
                elif n.base in declared:
                    kinds[n.base] = declared[n.base][0]
                else:
                    kinds[n.base] = Kind.MATRIX if n.base[0].isupper() else Kind.SCALAR
    for name in int_cols:
        if name in kinds and kinds[name] is not Kind.SCALAR:
            raise SymresError(f"malformed statement, column {int_cols[name]}: {name} is a matrix, not an integer")
    sig = Signature(kinds, frozenset(n for n in int_cols if n not in bound_vars), {})
    checker = _KindChecker(sig)
    checker.relation(statement.relation)
    for c in statement.constraints:
        checker.constraint(c)
    return sig


def _all_roots(statement: Statement) -> Iterator[Node]:
    yield from statement.relation.operands
    for c in statement.constraints:
        if isinstance(c, Chain):
            yield from c.operands
        elif isinstance(c, Property):
            yield from c.subjects
        else:
            yield c.subject
            yield c.lo
            yield c.hi


def _is_whole(node: Node, *, nonzero: bool = False) -> bool:
    return isinstance(node, Num) and node.value.denominator == 1 and not (nonzero and node.value == 0)


def is_integer_expr(node: Node, sig: Signature, scope: frozenset[str] = frozenset()) -> bool:
    """True if ``node`` is built from whole numbers, integer names and indices by + - *."""
    if isinstance(node, Num):
        return node.value.denominator == 1
    if isinstance(node, Name):
        return node.sub is None and (node.base in sig.integers or node.base in scope)
    if isinstance(node, Neg):
        return is_integer_expr(node.arg, sig, scope)
    if isinstance(node, BinOp) and node.op in "+-*":
        return is_integer_expr(node.left, sig, scope) and is_integer_expr(node.right, sig, scope)
    return False


class _KindChecker:
    def __init__(self, sig: Signature) -> None:
        self.sig = sig

    def _err(self, col: int, msg: str) -> SymresError:
        return SymresError(f"malformed statement, column {col}: {msg}")

    def relation(self, chain: Chain) -> None:
        for i, (left, op, right) in enumerate(chain.links()):
            col = chain.op_cols[i] if i < len(chain.op_cols) else right.col
            self._compare(self.kind(left, frozenset()), op, self.kind(right, frozenset()), col)

    def constraint(self, c: Constraint) -> None:
        if isinstance(c, Chain):
            self.relation(c)
            return
        if isinstance(c, Membership):
            k = self.kind(c.subject, frozenset())
            for bound in (c.lo, c.hi):
                if self.kind(bound, frozenset()) not in (Kind.SCALAR, Kind.ZERO):
                    raise self._err(bound.col, "the bounds of 'in [a, b]' are numbers")
            if k is Kind.MULTISET:
                raise self._err(c.col, "'in' applies to a scalar, vector or matrix")
            return
        for s in c.subjects:
            k = self.kind(s, frozenset())
            if c.prop in PROPERTIES and k is not Kind.MATRIX:
                raise self._err(s.col, f"'{c.prop}' applies to matrices; {s.label} is a {k.value}")
        lone = c.subjects[0].sub
        if c.prop == "commute" and len(c.subjects) < 2 and (lone is None or lone.isdigit()):
            raise self._err(c.col, "'commute' needs two matrices, as in 'A, B commute', or a family 'J_l commute'")

    def _compare(self, a: Kind, op: str, b: Kind, col: int) -> None:
        if Kind.ZERO in (a, b):
            if op != "=" and Kind.MATRIX in (a, b):
                raise self._err(col, f"matrices are compared with '=' only; use norm(·), eig(·) or svals(·) for '{op}'")
            return
        if op == "=":
            if a == b or {a, b} == {Kind.MULTISET, Kind.SCALAR}:
                return
            raise self._err(col, f"cannot compare a {a.value} with a {b.value}")
        if a in _MATRIXLIKE or b in _MATRIXLIKE:
            raise self._err(col, f"matrices are compared with '=' only; use norm(·), eig(·) or svals(·) for '{op}'")
        if {a, b} <= {Kind.SCALAR, Kind.MULTISET}:
            return
        raise self._err(col, f"cannot compare a {a.value} with a {b.value}")

    def kind(self, node: Node, scope: frozenset[str]) -> Kind:
        k = self._kind(node, scope)
        self.sig.node_kinds[node] = k
        return k

    def _kind(self, node: Node, scope: frozenset[str]) -> Kind:
        if isinstance(node, Num):
            return Kind.ZERO if node.value == 0 else Kind.SCALAR
        if isinstance(node, Pi):
            return Kind.SCALAR
        if isinstance(node, Identity):
            return Kind.MATRIX
        if isinstance(node, Name):
            if node.sub is None and node.base in scope:
                return Kind.SCALAR
            if node.base in self.sig.integers and node.sub is not None:
                raise self._err(node.col, f"the integer {node.base} cannot carry a subscript")
            return self.sig.kinds[node.base]
        if isinstance(node, Neg):
            return self.kind(node.arg, scope)
        if isinstance(node, Transpose):
            k = self.kind(node.arg, scope)
            if k is Kind.MULTISET:
                raise self._err(node.col, "^T applies to matrices and vectors")
            return {Kind.VECTOR: Kind.ROW, Kind.ROW: Kind.VECTOR}.get(k, k)
        if isinstance(node, BinOp):
            return self._binop(node, scope)
        if isinstance(node, Pow):
            return self._pow(node, scope)
        if isinstance(node, Call):
            return self._call(node, scope)
        if isinstance(node, Reduce):
            return self._reduce(node, scope)
        raise self._err(0, f"unsupported node {type(node).__name__}")

    def _binop(self, node: BinOp, scope: frozenset[str]) -> Kind:
        a = self.kind(node.left, scope)
        b = self.kind(node.right, scope)
        if node.op in "+-":
            if a is Kind.ZERO:
                return b
            if b is Kind.ZERO or a == b:
                if a is Kind.MULTISET and b is Kind.MULTISET:
                    raise self._err(node.col, "two multisets cannot be added (which element goes with which?)")
                return a
            if {a, b} == {Kind.SCALAR, Kind.MULTISET}:
                return Kind.MULTISET
            if {a, b} == {Kind.SCALAR, Kind.MATRIX}:
                raise self._err(node.col, "cannot add a scalar to a matrix; write c I (or c*I) for c times the identity")
            raise self._err(node.col, f"cannot add a {a.value} and a {b.value}")
        if node.op == "/":
            if b not in (Kind.SCALAR,):
                raise self._err(node.col, "only division by a (nonzero) scalar is supported")
            return Kind.SCALAR if a is Kind.ZERO else a
        # product
        if Kind.ZERO in (a, b):
            other = b if a is Kind.ZERO else a
            return Kind.ZERO if other in (Kind.SCALAR, Kind.ZERO) else other
        if a is Kind.SCALAR:
            return b
        if b is Kind.SCALAR:
            return a
        if Kind.MULTISET in (a, b):
            raise self._err(node.col, "a multiset can only be multiplied by a scalar")
        ra, ca = _SHAPE[a]
        rb, cb = _SHAPE[b]
        if ca != rb:
            raise self._err(node.col, f"shapes do not match in the product of a {a.value} and a {b.value}")
        return _FROM_SHAPE[(ra, cb)]

    def _pow(self, node: Pow, scope: frozenset[str]) -> Kind:
        a = self.kind(node.base, scope)
        e = self.kind(node.exp, scope)
        if e not in (Kind.SCALAR, Kind.ZERO):
            raise self._err(node.exp.col, "an exponent is a number or an integer name")
        if a is Kind.MATRIX:
            if not is_integer_expr(node.exp, self.sig, scope) and not (
                isinstance(node.exp, Neg) and is_integer_expr(node.exp.arg, self.sig, scope)
            ):
                raise self._err(node.exp.col, "a matrix power needs an integer exponent")
            return a
        if a in (Kind.VECTOR, Kind.ROW):
            raise self._err(node.col, "a vector has no powers")
        return Kind.SCALAR if a is Kind.ZERO else a

    def _call(self, node: Call, scope: frozenset[str]) -> Kind:
        from symres.claims.functions import TABLE  # the one table of functions (it imports Kind from here)

        a = self.kind(node.arg, scope)
        fn = TABLE[node.func]
        out = fn.kind(a)
        if out is None:
            raise self._err(node.col, fn.refusal.format(f=fn.name, kind=a.value))
        return out

    def _reduce(self, node: Reduce, scope: frozenset[str]) -> Kind:
        for bound in (node.lo, node.hi):
            self.kind(bound, scope)
            if not is_integer_expr(bound, self.sig, scope):
                raise self._err(bound.col, f"the bounds of {node.op}(...) are integers, as in l=1..L")
        body = self.kind(node.body, scope | {node.var})
        if body in (Kind.VECTOR, Kind.ROW) and node.op == "prod":
            raise self._err(node.body.col, "prod(...) multiplies square matrices or scalars")
        if body is Kind.MULTISET:
            raise self._err(node.body.col, f"{node.op}(...) of a multiset is not supported")
        return Kind.SCALAR if body is Kind.ZERO else body
