"""Sweeps of real-stack path spectra over a grid (block × depth × width × init × seed),
one result row per run, on a `concurrent.futures` executor: a local process pool, or a
Dask `distributed` cluster (a LocalCluster or an existing scheduler).

Every run is seeded by its own configuration (`symres.spectra.stack_spectrum` with the
run's seed), so its row does not depend on the executor, the number of workers or the
order in which runs finish. Rows are appended to the output CSV as runs finish, and a
sweep started again on the same file skips the configurations already there (an
incomplete last line, from an interrupted write, is dropped); when every run is done the
file is rewritten in grid order (atomically), and as Parquet beside it when pyarrow is
installed.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from symres.errors import SymresError

__all__ = ["RunConfig", "COLUMNS", "KEY_COLUMNS", "grid", "run_one", "read_rows", "sweep", "executor", "sweep_cost"]

#: the columns that identify a run (its configuration)
KEY_COLUMNS = ("block", "depth", "width", "init", "activation", "lets", "seed")
#: every column of a result row, in file order; all but `seconds` are independent of the executor
COLUMNS = (
    *KEY_COLUMNS,
    "band_start",
    "band_end",
    "band_share",
    "peak",
    "log10_g0",
    "g0_share",
    "log10_full_norm",
    "check_rel_error",
    "check_passed",
    "seconds",
)


@dataclass(frozen=True)
class RunConfig:
    """One run of a sweep: a real stack (`symres.spectra.build_stack`) and its seed.

    ``lets`` is the --let values as ``NAME=VALUE`` joined by ``;`` (sorted; empty if none).
    """

    block: str
    depth: int
    width: int
    init: str = "he"
    activation: str = "relu"
    lets: str = ""
    seed: int = 0

    @property
    def key(self) -> tuple[str, ...]:
        """The configuration as the strings it has in the CSV."""
        return tuple(str(v) for v in asdict(self).values())


def grid(
    blocks: Sequence[str],
    depths: Sequence[int],
    widths: Sequence[int],
    *,
    inits: Sequence[str] = ("he",),
    seeds: int = 1,
    activation: str = "relu",
    lets: Mapping[str, str] | None = None,
) -> list[RunConfig]:
    """The runs of a grid, in grid order (block, depth, width, init, seed 0..seeds-1)."""
    if seeds < 1:
        raise SymresError(f"--seeds must be a positive integer, got {seeds}")
    if not (blocks and depths and widths and inits):
        raise SymresError("a sweep needs at least one block, depth, width and init")
    let_text = ";".join(f"{k}={v}" for k, v in sorted((lets or {}).items()))
    return [
        RunConfig(b, int(L), int(d), i, activation, let_text, s)
        for b, L, d, i, s in itertools.product(blocks, depths, widths, inits, range(seeds))
    ]


def _parse_lets(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(";") if item)


def run_one(config: RunConfig) -> dict[str, Any]:
    """Run one configuration; its result row (`COLUMNS`), numbers as plain Python values.

    ``log10_g0`` is log10 ‖g_0‖ (g_0 = g, the identity path), ``g0_share`` its share of
    Σ_k ‖g_k‖; ``band_*`` the effective band (`symres.paths.BAND_DEFINITION`, 0.9).
    A block given as MODULE:NAME is imported in the worker.
    """
    import math

    from symres import spectra
    from symres.blocks import get_block, load_block

    start = time.perf_counter()
    block = load_block(config.block) if ":" in config.block else get_block(config.block)
    _, spec = spectra.stack_spectrum(
        block,
        config.depth,
        config.width,
        init=config.init,
        seed=config.seed,
        activation=config.activation,
        lets=_parse_lets(config.lets),
        mc_samples=1,
    )
    norms = spec.log10_norms
    finite = norms[norms > -math.inf]
    top = float(finite.max())
    total = top + math.log10(float((10.0 ** (finite - top)).sum()))
    g0 = float(norms[0])
    a, b = spec.band
    row: dict[str, Any] = dict(zip(KEY_COLUMNS, config.key))
    row.update(
        band_start=a,
        band_end=b,
        band_share=round(spec.band_share, 12),
        peak=spec.peak,
        log10_g0=round(g0, 12) + 0.0,  # no -0.0
        g0_share=round(10.0 ** (g0 - total), 12),
        log10_full_norm=round(spec.log10_full_norm, 12),
        check_rel_error=float(f"{spec.check_error:.3e}"),
        check_passed=bool(spec.check_passed),
        seconds=round(time.perf_counter() - start, 4),
    )
    return row


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The complete rows of a sweep CSV (as strings); [] if the file does not exist. An
    incomplete last line (no newline: an interrupted write) is dropped."""
    p = Path(path)
    if not p.exists():
        return []
    if not p.is_file():
        raise SymresError(f"--output {path}: not a regular file")
    text = p.read_text(encoding="utf-8")
    if not text:
        return []
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or tuple(reader.fieldnames) != COLUMNS:
        raise SymresError(f"--output {path}: not a symres sweep file (its header is not {','.join(COLUMNS)})")
    return [row for row in reader if None not in row.values()]


@contextmanager
def executor(dask: str | None = None, workers: int | None = None, processes: bool = True) -> Iterator[cf.Executor]:
    """A concurrent.futures executor: a ProcessPoolExecutor (``dask`` None), a Dask
    LocalCluster (``dask='local'``; ``workers`` workers, one thread each, in processes
    unless ``processes`` is False) or an existing Dask scheduler (``dask='tcp://HOST:PORT'``),
    through `distributed.Client.get_executor`."""
    if dask is None:
        with cf.ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SymresError("--dask needs dask[distributed]: pip install 'symres[sweep]'") from None
    if dask == "local":
        cluster = LocalCluster(
            n_workers=workers or min(2, os.cpu_count() or 1),
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        )
        try:
            with Client(cluster) as client:
                yield client.get_executor()
        finally:
            cluster.close()
        return
    if not dask.startswith(("tcp://", "tls://")):
        raise SymresError(f"--dask {dask!r}: write local or tcp://HOST:PORT")
    try:
        client = Client(dask, timeout=10)
    except OSError as exc:
        raise SymresError(f"--dask {dask}: cannot reach the scheduler: {exc}") from None
    with client:
        yield client.get_executor()


def sweep_cost(configs: Iterable[RunConfig], workers: int) -> Any:
    """The estimated cost of the runs (`symres.paths.spectrum_cost` each, spread over
    ``workers``; memory: the largest run per worker)."""
    from symres.paths import Cost, spectrum_cost

    costs = [spectrum_cost(c.depth, c.width, mc_samples=1, drawn=False) for c in configs]
    if not costs:
        return Cost("the sweep (nothing left to run)", 0.0, 0.0)
    seconds = sum(c.seconds for c in costs) / max(1, workers) + 1.0
    return Cost(f"the sweep of {len(costs)} runs", seconds, 2 * max(c.bytes for c in costs) * workers)


def sweep(
    configs: Sequence[RunConfig],
    output: str | Path,
    *,
    submit: cf.Executor,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, str]], int]:
    """Run the configurations not yet in ``output`` on ``submit`` and append each row as
    it finishes; then rewrite ``output`` in grid order (rows of other configurations
    kept after them) and write ``output`` with suffix .parquet when pyarrow is there.

    Returns (all rows of the grid, in grid order, as strings; the number of runs made).
    """
    out = Path(output)
    done = {tuple(r[c] for c in KEY_COLUMNS): r for r in read_rows(out)}
    todo = [c for c in configs if c.key not in done]
    _rewrite(out, list(done.values()))  # drops a torn last line; header for a new file
    if progress is not None:
        progress(0, len(todo))
    if todo:
        with out.open("a", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
            futures = [submit.submit(run_one, c) for c in todo]
            try:
                for n, fut in enumerate(cf.as_completed(futures), 1):
                    row = {k: str(v) for k, v in fut.result().items()}
                    writer.writerow(row)
                    fh.flush()
                    done[tuple(row[c] for c in KEY_COLUMNS)] = row
                    if progress is not None:
                        progress(n, len(todo))
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    keys = [c.key for c in configs]
    wanted = set(keys)
    rows = [done[k] for k in keys] + [r for k, r in done.items() if k not in wanted]
    _rewrite(out, rows)
    _parquet(out, rows)
    return rows[: len(keys)], len(todo)


def _rewrite(path: Path, rows: list[dict[str, str]]) -> None:
    """Write the CSV atomically (temporary file beside it, then os.replace)."""
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _parquet(path: Path, rows: list[dict[str, str]]) -> Path | None:
    """``path`` with suffix .parquet, typed by pandas, if pandas and pyarrow are installed."""
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    target = path.with_suffix(".parquet")
    frame = pd.read_csv(path, dtype={"lets": str}, keep_default_na=False)
    frame.to_parquet(target, index=False)
    return target
