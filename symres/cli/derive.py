"""`symres list` and `symres derive`: the registered blocks, one block derived and checked."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from symres.cli._common import budget, new_console, non_negative, parse_lets, positive, print_json
from symres.errors import SymresError


def shape(text: str) -> tuple[int, ...]:
    """`--input-shape 1,6,6`: positive integers separated by commas."""
    try:
        dims = tuple(int(t) for t in text.split(","))
    except ValueError:
        dims = ()
    if not dims or any(n < 1 for n in dims):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, such as 1,6,6; got {text!r}")
    return dims


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
    from rich.text import Text

    from symres.render import formula_lines, unicode_math

    console = new_console()
    width = min(console.width, 100)
    console.print(Text("symres blocks: Jacobians derived, not typed in (`symres derive NAME` checks one)", style="bold"))
    for name, p in proofs.items():
        console.print()
        console.print(Text.assemble((name, "bold cyan"), "  ", unicode_math(BLOCKS[name].title)))
        label = p.meta.get("result_label", "∂y/∂x")  # ∂vec(Y)/∂vec(X) for a token block
        lhs = "vec(Y)" if "vec" in label else "y"
        for line in formula_lines(f"  {lhs:<{len(label)}} = ", p.meta["forward"], width):
            console.print(Text(line))
        for line in formula_lines(f"  {label} = ", p.result, width):
            console.print(Text(line))
        console.print(Text("  source: " + unicode_math(BLOCKS[name].source), style="dim"))
    return 0


#: the cost model of `derive`: nodes of the forward map a derivation handles per second of --budget
NODES_PER_SECOND = 100


def _guarded_derive(args: argparse.Namespace, block: Any) -> Any:
    """derive() within the time budget; a user block's code (--block) runs under the
    guard, so whatever it raises is one line naming it."""
    from sympy import preorder_traversal

    from symres.blocks import DEFAULT_DIM, derive, get_block
    from symres.guard import time_limit, user_code

    what = f"--block {args.block!r}:" if args.block is not None else f"block {args.name!r}:"
    budget = args.budget.seconds
    with time_limit(budget, f"{what} not derived within --budget {budget:g} s; raise --budget (seconds) to allow more"):
        with user_code(what) if args.block is not None else contextlib.nullcontext():
            blk = get_block(block) if isinstance(block, str) else block
            dim = args.dim if args.dim is not None else DEFAULT_DIM
            forward = blk.instance(dim, args.out_dim).forward
            nodes = sum(1 for _ in preorder_traversal(forward))
            if budget and nodes > NODES_PER_SECOND * budget:
                raise SymresError(
                    f"{what} its forward map has {nodes} nodes; within --budget {budget:g} s a derivation takes at most "
                    f"{NODES_PER_SECOND * budget:g} (about {NODES_PER_SECOND} a second): raise --budget"
                )
            if args.depth is not None:
                from symres.attention import TokenBlock
                from symres.stacks import derive_stack

                if isinstance(blk, TokenBlock):
                    raise SymresError(f"{what} --depth stacks blocks of a vector x; a token block is derived one layer at a time")

                return derive_stack(
                    [blk] * args.depth,
                    dim=dim,
                    activation=args.activation,
                    trials=args.trials,
                    seed=args.seed,
                    wrt=args.wrt,
                    grad=args.grad,
                )
            return derive(
                blk,
                dim=dim,
                out_dim=args.out_dim,
                activation=args.activation,
                trials=args.trials,
                seed=args.seed,
                wrt=args.wrt,
                grad=args.grad,
                hessian=args.hessian,
                tokens=args.tokens,
            )


def _derive_proof(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None]:
    """The proof of the block the arguments name, and the default values of its symbols
    (a traced module's own weights), if any."""
    given = [a for a in (args.name, args.block, args.module) if a is not None]
    if len(given) != 1:
        raise SymresError(
            "derive: give a block name (see `symres list`), --block MODULE:NAME or --module MODULE:NAME, exactly one of the three"
        )
    if args.module is not None:
        from symres.torch_bridge import derive_module, load_module

        if args.out_dim is not None:
            raise SymresError("--out-dim does not apply to --module: the module fixes its output size")
        module = load_module(args.module)
        proof = derive_module(
            module, dim=args.dim, input_shape=args.input_shape, trials=args.trials, seed=args.seed, source=args.module
        )
        for note in proof.meta["notes"]:
            sys.stderr.write(f"symres: note: {note}\n")
        return proof, proof.meta["instance"].block.values
    if args.input_shape is not None:
        raise SymresError("--input-shape is the shape of one input of a --module (e.g. 1,6,6 for C,H,W)")
    if args.block is not None:
        from symres.blocks import load_block

        block: Any = load_block(args.block)
    else:
        block = args.name
    return _guarded_derive(args, block), None


def _cmd_derive(args: argparse.Namespace) -> int:
    lets = parse_lets(args.let or [])
    if args.pdf:
        from symres.safeio import check_target

        check_target(args.pdf)  # a device, a FIFO or a directory is refused before any work
    if args.depth is not None and args.hessian:
        raise SymresError("--hessian takes a single block; with --depth use --wrt or --grad (W_ℓ,k as --let spells it)")
    if args.module is not None and (args.depth or args.wrt or args.grad or args.hessian):
        raise SymresError("--module derives ∂y/∂x of the module; --depth, --wrt, --grad and --hessian take a block")
    proof, defaults = _derive_proof(args)
    # a traced module's own weights are the default point; --let overrides them
    point = proof.at(**{**(defaults or {}), **lets}).as_dict() if lets else None
    return _emit(args, proof, point)


def _emit(args: argparse.Namespace, proof: Any, point: dict[str, Any] | None) -> int:
    """Print the proof as asked (terminal, LaTeX, Markdown, JSON, PDF, code); the exit status."""
    status = 0 if proof.passed else 1
    if args.emit:
        from symres.emit import emit

        if not proof.passed:  # code is emitted only from a derivation whose every check passed
            sys.stderr.write(
                "symres: --emit: the derivation failed a check (run it without --emit to see which); no code emitted\n"
            )
            return status
        sys.stdout.write(emit(proof, args.emit))
        return status
    if args.pdf:
        from symres.latex import compile_pdf

        compile_pdf(proof.latex(standalone=True), args.pdf)
    if args.json:
        obj = proof.as_dict()
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
    from rich.text import Text

    from symres.render import unicode_math

    console = new_console()
    console.print("at the given point:")
    # Text, not markup: "[inf]" or "[1. 2.]" must print as written
    # + 0.0: a negative zero prints as 0, not -0
    console.print(Text("  y = " + np.array2string(np.array(point["output"]) + 0.0, precision=6)))
    matrix = np.array2string(np.array(point["value"]) + 0.0, precision=6)
    console.print(Text(f"  {label} =\n" + "\n".join("    " + line for line in matrix.splitlines())))
    for k in point["kinks"]:
        console.print(
            Text.assemble(
                ("warning: ", "yellow"),
                f"{k['activation']}' evaluated exactly at its kink {k['argument']:g} "
                f"(entry {k['component']} of {unicode_math(k['where'])}); used the convention {k['convention']}",
            )
        )


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("list", help="the registered blocks with their forward maps and Jacobians")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(handler=_cmd_list)
    p = sub.add_parser("derive", help="derive a block's Jacobian step by step and check every step")
    p.add_argument("name", nargs="?", help="a block name (see `symres list`)")
    p.add_argument("--block", metavar="SPEC", help="a block of your own: module.path:NAME or path/to/file.py:NAME (a Block)")
    p.add_argument(
        "--module",
        metavar="SPEC",
        help="a PyTorch nn.Module: path/to/file.py:Name or package.module:Name (a subclass is built as Name())",
    )
    p.add_argument("--dim", type=positive, default=None, help="input size d (default 3; a module's is read off its first layer)")
    p.add_argument(
        "--input-shape",
        type=shape,
        default=None,
        metavar="C,H,W",
        help="with --module: the shape of one input without the batch (C,L or C,H,W); x is it flattened in C order",
    )
    p.add_argument("--out-dim", type=positive, default=None, help="output size m, for blocks that change it (projection)")
    p.add_argument(
        "--tokens", type=positive, default=None, metavar="N", help="tokens n of a token block (attention, …; default 3)"
    )
    p.add_argument("--activation", default="relu", help="the σ to check with: relu, tanh, sigmoid, gelu, identity")
    p.add_argument(
        "--depth",
        type=positive,
        default=None,
        metavar="L",
        help="a stack of L such blocks: h_ℓ, J_ℓ named, ∂h_L/∂h_0 = J_L⋯J_1; layer ℓ's W_k is W_ℓ,k "
        "(--let W_2,1=…, --wrt W_2,1 or --grad W_2,1; also W2,1 or W_{2,1}), x is h_0",
    )
    p.add_argument("--trials", type=positive, default=200, help="random points per numeric check (default 200)")
    p.add_argument("--seed", type=non_negative, default=0, help="seed of the random points, >= 0 (default 0)")
    p.add_argument(
        "--budget",
        type=budget,
        default=budget("20s"),
        metavar="SECONDS",
        help="give up (one line) when the derivation would take longer than SECONDS (default 20s; the --budget of paths)",
    )
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
    out.add_argument("--emit", choices=("numpy", "torch"), help="print the derived Jacobian as the source of a Python function")
    p.add_argument("--standalone", action="store_true", help="with --latex: a complete amsmath document")
    p.add_argument("--pdf", metavar="FILE", help="compile the proof with pdflatex into FILE")
    p.set_defaults(handler=_cmd_derive)
