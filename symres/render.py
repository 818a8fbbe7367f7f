"""Terminal rendering: symres expressions as Unicode text, proofs as rich renderables.

The text printer mirrors `symres.latex` (σ, σ', diag, ⊙, ∂u/∂x, I) for the terminal;
it decides nothing about the mathematics.
"""

from __future__ import annotations

import re
from typing import Any

from sympy import Basic, MatrixSymbol, Mul, OneMatrix, Pow, Rational, Symbol
from sympy.matrices.expressions import MatAdd
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from symres.activations import ACTIVATIONS, FUNCTIONS, GENERIC

__all__ = ["text", "unicode_math", "proof_renderable", "SymresTextPrinter"]

_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "lambda": "λ", "epsilon": "ε", "sigma": "σ", "mu": "μ"}
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def _name(name: str) -> str:
    base, _, sub = name.partition("_")
    if base.endswith("hat") and len(base) > 3:  # uhat: û
        base = _GREEK.get(base[:-3], base[:-3]) + "\u0302"
    base = _GREEK.get(base, base)
    if not sub:
        return base
    return base + (sub.translate(_SUB) if sub.isdigit() else f"_{sub}")


#: 1×1 nodes that stand as scalars in a product (a power of one prints as (xᵀ x)⁻¹)
_SCALAR_NODES = frozenset({"Scalar", "Det", "Tr", "LogDet"})
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _has_scalar_node(e: Any) -> bool:
    """A product of scalars (Mul) with a 1×1 node or a power of one among its factors."""
    return isinstance(e, Mul) and any(type(f.base if isinstance(f, Pow) else f).__name__ in _SCALAR_NODES for f in e.args)


class SymresTextPrinter(StrPrinter):  # type: ignore[misc]
    """Unicode text: `x + W₂ σ(W₁ σ(x))`, `diag(σ'(W₁ x))`, `∂/∂x[…]`."""

    printmethod = "_symres_str"  # not _sympystr: the symres nodes print through this class
    _default_settings = {**StrPrinter._default_settings, "order": "none", "names": None}

    def _print(self, expr: Any, **kwargs: Any) -> str:
        names = self._settings.get("names")
        if names and isinstance(expr, Basic) and expr in names:
            return str(names[expr])
        return str(super()._print(expr, **kwargs))

    def _print_MatrixSymbol(self, expr: MatrixSymbol) -> str:
        return _name(str(expr.name))

    def _print_Symbol(self, expr: Basic) -> str:
        return _name(str(expr.name))

    def _print_MatMul(self, expr: Basic) -> str:
        args, sign = list(expr.args), ""
        if args[0].is_Number and args[0] < 0:  # −A, −c A: the sign in front, as in LaTeX
            sign, args = "-", ([-args[0]] if args[0] != -1 else []) + args[1:]
        elif isinstance(args[0], Mul) and args[0].args[0].is_Number and args[0].args[0] < 0:  # −2 s⁻² A
            sign, args = "-", [-args[0], *args[1:]]
        return sign + " ".join(
            self._print(a) if i == 0 and _has_scalar_node(a) else self.parenthesize(a, PRECEDENCE["Mul"], strict=False)
            for i, a in enumerate(args)
        )

    def _print_Mul(self, expr: Any) -> str:
        """A product of scalars with a 1×1 node (xᵀx, det, tr, log det) among its factors:
        `-2 (xᵀ x)⁻²`, `2 det(I + x xᵀ)`; other products as SymPy prints them."""
        if not _has_scalar_node(expr):
            return str(super()._print_Mul(expr))
        coeff, factors = expr.as_coeff_mul()
        parts = [] if abs(coeff) == 1 else [self._print(abs(coeff))]
        parts += [self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors]
        return ("-" if coeff < 0 else "") + " ".join(parts)

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
        if type(expr.base).__name__ in _SCALAR_NODES:
            base = self._print(expr.base)
            wrapped = type(expr.base).__name__ == "Scalar" and isinstance(expr.base.expr, MatAdd)  # printed as (a + b)
            base = base if wrapped else f"({base})"
            if expr.exp.is_Integer:  # (xᵀ x)⁻², as the LaTeX reads
                return base + str(expr.exp).translate(_SUPERSCRIPTS)
            return f"{base}^{self._print(expr.exp)}"
        if expr.exp == Rational(-1, 2) and isinstance(expr.base, Symbol):  # 1/√d_k, as the LaTeX reads
            return f"1/√{self._print(expr.base)}"
        return super()._print_Pow(expr, rational)

    def _print_Defined(self, expr: Any) -> str:
        return f"{_name(expr.name)}({self._print(expr.arg)})"

    def _print_DefinedJacobian(self, expr: Any) -> str:
        return f"J_{_name(expr.name)}({self._print(expr.arg)})"

    def _print_Inv(self, expr: Any) -> str:
        if isinstance(expr.arg, MatrixSymbol):
            return f"{self._print(expr.arg)}⁻¹"
        return f"({self._print(expr.arg)})⁻¹"

    def _print_Tr(self, expr: Any) -> str:
        return f"tr({self._print(expr.arg)})"

    def _print_Det(self, expr: Any) -> str:
        return f"det({self._print(expr.arg)})"

    def _print_LogDet(self, expr: Any) -> str:
        return f"log det({self._print(expr.arg)})"

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
        if isinstance(expr.expr, MatrixSymbol) or expr.expr in (self._settings.get("names") or {}):
            return f"∂{self._print(expr.expr)}/∂{wrt}"
        return f"∂/∂{wrt}[{self._print(expr.expr)}]"


def text(expr: Basic | str, names: dict[Basic, str] | None = None) -> str:
    """expr as one line of Unicode text in symres notation (LaTeX strings transliterated);
    `names` prints those sub-expressions by their name."""
    if isinstance(expr, str):
        return unicode_math(expr)
    return SymresTextPrinter({"names": names} if names else {}).doprint(expr)


def _pieces(expr: Basic, names: dict[Basic, str] | None, width: int) -> list[str]:
    """expr split at its top-level operators (each piece starts with its operator)."""
    from sympy.matrices.expressions import HadamardProduct, MatMul

    named = bool(names) and expr in (names or {})
    printer = SymresTextPrinter({"names": names} if names else {})
    if isinstance(expr, MatAdd) and not named:
        out: list[str] = []
        for term in expr.args:
            parts = _pieces(term, names, width) if len(text(term, names)) > width else [text(term, names)]
            first = parts[0]
            if out:
                first = f"- {first[1:].lstrip()}" if first.startswith("-") else f"+ {first}"
            out += [first, *parts[1:]]
        return out
    if isinstance(expr, MatMul) and not named and not expr.args[0].is_Number:
        out = []
        for a in expr.args:
            shown = printer.parenthesize(a, PRECEDENCE["Mul"], strict=False)
            if isinstance(a, MatAdd) and len(shown) > width and shown.startswith("("):
                inner = _pieces(a, names, width)  # a long factor (A + B) opens over lines
                out += ["(" + inner[0], *inner[1:-1], inner[-1] + ")"] if len(inner) > 1 else [shown]
            else:
                out.append(shown)
        return out
    if isinstance(expr, HadamardProduct) and not named:
        parts = [printer.parenthesize(a, PRECEDENCE["Mul"], strict=True) for a in expr.args]
        return [parts[0]] + [f"⊙ {p}" for p in parts[1:]]
    return [text(expr, names)]


def formula_lines(head: str, expr: Basic | str, width: int, names: dict[Basic, str] | None = None) -> list[str]:
    """`head` followed by expr, broken at top-level operators (+, −, products, ⊙) into
    lines of at most `width` characters where the expression allows; continuation lines
    are indented under the expression."""
    whole = head + text(expr, names)
    if isinstance(expr, str) or len(whole) <= width:
        return [whole]
    indent = " " * min(len(head) + 2, width // 3)
    lines = [head.rstrip()] if len(head) > width // 3 else [head]
    for piece in _pieces(expr, names, max(width - len(indent), 20)):
        if lines[-1] not in ("", head) and len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        elif lines[-1] == head:
            lines[-1] += piece
        else:
            lines.append(indent + piece)
    return [line for line in lines if line.strip()]


def text_names(proof: Any) -> dict[Basic, str]:
    """The names the typeset proof gives its recurring sub-expressions (u₁, u₂, …), for
    the terminal."""
    from symres.latex import subexpression_names

    out = {}
    for expr, name in subexpression_names(proof).items():
        letter, _, sub = name.partition("_")
        out[expr] = letter + sub.strip("{}").translate(_SUB)
    return out


_MACROS: list[tuple[str, Any]] = [
    (r"\\\{", "\x00"),  # set braces, kept apart from TeX's grouping braces until the end
    (r"\\\}", "\x01"),
    (r"\\#", "#"),
    (r"\\l?dots\b", "…"),
    (r"\\binom\{([^{}]*)\}\{([^{}]*)\}", r"C(\1,\2)"),
    (r"\\frac\{\\partial ([^{}]*)\}\{\\partial ([^{}]*)\}", r"∂\1/∂\2"),
    (r"\\frac\{1\}\{\\sqrt\{([^{}]*(?:\{[^{}]*\})?)\}\}", r"1/√\1"),  # 1/√d_k (token blocks)
    (r"\\otimes(?![A-Za-z])", "⊗"),
    (r"\\bigoplus(?![A-Za-z])", "⊕"),
    (r"\\ldots(?![A-Za-z])", "…"),
    (r"\\lfloor\b\s*", "⌊"),
    (r"\s*\\rfloor\b", "⌋"),
    (r"\\ ", " "),
    (r"_\{(\w+),(\w+)\}", r"_\1,\2"),  # W_{2,1}: a stack's weight
    (r"\\nabla(?![A-Za-z])", "∇"),
    (r"\\t?frac\{?(\w)\}?\{?(\w)\}?", r"\1/\2"),
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)"),
    (r"\\(?:mathopen|mathclose)\{\}", ""),
    (r"\\[,;!]|\\q?quad\b", " "),
    (r"\\text\{([^{}]*)\}", r"\1"),
    (r"\\cdot\b", "·"),
    (r"\\approx\b", "≈"),
    (r"\\infty\b", "∞"),
    (r"\\mathcal\{L\}", "ℒ"),
    (r"\\subseteq\b", "⊆"),
    (r"\\emptyset\b", "∅"),
    (r"\\Rightarrow\b", "⇒"),
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
    (r"\^\{?T\}?(?![\w])", "ᵀ"),
    (r"(?<=[\w)\]])_\{?(\d+)\}?(?!\w)", lambda m: m[1].translate(_SUB)),
    (r"\^\{([-+\d]+)\}|\^([-+]?\d)(?!\d)", lambda m: (m[1] or m[2]).translate(_SUP)),
    (r"\^\{([^{}]*)\}", r"^(\1)"),
    (r"_\{([^{}]*[^\w{}\s][^{}]*)\}", r"_(\1)"),  # a subscript with an operator: Σ_(k=0)
    (r"\\([A-Za-z]+)", r"\1"),  # \tanh, \exp, \log: the name itself
    (r"\{([^{}]*)\}", r"\1"),
    (r"\$", ""),
    ("\x00", "{"),
    ("\x01", "}"),
]


def unicode_math(s: str) -> str:
    """Prose with inline LaTeX ($…$) made readable in a terminal (a light transliteration),
    in the notation of the text printer: W₂, ‖·‖, ≤, 2·10⁻¹¹."""
    s = s.replace("||", "‖").replace("<=", "≤").replace(">=", "≥").replace("!=", "≠")
    s = re.sub(r"(?<![\w.])(-?\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])", _sci, s)
    s = re.sub(r"-0\.0+(?!\d)", lambda m: m[0][1:], s)  # no -0.00
    for pat, rep in _MACROS:
        s = re.sub(pat, rep, s)
    return s


def _sci(m: re.Match[str]) -> str:
    mant, exp = m[1], str(int(m[2]))
    power = "10" + exp.translate(_SUP)
    if float(mant) == 0:
        return "0"
    if exp == "0":
        return mant
    return power if mant in ("1", "1.0") else f"{mant}·{power}"


def proof_renderable(proof: Any) -> Any:
    """A rich renderable of a proof that fits the console's width: the title, the
    assumptions, the names of recurring sub-expressions, then each step numbered, its
    formula broken at operators, with its reason and how it was checked on a line beneath;
    the facts, the result and the final check."""
    return _ProofView(proof)


class _ProofView:
    def __init__(self, proof: Any) -> None:
        self.proof = proof

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.padding import Padding
        from rich.text import Text

        proof, width = self.proof, max(options.max_width, 40)
        names = text_names(proof)
        yield Text(unicode_math(proof.title), style="bold")
        for a in proof.assumptions:
            yield Padding(Text("• " + unicode_math(a), style="dim"), (0, 0, 0, 2), expand=False)
        for expr, name in names.items():
            others = {e: n for e, n in names.items() if e is not expr}
            for line in formula_lines(f"  {name} := ", expr, width, others):
                yield Text(line)
        for i, step in enumerate(proof.steps, 1):
            rel = {"<=": "≤", ">=": "≥"}.get(step.relation, step.relation)
            lhs = text(step.lhs, names) + " " if step.lhs is not None else ""
            head = f"{i:>2}  {lhs}{rel} "
            for line in formula_lines(head, step.rhs, width, names):
                yield Text(line)
            reason = Text(unicode_math(step.short or step.reason), style="italic")
            yield Padding(Text.assemble(reason, " ", _mark(step.check)), (0, 0, 0, 6), expand=False)
        for fact in proof.facts:
            yield Padding(Text.assemble(_mark(fact.check), " ", unicode_math(fact.reason)), (0, 0, 0, 2), expand=False)
        if proof.result is not None:
            label = proof.meta.get("result_label", "∂y/∂x")
            for line in formula_lines(f"{label} = ", proof.result, width):
                yield Text(line, style="bold")
        if proof.final is not None:
            style = "green" if proof.final.passed else "bold red"
            yield Text("checked " + unicode_math(proof.final.summary()), style=style)


def _mark(check: Any) -> Any:
    from rich.text import Text

    if check is None:
        return Text("unchecked", style="yellow")
    return Text(("✓ " if check.passed else "✗ ") + unicode_math(check.mark), style="green" if check.passed else "bold red")
