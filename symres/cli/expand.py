"""`symres expand`: the subset expansion of (I+J_L)⋯(I+J_1) and the binomial counts (symres.paths)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from symres.cli._common import new_console, non_negative, print_json, print_json_streamed
from symres.errors import SymresError

#: past this many terms the terminal shows the summary by length (the terms go to --output)
MAX_SHOWN_TERMS = 4096


def _cmd_expand(args: argparse.Namespace) -> int:
    from symres import paths

    L: int = args.L
    if args.counts:
        counts, total, ok = paths.checked_counts(L)
        how = paths.COUNTS_CHECK
        if args.json:
            print_json({"L": L, "counts": counts, "total": total, "check": {"method": "exact", "what": how, "passed": ok}})
        elif args.latex:
            row = " + ".join(str(c) for c in counts)
            sys.stdout.write(f"\\sum_{{k=0}}^{{{L}}} \\binom{{{L}}}{{k}} = {row} = {total} = 2^{{{L}}}\n% checked: {how}\n")
        else:
            from rich.table import Table

            console = new_console()
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
        print_json_streamed(
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

    def word(t: Any) -> str:  # the path in product order, as the term reads: J₂ I J₁ for S = {1, 3}
        return "".join(atom[j] if j in t.subset else "I" for j in range(L, 0, -1)) or "I"

    console = new_console()
    console.print(f"{lhs}  (ℓ = 1..{L}, later block left)", markup=False, soft_wrap=True)
    if args.output:  # the terms to a file, one per line, streamed
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                for t in terms:
                    f.write(f"{term(t)}\t{word(t)}\n")
        except OSError as exc:
            raise SymresError(f"cannot write {args.output}: {exc.strerror}") from None
        console.print(f"wrote the {len(terms)} terms to {args.output} (term, path word; one a line)", markup=False)
    elif len(terms) > MAX_SHOWN_TERMS:
        console.print(f"{len(terms)} terms: too many to show (write them with --output FILE); by length k:", markup=False)
        for k in sorted(by_len):
            noun = "term" if counts[k] == 1 else "terms"
            console.print(f"  k = {k}: {counts[k]} = C({L},{k}) {noun}, e.g. {term(by_len[k][0])}", markup=False)
    elif args.grouped:
        for k in sorted(by_len):
            noun = "term" if counts[k] == 1 else "terms"
            console.print(f"k = {k}: {counts[k]} = C({L},{k}) {noun}", style="bold", markup=False)
            console.print("  " + " + ".join(term(t) for t in by_len[k]), markup=False, soft_wrap=True)
            console.print("  paths: " + ", ".join(word(t) for t in by_len[k]), markup=False, soft_wrap=True)
    else:
        console.print("  = " + " + ".join(term(t) for t in terms), markup=False, soft_wrap=True)
        console.print(
            f"terms by length k = 0..{L}: " + ", ".join(map(str, counts)) + f"  (C({L},k), total 2^{L} = {len(terms)})",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"checked: {how}", markup=False, soft_wrap=True)
    return 0 if check.passed else 1


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("expand", help="expand (I+J_L)⋯(I+J_1) over subsets, grouped by path length")
    p.add_argument("L", type=non_negative, help="the number of blocks L (a non-negative integer)")
    p.add_argument("--counts", action="store_true", help="only the counts C(L,k) and 2^L (any L, exact)")
    p.add_argument("--grouped", action="store_true", help="one line per path length k, with the path words")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="the expansion as LaTeX")
    out.add_argument("--json", action="store_true", help="one JSON object: terms, counts, total, check")
    p.add_argument("--output", metavar="FILE", help="write the terms to FILE, one a line (the terminal shows the counts)")
    p.set_defaults(handler=_cmd_expand)
