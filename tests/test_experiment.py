"""Verdicts by experiment (symres.outcome, symres.experiment), their place in the derivation
library (symres.verify), and figures in the booklet (symres.latex, symres.tex)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typeset import problems, typeset

from symres.errors import SymresError
from symres.experiment import Experiment, SeedResult
from symres.latex import booklet_latex
from symres.outcome import Outcome
from symres.tex import compile_pdf
from symres.verify import Statement, run_statement, statement


def _experiment(*held: bool, figure: bool = False) -> Experiment:
    return Experiment(
        "Tried",
        "it happens",
        tuple(SeedResult(i, h, f"run {i}") for i, h in enumerate(held)),
        "recorded by a test",
        figure=_tiny_pdf if figure else None,
        caption="a figure",
        command="symres train-paths --seeds 5 --epochs 5 --width 32 --batch 32 --lr 0.001 --window 5 --output "
        "derivations/data/seed003_experiment.json",
    )


def _tiny_pdf() -> bytes:
    from symres.training import TrainingRun, plot_runs

    return plot_runs([TrainingRun(0, 2, 2, 0.1, 4, 1, [1.0] * 8, [1.0] * 8, [0.5] * 4 + [2.0] * 4)], "pdf")


@pytest.mark.parametrize(
    "held, seeds, verdict, status",
    [(3, 3, "observed", 0), (0, 3, "contradicted", 1), (1, 3, "undecided", 3), (1, 1, "observed", 0)],
)
def test_of_seeds(held: int, seeds: int, verdict: str, status: int) -> None:
    o = Outcome.of_seeds(held, seeds)
    assert o == verdict and o.exit_status == status and o.experimental == (verdict != "undecided")


@pytest.mark.parametrize("held, seeds", [(4, 3), (-1, 3), (0, 0)])
def test_of_seeds_refuses_a_non_tally(held: int, seeds: int) -> None:
    with pytest.raises(ValueError, match="not a tally"):
        Outcome.of_seeds(held, seeds)


def test_experiment_tally_and_summary() -> None:
    e = _experiment(False, True, False)
    assert e.verdict == "undecided" and e.tally == "1 of 3 seeds" and e.counterexamples == (0, 2)
    assert _experiment(False, False).summary().startswith("Tried: failed in 2 of 2 seeds (experiment, not a proof)")
    assert _experiment(True, True).verdict == "observed"
    with pytest.raises(SymresError, match="no runs"):
        _experiment()


def _statement(expect: str, written: Experiment, fixed: Experiment | None, corrected: str = "") -> Statement:
    mark = statement(seed="003_0d182175b4a812a1.txt", where="test", text="claim", expect=expect, corrected=corrected)
    fn = mark(lambda: (written, fixed) if fixed is not None else written)
    return fn.__symres_statement__  # type: ignore[attr-defined, no-any-return]


def test_a_contradicted_statement_needs_an_observed_correction() -> None:
    ok = run_statement(_statement("contradicted", _experiment(False, False, False), _experiment(True, True, True), "fix"))
    assert ok.passed and ok.verdict == "contradicted" and ok.corrected_verdict == "observed"
    assert ok.label == "contradicted in 3 of 3 seeds → corrected (observed in 3 of 3 seeds)"
    split = run_statement(_statement("contradicted", _experiment(False, False, False), _experiment(True, False, True), "fix"))
    assert not split.passed and split.corrected_verdict == "undecided"
    held = run_statement(_statement("contradicted", _experiment(True, False), _experiment(True, True), "fix"))
    assert not held.passed and held.verdict == "undecided"


def test_an_observed_statement() -> None:
    o = run_statement(_statement("observed", _experiment(True, True), None))
    assert o.passed and o.label == "observed in 2 of 2 seeds"
    assert not run_statement(_statement("observed", _experiment(False, False), None)).passed


def test_contradicted_needs_its_correction_declared() -> None:
    with pytest.raises(SymresError, match="needs its corrected form"):
        statement(seed="s", where="w", text="t", expect="contradicted")
    with pytest.raises(SymresError, match="needs its corrected form"):
        statement(seed="s", where="w", text="t", expect="observed", corrected="c")


@pytest.mark.parametrize("name", ["../x.pdf", "doc.pdf", ".hidden.pdf", "a/b.pdf", "x.tex", "x.pdf\n"])
def test_compile_pdf_refuses_a_bad_file_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(SymresError, match="named like figure1.pdf"):
        compile_pdf("\\documentclass{article}\\begin{document}x\\end{document}", tmp_path / "o.pdf", files={name: b""})
    assert not (tmp_path / "o.pdf").exists()


def test_the_booklet_includes_the_experiments_figure(tmp_path: Path) -> None:
    st = _statement("contradicted", _experiment(False, False, figure=True), _experiment(True, True), "fix")
    outcome = run_statement(st)
    figures: dict[str, bytes] = {}
    tex = booklet_latex([outcome], figures)
    assert list(figures) == ["figure1.pdf"] and figures["figure1.pdf"][:5] == b"%PDF-"
    assert "\\includegraphics[width=\\linewidth]{figure1.pdf}" in tex and "\\usepackage{graphicx}" in tex
    assert "contradicted in 2 of 2 seeds" in tex
    pdf = compile_pdf(tex, tmp_path / "b.pdf", runs=2, timeout=120, files=figures)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    (tmp_path / "figure1.pdf").write_bytes(figures["figure1.pdf"])
    log, text = typeset(tex, tmp_path)
    assert problems(log, text) == []  # the command line fits the page, nothing leaks
    assert "--epochs 5" in text and "contradicted" in text
    without = booklet_latex([outcome])  # nowhere to put a figure: none is included
    assert "includegraphics" not in without
