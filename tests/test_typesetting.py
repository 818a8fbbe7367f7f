"""The typeset proofs fit the page and show no leaked markup (pdflatex log and pdftotext)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typeset import problems, typeset

from symres.blocks import BLOCKS, derive
from symres.latex import _PREAMBLE, _UNICODE, _text, booklet_latex


@pytest.mark.parametrize("name", list(BLOCKS))
def test_every_standalone_proof_fits_the_page(name, tmp_path):
    log, text = typeset(derive(name, trials=5).latex(standalone=True), tmp_path)
    assert problems(log, text) == []
    assert "Jacobian" in text


def test_the_evidence_proofs_fit_the_page(tmp_path):
    """The path-count derivations and a theorem of the library (prose steps, claims
    grammar) are Proofs: typeset standalone, they fit and leak nothing."""
    from symres.latex import proof_section
    from symres.paths import count_proof, induction_proof
    from symres.theorems import check_theorem

    proofs = [count_proof(max_depth=4), induction_proof(max_depth=2, trials=1), check_theorem("stack_bounds", trials=20)]
    tex = _PREAMBLE + "".join(proof_section(p) for p in proofs) + "\\end{document}\n"
    log, text = typeset(tex, tmp_path)
    assert problems(log, text) == []
    assert "13 cases" not in text and "exact; 5 cases" in text
    assert "smin(prod(l=1..L, I + J" in text and "Weyl" in text


#: what pdftotext reads back where the math glyph is another character than the input
_READ_AS = {
    "²": "2",
    "³": "3",
    "¹": "1",
    "ᴸ": "L",
    "ᵀ": "T",
    "ᵏ": "k",
    "ⁿ": "n",
    "⁻": "−",
    "‖": "∥",
    "ℒ": "L",
    "ℝ": "R",
    "𝟙": "1",
    "↦": "→",
    "∘": "◦",
    "≠": "̸=",
    "⋯": "· · ·",
    "⟹": "=⇒",
    "⟺": "⇐⇒",
    "Δ": "∆",
    "μ": "µ",
    "∏": "P",
    "½": "12",
    "¼": "41",
}
#: big operators and overlays pdftotext splits over lines: typeset, not compared
_SPLIT = set("∑√∉")


def test_every_character_of_the_notation_table_round_trips(tmp_path):
    """Each character the booklet may contain is typeset (not dropped, not a command name
    read as words) and pdftotext reads back the character (or the glyph its math symbol is)."""
    chars = sorted(_UNICODE)
    body = "".join(f"\\noindent {i}: {_text(c)} :end\\par\n" for i, c in enumerate(chars))
    log, text = typeset(_PREAMBLE + "\\pagestyle{empty}\n" + body + "\\end{document}\n", tmp_path)
    text = text.replace("\f", "")
    assert problems(log, text) == []
    read = {chars[int(i)]: got for i, got in re.findall(r"(?ms)^(\d+):((?:(?!^\d+:).)*?):end", text)}
    assert set(read) == set(chars), f"lost: {set(chars) - set(read)}"
    for c, got in read.items():
        assert not re.search(r"[a-z]{3,}|\?", got), (c, got)  # \\subseteq read as a line break and a word
        got = got.strip()
        if c in _SPLIT:
            continue
        want = unicodedata.normalize("NFKC", _READ_AS.get(c, c))
        assert unicodedata.normalize("NFKC", got).replace(" ", "") == want.replace(" ", ""), (c, got)


def test_prose_reads_as_text():
    """Python reprs and ASCII notation in derivation texts become typeset text."""
    assert _text("weights ~ N(0, 1)") == r"weights \ensuremath{\sim} N(0, 1)"
    assert _text("(9/10)^100 I") == r"(9/10)\textsuperscript{100} I"
    assert _text("W_s and J_LN") == r"W\textsubscript{s} and J\textsubscript{LN}"
    assert _text("err 2e-11") == r"err \ensuremath{2\cdot 10^{-11}}"
    want = r"\ensuremath{\left[\begin{smallmatrix}1 & 0.5 \\ 0.25 & 0\end{smallmatrix}\right]}"
    assert _text("[[1.0, 0.5], [0.25, -0.0]]") == want
    assert _text('"a" (True)') == "``a'' (yes)"
    assert "\\_" in _text("symres.paths.path_terms(3)")


def test_a_refutation_is_shown_refuted_with_its_counterexample(tmp_path):
    """An expected refutation reads "refuted", never FAILED; its counterexample is typeset."""
    from pathlib import Path

    from symres.verify import load_statements, run_statement

    root = Path(__file__).resolve().parents[1] / "derivations"
    statements = [st for st in load_statements([root / "seed001_objectives.py"])]
    outcomes = [run_statement(st) for st in statements]
    assert any(o.verdict == "refuted" and o.passed for o in outcomes)
    log, text = typeset(booklet_latex(outcomes), tmp_path)
    assert problems(log, text) == []
    assert "refuted → corrected" in text and "Counterexample" in text
    assert "17-05 — Residual Connections" in text and ".txt" not in text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab W_x^2 %&#~<>|'\"[]{}.,e-+10()‖σ")), max_size=40))
def test_prose_escaping_leaves_no_bare_special(s):
    """Whatever the prose, LaTeX's specials come out escaped (or inside $…$ that _text made)."""
    out = _text(s.replace("$", ""))
    bare = re.sub(r"\$[^$]*\$", "", out)  # drop the math _text produced
    for c in "%&#":
        assert re.search(rf"(?<!\\){re.escape(c)}", bare) is None, (s, out)
    assert out.count("$") % 2 == 0
    assert "~" not in re.sub(r"\\ensuremath\{\\sim\}", "", bare)
