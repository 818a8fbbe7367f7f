"""`symres train-paths`: ‖g‖ over the residual connection against ‖g·J‖ through the block,
step by step while a small network trains on the 8×8 digits (symres.training)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from symres.cli._common import new_console, positive, print_json
from symres.errors import SymresError


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _plot(runs: list[Any], path: str) -> None:
    """One panel per seed: ‖g‖ and ‖g·J‖ against steps (symres.training.plot_runs)."""
    from symres.safeio import write_bytes
    from symres.training import plot_runs

    fmt = Path(path).suffix.lstrip(".").lower()
    write_bytes(path, plot_runs(runs, fmt))


def _cmd_train(args: argparse.Namespace) -> int:
    from symres import training
    from symres.cli.paths import progress_of
    from symres.safeio import check_target

    for target in (args.plot, args.output):  # a bad target is refused before the training
        if target:
            check_target(target)
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf"):
        raise SymresError(f"--plot writes a .png or a .pdf, not {args.plot}")
    data = training.load_digits_data()
    steps, cost = training.training_cost(args.seeds, args.epochs, args.batch, args.width, len(data[0]))
    cost.check(args.budget)
    runs = []
    with progress_of(cost, steps, "train-paths", not args.json) as progress:
        done = 0
        for seed in range(args.seeds):
            base = done

            def step(n: int, total: int, base: int = base) -> None:
                if progress is not None:
                    progress(base + n, steps)

            run = training.train_run(
                seed,
                width=args.width,
                epochs=args.epochs,
                batch=args.batch,
                lr=args.lr,
                window=args.window,
                data=data,
                progress=step,
            )
            done += len(run.loss)
            runs.append(run)
    if args.plot:
        _plot(runs, args.plot)
    if args.output:
        import shlex

        from symres.safeio import write_text

        command = shlex.join(
            ["symres", "train-paths", "--seeds", str(args.seeds), "--epochs", f"{args.epochs:g}", "--width", str(args.width)]
            + ["--batch", str(args.batch), "--lr", f"{args.lr:g}", "--window", str(args.window), "--output", args.output]
        )
        write_text(args.output, training.record_json(training.record(runs, epochs=args.epochs, command=command)))
    experiment = training.statement_experiment(runs)
    k, n = experiment.held, len(runs)
    ok = all(r.check_error <= 1e-9 for r in runs)
    verdict = f"{experiment.verdict}: the statement held in {experiment.tally} (an experiment, not a proof)"
    if args.json:
        print_json(
            {
                "statement": training.STATEMENT,
                "verdict": verdict,
                "holds": k,
                "seeds": n,
                "runs": [r.as_dict() for r in runs],
                "plot": args.plot,
            }
        )
        return 0 if ok else 1
    from rich.table import Table

    console = new_console()
    table = Table("seed", "‖g·J‖/‖g‖ at start", "at the end", "crossing step", "epoch", "holds", "test accuracy")
    for r in runs:
        w = r.window
        start = sum(r.through[:w]) / sum(r.connection[:w])
        end = sum(r.through[-w:]) / sum(r.connection[-w:])
        c = r.crossing
        table.add_row(
            str(r.seed),
            f"{start:.2f}",
            f"{end:.2f}",
            "none" if c is None else str(c),
            "-" if c is None else str(c // r.steps_per_epoch + 1),
            "yes" if r.statement_holds else "no",
            f"{r.accuracy:.1%}",
        )
    console.print(table)
    console.print(f"statement (seed 003, 'An experiment'): {training.STATEMENT}", markup=False, soft_wrap=True)
    console.print(
        f"verdict: {verdict}; {runs[0].steps_per_epoch} steps per epoch (batch {args.batch}); "
        f"g·J from the derived Jacobian matches torch autograd to {max(r.check_error for r in runs):.1e}",
        markup=False,
        soft_wrap=True,
    )
    if args.plot:
        console.print(f"plot: {args.plot}", markup=False)
    return 0 if ok else 1


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    from symres.cli._common import add_budget
    from symres.paths import BATCH_BUDGET

    p = sub.add_parser("train-paths", help="‖g‖ over the residual connection vs ‖g·J‖ through the block while training (digits)")
    p.add_argument("--seeds", type=positive, default=3, help="runs with seeds 0..N-1 (default 3)")
    p.add_argument("--epochs", type=_positive_float, default=1.0, help="epochs per run (default 1)")
    p.add_argument("--width", type=positive, default=32, help="the width d of the residual block (default 32)")
    p.add_argument("--batch", type=positive, default=32, help="minibatch size (default 32)")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--window", type=positive, default=5, help="steps averaged when finding the crossing (default 5)")
    p.add_argument("--plot", metavar="FILE.png", help="write ‖g‖ and ‖g·J‖ against steps, one panel per seed (.png or .pdf)")
    p.add_argument("--json", action="store_true", help="one JSON object with every step")
    p.add_argument(
        "--output",
        metavar="FILE.json",
        help="write a record of the runs (settings, versions, every step) that symres.training.load_record reads",
    )
    add_budget(p, BATCH_BUDGET, "refuse runs estimated beyond this")
    p.set_defaults(handler=_cmd_train)
