"""`symres paths`: the exact gradient spectrum over path lengths (symres.paths), of a
random stack or of a real one (`--block`, symres.spectra)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from symres.cli._common import add_budget, new_console, non_negative, parse_lets, positive, print_json
from symres.errors import SymresError

#: runs estimated longer than this show the estimate and a progress bar on stderr
NOTICE_SECONDS = 2.0


def finite_norm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text!r}")
    return value


@contextmanager
def progress_of(cost: Any, steps: int, label: str, show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback on stderr (with the estimate printed first) if ``show``."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    err = Console(stderr=True, highlight=False)
    err.print(f"{cost}; progress on stderr", markup=False, soft_wrap=True)
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=max(steps, 1))
        yield lambda done, total: bar.update(task, completed=done)


def _blocks(args: argparse.Namespace) -> list[str]:
    names = [n.strip() for item in args.block or [] for n in item.split(",") if n.strip()]
    if args.block is not None and not names:
        raise SymresError("--block: give a block name (see `symres list`) or MODULE:NAME")
    return names


def _resolve(name: str) -> Any:
    from symres.blocks import get_block, load_block

    return load_block(name) if ":" in name else get_block(name)


def _cmd_paths(args: argparse.Namespace) -> int:
    from symres import paths

    names = _blocks(args)
    if not names and (args.init or args.weights or args.let):
        raise SymresError("--init, --weights and --let describe a real stack: give --block NAME")
    cost = paths.spectrum_cost(args.depth, args.width, mc_samples=args.samples, drawn=not names)
    if names:
        what = cost.what.replace("path spectrum", "real-stack path spectrum")
        cost = paths.Cost(what, cost.seconds * len(names), cost.bytes * 2)
    cost.check(args.budget)
    show = args.progress or cost.seconds >= NOTICE_SECONDS

    if args.plot:
        paths.require_matplotlib()  # before the computation, not after it
    if args.device is not None:
        paths.array_backend(args.device)  # a missing torch or device is refused before the computation
    results: list[tuple[str, Any, Any]] = []  # (label, stack or None, spectrum)
    if names:
        from symres import spectra

        lets = parse_lets(args.let or [], example="alpha=0.1")
        weights = spectra.load_weights(args.weights) if args.weights else None
        blocks = {name: _resolve(name) for name in names}
        owned = {name: spectra.parameter_names(blk, args.width) for name, blk in blocks.items()}
        if len(names) > 1:  # each block takes the --let values it has; each value must fit one of them
            for key in lets:
                if not any(key in own or key.replace("_", "") in {n.replace("_", "") for n in own} for own in owned.values()):
                    raise SymresError(f"--let {key}: none of the blocks {', '.join(names)} has a parameter {key!r}")
        for name in names:
            own = {n.replace("_", "") for n in owned[name]}
            mine = {k: v for k, v in lets.items() if len(names) == 1 or k.replace("_", "") in own}
            with progress_of(cost, args.depth, f"{name}: paths through {args.depth} blocks", show) as progress:
                stack, spec = spectra.stack_spectrum(
                    blocks[name],
                    args.depth,
                    args.width,
                    init=args.init or "he",
                    seed=args.seed,
                    activation=args.activation,
                    lets=mine,
                    weights=weights,
                    mc_samples=args.samples,
                    progress=progress,
                    device=args.device,
                )
            results.append((stack.block, stack, spec))
    else:
        with progress_of(cost, args.depth, f"paths through {args.depth} blocks", show) as progress:
            spec = paths.path_spectrum(
                args.depth,
                args.width,
                norm=args.norm,
                seed=args.seed,
                mc_samples=args.samples,
                progress=progress,
                device=args.device,
            )
        results.append(("random", None, spec))

    if args.plot:
        paths.plot_spectra([(label, spec) for label, _, spec in results], args.plot)
    ok = all(spec.check_passed for _, _, spec in results)
    if args.json:
        dicts = []
        for _, stack, spec in results:
            out = spec.as_dict()
            if stack is not None:
                out["stack"] = stack.describe()
            dicts.append(out)
        obj = dicts[0] if len(dicts) == 1 else {"spectra": dicts}
        obj["plot"] = args.plot
        print_json(obj)
        return 0 if ok else 1

    console = new_console()
    for _, stack, spec in results:
        _render(console, spec, stack)
    if args.plot:
        console.print(f"plot: {args.plot} (log10 path counts and log10 ‖g_k‖ against k)", markup=False)
    return 0 if ok else 1


def _render(console: Any, spec: Any, stack: Any) -> None:
    from rich.table import Table

    from symres import paths

    L, (a, b) = spec.depth, spec.band
    if stack is None:
        what = f"J_ℓ = {spec.norm:g}·G/‖G‖₂ (G Gaussian), g a random unit row gradient, seed {spec.seed}"
    else:
        what = (
            f"block {stack.block}, init {stack.init}, σ = {stack.activation}; {paths.STACK_JACOBIAN}; "
            f"g a random unit row gradient, seed {stack.seed}"
        )
    console.print(f"residual stack: L = {L} blocks, width d = {spec.width}, {what}", markup=False, soft_wrap=True)
    console.print(paths.COMPONENT_DEFINITION, markup=False, soft_wrap=True)
    table = Table("k", "log10 C(L,k)", "log10 ‖g_k‖", "")
    for k, label in paths.spectrum_rows(spec):
        value = spec.log10_norms[k]
        table.add_row(
            str(k),
            f"{spec.log10_counts[k]:.2f}",
            f"{value:.2f}" if value > -math.inf else "-inf (g_k = 0)",
            label,
        )
    console.print(table)
    console.print(
        f"effective band: lengths {a}..{b} carry {spec.band_share:.1%} of Σ_k ‖g_k‖ "
        f"({paths.BAND_DEFINITION.format(threshold=spec.band_threshold)})",
        markup=False,
        soft_wrap=True,
    )
    console.print(f"‖g·(I+J_L)⋯(I+J_1)‖ = 10^{spec.log10_full_norm:.2f}", markup=False)
    verdict = "passed" if spec.check_passed else "FAILED"
    if math.isfinite(spec.log10_full_norm):
        how = (
            f"relative error {spec.check_error:.1e} (tolerance {spec.check_tolerance:.1e}; Σ_k ‖g_k‖ / ‖Σ_k g_k‖ = "
            f"{spec.check_cancellation:.3g})"
        )
    else:
        how = f"the product is exactly 0 and ‖Σ_k g_k‖ / Σ_k ‖g_k‖ = {spec.check_scaled_error:.1e} (tolerance 1e-9)"
    console.print(
        f"checked (numeric): Σ_k g_k from the path DP equals g·(I+J_L)⋯(I+J_1) computed directly, {how}: {verdict}",
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


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    from symres.paths import DEFAULT_BUDGET

    p = sub.add_parser("paths", help="the exact gradient spectrum over path lengths of a random or a real residual stack")
    p.add_argument("--depth", type=non_negative, required=True, help="the number of blocks L")
    p.add_argument("--width", type=positive, required=True, help="the width d (J_ℓ is d×d)")
    p.add_argument("--norm", type=finite_norm, default=0.5, help="random stack: the spectral norm of every J_ℓ (default 0.5)")
    p.add_argument(
        "--block",
        action="append",
        metavar="NAME",
        help="a real stack of this block (registered name or MODULE:NAME); repeat or comma-separate to compare",
    )
    p.add_argument("--init", choices=["he", "xavier", "zero-branch"], help="with --block: the weight initialisation (he)")
    p.add_argument(
        "--weights", metavar="FILE.npz", help="with --block: parameter arrays by name, (L, rows, cols) or (rows, cols)"
    )
    p.add_argument("--let", action="append", metavar="NAME=VALUE", help="with --block: a parameter of every layer (alpha=0.1)")
    p.add_argument("--activation", default="relu", help="with --block: the σ of the block (default relu)")
    p.add_argument("--seed", type=non_negative, default=0, help="seed of numpy.random.default_rng (default 0)")
    p.add_argument("--samples", type=positive, default=1000, help="Monte-Carlo paths per compared length (default 1000)")
    p.add_argument("--plot", metavar="FILE.png", help="write a figure of path counts and ‖g_k‖ against k (one curve per block)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument(
        "--device",
        metavar="DEVICE",
        help="run the path DP with torch on DEVICE (cpu, cuda, cuda:N); default: NumPy",
    )
    add_budget(p, DEFAULT_BUDGET, "refuse runs estimated beyond this time and memory")
    p.add_argument("--progress", action="store_true", help="always show the estimate and a progress bar on stderr")
    p.set_defaults(handler=_cmd_paths)
