"""The `symres` command: a thin layer over the library.

Every subcommand lives in its own module (derive, expand, paths, verify, check) with a
`register(sub)` that adds its parser; it parses its arguments, calls the library, and
renders the result (rich for the terminal, plain text for --latex/--markdown, one JSON
object for --json). No mathematics lives here. Bad input raises `SymresError`; `main`
prints its one-line message on stderr and returns 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from symres.cli import check, derive, expand, paths, sweep, train, verify
from symres.cli._common import Parser
from symres.errors import SymresError

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="symres",
        description="Derive the mathematics of residual connections and check every line.",
    )
    from symres import __version__

    parser.add_argument("--version", action="version", version=f"symres {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in (expand, paths, sweep, train, derive, verify, check):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a check failed or a claim
    was refuted, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
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
