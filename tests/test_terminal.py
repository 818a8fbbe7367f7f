"""The terminal output fits 80 columns, speaks one Unicode notation and leaks no markup."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from symres import __version__
from symres.cli import main
from symres.render import text, unicode_math


def run80(capsys, monkeypatch, *argv):
    monkeypatch.setenv("COLUMNS", "80")
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def widest(out: str) -> int:
    return max(cell_len(line) for line in out.splitlines())


@pytest.mark.parametrize("name", ["preact", "prenorm", "projection-bn", "highway"])
def test_derive_fits_80_columns(capsys, monkeypatch, name):
    code, out, _ = run80(capsys, monkeypatch, "derive", name, "--trials", "5")
    assert code == 0 and widest(out) <= 80
    assert "W_2" not in out and "W_1" not in out and "\\frac" not in out and "-0.00" not in out
    assert not re.search(r"\de-\d", out)  # numbers as 2·10⁻¹¹


def test_list_fits_80_columns_and_shows_densenets_forward(capsys, monkeypatch):
    code, out, _ = run80(capsys, monkeypatch, "list")
    assert code == 0 and widest(out) <= 80
    assert "y     = [x; W₂ σ(W₁ x)]" in out  # "[x; …]" is not rich markup
    assert "∂y/∂x = [I; W₂ diag(σ'(W₁ x)) W₁]" in out


def test_a_point_with_brackets_prints_as_written(capsys, monkeypatch):
    code, out, _ = run80(
        capsys, monkeypatch, "derive", "residual", "--trials", "5", "--let", "x=1,2,3", "--let", "W1=0", "--let", "W2=0"
    )
    assert code == 0 and "y = [1. 2. 3.]" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"symres {__version__}"


def test_one_unicode_notation():
    assert unicode_math(r"$\mu = \frac13 \mathbf{1}^T u$") == "μ = 1/3 𝟙ᵀ u"
    assert unicode_math("W_2 ||g_k|| <= 2e-11, -0.00") == "W₂ ‖g_k‖ ≤ 2·10⁻¹¹, 0.00"
    assert text(r"(v + \varepsilon)^{-1/2}") == "(v + ε)^(-1/2)"
    # the path counts' LaTeX sides (symres.paths.count_proof): set braces stay, \binom reads C(L,k)
    assert text(r"\#\{S \subseteq \{1,\dots,L\} : |S| = k\}") == "#{S ⊆ {1,…,L} : |S| = k}"
    assert text(r"\sum_{k=0}^{L} \binom{L}{k}") == "Σ_(k=0)^(L) C(L,k)"
    assert text(r"\prod_{\ell=1}^{L+1}\left(I + J_{\ell}\right)") == "∏_(ℓ=1)^(L+1)(I + J_ℓ)"


def test_plot_without_matplotlib_is_one_line(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    code = main(["paths", "--depth", "4", "--width", "2", "--plot", "never.png"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install 'symres[plot]'" in err


def test_a_typo_in_a_user_block_is_one_line(capsys):
    from symres.blocks import Block, derive

    typo = Block.define("typo", lambda v: v.x + v.matrx("W_2") @ v.sigma(v.matrix("W_1") @ v.x))
    with pytest.raises(Exception) as exc:
        derive(typo, check=False)
    assert str(exc.value) == "block 'typo': the vocabulary has no word v.matrx (did you mean v.matrix?)"


def test_a_user_block_with_tanh_says_tanh():
    from symres.blocks import Block, derive

    mine = Block.define("mine", lambda v: v.x + v.matrix("W_2") @ v.act("tanh", v.matrix("W_1") @ v.x))
    proof = derive(mine, trials=5)
    chain = [s for s in proof.steps if "chain rule" in s.reason]
    assert chain and all("\\tanh" in s.reason and "\\sigma" not in s.reason for s in chain)
    assert proof.as_dict()["activation"] is None  # the block applies no σ
    assert "ReLU-only" not in derive("preact", activation="tanh", check=False).title


def test_expand_words_in_product_order_and_one_term(capsys):
    assert main(["expand", "2", "--grouped"]) == 0
    out = capsys.readouterr().out
    assert "k = 0: 1 = C(2,0) term\n" in out and "k = 1: 2 = C(2,1) terms" in out
    assert "paths: IJ₁, J₂I" in out and "paths: J₂J₁" in out  # as the terms read: later block left


def test_expand_past_a_few_thousand_terms_prints_the_summary_or_writes_a_file(capsys, tmp_path):
    assert main(["expand", "13"]) == 0
    out = capsys.readouterr().out
    assert "8192 terms: too many to show" in out and "k = 13: 1 = C(13,13) term" in out and len(out) < 5000
    assert main(["expand", "3", "--output", str(tmp_path / "t.txt")]) == 0
    lines = (tmp_path / "t.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 8 and lines[-1] == "J₃ J₂ J₁\tJ₃J₂J₁"
