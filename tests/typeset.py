"""pdflatex for the typesetting tests: compile a document in its own directory and read
back its log (overfull boxes) and its text (pdftotext). Also run by `make test` on the
booklet: `python tests/typeset.py derivations/build/symres-derivations.tex`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from symres.latex import overfull_boxes

#: what the text of a typeset page must never show
LEAKS = ("subseteq", "emptyset", "[[", "FAILED", "˜", "ˆ", "(True)", "\\left", "\\frac", '"')


def typeset(tex: str, where: Path, runs: int = 1) -> tuple[str, str]:
    """(log, text) of `tex` compiled by pdflatex in the directory `where`."""
    assert shutil.which("pdflatex"), "pdflatex missing: `make test` installs texlive-latex-base and -recommended"
    assert shutil.which("pdftotext"), "pdftotext missing: `make test` installs poppler-utils"
    (where / "doc.tex").write_text(tex, encoding="utf-8")
    for _ in range(runs):
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
            cwd=where,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert run.returncode == 0, next((l for l in run.stdout.splitlines() if l.startswith("!")), run.stdout[-500:])
    log = (where / "doc.log").read_text(encoding="utf-8", errors="replace")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "doc.pdf", "-"], cwd=where, capture_output=True, text=True).stdout
    return log, text


def problems(log: str, text: str) -> list[str]:
    """Overfull boxes wider than 1 pt and text leaks, one line each."""
    out = [line for width, line in overfull_boxes(log) if width > 1.0]
    out += [f"the typeset text shows {leak!r}" for leak in LEAKS if leak in text]
    return out


def main(path: str) -> int:
    tex = Path(path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="symres-typeset-") as tmp:
        for name in re.findall(r"\\includegraphics(?:\[[^]]*\])?\{([^}]+)\}", tex):  # the figures beside the .tex
            shutil.copyfile(Path(path).parent / name, Path(tmp) / name)
        log, text = typeset(tex, Path(tmp))
    found = problems(log, text)
    for line in found:
        print(f"{path}: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
