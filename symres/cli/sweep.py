"""`symres sweep`: path spectra of real stacks over a grid, one CSV row per run (symres.sweep)."""

from __future__ import annotations

import argparse
from typing import Any

from symres.cli._common import new_console, non_negative, parse_lets, positive, print_json
from symres.errors import SymresError


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers separated by commas, got {text!r}")
    return values


def _names(items: list[str] | None) -> list[str]:
    return [n.strip() for item in items or [] for n in item.split(",") if n.strip()]


def _config(path: str) -> dict[str, Any]:
    """The grid of a TOML file: keys block, depth, width, init (lists or one value), seeds,
    activation, let (a table NAME = VALUE)."""
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SymresError(f"--config {path}: {' '.join(str(exc).split())}") from None
    unknown = set(data) - {"block", "depth", "width", "init", "seeds", "activation", "let"}
    if unknown:
        raise SymresError(f"--config {path}: unknown keys {', '.join(sorted(unknown))}")
    return data


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _cmd_sweep(args: argparse.Namespace) -> int:
    from symres import sweep
    from symres.cli.paths import progress_of

    conf = _config(args.config) if args.config else {}
    blocks = _names(args.block) or [str(b) for b in _listed(conf.get("block", []))]
    depths = args.depth or [int(v) for v in _listed(conf.get("depth", []))]
    widths = args.width or [int(v) for v in _listed(conf.get("width", []))]
    inits = _names(args.init) or [str(v) for v in _listed(conf.get("init", "he"))]
    seeds = args.seeds if args.seeds is not None else int(conf.get("seeds", 1))
    activation = args.activation or str(conf.get("activation", "relu"))
    lets = {str(k): str(v) for k, v in conf.get("let", {}).items()} | parse_lets(args.let or [], example="alpha=0.1")
    if not (blocks and depths and widths):
        raise SymresError("sweep: give --block, --depth and --width (or a --config file with them)")
    for init in inits:
        if init not in ("he", "xavier", "zero-branch"):
            raise SymresError(f"unknown --init {init!r}; choose among he, xavier, zero-branch")
    if any(w < 1 for w in widths):
        raise SymresError("--width must be positive")
    configs = sweep.grid(blocks, depths, widths, inits=inits, seeds=seeds, activation=activation, lets=lets)
    already = {tuple(r[c] for c in sweep.KEY_COLUMNS) for r in sweep.read_rows(args.output)}
    todo = [c for c in configs if c.key not in already]
    workers = args.workers or 2
    cost = sweep.sweep_cost(todo, workers)
    cost.check(args.budget)
    with sweep.executor(args.dask, args.workers) as pool:
        with progress_of(cost, len(todo), f"sweep: {len(todo)} runs", not args.json and bool(todo)) as progress:
            rows, ran = sweep.sweep(configs, args.output, submit=pool, progress=progress)
    ok = all(r["check_passed"] == "True" for r in rows)
    if args.json:
        print_json({"output": args.output, "runs": len(rows), "ran": ran, "skipped": len(rows) - ran, "rows": rows})
        return 0 if ok else 1
    from rich.table import Table

    console = new_console()
    shown = ("block", "depth", "width", "init", "seed", "band", "share", "‖g_0‖ share", "check", "s")
    table = Table(*shown)
    for r in rows:
        table.add_row(
            r["block"],
            r["depth"],
            r["width"],
            r["init"],
            r["seed"],
            f"{r['band_start']}..{r['band_end']}",
            f"{float(r['band_share']):.1%}",
            f"{float(r['g0_share']):.2g}",
            "passed" if r["check_passed"] == "True" else "FAILED",
            f"{float(r['seconds']):.2f}",
        )
    console.print(table)
    engine = f"Dask ({args.dask})" if args.dask else "a local process pool"
    console.print(
        f"{len(rows)} runs in {args.output}: {ran} run now on {engine}, {len(rows) - ran} already there (skipped); "
        f"every check (Σ_k g_k against the full product) {'passed' if ok else 'did NOT pass'}",
        markup=False,
        soft_wrap=True,
    )
    return 0 if ok else 1


def register(sub: Any) -> None:
    """Add the subcommand(s) of this module to the `symres` parser."""
    from symres.cli._common import add_budget
    from symres.paths import BATCH_BUDGET

    p = sub.add_parser("sweep", help="path spectra of real stacks over a grid, one CSV row per run (local pool or Dask)")
    p.add_argument("--block", action="append", metavar="NAMES", help="blocks, comma-separated (registered or MODULE:NAME)")
    p.add_argument("--depth", type=_ints, metavar="L,…", help="depths, comma-separated")
    p.add_argument("--width", type=_ints, metavar="d,…", help="widths, comma-separated")
    p.add_argument("--init", action="append", metavar="INITS", help="he, xavier, zero-branch (comma-separated; default he)")
    p.add_argument("--seeds", type=positive, help="seeds 0..N-1 per configuration (default 1)")
    p.add_argument("--let", action="append", metavar="NAME=VALUE", help="a parameter of every layer, e.g. alpha=0.1")
    p.add_argument("--activation", help="the σ of the blocks (default relu)")
    p.add_argument("--config", metavar="GRID.toml", help="the grid from a TOML file (flags given override it)")
    p.add_argument("--output", required=True, metavar="FILE.csv", help="result rows; rows already there are skipped")
    p.add_argument("--dask", metavar="local|tcp://HOST:PORT", help="run on Dask distributed instead of a process pool")
    p.add_argument("--workers", type=non_negative, help="workers of the pool or LocalCluster (default 2)")
    p.add_argument("--json", action="store_true", help="one JSON object with every row")
    add_budget(p, BATCH_BUDGET, "refuse sweeps estimated beyond this time and memory")
    p.set_defaults(handler=_cmd_sweep)
