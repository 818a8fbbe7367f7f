"""The notation of symres, defined once: a SymPy LatexPrinter subclass.

Every LaTeX string symres emits comes from `latex(expr)`: the activation of a block is
σ (its derivative σ'), diag(·) is \\operatorname{diag}, the identity is I, the
entrywise product is ⊙, an unevaluated Jacobian is ∂u/∂x. Sums and products are printed
in the order they were built (non-commuting factors keep their order).
"""

from __future__ import annotations

import re
from typing import Any

from sympy import Basic, Integer, MatrixSymbol, OneMatrix, Symbol
from sympy.matrices.expressions import MatAdd
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from symres.activations import ACTIVATIONS, FUNCTIONS, GENERIC
from symres.errors import SymresError
from symres.expr import Abbrev
from symres.tex import LITERAL_DOLLAR, escape_text
from symres.tex import TEXLIVE_HINT as TEXLIVE_HINT  # re-exported: compile_pdf lives in symres.tex
from symres.tex import compile_pdf as compile_pdf

__all__ = [
    "SymresLatexPrinter",
    "latex",
    "proof_latex",
    "proof_markdown",
    "statement_latex",
    "proof_dict",
    "compile_pdf",
    "instance_latex",
    "number_latex",
    "overfull_boxes",
    "experiment_latex",
    "booklet_latex",
]


class SymresLatexPrinter(LatexPrinter):  # type: ignore[misc]
    """LaTeX for symres expressions (Elementwise, Diag, Deriv) and SymPy's matrix algebra."""

    printmethod = "_symres_latex"
    _default_settings = {**LatexPrinter._default_settings, "order": "none", "names": None}

    def _print(self, expr: Any, **kwargs: Any) -> str:
        names = self._settings.get("names")
        if names and isinstance(expr, Basic) and expr in names:
            return str(names[expr])
        return str(super()._print(expr, **kwargs))

    def _print_Elementwise(self, expr: Any) -> str:
        entry = FUNCTIONS.get(expr.fn) or ACTIVATIONS.get(expr.fn)
        if entry is not None and entry.notation and expr.order <= 1:
            return entry.notation[expr.order].format(arg=self._print(expr.arg))
        if expr.fn == GENERIC:
            name = r"\sigma"
        elif entry is not None:
            name = entry.latex
        else:
            name = rf"\operatorname{{{expr.fn}}}"
        prime = "'" * expr.order if expr.order <= 2 else f"^{{({expr.order})}}"
        return rf"{name}{prime}\left({self._print(expr.arg)}\right)"

    def _print_Diag(self, expr: Any) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.vec)}\right)"

    def _print_Deriv(self, expr: Any) -> str:
        wrt = self._print(expr.wrt)
        names = self._settings.get("names") or {}
        if isinstance(expr.expr, MatrixSymbol) or expr.expr in names:
            return rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {wrt}}}"
        return rf"\frac{{\partial}}{{\partial {wrt}}}\left[{self._print(expr.expr)}\right]"

    def _print_Identity(self, expr: Basic) -> str:
        return "I"

    def _print_ZeroMatrix(self, expr: Basic) -> str:
        return "0"

    def _print_HadamardProduct(self, expr: Basic) -> str:
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _print_MatMul(self, expr: Any) -> str:
        # leading numbers as one coefficient in front (−\frac{1}{3} 𝟙 𝟙^T, not −\left(\frac{1}{3}\right)…);
        # never negate the product itself (nor ask SymPy whether it could: could_extract_minus_sign
        # calls MatMul.__neg__, whose doit() multiplies out 𝟙 𝟙^T and is quadratic in a long
        # product J_L ⋯ J_1); the sign is the leading number's, or a leading scalar's (−1/d)
        args = list(expr.args)
        coeff = Integer(1)
        while args and args[0].is_Number:
            coeff *= args.pop(0)
        if not args:
            return self._print(coeff)
        negative = coeff < 0
        if not args[0].is_Matrix and args[0].could_extract_minus_sign():  # a scalar: cheap to ask
            args[0], negative = -args[0], not negative
        body = " ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in args)
        sign = "- " if negative else ""
        return sign + (f"{self._print(abs(coeff))} " if abs(coeff) != 1 else "") + body

    def _print_MatAdd(self, expr: Any) -> str:
        out: list[str] = []
        for t in expr.args:
            s = self._print(t)
            negative = s.startswith("- ")
            if out:
                out.append(f" - {s[2:]}" if negative else f" + {s}")
            else:
                out.append(s)
        return "".join(out)

    def _print_OneMatrix(self, expr: Basic) -> str:
        return r"\mathbf{1}"

    def _print_Transpose(self, expr: Any) -> str:
        if isinstance(expr.arg, (MatrixSymbol, OneMatrix)) or type(expr.arg).__name__ == "Abbrev":
            return f"{self._print(expr.arg)}^{{T}}"
        return rf"\left({self._print(expr.arg)}\right)^{{T}}"

    def _print_Scalar(self, expr: Any) -> str:
        if isinstance(expr.expr, MatAdd):
            return rf"\left({self._print(expr.expr)}\right)"
        return self._print(expr.expr)

    def _deal_with_super_sub(self, string: str, style: str = "plain") -> str:
        # every symbol name passes here: one that is not plain letters, digits, _ ^ and
        # balanced braces (a user block may name a symbol "\\input{…}") is printed as text
        if _SAFE_NAME.fullmatch(string) and "^^" not in string and _balanced(string):
            return str(super()._deal_with_super_sub(string, style))
        return rf"\text{{{escape_text(string)}}}"

    def _print_Abbrev(self, expr: Any) -> str:
        return self._print(Symbol(expr.name))

    def _print_Pow(self, expr: Any) -> str:
        if type(expr.base).__name__ == "Scalar":  # (s)^{3}, not s^{-1/2}^{3}
            return rf"\left({self._print(expr.base)}\right)^{{{self._print(expr.exp)}}}"
        return super()._print_Pow(expr)

    def _function_name(self, name: str) -> str:
        base, _, sub = name.partition("_")
        return rf"\operatorname{{{base}}}" + (f"_{{{sub}}}" if sub else "")

    def _print_Defined(self, expr: Any) -> str:
        return rf"{self._function_name(expr.name)}\left({self._print(expr.arg)}\right)"

    def _print_DefinedJacobian(self, expr: Any) -> str:
        return rf"J_{{{self._function_name(expr.name)}}}\left({self._print(expr.arg)}\right)"

    def _print_Inv(self, expr: Any) -> str:
        if isinstance(expr.arg, MatrixSymbol):
            return f"{self._print(expr.arg)}^{{-1}}"
        return rf"\left({self._print(expr.arg)}\right)^{{-1}}"

    def _print_Tr(self, expr: Any) -> str:
        return rf"\operatorname{{tr}}\left({self._print(expr.arg)}\right)"

    def _print_Det(self, expr: Any) -> str:
        return rf"\det\left({self._print(expr.arg)}\right)"

    def _print_LogDet(self, expr: Any) -> str:
        return rf"\log\det\left({self._print(expr.arg)}\right)"

    def _print_VStack(self, expr: Basic) -> str:
        return r"\begin{bmatrix} " + r" \\ ".join(self._print(p) for p in expr.args) + r" \end{bmatrix}"


_SAFE_NAME = re.compile(r"[A-Za-z0-9_^{}'+\-,.*()= ]+")


def _balanced(name: str) -> bool:
    depth = 0
    for c in name:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def latex(expr: Basic, **settings: Any) -> str:
    """The LaTeX of expr in symres notation (math mode, no delimiters). The setting
    `names` ({sub-expression: LaTeX name}) prints those sub-expressions by their name.

    >>> import sympy as sp
    >>> from symres.expr import add, apply, matmul
    >>> x, W = sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("W_1", 2, 2)
    >>> latex(add(x, apply("sigma", matmul(W, x))))
    'x + \\\\sigma\\\\left(W_{1} x\\\\right)'
    """
    return SymresLatexPrinter(settings).doprint(expr)


# --------------------------------------------------------------------------- proofs

#: Unicode that titles and descriptions may carry, typeset as mathematics by pdflatex
_UNICODE = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "λ": r"\lambda",
    "μ": r"\mu",
    "σ": r"\sigma",
    "Σ": r"\Sigma",
    "Φ": r"\Phi",
    "∂": r"\partial",
    "→": r"\to",
    "×": r"\times",
    "≤": r"\le",
    "≥": r"\ge",
    "≈": r"\approx",
    "∈": r"\in",
    "⊙": r"\odot",
    "∏": r"\prod",
    "∑": r"\sum",
    "ℓ": r"\ell",
    "⋯": r"\cdots",
    "ᵀ": r"^{T}",
    "ℝ": r"\mathbb{R}",
    "−": "-",
    "‖": r"\|",
    "√": r"\surd",
    "⇒": r"\Rightarrow",
    "≠": r"\neq",
    "·": r"\cdot",
    "∞": r"\infty",
    "′": "'",
}

_UNICODE.update({c: f"_{i}" for i, c in enumerate("₀₁₂₃₄₅₆₇₈₉")})
_UNICODE.update(
    {
        "²": "^2",
        "³": "^3",
        "ⁿ": "^n",
        "ᵏ": "^k",
        "ᴸ": "^L",
        "⁻": "^-",
        "¹": "^1",
        "⊆": r"\subseteq",
        "∅": r"\emptyset",
        "≫": r"\gg",
        "≪": r"\ll",
        "∘": r"\circ",
        "∀": r"\forall",
        "∃": r"\exists",
    }
)
_UNICODE.update(
    {
        "ℒ": r"\mathcal{L}",
        "⊂": r"\subset",
        "↦": r"\to",
        "≡": r"\equiv",
        "∓": r"\mp",
        "±": r"\pm",
        "⌈": r"\lceil",
        "⌉": r"\rceil",
        "⌊": r"\lfloor",
        "⌋": r"\rfloor",
        "ε": r"\varepsilon",
        "𝟙": r"\mathbf{1}",
    }
)
_UNICODE.update(
    {
        "⊗": r"\otimes",
        "½": r"\tfrac{1}{2}",
        "¼": r"\tfrac{1}{4}",
        "⁰": "^0",
        "⁴": "^4",
        "⁵": "^5",
        "⁶": "^6",
        "⁷": "^7",
        "⁸": "^8",
        "⁹": "^9",
        "←": r"\leftarrow",
        "≲": r"\lesssim",
        "⟺": r"\iff",
        "⟹": r"\implies",
        "θ": r"\theta",
        "Δ": r"\Delta",
        "∇": r"\nabla",
        "⟨": r"\langle",
        "⟩": r"\rangle",
        "Ĝ": r"\hat{G}",
        "∉": r"\notin",
        "∪": r"\cup",
        "∩": r"\cap",
        "≃": r"\simeq",
        "∝": r"\propto",
    }
)
#: characters LaTeX's utf8 input already typesets in text
_TEXT_UNICODE = set("—–“”‘’…éèàöüç")
#: the non-ASCII characters prose may keep: the preamble declares them, or utf8 input knows them
_PROSE_UNICODE = frozenset(_UNICODE) | _TEXT_UNICODE

_PREAMBLE = (
    "\\documentclass[11pt]{article}\n"
    "\\usepackage[a4paper,landscape,margin=1.6cm]{geometry}\n"
    "\\usepackage{amsmath,amssymb}\n"
    + "".join(f"\\DeclareUnicodeCharacter{{{ord(c):04X}}}{{\\ensuremath{{{m}}}}}\n" for c, m in _UNICODE.items())
    # σ(x), not σ (x): \left( after a function name must not open an inner atom's space
    + "\\let\\symresleft\\left\\let\\symresright\\right\n"
    "\\renewcommand{\\left}{\\mathopen{}\\mathclose\\bgroup\\symresleft}\n"
    "\\renewcommand{\\right}{\\aftergroup\\egroup\\symresright}\n"
    "\\setlength{\\emergencystretch}{3em}\n"
    "\\allowdisplaybreaks\n\\begin{document}\n"
)

#: how many characters (as `_visible` counts them) a display line holds in the landscape page
LINE_WIDTH = 100
#: sub-expressions longer than this that occur more than once in a proof get a name
NAME_WIDTH = 12


def _side(side: Any, names: dict[Basic, str] | None = None) -> str:
    if isinstance(side, str):
        return side
    return latex(side, names=names) if names else latex(side)


def _visible(tex: str) -> float:
    """A rough count of the characters a LaTeX math string shows (for line breaking)."""
    s = re.sub(r"\\operatorname\{(\w+)\}", r"\1", tex)
    s = re.sub(r"\\(left|right|mathopen\{\}|mathclose\{\}|displaystyle)", "", s)
    while True:  # \frac{a}{b} shows the longer of a and b
        t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: m[1] if _visible(m[1]) > _visible(m[2]) else m[2], s)
        if t == s:
            break
        s = t
    s = re.sub(r"\\[A-Za-z]+", "x", s)
    width = 0.0
    for ch in s:
        if ch in "{}^_ \\":
            continue
        width += 2.5 if ch in "+-=<>" else 1.0
    return width


def _name_for(proof: Any) -> list[str]:
    """Letters free for naming sub-expressions: not a symbol the proof already uses."""
    used = set()
    for side in _sides(proof):
        for sym in getattr(side, "free_symbols", ()):
            used.add(str(getattr(sym, "name", sym)).partition("_")[0])
        for named in side.atoms(Abbrev) if isinstance(side, Basic) else ():  # LayerNorm's v, c: not a name twice
            used.add(named.name.partition("_")[0])
    return [c for c in ("u", "v", "z", "p", "q", "r") if c not in used]


def _sides(proof: Any) -> list[Basic]:
    out = [s for st in proof.steps for s in (st.lhs, st.rhs) if isinstance(s, Basic)]
    return out + ([proof.result] if isinstance(proof.result, Basic) else [])


def subexpression_names(proof: Any) -> dict[Basic, str]:
    """Names (u_1, u_2, …) for the long arguments of activations that recur in a proof's
    lines, innermost first, so that no line repeats a long sub-expression."""
    from collections import Counter

    from sympy import preorder_traversal

    counts: Counter[Basic] = Counter()
    for side in _sides(proof):
        for node in preorder_traversal(side):
            kind = type(node).__name__
            inner = node.arg if kind == "Elementwise" else node.expr if kind == "Deriv" else getattr(node, "named_argument", None)
            if inner is not None and not isinstance(inner, MatrixSymbol):
                counts[inner] += 1
    letters = _name_for(proof)
    if not letters:
        return {}
    names: dict[Basic, str] = {}
    for arg in sorted((a for a, n in counts.items() if n > 1), key=lambda a: len(str(a))):
        if _visible(latex(arg, names=names)) > NAME_WIDTH:
            names[arg] = f"{letters[0]}_{{{len(names) + 1}}}"
    return names


def _pieces(expr: Basic, names: dict[Basic, str] | None) -> list[str]:
    """expr split at its top-level operators: each piece starts with its operator."""
    from sympy.matrices.expressions import HadamardProduct, MatMul

    if isinstance(expr, MatAdd) and not (names and expr in names):
        out: list[str] = []
        for term in expr.args:
            parts = _pieces(term, names) if _visible(_side(term, names)) > LINE_WIDTH / 2 else [_side(term, names)]
            first = parts[0]
            if out:
                first = f"- {first[2:]}" if first.startswith("- ") else f"+ {first}"
            out += [first, *parts[1:]]
        return out
    if isinstance(expr, MatMul) and not (names and expr in names) and not expr.args[0].is_Number:
        printer = SymresLatexPrinter({"names": names})
        out = []
        for a in expr.args:
            factor = printer.parenthesize(a, PRECEDENCE["Mul"], strict=False)
            if isinstance(a, MatAdd) and not (names and a in names) and _visible(factor) > LINE_WIDTH / 2:
                # a long sum as a factor breaks inside its parentheses; \bigl( \bigr) may span lines, \left( may not
                inner = _pieces(a, names)
                out += [r"\bigl(" + inner[0], *inner[1:-1], inner[-1] + r"\bigr)"] if len(inner) > 1 else [factor]
            else:
                out.append(factor)
        return out
    if isinstance(expr, HadamardProduct) and not (names and expr in names):
        printer = SymresLatexPrinter({"names": names})
        parts = [printer.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args]
        return [parts[0]] + [rf"\odot {p}" for p in parts[1:]]
    return [_side(expr, names)]


def _broken(expr: Basic | str, names: dict[Basic, str] | None, width: float) -> list[str]:
    """The lines of a right-hand side, broken at top-level operators to fit `width`."""
    whole = _side(expr, names)
    if isinstance(expr, str) or _visible(whole) <= width:
        return [whole]
    lines: list[str] = []
    for piece in _pieces(expr, names):
        if lines and _visible(lines[-1] + piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return lines


_PROSE_RULES = re.compile(
    r"(?P<matrix>\[\[[-+\d\s.,/eE\[\]]*\]\])"
    r"|(?P<sci>(?<![\w.])-?\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.]))"
    r"|(?P<subbase>(?<![A-Za-z0-9])[A-Za-zα-ωΑ-Ω∏∑Σ]{1,3})_(?P<sub>\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9ℓ]{1,3}\b)"
    r"|(?P<code>\b[a-z]\w*(?:\.[a-z]\w*)+\b(?:\([^()]*\))?|\b[a-z]+_[a-z_]+\b(?:\([^()]*\))?)"
    r"|\^(?P<sup>\{(?:[^{}]|\{[^{}]*\})*\}|\([^()]*\)|‖[^‖]*‖|-?[\w.]*\w)"
    r"|\"(?P<dq>[^\"]*)\""
    r"|(?<![\w])'(?P<sq>[^'\n]*[^\s'])'(?![\w])"
    r"|(?P<prime>(?<=\S)'(?=\())"
    r"|(?P<op><=|>=|!=|->)"
    r"|(?P<bool>\b(?:True|False)\b)"
)
_OPS = {"<=": r"\ensuremath{\le}", ">=": r"\ensuremath{\ge}", "!=": r"\ensuremath{\neq}", "->": r"\ensuremath{\to}"}


def number_latex(x: float) -> str:
    """A number for print: 4 significant digits, 2\\cdot 10^{-11} for 2e-11, no -0."""
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    s = f"{x:.4g}"
    if "e" not in s:
        return s
    mant, _, exp = s.partition("e")
    power = rf"10^{{{int(exp)}}}"
    return power if mant == "1" else ("-" + power if mant == "-1" else rf"{mant}\cdot {power}")


def matrix_latex(value: Any) -> str:
    """A vector (as a column) or a matrix of numbers as a bmatrix."""
    import numpy as np

    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return number_latex(float(arr))
    if arr.ndim == 1:
        arr = arr[:, None]
    rows = [" & ".join(number_latex(float(v)) for v in row) for row in arr]
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _sci(m: re.Match[str]) -> str:
    # \ensuremath, not $…$: the prose around it may be a user's, in which no $ ever opens math
    return r"\ensuremath{" + number_latex(float(m[0])) + "}"


def _prose(p: str) -> str:
    """Prose (outside $…$) for LaTeX text mode."""
    out, at = [], 0
    for m in _PROSE_RULES.finditer(p):
        out.append(_escape(p[at : m.start()]))
        at = m.end()
        kind = m.lastgroup
        if kind == "matrix":
            try:
                out.append(r"\ensuremath{\left[\begin{smallmatrix}" + _smallmatrix(m[0]) + r"\end{smallmatrix}\right]}")
            except (ValueError, SyntaxError):
                out.append(_escape(m[0]))
        elif kind == "sci":
            out.append(_sci(m))
        elif kind == "code":
            out.append(r"\texttt{" + _escape(m[0]) + "}")
        elif kind == "sup":
            body = m["sup"][1:-1] if m["sup"][0] == "{" else m["sup"]
            out.append(r"\textsuperscript{" + _prose(body) + "}")
        elif kind in ("subbase", "sub"):
            sub = m["sub"][1:-1] if m["sub"].startswith("{") else m["sub"]
            out.append(_escape(m["subbase"]) + r"\textsubscript{" + _prose(sub) + "}")
        elif kind == "dq":
            out.append("``" + _prose(m["dq"]) + "''")
        elif kind == "sq":
            out.append("`" + _prose(m["sq"]) + "'")
        elif kind == "bool":  # a Python truth value in a detail: say it in words
            out.append("yes" if m[0] == "True" else "no")
        elif kind == "prime":
            out.append(r"\ensuremath{'}")
        else:
            out.append(_OPS[m[0]])
    out.append(_escape(p[at:]))
    return "".join(out)


def _smallmatrix(text: str) -> str:
    def entry(v: str) -> str:
        num, slash, den = v.strip().partition("/")
        if slash:
            return rf"{'-' if num.startswith('-') else ''}\tfrac{{{num.lstrip('-')}}}{{{den}}}"
        return number_latex(float(num))

    rows = re.findall(r"\[([^\[\]]*)\]", text[1:-1])
    if not rows:
        raise ValueError(text)
    return r" \\ ".join(" & ".join(entry(v) for v in row.split(",")) for row in rows)


#: in symres's own prose, ~ means "distributed as" / "about": typeset as ∼, not a tilde
#: accent; a fraction 9/10 stays whole (user strings may break after /, prose does not)
_PROSE_ESCAPES = {"~": r"\ensuremath{\sim}", "/": "/"}


def _escape(p: str) -> str:
    return escape_text(p, unicode=_PROSE_UNICODE, overrides=_PROSE_ESCAPES)


def _text(s: str) -> str:
    """Prose with inline $math$ for LaTeX text mode, the one escaping of symres text for
    LaTeX: the prose between the $…$ pieces is printed literally (`symres.tex.escape_text`),
    with `x^2`, `W_s`, "quotes", 2e-11 and Python lists of numbers typeset; an unpaired $ is
    text; characters pdflatex cannot typeset become '?'."""
    parts = s.split("$")
    if len(parts) % 2 == 0:  # an unpaired $: the last one is text, not the start of math
        parts[-2:] = [parts[-2] + LITERAL_DOLLAR + parts[-1]]
    for i in range(len(parts)):
        if i % 2 == 0:
            parts[i] = _prose(parts[i])
        else:  # math: numbers as numbers
            parts[i] = re.sub(r"(?<![\w.\\])-?\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])", lambda m: number_latex(float(m[0])), parts[i])
    out = "$".join(parts)
    return "".join(c if ord(c) < 128 or c in _PROSE_UNICODE else "?" for c in out)


def _relation(rel: str) -> str:
    return {"=": "=", "<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", ":=": ":="}.get(rel, rel)


def _mark(step: Any, failed: str = "FAILED") -> str:
    """How a step was checked, for the margin: ``[symbolic]``; a failed check adds the word
    `failed` (``[numeric, 200 pts, err 5e-01: FAILED]``)."""
    if step.check is None:
        return "[unchecked]"
    return f"[{step.check.mark}]" if step.check.passed or not step.check.decided else f"[{step.check.mark}: {failed}]"


def proof_lines(proof: Any) -> list[str]:
    """The rows of an `aligned` body (Markdown, Jupyter): one row per step,
    `lhs &= rhs && \\text{reason [check]}`."""
    lines = []
    for step in proof.steps:
        lhs = _side(step.lhs) if step.lhs is not None else ""
        reason = step.short or step.reason
        rhs = rf"\text{{{_text(step.rhs)}}}" if step.prose else _side(step.rhs)
        lines.append(rf"{lhs} &{_relation(step.relation)} {rhs} && \text{{{_text(reason)} {_mark(step)}}}")
    return lines


def _reason_row(text: str) -> str:
    return r" &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright " + text + "}"


def proof_align(proof: Any, *, failed: str = "FAILED") -> str:
    """The derivation as an align* that fits the page: long sub-expressions that recur are
    named first (u_1 := …), long right-hand sides are broken at their top-level operators,
    and each step's reason and check stand on a line beneath it."""
    names = subexpression_names(proof)
    rows: list[str] = []
    for expr, name in names.items():
        others = {e: n for e, n in names.items() if e is not expr}
        lines = _broken(expr, others, LINE_WIDTH - 6)
        rows.append(f"{name} &:= {lines[0]}")
        rows += [rf" &\qquad {line}" for line in lines[1:]]
    if names:
        rows.append(_reason_row("names for the sub-expressions that recur below"))
    for i, step in enumerate(proof.steps, 1):
        if step.prose:  # a claim in words: a paragraph, broken by TeX
            rows.append(r" &\parbox[t]{0.8\linewidth}{\raggedright " + _text(str(step.rhs)) + "}")
        else:
            lhs = _side(step.lhs, names) if step.lhs is not None else ""
            lines = _broken(step.rhs, names, LINE_WIDTH - min(_visible(lhs), LINE_WIDTH / 3))
            rows.append(f"{lhs} &{_relation(step.relation)} {lines[0]}")
            rows += [rf" &\qquad {line}" for line in lines[1:]]
        mark = _mark(step, failed)
        rows.append(_reason_row(f"({i}) {_text(step.reason)} {_text(mark)}"))
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def proof_latex(proof: Any, *, standalone: bool = False, jupyter: bool = False) -> str:
    """The proof as LaTeX: an align* in which every step carries its reason and how it
    was checked on a line beneath; standalone=True wraps it in a complete amsmath document
    with the title, assumptions, the facts and the final check. jupyter=True gives an
    `aligned` body (reasons in a column) for MathJax."""
    if jupyter:
        return "\\begin{aligned}" + " \\\\ ".join(proof_lines(proof)) + "\\end{aligned}"
    if not standalone:
        return proof_align(proof)
    return _PREAMBLE + proof_section(proof) + "\\end{document}\n"


def _conclusion(proof: Any) -> str:
    if proof.conclusion_prose:
        return _text(proof.conclusion) + r"\par"
    lhs, sep, _ = proof.conclusion.partition("=")
    if _visible(proof.conclusion) <= LINE_WIDTH or proof.result is None or not sep:
        return rf"\[ {proof.conclusion} \]"
    names = subexpression_names(proof)
    lines = _broken(proof.result, names, LINE_WIDTH - _visible(lhs))
    where = ""
    if names:
        where = r"\quad with " + ", ".join(f"${n}$" for n in names.values()) + r" as above"
    return "\\begin{align*}\n" + rf"{lhs} &= " + " \\\\\n &\\qquad ".join(lines) + "\n\\end{align*}" + where


def proof_section(proof: Any, *, level: str = "section*", failed: str = "FAILED") -> str:
    """A section of a document: title, assumptions, the derivation (reasons beneath the
    lines), the facts read off the result, the conclusion displayed, and the final check.
    `failed` is the word a failed check is shown with (a refutation says "refuted")."""
    out = [rf"\{level}{{{_text(proof.title)}}}", r"\paragraph{Assumptions.}", r"\begin{itemize}"]
    out += [rf"\item {_text(a)}" for a in proof.assumptions]
    out += [r"\end{itemize}", r"\paragraph{Derivation.}", proof_align(proof, failed=failed)]
    if proof.facts:
        out += [r"\paragraph{Read off the result.}", r"\begin{itemize}"]
        out += [rf"\item {_text(f.reason)} {_text(_mark(f, failed))}" for f in proof.facts]
        out += [r"\end{itemize}"]
    out += [r"\paragraph{Conclusion.}", _conclusion(proof)]
    if proof.final is not None:
        out += [rf"\paragraph{{Checked.}} {_text(proof.final.summary(failed=failed))}."]
    return "\n".join(out) + "\n"


def proof_markdown(proof: Any) -> str:
    """The proof as Markdown with $$ blocks (GitHub and MathJax render `aligned`)."""
    out = [f"### {proof.title}", "", "**Assumptions.**", ""]
    out += [f"- {a}" for a in proof.assumptions]
    out += ["", "$$", "\\begin{aligned}", " \\\\\n".join(proof_lines(proof)), "\\end{aligned}", "$$", ""]
    out += [f"{i}. {s.reason} {_mark(s)}" for i, s in enumerate(proof.steps, 1)]
    if proof.facts:
        out += [""] + [f"- {f.reason} {_mark(f)}" for f in proof.facts]
    out += ["", f"**Conclusion.** {proof.conclusion}" if proof.conclusion_prose else f"**Conclusion.** $${proof.conclusion}$$"]
    if proof.final is not None:
        out += ["", f"**Checked** {proof.final.summary()}."]
    return "\n".join(out) + "\n"


def proof_dict(proof: Any) -> dict[str, Any]:
    """The proof as JSON-ready data, the same object `symres derive --json` prints: the
    block, its activation, forward map and Jacobian (LaTeX) when the proof is a block's,
    then the title, assumptions, steps and facts (LaTeX, reason, check) and the conclusion."""

    def step(s: Any) -> dict[str, Any]:
        if s.prose:
            claim = {"statement": s.rhs}
        else:
            claim = {"latex": (f"{_side(s.lhs)} " if s.lhs is not None else "") + f"{_relation(s.relation)} {_side(s.rhs)}"}
        return {
            **claim,
            "reason": s.reason,
            "check": s.check.as_dict() if s.check is not None else None,
        }

    head: dict[str, Any] = {}
    if "block" in proof.meta:
        from symres.blocks import _uses_sigma

        head = {
            "block": proof.meta["block"],
            # the σ the proof was checked with; null when the block applies no σ of its own
            "activation": proof.meta.get("activation") if _uses_sigma(proof.meta["forward"]) else None,
            "forward": latex(proof.meta["forward"]),
            "jacobian": latex(proof.result),
        }
        if "depth" in proof.meta:  # a stack (symres.stacks)
            head["depth"] = proof.meta["depth"]
        if "mode" in proof.meta:  # --wrt, --grad, --hessian (symres.gradients): not ∂y/∂x
            head["mode"] = proof.meta["mode"]
            head["result"] = head.pop("jacobian")
            head["wrt"] = str(proof.meta["wrt"])
        for key in ("autograd", "notes"):  # a traced nn.Module (symres.torch_bridge)
            if key in proof.meta:
                head[key] = proof.meta[key]
    return {
        **head,
        "title": proof.title,
        "assumptions": list(proof.assumptions),
        "steps": [step(s) for s in proof.steps],
        "facts": [step(f) for f in proof.facts],
        "conclusion": proof.conclusion,
        "passed": proof.passed,
        "check": proof.final.as_dict() if proof.final is not None else None,
    }


def _symbol_latex(name: str) -> str:
    if re.fullmatch(r"[A-Za-z]{1,3}(_\w{1,3})?|alpha|beta|gamma|sigma|mu|lambda|epsilon", name):
        return latex(Symbol(name))
    return r"\text{" + _text(name) + "}"


def instance_latex(instance: dict[str, Any]) -> str:
    """A counterexample typeset: each value as a number or a bmatrix, three to a line."""
    parts = []
    for k, v in instance.items():
        try:
            shown = matrix_latex(v)
        except (TypeError, ValueError):
            shown = r"\text{" + _text(str(v)) + "}"
        parts.append(f"{_symbol_latex(k)} = {shown}")
    rows = [r",\quad ".join(parts[i : i + 3]) for i in range(0, len(parts), 3)]
    return "\\begin{gather*}\n" + " \\\\\n".join(rows) + "\n\\end{gather*}"


def statement_latex(proof: Any, *, failed: str = "FAILED") -> str:
    """The Proof of one statement (`Proof.is_statement`, e.g. from `symres.verify.tested`)
    typeset: the title, the statement displayed (or as text when it is prose), the note,
    the verdict with its check, and a counterexample as matrices."""
    step = proof.steps[0]
    lines = [rf"\paragraph{{{_text(proof.title)}}}"]
    lines.append(_text(str(step.rhs)) + r"\par" if step.prose else rf"\[ {_side(step.rhs)} \]")
    if step.reason:
        lines.append(_text(step.reason) + r"\par")
    check = step.check
    if check is None:
        lines.append(r"\textit{unchecked}.\par")
    else:
        lines.append(rf"\textit{{{_text(check.verdict)}}}: {_text(check.summary(failed=failed))}.\par")
        if check.verdict == "refuted" and check.instance:
            lines.append(r"Counterexample:" + instance_latex(check.instance))
    return "\n".join(lines) + "\n"


def experiment_latex(e: Any, figure: str | None = None) -> str:
    """An experiment (symres.experiment.Experiment): the statement tested, one item per seed
    (held or failed, what was measured), the verdict with its tally, where the runs are
    recorded, and the figure ``\\includegraphics`` of the file ``figure`` (a name the
    booklet chose, see `booklet_latex`) when one is given."""
    said = e.statement[:1].upper() + e.statement[1:]
    lines = [rf"\paragraph{{{_text(e.title)}.}} {_text(said)}\par", r"\begin{itemize}"]
    for r in e.results:
        lines.append(rf"\item seed {r.seed}, {'held' if r.held else 'failed'}: {_text(r.detail)}")
    lines.append(r"\end{itemize}")
    lines.append(rf"\textit{{{_text(e.verdict)}}}: the statement held in {_text(e.tally)} (an experiment, not a proof).\par")
    lines.append(_text(e.source) + r"\par")
    if e.command:  # typewriter (no dash ligatures: the command as typed), ragged: its spaces do not stretch
        lines.append(rf"{{\raggedright\texttt{{{escape_text(e.command)}}}\par}}")
    if figure is not None:
        lines.append(rf"\begin{{center}}\includegraphics[width=\linewidth]{{{figure}}}\end{{center}}")
        if e.caption:
            lines.append(rf"{{\small {_text(e.caption)}}}\par")
    return "\n".join(lines) + "\n"


def overfull_boxes(log: str) -> list[tuple[float, str]]:
    """The overfull \\hbox warnings of a pdflatex log: (points too wide, the log line)."""
    return [(float(m[1]), m[0]) for m in re.finditer(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)[^\n]*", log)]


# --------------------------------------------------------------------------- the booklet


def _evidence_latex(item: Any, failed: str = "FAILED", figures: dict[str, bytes] | None = None) -> str:
    """One piece of a statement's evidence (see `symres.verify.evidence_verdict`): an
    experiment with its figure, a Proof (compact when it is one statement), or a claims
    Verdict by its summary."""
    from symres.claims import Verdict
    from symres.experiment import Experiment
    from symres.proof import Proof

    if isinstance(item, Experiment):
        return experiment_latex(item, _figure(item, figures))
    if isinstance(item, Proof):
        if item.is_statement:
            return statement_latex(item, failed=failed)
        return proof_section(item, level="subsubsection*", failed=failed)
    if isinstance(item, Verdict):
        return _text(item.summary) + r"\par" + "\n"
    raise SymresError(f"no printer for evidence of type {type(item).__name__}; expected a Proof or a claims Verdict")


def _figure(item: Any, figures: dict[str, bytes] | None) -> str | None:
    """The file name under which an experiment's figure goes into ``figures`` (figureN.pdf),
    None if there is no figure, nowhere to put it, or it cannot be drawn (no matplotlib)."""
    if item.figure is None or figures is None:
        return None
    try:
        data = item.figure()
    except SymresError:
        return None
    name = f"figure{len(figures) + 1}.pdf"
    figures[name] = data
    return name


def booklet_latex(outcomes: Any, figures: dict[str, bytes] | None = None) -> str:
    """One document: a section per seed document, named by its title, a subsection per
    statement with the seed's words and the toolkit's verdict; a refuted statement shows
    the counterexample, then the corrected statement with its evidence; an index of the
    verdicts closes the book.

    An experiment's figure is drawn into ``figures`` (file name → PDF bytes, to be placed
    beside the document: `compile_pdf`'s ``files``) and included from there; without
    ``figures`` the document has no figures."""
    from symres.seeds import seed_title

    out = [
        _PREAMBLE.replace("\\begin{document}", "\\usepackage{graphicx}\n\\setcounter{secnumdepth}{2}\n\\begin{document}"),
        r"\title{symres: the seeds' statements, derived and checked}\date{}\maketitle",
        r"Every line below was checked by the numeric backend or shown symbolically, and says which.",
        r"\tableofcontents",
    ]
    seed = None
    index: dict[str, list[str]] = {}
    for n, o in enumerate(sorted(outcomes, key=lambda o: o.statement.seed), 1):
        st = o.statement
        if st.seed != seed:
            seed = st.seed
            out.append(rf"\section{{{_text(seed_title(seed))}}}")
        topic = st.name.replace("_", " ")
        out.append(rf"\subsection{{{_text(st.where)}: {_text(topic)}}}\label{{st:{n}}}")
        index.setdefault(o.label, []).append(rf"{_text(st.where)} (p.~\pageref{{st:{n}}})")
        out.append(rf"\textit{{The seed says:}} {_text(st.text)}\par")
        out.append(rf"\textbf{{Verdict: {_text(o.label)}.}}\par")
        refuted_ok = o.passed and o.verdict == "refuted"
        failed = "refuted by the counterexample" if refuted_ok else "FAILED"
        for item in o.evidence:
            out.append(_evidence_latex(item, failed, figures))
        if st.corrected:
            out.append(rf"\paragraph{{Corrected.}} {_text(st.corrected)}\par")
            for item in o.corrected_evidence:
                out.append(_evidence_latex(item, figures=figures))
    out.append(r"\section*{Index of verdicts}\addcontentsline{toc}{section}{Index of verdicts}")
    for label, entries in index.items():
        out.append(rf"\paragraph{{{_text(label)} ({len(entries)}).}} " + "; ".join(entries) + r".\par")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
