import shutil
import subprocess

import pytest
import sympy as sp

from symres.blocks import BLOCKS, derive
from symres.expr import Deriv, Diag, Elementwise, add, apply, hadamard, matmul
from symres.latex import compile_pdf, latex

x = sp.MatrixSymbol("x", 3, 1)
W1 = sp.MatrixSymbol("W_1", 3, 3)


@pytest.mark.parametrize(
    "expr, expected",
    [
        (apply("sigma", matmul(W1, x)), r"\sigma\left(W_{1} x\right)"),
        (Elementwise("sigma", x, 1), r"\sigma'\left(x\right)"),
        (Diag(Elementwise("sigma", x, 1)), r"\operatorname{diag}\left(\sigma'\left(x\right)\right)"),
        (apply("tanh", x), r"\tanh\left(x\right)"),
        (Deriv(x, x), r"\frac{\partial x}{\partial x}"),
        (Deriv(matmul(W1, x), x), r"\frac{\partial}{\partial x}\left[W_{1} x\right]"),
        (add(sp.Identity(3), W1), "I + W_{1}"),
        (add(W1, sp.Identity(3)), "W_{1} + I"),
        (hadamard(x, apply("sigma", x)), r"x \odot \sigma\left(x\right)"),
        (matmul(Diag(x), add(sp.Identity(3), W1)), r"\operatorname{diag}\left(x\right) \left(I + W_{1}\right)"),
        (matmul(sp.Symbol("alpha"), W1.T, x), r"\alpha W_{1}^{T} x"),
    ],
)
def test_notation(expr, expected):
    assert latex(expr) == expected


RESIDUAL_SNAPSHOT = r"""\begin{align*}
y &= x + W_{2} \sigma\left(W_{1} x\right) \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (1) definition of the block [given]} \\
\frac{\partial y}{\partial x} &= \frac{\partial}{\partial x}\left[x + W_{2} \sigma\left(W_{1} x\right)\right] \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (2) substitute the definition of $y$ [unchecked]} \\
 &= \frac{\partial x}{\partial x} + \frac{\partial}{\partial x}\left[W_{2} \sigma\left(W_{1} x\right)\right] \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (3) sum rule: the derivative of a sum is the sum of the derivatives [unchecked]} \\
 &= I + \frac{\partial}{\partial x}\left[W_{2} \sigma\left(W_{1} x\right)\right] \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (4) the derivative of the input with respect to itself is the identity, $\partial x/\partial x = I$ [unchecked]} \\
 &= I + W_{2} \frac{\partial}{\partial x}\left[\sigma\left(W_{1} x\right)\right] \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (5) linear map: $\partial (A u)/\partial x = A\, \partial u/\partial x$ for a constant $A$ [unchecked]} \\
 &= I + W_{2} \operatorname{diag}\left(\sigma'\left(W_{1} x\right)\right) \frac{\partial}{\partial x}\left[W_{1} x\right] \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (6) chain rule through the elementwise $\sigma$: $\partial \sigma(u)/\partial x = \operatorname{diag}(\sigma'(u))\, \partial u/\partial x$ [unchecked]} \\
 &= I + W_{2} \operatorname{diag}\left(\sigma'\left(W_{1} x\right)\right) W_{1} \frac{\partial x}{\partial x} \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (7) linear map: $\partial (A u)/\partial x = A\, \partial u/\partial x$ for a constant $A$ [unchecked]} \\
 &= I + W_{2} \operatorname{diag}\left(\sigma'\left(W_{1} x\right)\right) W_{1} \\
 &\qquad\parbox[t]{0.6\linewidth}{\footnotesize\raggedright (8) the derivative of the input with respect to itself is the identity, $\partial x/\partial x = I$ [unchecked]}
\end{align*}"""


def test_residual_proof_snapshot():
    """Hand-checked: y = x + W_2 σ(W_1 x) gives I + W_2 diag(σ'(W_1 x)) W_1, one rule a line."""
    assert derive("residual", check=False).latex() == RESIDUAL_SNAPSHOT


@pytest.mark.parametrize("name", list(BLOCKS))
def test_no_sympy_internals_in_any_output(name):
    proof = derive(name, trials=20)
    for out in (proof.latex(), proof.latex(standalone=True), proof.markdown(), str(proof.as_dict())):
        for bad in ("DiagMatrix", r"\mapsto", "Lambda", "Elementwise", "Deriv(", r"\mathbb{I}"):
            assert bad not in out


def test_markdown_and_jupyter_forms():
    proof = derive("preact", trials=20)
    md = proof.markdown()
    assert md.startswith("### Jacobian of the preact block") and md.count("$$") >= 4
    assert proof._repr_latex_().startswith("$\\displaystyle \\begin{aligned}")


@pytest.mark.parametrize("name", ["preact"])  # every block: tests/test_typesetting.py
def test_every_standalone_proof_compiles(name, tmp_path):
    assert shutil.which("pdflatex"), "pdflatex missing: `make test` installs texlive-latex-base and texlive-latex-recommended"
    proof = derive(name, trials=20)
    out = compile_pdf(proof.latex(standalone=True), tmp_path / f"{name}.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        words = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "Jacobian" in words
    assert not list(tmp_path.glob(".*.part"))  # written atomically, nothing left behind


def test_every_character_of_the_derivation_library_typesets():
    """The booklet replaces characters pdflatex cannot typeset by '?': none may occur."""
    from pathlib import Path

    from symres.latex import _text
    from symres.verify import load_statements

    root = Path(__file__).resolve().parents[1] / "derivations"
    for st in load_statements([root]):
        for text in (st.text, st.corrected, st.where):
            assert _text(text).count("?") == text.count("?"), (st.id, text)


def test_a_statement_proof_is_typeset_compactly() -> None:
    """`symres.verify.tested` gives a one-step Proof; the booklet shows it as the statement,
    its note, the verdict and the counterexample."""
    from symres.latex import _evidence_latex, statement_latex
    from symres.proof import Check, Proof, Step
    from symres.verify import evidence_verdict, tested

    t = tested("a bound", r"c \le 1", Check("numeric", False, "200 trials", 200, 0.5, 1e-6, 7, instance={"c": 2.0}), "a note")
    assert isinstance(t, Proof)
    tex = statement_latex(t, failed="refuted by the counterexample")
    assert tex.startswith("\\paragraph{a bound}\n\\[ c \\le 1 \\]\na note\\par\n\\textit{refuted}: numerically (200 trials)")
    assert "Counterexample:" in tex and _evidence_latex(t) == statement_latex(t)
    verdict, line = evidence_verdict(t)
    assert verdict == "refuted" and line.endswith("; counterexample c = 2.0")
    prose = Proof("theorem", ("a",), (Step.claim("norm(J_l) <= c", "why", Check("symbolic", True)),), "c")
    assert r"\parbox[t]{0.8\linewidth}{\raggedright norm(J\textsubscript{l}) \ensuremath{\le} c}" in prose.latex()


def test_a_failed_step_says_so_in_the_margin() -> None:
    """The margin of a failed step carries the word the printer was given (LaTeX and Markdown)."""
    import sympy as sp

    from symres.latex import proof_section
    from symres.proof import Check, Proof, Step

    x = sp.Symbol("x")
    bad = Check("numeric", False, "trials", 200, 0.5, 1e-6, 0, instance={"x": 1.0})
    good = Check("symbolic", True, "simplify")
    proof = Proof("p", ("a",), (Step(rhs=x, lhs=x, reason="ok", check=good), Step(rhs=2 * x, reason="bad", check=bad)), "c")
    tex = proof_section(proof, failed="refuted by the counterexample")
    assert "(1) ok [symbolic]}" in tex
    assert "(2) bad [numeric, 200 pts, err \\ensuremath{0.5}: refuted by the counterexample]}" in tex
    assert "2. bad [numeric, 200 pts, err 5e-01: FAILED]" in proof.markdown()
