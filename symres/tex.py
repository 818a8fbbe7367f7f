"""LaTeX for strings symres did not write, and pdflatex run as an untrusted program.

`escape_text(s)` is the one escaping function for every string that is not symres's own
mathematics (block names, titles, descriptions, symbol names of user blocks, file names,
the prose around a derivation's formulas): every character LaTeX would read as a command,
a group, math, a comment or a parameter is printed literally. `prose_literal(s)` makes a
user string safe to embed in symres's prose-with-$math$ format.

`compile_pdf` runs pdflatex with `-no-shell-escape`, `-interaction=nonstopmode
-halt-on-error`, kpathsea's paranoid file access (`openin_any=p`, `openout_any=p`: no
absolute paths, no parent directories, no dot files), a wall-clock timeout that kills the
whole process group, and a temporary directory removed on every exit path; the PDF is
written with `symres.safeio`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Container, Mapping
from pathlib import Path

from symres.errors import SymresError
from symres.safeio import check_target, write_bytes

__all__ = ["escape_text", "prose_literal", "compile_pdf", "TEXLIVE_HINT", "LITERAL_DOLLAR"]

#: how a literal dollar sign of a user string travels through symres's prose format
#: (where $…$ is mathematics): the fullwidth dollar sign, printed as \$ in LaTeX
LITERAL_DOLLAR = "\uff04"

_ESCAPES = {
    "\\": r"\textbackslash\allowbreak{}",  # long names and paths may break after \ and /
    "/": r"/\allowbreak{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    LITERAL_DOLLAR: r"\$",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "§": r"\S{}",
    "⚠": "(!)",
}


def escape_text(s: str, *, unicode: Container[str] = frozenset(), overrides: Mapping[str, str] | None = None) -> str:
    r"""`s` as LaTeX text-mode source that prints `s` literally.

    The ten special characters and their friends (``\ { } $ % & # _ ^ ~ < > |``) become
    their text commands (a line may break after ``\`` and ``/``); control characters and line breaks become spaces (a blank line
    would end a paragraph inside a heading); a non-ASCII character is kept when it is in
    `unicode` (the ones the document's preamble declares), else printed as '?'.
    `overrides` replaces the LaTeX of some characters (symres's own prose prints ~ as ∼).

    >>> escape_text(r"$\input{x}$ 100%")
    '\\$\\textbackslash\\allowbreak{}input\\{x\\}\\$ 100\\%'
    """
    escapes = {**_ESCAPES, **overrides} if overrides else _ESCAPES
    out = []
    for c in s:
        if c in escapes:
            out.append(escapes[c])
        elif c.isspace() or ord(c) < 32 or ord(c) == 127:
            out.append(" ")
        elif ord(c) < 128 or c in unicode:
            out.append(c)
        else:
            out.append("?")
    return "".join(out)


def prose_literal(s: str) -> str:
    """A user string for symres's prose format (text with inline $…$ mathematics): its
    dollar signs become `LITERAL_DOLLAR`, so no part of it is ever read as mathematics;
    the rest is escaped where the prose is printed (`escape_text`)."""
    return s.replace("$", LITERAL_DOLLAR)


TEXLIVE_HINT = (
    "pdflatex not found: install the Debian packages texlive-latex-base and "
    "texlive-latex-recommended (apt-get install texlive-latex-base texlive-latex-recommended)"
)

#: kpathsea's paranoid mode: read and write only below the working directory (and the
#: TeX installation, for reading), never dot files; no shell escape at all
_TEX_ENV = {"openin_any": "p", "openout_any": "p", "shell_escape": "f"}


#: the names a file given to `compile_pdf` may have (a figure beside the document)
_FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(pdf|png)")


def compile_pdf(
    tex: str,
    out: str | os.PathLike[str],
    *,
    runs: int = 1,
    timeout: float = 20.0,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Compile a complete LaTeX document with pdflatex and write the PDF to `out`.

    Each pdflatex run gets `timeout` seconds of wall-clock time; `runs` = 2 for a
    document with a table of contents. `files` (name → bytes) are placed beside the
    document, for ``\\includegraphics{name}``: a name is a plain file name ending .pdf
    or .png (no directory, no dot file, not the document's own doc.pdf). Raises
    SymresError (one line) if a name is not such a name, pdflatex is missing, the
    document does not compile (the first LaTeX error line), a run times out (its
    process group is killed), no PDF comes out, or `out` cannot be written (see
    `symres.safeio`). Returns the path written.
    """
    for name in files or {}:
        if not _FIGURE_NAME.fullmatch(name) or name == "doc.pdf":
            raise SymresError(f"a file beside the document is named like figure1.pdf (letters, digits, - and _), not {name!r}")
    exe = shutil.which("pdflatex")
    if exe is None:
        raise SymresError(TEXLIVE_HINT)
    check_target(out)  # refuse a bad target before the work
    tmp = tempfile.mkdtemp(prefix="symres-tex-")
    try:
        (Path(tmp) / "doc.tex").write_text(tex, encoding="utf-8")
        for name, data in (files or {}).items():
            (Path(tmp) / name).write_bytes(data)
        for _ in range(runs):
            _run_pdflatex(exe, tmp, timeout)
        pdf = Path(tmp) / "doc.pdf"
        if not pdf.is_file() or pdf.stat().st_size == 0:
            raise SymresError("pdflatex finished without writing a PDF")
        return write_bytes(out, pdf.read_bytes())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_pdflatex(exe: str, cwd: str, timeout: float) -> None:
    cmd = [exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"]
    env = {**os.environ, **_TEX_ENV}
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as a whole
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise SymresError(f"pdflatex did not finish within {timeout:g} s and was stopped") from None
    except BaseException:  # Ctrl-C or anything else: no pdflatex left running
        _kill(proc)
        raise
    if proc.returncode != 0:
        text = output.decode("utf-8", "replace")
        err = next((line for line in text.splitlines() if line.startswith("!")), "unknown error")
        raise SymresError(f"pdflatex failed: {err}")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.communicate()
