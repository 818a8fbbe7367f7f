"""What every subcommand shares: the console, JSON output, argument types, the parser
whose usage errors are one line (exit 2)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from symres.errors import SymresError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        where = self.prog.removeprefix("symres").strip()
        raise SymresError(f"{where}: {message}" if where else message)


def new_console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def print_json_streamed(obj: dict[str, Any], key: str, items: Any) -> None:
    """The text `print_json(obj)` prints with obj[key] = list(items), written item by
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
