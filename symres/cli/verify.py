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
        from symres.safeio import output_directory, write_text
        from symres.tex import compile_pdf

        out = output_directory(args.booklet)
        tex = booklet_latex(outcomes)
        write_text(out / "symres-derivations.tex", tex)
        compile_pdf(tex, out / "symres-derivations.pdf", runs=2, timeout=300)
    if args.table:
        sys.stdout.write(markdown_table(outcomes))
        return 1 if failed else 0
    from rich.table import Table

    from symres.render import unicode_math

    table = Table(title=f"{len(outcomes)} statements from the seeds", show_lines=False)
    for col in ("seed", "where", "statement", "verdict", ""):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        mark = "[green]✓[/]" if o.passed else f"[bold red]✗ expected {o.statement.expect}[/]"
        table.add_row(o.statement.seed[:3], o.statement.where, unicode_math(o.statement.text), o.label, mark)
    console = new_console()
    console.print(table)
    for o in failed:
        console.print(f"[bold red]FAILED[/] {o.statement.id}: found {o.verdict}; " + "; ".join(o.summary))
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
    p.set_defaults(handler=_cmd_verify)
