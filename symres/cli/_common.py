"""What every subcommand shares: the console, JSON output, argument types, the parser
whose usage errors are one line (exit 2)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
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


def strict(obj: Any) -> Any:
    """obj with every non-finite float (NaN, ±inf, which JSON cannot hold) replaced by
    null; a dict at the top gets `"non_finite": {path: "nan" | "inf" | "-inf"}` saying
    which values were replaced and what they were."""
    found: dict[str, str] = {}

    def walk(x: Any, path: str) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            found[path] = repr(x)
            return None
        if isinstance(x, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(x)]
        return x

    out = walk(obj, "")
    if found:
        if not isinstance(out, dict):
            raise SymresError(f"the result holds non-finite numbers ({', '.join(found)}), which JSON cannot represent")
        out["non_finite"] = found
    return out


def dumps(obj: Any, **kwargs: Any) -> str:
    """Strict JSON (RFC 8259: no NaN or Infinity) of obj, see `strict`."""
    return json.dumps(strict(obj), allow_nan=False, **kwargs)


def print_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj, indent=2) + "\n")


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
    head, tail = dumps({**obj, key: marker}, indent=2).split(json.dumps(marker))
    write = sys.stdout.write
    write(head + "[")
    empty = True
    for item in items:
        write(("\n    " if empty else ",\n    ") + dumps(item, indent=2).replace("\n", "\n    "))
        empty = False
    write(("]" if empty else "\n  ]") + tail + "\n")


def parse_lets(items: Sequence[str], *, example: str = "x=-1,1 or --let W_1=I") -> dict[str, str]:
    """The --let NAME=VALUE options as {NAME: VALUE} (values parsed later, by the library)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SymresError(f"bad --let {item!r}: write NAME=VALUE, e.g. --let {example}")
        out[name.strip()] = value
    return out


def budget(text: str) -> Any:
    """argparse type of --budget (see symres.paths.Budget)."""
    from symres.paths import Budget

    try:
        return Budget.parse(text)
    except SymresError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_budget(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    """The one --budget SECONDS,SIZE option: work estimated beyond it is refused before it
    starts; `what` says which work ("refuse runs estimated beyond this")."""
    parser.add_argument(
        "--budget",
        type=budget,
        default=budget(default),
        metavar="SECONDS,SIZE",
        help=f"{what} (default {default})",
    )
