"""`symres verify`: run the derivation library (symres.verify)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from symres.cli._common import new_console, non_negative
from symres.errors import SymresError


def _cmd_verify(args: argparse.Namespace) -> int:
    from symres.verify import load_statements, markdown_table, run_statement

    statements = load_statements(args.paths or ["derivations"])
    if not statements:
        raise SymresError(f"no statements found in {' '.join(args.paths or ['derivations'])}")
    if args.booklet:  # a bad output directory or target is refused before the work
        from symres.safeio import check_target, output_directory

        for name in ("symres-derivations.tex", "symres-derivations.pdf"):
            check_target(output_directory(args.booklet) / name)
    quiet = args.table or not sys.stdout.isatty()
    outcomes = []
    if quiet:
        outcomes = [run_statement(st, timeout=args.timeout or None) for st in statements]
    else:
        from rich.progress import Progress

        with Progress(console=new_console(), transient=True) as progress:
            task = progress.add_task("verifying", total=len(statements))
            for st in statements:
                progress.update(task, description=f"{st.module} {st.name}")
                outcomes.append(run_statement(st, timeout=args.timeout or None))
                progress.advance(task)
    failed = [o for o in outcomes if not o.passed]
    if args.booklet:
        from symres.latex import booklet_latex
        from symres.safeio import output_directory, write_bytes, write_text
        from symres.tex import compile_pdf

        out = output_directory(args.booklet)
        figures: dict[str, bytes] = {}
        tex = booklet_latex(outcomes, figures)
        write_text(out / "symres-derivations.tex", tex)
        for name, data in figures.items():  # beside the .tex, which includes them
            write_bytes(out / name, data)
        compile_pdf(tex, out / "symres-derivations.pdf", runs=2, timeout=300, files=figures)
    if args.table:
        sys.stdout.write(markdown_table(outcomes))
        return 1 if failed else 0
    from rich.padding import Padding
    from rich.text import Text

    from symres.render import unicode_math
    from symres.seeds import seed_title

    console = new_console()
    seed = None
    for o in outcomes:  # one line per statement: mark, verdict, where, derivation
        st = o.statement
        if args.verbose and st.seed != seed:
            seed = st.seed
            console.print(Text(seed_title(seed), style="bold"))
        mark = Text("✓ ", style="green") if o.passed else Text(f"✗ expected {st.expect}: ", style="bold red")
        line = Text.assemble(mark, (o.label, "bold" if o.passed else "red"), "  ", st.where, "  ", (st.id, "dim"))
        console.print(line, no_wrap=True, overflow="ellipsis")
        if args.verbose:
            console.print(Padding(Text(unicode_math(st.text), style="italic"), (0, 0, 0, 4), expand=False))
            if st.corrected:
                console.print(Padding(Text("corrected: " + unicode_math(st.corrected)), (0, 0, 0, 4), expand=False))
            for said in o.summary:
                console.print(Padding(Text(unicode_math(said), style="dim"), (0, 0, 0, 4), expand=False))
    for o in failed:
        console.print(Text.assemble(("FAILED ", "bold red"), f"{o.statement.id}: found {o.verdict}; " + "; ".join(o.summary)))
    total = sum(o.seconds for o in outcomes)
    console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed ({total:.1f} s of checks)")
    return 1 if failed else 0


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("verify", help="run the derivation library: every seed statement, decided and checked")
    p.add_argument("paths", nargs="*", help="derivation modules or directories (default: derivations)")
    p.add_argument("--table", action="store_true", help="print the Markdown table of derivations/README.md")
    p.add_argument("--booklet", metavar="DIR", help="write DIR/symres-derivations.tex and .pdf")
    p.add_argument(
        "--timeout",
        type=non_negative,
        default=60,
        metavar="SECONDS",
        help="stop a statement's derivation after SECONDS and report it failed (default 60; 0: no limit)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="each statement's words, correction and evidence too")
    p.set_defaults(handler=_cmd_verify)
