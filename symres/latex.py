"""The notation of symres, defined once: a SymPy LatexPrinter subclass.

Every LaTeX string symres emits comes from `latex(expr)`: the activation of a block is
σ (its derivative σ'), diag(·) is \\operatorname{diag}, the identity is I, the
entrywise product is ⊙, an unevaluated Jacobian is ∂u/∂x. Sums and products are printed
in the order they were built (non-commuting factors keep their order).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sympy import Basic, Integer, MatrixSymbol, OneMatrix, Symbol
from sympy.matrices.expressions import MatAdd
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from symres.activations import ACTIVATIONS, FUNCTIONS, GENERIC
from symres.tex import LITERAL_DOLLAR, escape_text
from symres.tex import TEXLIVE_HINT as TEXLIVE_HINT  # re-exported: compile_pdf lives in symres.tex
from symres.tex import compile_pdf as compile_pdf

__all__ = ["SymresLatexPrinter", "latex", "proof_latex", "proof_markdown", "proof_dict", "compile_pdf"]


class SymresLatexPrinter(LatexPrinter):  # type: ignore[misc]
    """LaTeX for symres expressions (Elementwise, Diag, Deriv) and SymPy's matrix algebra."""

    printmethod = "_symres_latex"
    _default_settings = {**LatexPrinter._default_settings, "order": "none"}

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
        if isinstance(expr.expr, MatrixSymbol):
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
        # never negate the product itself: MatMul.__neg__ calls doit(), which multiplies out 𝟙 𝟙^T
        args = list(expr.args)
        if not args[0].is_Number:
            return super()._print_MatMul(expr)
        coeff = Integer(1)
        while args and args[0].is_Number:
            coeff *= args.pop(0)
        if not args:
            return self._print(coeff)
        body = " ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in args)
        sign = "- " if coeff < 0 else ""
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
    """The LaTeX of expr in symres notation (math mode, no delimiters).

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
        "⊆": r"\\subseteq",
        "∅": r"\\emptyset",
        "≫": r"\\gg",
        "≪": r"\\ll",
        "∘": r"\\circ",
        "∀": r"\\forall",
        "∃": r"\\exists",
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
    + "\\allowdisplaybreaks\n\\begin{document}\n"
)


def _side(side: Any) -> str:
    return side if isinstance(side, str) else latex(side)


def _text(s: str) -> str:
    """Prose with inline $math$ for LaTeX text mode: the prose between the $…$ pieces is
    printed literally (`symres.tex.escape_text`), characters pdflatex cannot typeset
    become '?'; the $…$ pieces are symres's own mathematics."""
    parts = s.split("$")
    if len(parts) % 2 == 0:  # an unpaired $: the last one is text, not the start of math
        parts[-2:] = [parts[-2] + LITERAL_DOLLAR + parts[-1]]
    for i in range(0, len(parts), 2):  # the prose between the $…$ pieces
        parts[i] = escape_text(parts[i], unicode=_PROSE_UNICODE)
    for i in range(1, len(parts), 2):
        parts[i] = "".join(c if ord(c) < 128 or c in _UNICODE else "?" for c in parts[i])
    return "$".join(parts)


def _relation(rel: str) -> str:
    return {"=": "=", "<=": r"\le", ">=": r"\ge", "<": "<", ">": ">"}.get(rel, rel)


def _mark(step: Any) -> str:
    return f"[{step.check.mark}]" if step.check is not None else "[unchecked]"


def proof_lines(proof: Any) -> list[str]:
    """The align* body of a proof: one line per step, `lhs &= rhs && \\text{reason [check]}`."""
    lines = []
    for step in proof.steps:
        lhs = _side(step.lhs) if step.lhs is not None else ""
        reason = step.short or step.reason
        lines.append(rf"{lhs} &{_relation(step.relation)} {_side(step.rhs)} && \text{{{_text(reason)} {_mark(step)}}}")
    return lines


def proof_latex(proof: Any, *, standalone: bool = False, jupyter: bool = False) -> str:
    """The proof as LaTeX: an align* fragment with the reasons in \\text{} and each line
    marked with how it was checked; standalone=True wraps it in a complete amsmath
    document with the title, assumptions, the reasons in full and the facts."""
    body = "\\begin{align*}\n" + " \\\\\n".join(proof_lines(proof)) + "\n\\end{align*}"
    if jupyter:
        return "\\begin{aligned}" + " \\\\ ".join(proof_lines(proof)) + "\\end{aligned}"
    if not standalone:
        return body
    return _PREAMBLE + proof_section(proof, body) + "\\end{document}\n"


def proof_section(proof: Any, body: str | None = None, *, level: str = "section*") -> str:
    """A section of a document: title, assumptions, the align*, the rules used, the facts
    read off the result, and the final check."""
    body = body or "\\begin{align*}\n" + " \\\\\n".join(proof_lines(proof)) + "\n\\end{align*}"
    out = [rf"\{level}{{{_text(proof.title)}}}", r"\paragraph{Assumptions.}", r"\begin{itemize}"]
    out += [rf"\item {_text(a)}" for a in proof.assumptions]
    out += [r"\end{itemize}", r"\paragraph{Derivation.}", body, r"\paragraph{Reasons.}", r"\begin{enumerate}"]
    out += [rf"\item {_text(s.reason)} {_mark(s)}" for s in proof.steps]
    out += [r"\end{enumerate}"]
    if proof.facts:
        out += [r"\paragraph{Read off the result.}", r"\begin{itemize}"]
        out += [rf"\item {_text(f.reason)} {_mark(f)}" for f in proof.facts]
        out += [r"\end{itemize}"]
    out += [rf"\paragraph{{Conclusion.}} ${proof.conclusion}$."]
    if proof.final is not None:
        out += [rf"\paragraph{{Checked.}} {_text(proof.final.summary())}."]
    return "\n".join(out) + "\n"


def proof_markdown(proof: Any) -> str:
    """The proof as Markdown with $$ blocks (GitHub and MathJax render `aligned`)."""
    out = [f"### {proof.title}", "", "**Assumptions.**", ""]
    out += [f"- {a}" for a in proof.assumptions]
    out += ["", "$$", "\\begin{aligned}", " \\\\\n".join(proof_lines(proof)), "\\end{aligned}", "$$", ""]
    out += [f"{i}. {s.reason} {_mark(s)}" for i, s in enumerate(proof.steps, 1)]
    if proof.facts:
        out += [""] + [f"- {f.reason} {_mark(f)}" for f in proof.facts]
    out += ["", f"**Conclusion.** $${proof.conclusion}$$"]
    if proof.final is not None:
        out += ["", f"**Checked** {proof.final.summary()}."]
    return "\n".join(out) + "\n"


def proof_dict(proof: Any) -> dict[str, Any]:
    """The proof as JSON-ready data: LaTeX strings, reasons and checks."""

    def step(s: Any) -> dict[str, Any]:
        return {
            "latex": (f"{_side(s.lhs)} " if s.lhs is not None else "") + f"{_relation(s.relation)} {_side(s.rhs)}",
            "reason": s.reason,
            "check": s.check.as_dict() if s.check is not None else None,
        }

    return {
        "title": proof.title,
        "assumptions": list(proof.assumptions),
        "steps": [step(s) for s in proof.steps],
        "facts": [step(f) for f in proof.facts],
        "conclusion": proof.conclusion,
        "passed": proof.passed,
        "check": proof.final.as_dict() if proof.final is not None else None,
    }


# --------------------------------------------------------------------------- the booklet


def _evidence_latex(item: Any) -> str:
    from symres.proof import Proof

    if isinstance(item, Proof):
        return proof_section(item, level="subsubsection*")
    if hasattr(item, "latex"):
        return str(item.latex())
    summary = getattr(item, "summary", item)
    return _text(str(summary() if callable(summary) else summary)) + r"\par" + "\n"


def booklet_latex(outcomes: Any) -> str:
    """One document: a section per derivation module, a subsection per statement with
    the seed's words, the toolkit's verdict, and every proof with its checks."""
    out = [
        _PREAMBLE.replace("\\begin{document}", "\\setcounter{secnumdepth}{2}\n\\begin{document}"),
        r"\title{symres: the seeds' statements, derived and checked}\date{}\maketitle",
        r"Every line below was checked by the numeric backend or shown symbolically, and says which.",
        r"\tableofcontents",
    ]
    module = None
    for o in outcomes:
        st = o.statement
        if st.module != module:
            module = st.module
            out.append(rf"\section{{{escape_text(Path(module).stem, unicode=_PROSE_UNICODE)}}}")
        out.append(rf"\subsection{{{_text(st.where)} ({_text(st.seed)})}}")
        out.append(rf"\textit{{The seed says:}} {_text(st.text)}\par")
        out.append(rf"\textbf{{Verdict: {_text(o.label)}.}}\par")
        for item in o.evidence:
            out.append(_evidence_latex(item))
        if st.corrected:
            out.append(rf"\textit{{Corrected:}} {_text(st.corrected)}\par")
            for item in o.corrected_evidence:
                out.append(_evidence_latex(item))
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"
