"""Terminal rendering: symres expressions as Unicode text, proofs as rich renderables.

The text printer mirrors `symres.latex` (σ, σ', diag, ⊙, ∂u/∂x, I) for the terminal;
it decides nothing about the mathematics.
"""

from __future__ import annotations

import re
from typing import Any

from sympy import Basic, MatrixSymbol, OneMatrix
from sympy.matrices.expressions import MatAdd
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from symres.activations import ACTIVATIONS, FUNCTIONS, GENERIC

__all__ = ["text", "unicode_math", "proof_renderable", "SymresTextPrinter"]

_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "lambda": "λ", "epsilon": "ε", "sigma": "σ", "mu": "μ"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _name(name: str) -> str:
    base, _, sub = name.partition("_")
    if base.endswith("hat") and len(base) > 3:  # uhat: û
        base = _GREEK.get(base[:-3], base[:-3]) + "\u0302"
    base = _GREEK.get(base, base)
    if not sub:
        return base
    return base + (sub.translate(_SUB) if sub.isdigit() else f"_{sub}")


class SymresTextPrinter(StrPrinter):  # type: ignore[misc]
    """Unicode text: `x + W₂ σ(W₁ σ(x))`, `diag(σ'(W₁ x))`, `∂/∂x[…]`."""

    _default_settings = {**StrPrinter._default_settings, "order": "none"}

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return _name(str(expr.name))

    def _print_Symbol(self, expr: Basic) -> str:
        return _name(str(expr.name))

    def _print_MatMul(self, expr: Basic) -> str:
        args, sign = list(expr.args), ""
        if args[0].is_Number and args[0] < 0:  # −A, −c A: the sign in front, as in LaTeX
            sign, args = "-", ([-args[0]] if args[0] != -1 else []) + args[1:]
        return sign + " ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in args)

    def _print_MatAdd(self, expr: Basic) -> str:
        return " + ".join(self._print(a) for a in expr.args).replace("+ -", "- ")

    def _print_HadamardProduct(self, expr: Basic) -> str:
        return " ⊙ ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args)

    def _print_Identity(self, expr: Basic) -> str:
        return "I"

    def _print_ZeroMatrix(self, expr: Basic) -> str:
        return "0"

    def _print_Transpose(self, expr: Basic) -> str:
        if isinstance(expr.arg, (MatrixSymbol, OneMatrix)) or type(expr.arg).__name__ == "Abbrev":
            return self._print(expr.arg) + "ᵀ"
        return f"({self._print(expr.arg)})ᵀ"

    def _print_OneMatrix(self, expr: Basic) -> str:
        return "𝟙"

    def _print_Scalar(self, expr: Any) -> str:
        inner = self._print(expr.expr)
        return f"({inner})" if isinstance(expr.expr, MatAdd) else inner

    def _print_Abbrev(self, expr: Any) -> str:
        return _name(expr.name)

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        if type(expr.base).__name__ == "Scalar":
            return f"({self._print(expr.base)})^{self._print(expr.exp)}"
        return super()._print_Pow(expr, rational)

    def _print_Defined(self, expr: Any) -> str:
        return f"{_name(expr.name)}({self._print(expr.arg)})"

    def _print_DefinedJacobian(self, expr: Any) -> str:
        return f"J_{_name(expr.name)}({self._print(expr.arg)})"

    def _print_VStack(self, expr: Basic) -> str:
        return "[" + "; ".join(self._print(p) for p in expr.args) + "]"

    def _print_Elementwise(self, expr: Any) -> str:
        entry = FUNCTIONS.get(expr.fn) or ACTIVATIONS.get(expr.fn)
        if entry is not None and entry.notation and expr.order <= 1:
            return entry.notation[2 + expr.order].format(arg=self._print(expr.arg))
        name = "σ" if expr.fn == GENERIC else expr.fn
        return f"{name}{chr(39) * expr.order}({self._print(expr.arg)})"

    def _print_Diag(self, expr: Any) -> str:
        return f"diag({self._print(expr.vec)})"

    def _print_Deriv(self, expr: Any) -> str:
        wrt = self._print(expr.wrt)
        if isinstance(expr.expr, MatrixSymbol):
            return f"∂{self._print(expr.expr)}/∂{wrt}"
        return f"∂/∂{wrt}[{self._print(expr.expr)}]"


def text(expr: Basic | str) -> str:
    """expr as one line of Unicode text in symres notation."""
    return expr if isinstance(expr, str) else SymresTextPrinter().doprint(expr)


_MACROS = [
    (r"\\frac\{\\partial ([^{}]*)\}\{\\partial ([^{}]*)\}", r"∂\1/∂\2"),
    (r"\\operatorname\{([^{}]*)\}", r"\1"),
    (r"\\mathrm\{([^{}]*)\}", r"\1"),
    (r"\\(left|right|bigl|bigr|,|;|quad)", ""),
    (r"\\mathbf\{1\}", "𝟙"),
    (r"\\tfrac\{1\}\{2\}", "½"),
    (r"\\times", "×"),
    (r"\\varepsilon", "ε"),
    (r"\\hat\{(\w)\}", "\\1\u0302"),
    (r"\\sqrt\{([^{}]*)\}", r"√\1"),
    (r"\\neq", "≠"),
    (r"\\perp", "⊥"),
    (r"\\\{", "{"),
    (r"\\\}", "}"),
    (r"\\\|", "‖"),
    (r"\^\{-1\}", "⁻¹"),
    (r"\^\{-3\}", "⁻³"),
    (r"\^\{T\}", "ᵀ"),
    (r"\\mu", "μ"),
    (r"\\partial", "∂"),
    (r"\\sigma", "σ"),
    (r"\\alpha", "α"),
    (r"\\odot", "⊙"),
    (r"\\le\b", "≤"),
    (r"\\ge\b", "≥"),
    (r"\\mapsto", "↦"),
    (r"\\prod", "∏"),
    (r"\\sum", "Σ"),
    (r"\\gamma", "γ"),
    (r"\\beta", "β"),
    (r"\\lambda", "λ"),
    (r"\\varepsilon|\\epsilon", "ε"),
    (r"\\top", "ᵀ"),
    (r"\\ell", "ℓ"),
    (r"\\cdots", "⋯"),
    (r"\\to", "→"),
    (r"\\in", "∈"),
    (r"\\mathbb\{R\}", "ℝ"),
    (r"\{([^{}]*)\}", r"\1"),
    (r"\$", ""),
]


def unicode_math(s: str) -> str:
    """Prose with inline LaTeX ($…$) made readable in a terminal (a light transliteration)."""
    for pat, rep in _MACROS:
        s = re.sub(pat, rep, s)
    return s


def proof_renderable(proof: Any) -> Any:
    """A rich renderable of a proof: title, assumptions, numbered steps each with a mark
    saying how it was verified, the facts, and the final check."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [Text(unicode_math(proof.title), style="bold")]
    for a in proof.assumptions:
        parts.append(Text("  • " + unicode_math(a), style="dim"))
    table = Table(show_header=True, box=None, pad_edge=False, expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("step", overflow="fold")
    table.add_column("reason", overflow="fold", style="italic")
    table.add_column("checked", overflow="fold")
    for i, step in enumerate(proof.steps, 1):
        lhs = f"{text(step.lhs)} " if step.lhs is not None else "  "
        rel = {"<=": "≤", ">=": "≥"}.get(step.relation, step.relation)
        # Text, not a str: "∂/∂x[diag(γ) c]" is not rich markup
        reason = Text(unicode_math(step.short or step.reason))
        table.add_row(str(i), Text(f"{lhs}{rel} {text(step.rhs)}"), reason, _mark(step.check))
    parts.append(table)
    for fact in proof.facts:
        parts.append(Text.assemble("  ", _mark(fact.check), " ", unicode_math(fact.reason)))
    if proof.result is not None:
        label = proof.meta.get("result_label", "∂y/∂x")
        parts.append(Text.assemble((f"{label} = ", "bold"), (text(proof.result), "bold")))
    if proof.final is not None:
        style = "green" if proof.final.passed else "bold red"
        parts.append(Text("checked " + proof.final.summary(), style=style))
    return Group(*parts)


def _mark(check: Any) -> Any:
    from rich.text import Text

    if check is None:
        return Text("unchecked", style="yellow")
    return Text(("✓ " if check.passed else "✗ ") + check.mark, style="green" if check.passed else "bold red")
