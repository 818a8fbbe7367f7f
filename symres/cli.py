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

    proofs = {name: derive(blk, check=False) for name, blk in BLOCKS.items()}
    if args.json:
        _print_json(
            [
                {
                    "name": name,
                    "title": BLOCKS[name].title,
                    "source": BLOCKS[name].source,
                    "forward": latex(p.meta["forward"]),
                    "jacobian": latex(p.result),
                }
                for name, p in proofs.items()
            ]
        )
        return 0
    from rich.table import Table

    from symres.render import text

    table = Table(title="symres blocks (Jacobians derived, not typed in; `symres derive NAME` checks one)")
    for col in ("name", "y", "∂y/∂x", "source"):
        table.add_column(col, overflow="fold")
    for name, p in proofs.items():
        table.add_row(name, text(p.meta["forward"]), text(p.result), BLOCKS[name].source)
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
    if (args.name is None) == (args.block is None):
        raise SymresError("derive: give a block name (see `symres list`) or --block MODULE:NAME, exactly one of the two")
    if args.block is not None:
        from symres.blocks import load_block

        block: Any = load_block(args.block)
    else:
        block = args.name
    proof = derive(block, dim=args.dim, out_dim=args.out_dim, activation=args.activation, trials=args.trials, seed=args.seed)
    point = _derive_point(proof, lets) if lets else None
    status = 0 if proof.passed else 1
    if args.pdf:
        from symres.latex import compile_pdf

        compile_pdf(proof.latex(standalone=True), args.pdf)
    if args.json:
        from symres.latex import latex

        obj = {
            "block": proof.meta["block"],
            "activation": proof.meta["activation"],
            "forward": latex(proof.meta["forward"]),
            "jacobian": latex(proof.result),
            **proof.as_dict(),
        }
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
        _console().print(f"wrote {args.pdf} ({'all steps checked' if proof.passed else 'SOME STEPS FAILED'})", soft_wrap=True)
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


# --------------------------------------------------------------------------- expand / paths
# Stacks of residual blocks (symres.paths): the subset expansion of ∏(I + J_ℓ), the
# binomial path counts, and the exact gradient spectrum over path lengths.


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _print_json_streamed(obj: dict[str, Any], key: str, items: Any) -> None:
    """The text `_print_json(obj)` prints with obj[key] = list(items), written item by
    item (2^20 terms would otherwise be held twice in memory)."""
    marker = "@@symres-streamed@@"
    head, tail = json.dumps({**obj, key: marker}, indent=2).split(json.dumps(marker))
    write = sys.stdout.write
    write(head + "[")
    empty = True
    for item in items:
        write(("\n    " if empty else ",\n    ") + json.dumps(item, indent=2).replace("\n", "\n    "))
        empty = False
    write(("]" if empty else "\n  ]") + tail + "\n")


def _cmd_expand(args: argparse.Namespace) -> int:
    from symres import paths

    L: int = args.L
    if args.counts:
        counts, total, ok = paths.checked_counts(L)
        how = paths.COUNTS_CHECK
        if args.json:
            _print_json({"L": L, "counts": counts, "total": total, "check": {"method": "exact", "what": how, "passed": ok}})
        elif args.latex:
            row = " + ".join(str(c) for c in counts)
            sys.stdout.write(f"\\sum_{{k=0}}^{{{L}}} \\binom{{{L}}}{{k}} = {row} = {total} = 2^{{{L}}}\n% checked: {how}\n")
        else:
            from rich.table import Table

            console = _console()
            table = Table("k", f"paths of length k = C({L},k)", title=f"∏(I + J_ℓ), ℓ = 1..{L}: paths by length")
            for k, c in enumerate(counts):
                table.add_row(str(k), str(c))
            console.print(table)
            console.print(f"total 2^{L} = {total}")
            console.print(f"checked: {how}: {'passed' if ok else 'FAILED'}")
        return 0 if ok else 1

    if L > paths.MAX_EXPLICIT_DEPTH:
        raise SymresError(
            f"explicit expansion of depth {L} has 2^{L} terms (the limit is depth {paths.MAX_EXPLICIT_DEPTH}); "
            f"use `symres expand {L} --counts`"
        )
    expr = paths.expand_product(L)
    terms = paths.expansion_terms(expr, L)  # read back from the SymPy object that was checked
    check = paths.check_expansion(expr, L)
    counts = paths.path_counts(L)
    how = (
        f"numeric: the sum of these {check.terms} terms equals (I+J_{L})⋯(I+J_1) for {check.trials} random "
        f"{check.d}×{check.d} instances (‖J_ℓ‖₂ = {check.norm:g}, seed {check.seed}), max relative error "
        f"{check.max_error:.1e} (tolerance {check.tolerance:.0e}); {check.terms} terms = 2^{L}: "
        f"{'passed' if check.passed else 'FAILED'}"
    )
    if args.json:
        _print_json_streamed(
            {
                "L": L,
                "convention": "term J_S = J_{s_k}...J_{s_1}: factors in product order, later block left; "
                "word in block order 1..L",
                "terms": None,
                "counts": counts,
                "total": paths.total_paths(L),
                "check": check.as_dict(),
            },
            "terms",
            ({"length": t.length, "factors": list(t.factors), "word": t.word} for t in terms),
        )
        return 0 if check.passed else 1

    # one atom printed by the project's printers, the terms joined as MatMul/MatAdd print
    from symres.latex import latex
    from symres.render import text

    fmt: Callable[[Any], str] = latex if args.latex else text
    sym = paths.jacobian_symbols(L)
    atom = [fmt(paths.product_expression(0))] + [fmt(j) for j in sym]

    def term(t: Any) -> str:
        return " ".join(atom[s] for s in reversed(t.subset)) if t.subset else atom[0]

    lhs = fmt(paths.product_expression(L))
    by_len: dict[int, list[Any]] = {}
    for t in terms:
        by_len.setdefault(t.length, []).append(t)
    if args.latex:
        if args.grouped:
            parts = [" + ".join(term(t) for t in by_len[k]) for k in sorted(by_len)]
            rhs = " \\\\\n  &+ ".join(
                f"\\underbrace{{{p}}}_{{\\binom{{{L}}}{{{k}}} = {counts[k]}}}" for k, p in zip(sorted(by_len), parts)
            )
            sys.stdout.write(f"\\begin{{aligned}}\n{lhs}\n  &= {rhs}\n\\end{{aligned}}\n")
        else:
            sys.stdout.write(f"{lhs} = {' + '.join(term(t) for t in terms)}\n")
        sys.stdout.write(f"% checked: {how}\n")
        return 0 if check.passed else 1

    console = _console()
    console.print(f"{lhs}  (ℓ = 1..{L}, later block left)", markup=False, soft_wrap=True)
    if args.grouped:
        for k in sorted(by_len):
            console.print(f"k = {k}: {counts[k]} = C({L},{k}) terms", style="bold", markup=False)
            console.print("  " + " + ".join(term(t) for t in by_len[k]), markup=False, soft_wrap=True)
            console.print("  paths: " + ", ".join(t.word for t in by_len[k]), markup=False, soft_wrap=True)
    else:
        console.print("  = " + " + ".join(term(t) for t in terms), markup=False, soft_wrap=True)
        console.print(
            f"terms by length k = 0..{L}: " + ", ".join(map(str, counts)) + f"  (C({L},k), total 2^{L} = {len(terms)})",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"checked: {how}", markup=False, soft_wrap=True)
    return 0 if check.passed else 1


def _cmd_paths(args: argparse.Namespace) -> int:
    from symres import paths

    def run(progress: Any = None) -> Any:
        return paths.path_spectrum(
            args.depth, args.width, norm=args.norm, seed=args.seed, mc_samples=args.samples, progress=progress
        )

    long_run = args.depth**2 * args.width**2 >= 2e9  # ≈ the flops of the DP
    if long_run and not args.json and sys.stdout.isatty():
        from rich.progress import Progress

        with Progress(console=_console(), transient=True) as bar:
            task = bar.add_task(f"paths through {args.depth} blocks", total=args.depth)
            spec = run(lambda done, total: bar.update(task, completed=done))
    else:
        spec = run()
    if args.plot:
        paths.plot_spectrum(spec, args.plot)
    ok = bool(spec.check_passed)
    if args.json:
        out = spec.as_dict()
        out["plot"] = args.plot
        _print_json(out)
        return 0 if ok else 1

    from rich.table import Table

    console = _console()
    L, (a, b) = spec.depth, spec.band
    console.print(
        f"residual stack: L = {L} blocks, width d = {spec.width}, J_ℓ = {spec.norm:g}·G/‖G‖₂ (G Gaussian), "
        f"g a random unit row gradient, seed {spec.seed}",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        "g_k = g · Σ_{|S|=k} J_{s_k}⋯J_{s_1}: the part of ∂ℒ/∂h_0 carried by paths through k residual branches",
        markup=False,
        soft_wrap=True,
    )
    table = Table("k", "log10 C(L,k)", "log10 ‖g_k‖", "")
    labels = [(0, "identity path"), (a, "band start"), (spec.peak, "largest ‖g_k‖"), (b, "band end"), (L, "all branches")]
    for k in sorted({k for k in (0, 1, 2, a, spec.peak, b, L) if k <= L}):
        value = spec.log10_norms[k]
        table.add_row(
            str(k),
            f"{spec.log10_counts[k]:.2f}",
            f"{value:.2f}" if value > -float("inf") else "-inf (g_k = 0)",
            ", ".join(n for kk, n in labels if kk == k),
        )
    console.print(table)
    console.print(
        f"effective band: lengths {a}..{b} carry {spec.band_share:.1%} of Σ_k ‖g_k‖ "
        f"({paths.BAND_DEFINITION.format(threshold=spec.band_threshold)})",
        markup=False,
        soft_wrap=True,
    )
    console.print(f"‖g·(I+J_L)⋯(I+J_1)‖ = 10^{spec.log10_full_norm:.2f}", markup=False)
    console.print(
        f"checked (numeric): Σ_k g_k from the path DP equals g·(I+J_L)⋯(I+J_1) computed directly, relative error "
        f"{spec.check_error:.1e} (tolerance {spec.check_tolerance:.1e}; Σ_k ‖g_k‖ / ‖Σ_k g_k‖ = "
        f"{spec.check_cancellation:.3g}): {'passed' if ok else 'FAILED'}",
        markup=False,
        soft_wrap=True,
    )
    if spec.monte_carlo:
        errs = "; ".join(
            f"k = {m.length}: relative error {m.rel_error:.2g}"
            if m.log10_rel_error < 300
            else f"k = {m.length}: relative error 10^{m.log10_rel_error:.0f}"
            for m in spec.monte_carlo
        )
        console.print(
            f"Monte-Carlo comparison ({spec.monte_carlo[0].samples} uniform k-subsets per length, unbiased "
            f"ĝ_k = C(L,k)·mean g·J_S, against the exact g_k): {errs}. Sampling paths cannot resolve g_k "
            "once C(L,k) is far above the sample count.",
            markup=False,
            soft_wrap=True,
        )
    if args.plot:
        console.print(f"plot: {args.plot} (log10 path counts and log10 ‖g_k‖ against k)", markup=False)
    return 0 if ok else 1


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


# --------------------------------------------------------------------------- check
# `symres check "STATEMENT"`: prove, check numerically, or refute (symres.claims).


def _cmd_check(args: argparse.Namespace) -> int:
    from symres.claims import check, format_value

    verdict = check(args.statement, trials=args.trials, seed=args.seed, dim=args.dim)
    status = 0 if verdict.ok else 1
    if args.json:
        _print_json(verdict.to_json())
        return status
    from rich.markup import escape

    console = _console()

    def say(text: str) -> None:
        console.print(text, soft_wrap=True)

    def row(label: str, text: str) -> None:
        say(f"{label:<11} {text}")

    colour = {"proved": "green", "holds": "green", "refuted": "bold red"}[verdict.verdict]
    row("statement", escape(verdict.statement))
    row("verdict", f"[{colour}]{escape(verdict.summary)}[/]")
    row("method", escape(verdict.method))
    cx = verdict.counterexample
    if cx is not None:
        ints = ", ".join(f"{k} = {v}" for k, v in cx.integers.items())
        say(f"counterexample (dimension {cx.dim}{', ' + ints if ints else ''}; re-verified):")
        for name, value in cx.grouped():
            say(f"  {escape(name)} = {escape(format_value(value))}")
        for ln in cx.links:
            for side, value in ((ln.lhs, ln.lhs_value), (ln.rhs, ln.rhs_value)):
                if side != format_value(value):
                    say(f"  {escape(side)} = {escape(format_value(value))}")
            mark = "[bold red]✗ false[/]" if ln.violated else "[green]✓[/]"
            say(f"  so {escape(ln.lhs)} {ln.op} {escape(ln.rhs)}: {mark} (margin {ln.margin:.3g})")
    worst = "n/a" if verdict.worst_margin is None else f"{verdict.worst_margin:.3g}"
    row(
        "cross-check" if verdict.verdict == "proved" else "trials",
        f"{verdict.trials} trials at dimension {verdict.dim}, seed {verdict.seed}; worst margin {worst} "
        f"(tolerance {verdict.tolerance:g}, relative to max(1, |lhs|, |rhs|))",
    )
    if verdict.search_dims:
        row("search", f"{verdict.search_candidates} candidates at dimension {', '.join(map(str, verdict.search_dims))}")
    for note in verdict.notes:
        say(f"[yellow]note[/]{' ' * 8}{escape(note)}")
    return status


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
    p = sub.add_parser("expand", help="expand (I+J_L)⋯(I+J_1) over subsets, grouped by path length")
    p.add_argument("L", type=_non_negative, help="the number of blocks L (a non-negative integer)")
    p.add_argument("--counts", action="store_true", help="only the counts C(L,k) and 2^L (any L, exact)")
    p.add_argument("--grouped", action="store_true", help="one line per path length k, with the path words")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="the expansion as LaTeX")
    out.add_argument("--json", action="store_true", help="one JSON object: terms, counts, total, check")
    p.set_defaults(handler=_cmd_expand)

    p = sub.add_parser("paths", help="the exact gradient spectrum over path lengths of a random residual stack")
    p.add_argument("--depth", type=_non_negative, required=True, help="the number of blocks L")
    p.add_argument("--width", type=_positive, required=True, help="the width d (J_ℓ is d×d)")
    p.add_argument("--norm", type=float, default=0.5, help="the spectral norm of every J_ℓ (default 0.5)")
    p.add_argument("--seed", type=_non_negative, default=0, help="seed of numpy.random.default_rng (default 0)")
    p.add_argument("--samples", type=_positive, default=1000, help="Monte-Carlo paths per compared length (default 1000)")
    p.add_argument("--plot", metavar="FILE.png", help="write a figure of path counts and ‖g_k‖ against k")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_paths)

    p = sub.add_parser("list", help="the registered blocks with their forward maps and Jacobians")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(handler=_cmd_list)

    p = sub.add_parser("derive", help="derive a block's Jacobian step by step and check every step")
    p.add_argument("name", nargs="?", help="a block name (see `symres list`)")
    p.add_argument("--block", metavar="SPEC", help="a block of your own: module.path:NAME or path/to/file.py:NAME (a Block)")
    p.add_argument("--dim", type=_positive, default=3, help="input size d (default 3)")
    p.add_argument("--out-dim", type=_positive, default=None, help="output size m, for blocks that change it (projection)")
    p.add_argument("--activation", default="relu", help="the σ to check with: relu, tanh, sigmoid, gelu, identity")
    p.add_argument("--trials", type=_positive, default=200, help="random points per numeric check (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    p.add_argument(
        "--let", action="append", metavar="NAME=VALUE", help="evaluate at a point: I, 0, a number, -1,1 or 1,0;0,1 (repeatable)"
    )
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

    p = sub.add_parser("check", help="prove, check numerically, or refute a statement about residual gradients")
    p.add_argument("statement", help='e.g. "norm(I+J) >= 1 - norm(J)" or "eig(I+J) = 1 + eig(J)" (grammar: README)')
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--trials", type=_positive, default=200, help="seeded random trials (default 200)")
    p.add_argument("--seed", type=_non_negative, default=0, help="seed of numpy.random.default_rng (default 0)")
    p.add_argument(
        "--dim", type=_positive, default=None, help="matrix size d (default: trials at 3, counterexample search at 1, 2, 3, 4)"
    )
    p.set_defaults(handler=_cmd_check)
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
    except BrokenPipeError:  # `symres … | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
