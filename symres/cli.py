"""The `symres` command: a thin layer over the library.

Every subcommand parses its arguments, calls the library, and renders the result
(rich for the terminal, plain text for --latex/--markdown, one JSON object for --json).
No mathematics lives here. Bad input raises `SymresError`; `main` prints its one-line
message on stderr and returns 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from symres.errors import SymresError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        where = self.prog.removeprefix("symres").strip()
        raise SymresError(f"{where}: {message}" if where else message)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


# --------------------------------------------------------------------------- list / derive


def _cmd_list(args: argparse.Namespace) -> int:
    from symres.blocks import BLOCKS, derive
    from symres.latex import latex

    rows = []
    for name, blk in BLOCKS.items():
        proof = derive(blk, check=False)
        rows.append({"name": name, "title": blk.title, "source": blk.source,
                     "forward": latex(proof.meta["forward"]), "jacobian": latex(proof.result), "_proof": proof})
    if args.json:
        _print_json([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
        return 0
    from rich.table import Table

    from symres.render import text

    table = Table(title="symres blocks (Jacobians derived, not typed in; `symres derive NAME` checks one)")
    for col in ("name", "y", "∂y/∂x", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        p = r["_proof"]
        table.add_row(r["name"], text(p.meta["forward"]), text(p.result), r["source"])
    _console().print(table)
    return 0


def _lets(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SymresError(f"bad --let {item!r}: write NAME=VALUE, e.g. --let x=-1,1 or --let W_1=I")
        out[name.strip()] = value
    return out


def _derive_point(proof: Any, lets: dict[str, str]) -> dict[str, Any]:
    """The Jacobian and output of a derived block at the point given by --let."""
    from symres.numeric import evaluate, parse_value

    inst = proof.meta["instance"]
    by_name = {str(p.symbol): p.symbol for p in inst.params}
    aliases = {name.replace("_", ""): name for name in by_name}  # W1 for W_1
    values = {}
    for given, text_value in lets.items():
        name = given if given in by_name else aliases.get(given.replace("_", ""))
        if name is None:
            raise SymresError(f"--let {given}: the block has no symbol {given!r}; its symbols: {', '.join(by_name)}")
        sym = by_name[name]
        shape = tuple(int(n) for n in sym.shape) if hasattr(sym, "shape") else (1, 1)
        values[name] = parse_value(text_value, shape, name)
    missing = [n for n in by_name if n not in values]
    if missing:
        raise SymresError(f"--let gives no value for {', '.join(missing)}; give every symbol of the block: {', '.join(by_name)}")
    out, kinks = evaluate({"value": proof.result, "output": proof.meta["forward"]}, values, activation=proof.meta["activation"])
    return {"value": out["value"].tolist(), "output": out["output"][:, 0].tolist(), "kinks": [k.as_dict() for k in kinks]}


def _cmd_derive(args: argparse.Namespace) -> int:
    from symres.blocks import derive

    lets = _lets(args.let or [])
    proof = derive(args.name, dim=args.dim, out_dim=args.out_dim, activation=args.activation, trials=args.trials, seed=args.seed)
    point = _derive_point(proof, lets) if lets else None
    status = 0 if proof.passed else 1
    if args.pdf:
        from symres.latex import compile_pdf

        compile_pdf(proof.latex(standalone=True), args.pdf)
    if args.json:
        from symres.latex import latex

        obj = {"block": proof.meta["block"], "activation": proof.meta["activation"],
               "forward": latex(proof.meta["forward"]), "jacobian": latex(proof.result), **proof.as_dict()}
        if point is not None:
            obj.update(point)
        _print_json(obj)
        return status
    if args.latex:
        sys.stdout.write(proof.latex(standalone=args.standalone) + "\n")
    elif args.markdown:
        sys.stdout.write(proof.markdown())
    elif not args.pdf:
        _console().print(proof)
    if args.pdf:
        _console().print(f"wrote {args.pdf} ({'all steps checked' if proof.passed else 'SOME STEPS FAILED'})")
    if point is not None:
        _print_point(point)
    return status


def _print_point(point: dict[str, Any]) -> None:
    import numpy as np

    from symres.render import unicode_math

    console = _console()
    console.print("at the given point:")
    console.print("  y = " + np.array2string(np.array(point["output"]), precision=6))
    matrix = np.array2string(np.array(point["value"]), precision=6)
    console.print("  ∂y/∂x =\n" + "\n".join("    " + line for line in matrix.splitlines()))
    for k in point["kinks"]:
        console.print(
            f"[yellow]warning:[/] {k['activation']}' evaluated exactly at its kink {k['argument']:g} "
            f"(entry {k['component']} of {unicode_math(k['where'])}); used the convention {k['convention']}",
            markup=True,
        )


# --------------------------------------------------------------------------- verify


def _cmd_verify(args: argparse.Namespace) -> int:
    from symres.verify import load_statements, markdown_table, run_statement

    statements = load_statements(args.paths or ["derivations"])
    if not statements:
        raise SymresError(f"no statements found in {' '.join(args.paths or ['derivations'])}")
    quiet = args.table or not sys.stdout.isatty()
    outcomes = []
    if quiet:
        outcomes = [run_statement(st) for st in statements]
    else:
        from rich.progress import Progress

        with Progress(console=_console(), transient=True) as progress:
            task = progress.add_task("verifying", total=len(statements))
            for st in statements:
                progress.update(task, description=f"{st.module} {st.name}")
                outcomes.append(run_statement(st))
                progress.advance(task)
    failed = [o for o in outcomes if not o.passed]
    if args.booklet:
        from pathlib import Path

        from symres.latex import booklet_latex, compile_pdf

        out = Path(args.booklet)
        out.mkdir(parents=True, exist_ok=True)
        tex = booklet_latex(outcomes)
        (out / "symres-derivations.tex").write_text(tex, encoding="utf-8")
        compile_pdf(tex, out / "symres-derivations.pdf", runs=2)
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
    console = _console()
    console.print(table)
    for o in failed:
        console.print(f"[bold red]FAILED[/] {o.statement.id}: found {o.verdict}; " + "; ".join(o.summary))
    total = sum(o.seconds for o in outcomes)
    console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed ({total:.1f} s of checks)")
    return 1 if failed else 0


# --------------------------------------------------------------------------- parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symres",
        description="Derive the mathematics of residual connections and check every line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    # each subcommand: p = sub.add_parser(...); p.set_defaults(handler=_cmd_<name>)
    p = sub.add_parser("list", help="the registered blocks with their forward maps and Jacobians")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("derive", help="derive a block's Jacobian step by step and check every step")
    p.add_argument("name", help="a block name (see `symres list`)")
    p.add_argument("--dim", type=_positive, default=3, help="input size d (default 3)")
    p.add_argument("--out-dim", type=_positive, default=None, help="output size m, for blocks that change it (projection)")
    p.add_argument("--activation", default="relu", help="the σ to check with: relu, tanh, sigmoid, gelu, identity")
    p.add_argument("--trials", type=_positive, default=200, help="random points per numeric check (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    p.add_argument("--let", action="append", metavar="NAME=VALUE", help="evaluate at a point: I, 0, a number, -1,1 or 1,0;0,1 (repeatable)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="the proof as an align* fragment")
    out.add_argument("--markdown", action="store_true", help="the proof as Markdown with $$ blocks")
    out.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--standalone", action="store_true", help="with --latex: a complete amsmath document")
    p.add_argument("--pdf", metavar="FILE", help="compile the proof with pdflatex into FILE")
    p.set_defaults(handler=_cmd_derive)

    p = sub.add_parser("verify", help="run the derivation library: every seed statement, decided and checked")
    p.add_argument("paths", nargs="*", help="derivation modules or directories (default: derivations)")
    p.add_argument("--table", action="store_true", help="print the Markdown table of derivations/README.md")
    p.add_argument("--booklet", metavar="DIR", help="write DIR/symres-derivations.tex and .pdf")
    p.set_defaults(handler=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a check failed or a claim
    was refuted, 2 bad input)."""
    try:
        args = _build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except SymresError as exc:
        sys.stderr.write(f"symres: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("symres: interrupted\n")
        return 130
