"""`symres expand`: the subset expansion of (I+J_L)⋯(I+J_1) and the binomial counts (symres.paths)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from symres.cli._common import new_console, non_negative, print_json, print_json_streamed
from symres.errors import SymresError

#: past this many terms the terminal shows the summary by length (the terms go to --output)
MAX_SHOWN_TERMS = 4096


def _cmd_expand(args: argparse.Namespace) -> int:
    from symres import paths
    from symres.proof import Check

    L: int = args.L
    if args.proof:
        return _closed_form(args)
    if args.counts:
        paths.counts_cost(L, exact_text=args.json or args.latex).check(args.budget)
        counts, total, ok = paths.checked_counts(L)
        how = paths.COUNTS_CHECK
        if args.json:
            with paths.exact_int_text():  # exact integers at any L
                print_json({"L": L, "counts": counts, "total": total, "check": Check("exact", ok, how).as_dict()})
        elif args.latex:
            sys.stdout.write(f"{paths.counts_latex(L, counts, total)}\n% checked: {how}\n")
        else:
            from rich.table import Table

            console = new_console()
            table = Table("k", f"paths of length k = C({L},k)", title=f"∏(I + J_ℓ), ℓ = 1..{L}: paths by length")
            for k, c in enumerate(counts):
                table.add_row(str(k), paths.format_count(c))
            console.print(table)
            console.print(f"total 2^{L} = {paths.format_count(total)}", markup=False)
            if total.bit_length() > paths.EXACT_DIGITS * 3.32:
                console.print(
                    f"(counts over {paths.EXACT_DIGITS} digits in scientific form, leading digits exact; "
                    "the exact values: --json or --latex)",
                    markup=False,
                )
            console.print(f"checked: {how}: {'passed' if ok else 'FAILED'}", markup=False)
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
    n, d = check.numbers["terms"], check.numbers["d"]
    how = (
        f"numeric: the sum of these {n} terms equals (I+J_{L})⋯(I+J_1) for {check.trials} random "
        f"{d}×{d} instances (‖J_ℓ‖₂ = {check.numbers['norm']:g}, seed {check.seed}), max relative error "
        f"{check.max_error:.1e} (tolerance {check.tolerance:.0e}); {n} terms = 2^{L}: "
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

    if args.latex:
        sys.stdout.write(f"{paths.expansion_latex(L, terms, grouped=args.grouped)}\n% checked: {how}\n")
        return 0 if check.passed else 1

    lhs, by_len = paths.typeset_expansion(L, terms, latex=False)
    words = paths.product_words(L, terms)
    console = new_console()
    console.print(f"{lhs}  (ℓ = 1..{L}, later block left)", markup=False, soft_wrap=True)
    if args.output:  # the terms to a file, one per line (a regular file or a new path only)
        from symres.safeio import replacing

        with replacing(args.output) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for k in sorted(by_len):
                f.writelines(f"{term}\t{word}\n" for term, word in zip(by_len[k], words[k]))
        console.print(f"wrote the {len(terms)} terms to {args.output} (term, path word; one a line)", markup=False)
    elif len(terms) > MAX_SHOWN_TERMS:
        console.print(f"{len(terms)} terms: too many to show (write them with --output FILE); by length k:", markup=False)
        for k in sorted(by_len):
            noun = "term" if counts[k] == 1 else "terms"
            console.print(f"  k = {k}: {counts[k]} = C({L},{k}) {noun}, e.g. {by_len[k][0]}", markup=False)
    elif args.grouped:
        for k in sorted(by_len):
            noun = "term" if counts[k] == 1 else "terms"
            console.print(f"k = {k}: {counts[k]} = C({L},{k}) {noun}", style="bold", markup=False)
            console.print("  " + " + ".join(by_len[k]), markup=False, soft_wrap=True)
            console.print("  paths: " + ", ".join(words[k]), markup=False, soft_wrap=True)
    else:
        console.print("  = " + " + ".join(t for k in sorted(by_len) for t in by_len[k]), markup=False, soft_wrap=True)
        console.print(
            f"terms by length k = 0..{L}: " + ", ".join(map(str, counts)) + f"  (C({L},k), total 2^{L} = {len(terms)})",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"checked: {how}", markup=False, soft_wrap=True)
    return 0 if check.passed else 1


#: the largest depth --proof enumerates in its checks (the counts: 2^L subsets; the induction: fewer)
MAX_PROOF_DEPTH = 14
#: the induction's numeric checks build every subset product up to this depth
MAX_INDUCTION_DEPTH = 8


def _closed_form(args: argparse.Namespace) -> int:
    """`symres expand L --proof`: the counts and the expansion for symbolic L
    (`symres.paths.count_proof`, `induction_proof`), their checks enumerating depths 0..L."""
    from symres import paths

    L: int = args.L
    if L > MAX_PROOF_DEPTH:
        raise SymresError(f"--proof enumerates its checks up to depth L; give L <= {MAX_PROOF_DEPTH} (the proof is for every L)")
    proofs = [paths.count_proof(max_depth=L), paths.induction_proof(max_depth=min(L, MAX_INDUCTION_DEPTH))]
    if args.json:
        print_json([p.as_dict() for p in proofs])
    elif args.latex:
        sys.stdout.write("\n".join(p.latex() for p in proofs) + "\n")
    else:
        console = new_console()
        for p in proofs:
            console.print(p)
    return 0 if all(p.passed for p in proofs) else 1


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    from symres.cli._common import add_budget
    from symres.paths import DEFAULT_BUDGET

    p = sub.add_parser("expand", help="expand (I+J_L)⋯(I+J_1) over subsets, grouped by path length")
    p.add_argument("L", type=non_negative, help="the number of blocks L (a non-negative integer)")
    p.add_argument("--counts", action="store_true", help="only the counts C(L,k) and 2^L (any L, exact)")
    p.add_argument("--grouped", action="store_true", help="one line per path length k, with the path words")
    p.add_argument(
        "--proof",
        action="store_true",
        help="the derivation for symbolic L (counts C(L,k), 2^L; the expansion by induction), every step checked, "
        f"the checks enumerating depths 0..L (L <= {MAX_PROOF_DEPTH})",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="the expansion as LaTeX")
    out.add_argument("--json", action="store_true", help="one JSON object: terms, counts, total, check")
    p.add_argument("--output", metavar="FILE", help="write the terms to FILE, one a line (the terminal shows the counts)")
    add_budget(p, DEFAULT_BUDGET, "with --counts: refuse work estimated beyond this time and memory")
    p.set_defaults(handler=_cmd_expand)
