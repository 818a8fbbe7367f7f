"""`symres check "STATEMENT"`: prove, check numerically, or refute (symres.claims)."""

from __future__ import annotations

import argparse
from typing import Any

from symres.cli._common import new_console, non_negative, positive, print_json


def _cmd_check(args: argparse.Namespace) -> int:
    from symres.claims import check, format_value

    verdict = check(args.statement, trials=args.trials, seed=args.seed, dim=args.dim, timeout=args.timeout)
    status = verdict.exit_status
    if args.json:
        print_json(verdict.to_json())
        return status
    from rich.markup import escape

    console = new_console()

    def say(text: str) -> None:
        console.print(text, soft_wrap=True)

    def row(label: str, text: str) -> None:
        say(f"{label:<11} {text}")

    colour = {"proved": "green", "holds": "green", "refuted": "bold red", "undecided": "yellow"}[str(verdict.verdict)]
    row("statement", escape(verdict.statement))
    row("verdict", f"[{colour}]{escape(verdict.summary)}[/]")
    row("method", escape(verdict.method))
    for i, name in enumerate(verdict.theorems):
        row("theorems" if i == 0 else "", escape(name))
    cx = verdict.counterexample
    if cx is not None:
        ints = ", ".join(f"{k} = {v}" for k, v in cx.integers.items())
        say(f"counterexample (dimension {cx.dim}{', ' + ints if ints else ''}; re-verified in certified arithmetic):")
        for name, value in cx.grouped():
            say(f"  {escape(name)} = {escape(format_value(value, exact=True))}")
        for ln in cx.links:
            for side, value in ((ln.lhs, ln.lhs_value), (ln.rhs, ln.rhs_value)):
                if side != format_value(value):
                    say(f"  {escape(side)} = {escape(format_value(value))}")
            mark = "[bold red]✗ false[/]" if ln.violated else "[green]✓[/]"
            say(f"  so {escape(ln.lhs)} {ln.op} {escape(ln.rhs)}: {mark} (margin {ln.margin:.3g})")
    if not verdict.trials:
        for note in verdict.notes:
            say(f"[yellow]note[/]{' ' * 8}{escape(note)}")
        return status
    worst = "n/a" if verdict.worst_margin is None else f"{verdict.worst_margin:.3g}"
    row(
        "cross-check" if verdict.verdict == "proved" else "trials",
        f"{verdict.trials} trials at dimension {verdict.dim}, seed {verdict.seed}; worst margin {worst} "
        f"(a screen: relative to max(|lhs|, |rhs|), tolerance {verdict.tolerance:g}; never what decides)",
    )
    say(
        "margin      how far a comparison holds, relative to max(1, |lhs|, |rhs|): (rhs − lhs)/scale for "
        "lhs ≤ rhs, (lhs − rhs)/scale for lhs ≥ rhs, −|lhs − rhs|/scale for =; positive or 0: holds, "
        "below −tolerance: violated"
    )
    if verdict.search_dims:
        row("search", f"{verdict.search_candidates} candidates at dimension {', '.join(map(str, verdict.search_dims))}")
    for note in verdict.notes:
        say(f"[yellow]note[/]{' ' * 8}{escape(note)}")
    return status


def positive_float(text: str) -> float:
    """A number of seconds > 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds in (0, 3600], got {text!r}")
    return value


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("check", help="prove, check numerically, or refute a statement about residual gradients")
    p.add_argument("statement", help='e.g. "norm(I+J) >= 1 - norm(J)" or "eig(I+J) = 1 + eig(J)" (grammar: README)')
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--trials", type=positive, default=200, help="seeded random trials (default 200)")
    p.add_argument("--seed", type=non_negative, default=0, help="seed of numpy.random.default_rng (default 0)")
    p.add_argument(
        "--dim", type=positive, default=None, help="matrix size d (default: trials at 3, counterexample search at 1, 2, 3, 4)"
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=20.0,
        help="time budget in seconds (default 20); when it runs out the verdict is undecided (exit 3)",
    )
    p.set_defaults(handler=_cmd_check)
