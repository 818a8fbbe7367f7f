"""The command line end to end, through main() and once through a real process."""

import json
import subprocess
import sys

import pytest

from symres.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_has_the_seven_blocks(capsys):
    code, out, _ = run(capsys, "list", "--json")
    names = [b["name"] for b in json.loads(out)]
    assert code == 0
    assert {"plain", "residual", "projection", "postact", "preact", "preact-bn", "rezero"} <= set(names)


def test_derive_preact_json(capsys):
    code, out, _ = run(capsys, "derive", "preact", "--json")
    data = json.loads(out)
    assert code == 0 and data["block"] == "preact"
    assert data["check"]["passed"] and data["check"]["trials"] >= 200 and data["check"]["seed"] == 0
    assert data["jacobian"].startswith("I + W_{2}")
    assert len(data["steps"]) >= 4 and all(s["check"]["passed"] for s in data["steps"])


@pytest.mark.parametrize("block, value, kinks", [("postact", [[0, 0], [0, 2]], 0), ("preact", [[1, 0], [0, 2]], 1)])
def test_seed_example_3_at_a_point(capsys, block, value, kinks):
    code, out, _ = run(capsys, "derive", block, "--dim", "2", "--let", "x=-1,1", "--let", "W1=I", "--let", "W2=I", "--json")
    data = json.loads(out)
    assert code == 0 and data["value"] == value and len(data["kinks"]) == kinks


def test_kink_warning_in_the_terminal(capsys):
    code, out, _ = run(capsys, "derive", "preact", "--dim", "2", "--let", "x=-1,1", "--let", "W_1=I", "--let", "W_2=I")
    assert code == 0 and "kink" in out and "ReLU'(0) := 0" in out


def test_latex_output_is_an_align(capsys):
    code, out, _ = run(capsys, "derive", "preact", "--latex")
    assert code == 0 and out.startswith("\\begin{align*}") and out.count("\\parbox") >= 5  # a reason beneath each line
    assert "DiagMatrix" not in out and "\\mapsto" not in out
    code, out, _ = run(capsys, "derive", "preact", "--latex", "--standalone")
    assert out.startswith("\\documentclass") and out.rstrip().endswith("\\end{document}")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["derive", "nosuch"], "unknown block 'nosuch'; known blocks:"),
        (["derive", "preact", "--let", "x=1,2"], "wrong size for x"),
        (["derive", "preact", "--let", "x"], "write NAME=VALUE"),
        (["derive", "preact", "--dim", "2", "--let", "x=1,2"], "no value for W_1, W_2"),
        (["derive", "preact", "--let", "Q=1"], "no symbol 'Q'"),
        (["derive", "preact", "--activation", "swish"], "unknown activation 'swish'"),
        (["derive", "preact", "--dim", "zero"], "expected a positive integer"),
        (["derive", "preact", "--trials", "0"], "expected a positive integer"),
        (["frobnicate"], "invalid choice"),
        (["derive", "preact", "--dim", "100000"], "lower --dim or --trials"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("symres: error: ") and message in err


def test_pdf_needs_pdflatex_or_says_which_packages(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no pdflatex on this PATH
    code, _, err = run(capsys, "derive", "residual", "--pdf", str(tmp_path / "r.pdf"))
    assert code == 2 and "texlive-latex-base" in err and "texlive-latex-recommended" in err


def test_python_dash_m_and_no_heavy_imports():
    code = (
        "import sys; from symres.cli import main; main(['derive', 'preact', '--json']);"
        "heavy = [m for m in ('torch', 'matplotlib', 'scipy') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "symres", "list", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) >= 7


def test_pdf_is_written(capsys, tmp_path):
    import shutil

    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex missing: `make test` installs texlive-latex-base and texlive-latex-recommended")
    target = tmp_path / "preact.pdf"
    code, out, _ = run(capsys, "derive", "preact", "--pdf", str(target), "--trials", "50")
    assert code == 0 and target.read_bytes()[:5] == b"%PDF-" and "all steps checked" in out
