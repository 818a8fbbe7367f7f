"""`symres list` and `symres derive`: the registered blocks, one block derived and checked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from symres.cli._common import new_console, positive, print_json
from symres.errors import SymresError


def _cmd_list(args: argparse.Namespace) -> int:
    from symres.blocks import BLOCKS, derive
    from symres.latex import latex

    proofs = {name: derive(blk, check=False) for name, blk in BLOCKS.items()}
    if args.json:
        print_json(
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
    new_console().print(table)
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
    values = {}
    for given, text_value in lets.items():
        sym = inst.symbol(given)  # W1 for W_1
        name = str(sym)
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
    if args.depth is not None:
        if lets or args.wrt or args.grad or args.hessian:
            raise SymresError("--depth derives ∂h_L/∂h_0 of the stack; --let, --wrt, --grad and --hessian take a single block")
        from symres.stacks import derive_stack

        proof = derive_stack([block] * args.depth, dim=args.dim, activation=args.activation, trials=args.trials, seed=args.seed)
        return _emit(args, proof, None)
    proof = derive(
        block,
        dim=args.dim,
        out_dim=args.out_dim,
        activation=args.activation,
        trials=args.trials,
        seed=args.seed,
        wrt=args.wrt,
        grad=args.grad,
        hessian=args.hessian,
    )
    point = _derive_point(proof, lets) if lets else None
    return _emit(args, proof, point)


def _emit(args: argparse.Namespace, proof: Any, point: dict[str, Any] | None) -> int:
    """Print the proof as asked (terminal, LaTeX, Markdown, JSON, PDF); the exit status."""
    status = 0 if proof.passed else 1
    if args.pdf:
        from symres.latex import compile_pdf

        compile_pdf(proof.latex(standalone=True), args.pdf)
    if args.json:
        from symres.latex import latex

        obj: dict[str, Any] = {
            "block": proof.meta["block"],
            "activation": proof.meta["activation"],
            "forward": latex(proof.meta["forward"]),
            "jacobian": latex(proof.result),
            **proof.as_dict(),
        }
        if "depth" in proof.meta:
            obj["depth"] = proof.meta["depth"]
        if "mode" in proof.meta:
            obj["mode"] = proof.meta["mode"]
            obj["result"] = obj.pop("jacobian")
            obj["wrt"] = str(proof.meta["wrt"])
        if point is not None:
            obj.update(point)
        print_json(obj)
        return status
    if args.latex:
        sys.stdout.write(proof.latex(standalone=args.standalone) + "\n")
    elif args.markdown:
        sys.stdout.write(proof.markdown())
    elif not args.pdf:
        new_console().print(proof)
    if args.pdf:
        new_console().print(f"wrote {args.pdf} ({'all steps checked' if proof.passed else 'SOME STEPS FAILED'})", soft_wrap=True)
    if point is not None:
        _print_point(point, proof.meta.get("result_label", "∂y/∂x"))
    return status


def _print_point(point: dict[str, Any], label: str = "∂y/∂x") -> None:
    import numpy as np

    from symres.render import unicode_math

    console = new_console()
    console.print("at the given point:")
    console.print("  y = " + np.array2string(np.array(point["output"]), precision=6))
    matrix = np.array2string(np.array(point["value"]), precision=6)
    console.print(f"  {label} =\n" + "\n".join("    " + line for line in matrix.splitlines()))
    for k in point["kinks"]:
        console.print(
            f"[yellow]warning:[/] {k['activation']}' evaluated exactly at its kink {k['argument']:g} "
            f"(entry {k['component']} of {unicode_math(k['where'])}); used the convention {k['convention']}",
            markup=True,
        )


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("list", help="the registered blocks with their forward maps and Jacobians")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(handler=_cmd_list)
    p = sub.add_parser("derive", help="derive a block's Jacobian step by step and check every step")
    p.add_argument("name", nargs="?", help="a block name (see `symres list`)")
    p.add_argument("--block", metavar="SPEC", help="a block of your own: module.path:NAME or path/to/file.py:NAME (a Block)")
    p.add_argument("--dim", type=positive, default=3, help="input size d (default 3)")
    p.add_argument("--out-dim", type=positive, default=None, help="output size m, for blocks that change it (projection)")
    p.add_argument("--activation", default="relu", help="the σ to check with: relu, tanh, sigmoid, gelu, identity")
    p.add_argument(
        "--depth", type=positive, default=None, metavar="L", help="a stack of L such blocks: h_ℓ, J_ℓ named, ∂h_L/∂h_0 = J_L⋯J_1"
    )
    p.add_argument("--trials", type=positive, default=200, help="random points per numeric check (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    p.add_argument(
        "--let", action="append", metavar="NAME=VALUE", help="evaluate at a point: I, 0, a number, -1,1 or 1,0;0,1 (repeatable)"
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--wrt", metavar="NAME", help="differentiate with respect to NAME (as --let spells it): ∂y/∂vec(W) for a matrix"
    )
    what.add_argument("--grad", metavar="NAME", help="the gradient of s = gᵀy with respect to NAME, in NAME's shape (--let g=…)")
    what.add_argument("--hessian", action="store_true", help="the Hessian ∇²_x (gᵀy), symmetric (--let g=…)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="the proof as an align* fragment")
    out.add_argument("--markdown", action="store_true", help="the proof as Markdown with $$ blocks")
    out.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--standalone", action="store_true", help="with --latex: a complete amsmath document")
    p.add_argument("--pdf", metavar="FILE", help="compile the proof with pdflatex into FILE")
    p.set_defaults(handler=_cmd_derive)
