"""Stacks with named intermediates: symres.derive_stack at L = 10 and L = 100.

Plain script, one process: `python benchmarks/bench_stack.py [--block residual] [--repeats 3]`.
Goal (issue 10): a checked stack of L = 10 blocks under 1 s, L = 100 under 10 s, and the
ratio t(100)/t(10) at most 12 (cost linear in L); the same for the gradient of gᵀh_L with
respect to a weight of the first layer (backpropagation through all L blocks). Each time is the median of `repeats`
runs of a fully checked `derive_stack` (200 points) plus its JSON rendering; the block's
own derivation is done once before (it is cached in a session), and timed on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symres.blocks import derive  # noqa: E402
from symres.stacks import derive_stack  # noqa: E402


def _timed(block: str, depth: int, repeats: int, **mode: str) -> float:
    times = []
    for seed in range(repeats):
        t = time.perf_counter()
        proof = derive_stack([block] * depth, seed=seed, **mode)
        proof.as_dict()
        times.append(time.perf_counter() - t)
        if not proof.passed:
            raise SystemExit(f"the stack of {depth} failed its check (seed {seed})")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", default="residual")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grad", default="W_1", help="the weight of layer 1 whose gradient is backpropagated")
    args = ap.parse_args()
    t = time.perf_counter()
    derive(args.block)
    print(f"the {args.block} block derived and checked once: {time.perf_counter() - t:.2f} s")
    for seed in range(args.repeats):  # the seeds the timed runs use: their lemma proofs are cached
        derive(args.block, seed=seed)
        derive(args.block, seed=seed, grad=args.grad)
    for what, mode in (("∂h_L/∂h_0", {}), (f"--grad {args.grad} of layer 1", {"grad": f"W_1,{args.grad[-1]}"})):
        t10 = _timed(args.block, 10, args.repeats, **mode)
        t100 = _timed(args.block, 100, args.repeats, **mode)
        print(f"{what}:")
        print(f"  L = 10:  {t10:.3f} s (median of {args.repeats}; goal < 1 s)")
        print(f"  L = 100: {t100:.3f} s (median of {args.repeats}; goal < 10 s)")
        print(f"  ratio t(100)/t(10) = {t100 / t10:.1f} (goal <= 12)")


if __name__ == "__main__":
    main()
