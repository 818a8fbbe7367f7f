"""`symres paths`: the exact gradient spectrum over path lengths (symres.paths)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from symres.cli._common import new_console, non_negative, positive, print_json


def _cmd_paths(args: argparse.Namespace) -> int:
    from symres import paths

    def run(progress: Any = None) -> Any:
        return paths.path_spectrum(
            args.depth, args.width, norm=args.norm, seed=args.seed, mc_samples=args.samples, progress=progress
        )

    if args.plot:
        paths.require_matplotlib()  # before the computation, not after it
    long_run = args.depth**2 * args.width**2 >= 2e9  # ≈ the flops of the DP
    if long_run and not args.json and sys.stdout.isatty():
        from rich.progress import Progress

        with Progress(console=new_console(), transient=True) as bar:
            task = bar.add_task(f"paths through {args.depth} blocks", total=args.depth)
            spec = run(lambda done, total: bar.update(task, completed=done))
    else:
        spec = run()
    if args.plot:
        paths.plot_spectrum(spec, args.plot)
    ok = bool(spec.check_passed)
    if args.json:
        out = spec.as_dict()
        out["plot"] = args.plot
        print_json(out)
        return 0 if ok else 1

    from rich.table import Table

    console = new_console()
    L, (a, b) = spec.depth, spec.band
    console.print(
        f"residual stack: L = {L} blocks, width d = {spec.width}, J_ℓ = {spec.norm:g}·G/‖G‖₂ (G Gaussian), "
        f"g a random unit row gradient, seed {spec.seed}",
        markup=False,
        soft_wrap=True,
    )
    console.print(
        "g_k = g · Σ_{|S|=k} J_{s_k}⋯J_{s_1}: the part of ∂ℒ/∂h_0 carried by paths through k residual branches",
        markup=False,
        soft_wrap=True,
    )
    table = Table("k", "log10 C(L,k)", "log10 ‖g_k‖", "")
    labels = [(0, "identity path"), (a, "band start"), (spec.peak, "largest ‖g_k‖"), (b, "band end"), (L, "all branches")]
    for k in sorted({k for k in (0, 1, 2, a, spec.peak, b, L) if k <= L}):
        value = spec.log10_norms[k]
        table.add_row(
            str(k),
            f"{spec.log10_counts[k]:.2f}",
            f"{value:.2f}" if value > -float("inf") else "-inf (g_k = 0)",
            ", ".join(n for kk, n in labels if kk == k),
        )
    console.print(table)
    console.print(
        f"effective band: lengths {a}..{b} carry {spec.band_share:.1%} of Σ_k ‖g_k‖ "
        f"({paths.BAND_DEFINITION.format(threshold=spec.band_threshold)})",
        markup=False,
        soft_wrap=True,
    )
    console.print(f"‖g·(I+J_L)⋯(I+J_1)‖ = 10^{spec.log10_full_norm:.2f}", markup=False)
    console.print(
        f"checked (numeric): Σ_k g_k from the path DP equals g·(I+J_L)⋯(I+J_1) computed directly, relative error "
        f"{spec.check_error:.1e} (tolerance {spec.check_tolerance:.1e}; Σ_k ‖g_k‖ / ‖Σ_k g_k‖ = "
        f"{spec.check_cancellation:.3g}): {'passed' if ok else 'FAILED'}",
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
    if args.plot:
        console.print(f"plot: {args.plot} (log10 path counts and log10 ‖g_k‖ against k)", markup=False)
    return 0 if ok else 1


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    p = sub.add_parser("paths", help="the exact gradient spectrum over path lengths of a random residual stack")
    p.add_argument("--depth", type=non_negative, required=True, help="the number of blocks L")
    p.add_argument("--width", type=positive, required=True, help="the width d (J_ℓ is d×d)")
    p.add_argument("--norm", type=float, default=0.5, help="the spectral norm of every J_ℓ (default 0.5)")
    p.add_argument("--seed", type=non_negative, default=0, help="seed of numpy.random.default_rng (default 0)")
    p.add_argument("--samples", type=positive, default=1000, help="Monte-Carlo paths per compared length (default 1000)")
    p.add_argument("--plot", metavar="FILE.png", help="write a figure of path counts and ‖g_k‖ against k")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_paths)
