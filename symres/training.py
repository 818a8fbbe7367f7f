"""The path decomposition watched during training: ∂ℒ/∂x = g + g·J at one residual block.

Seed 003 ("Residual connection", section "An experiment") claims that in a small network
with a residual connection around its second block, the gradient arriving over the
residual connection dominates at the start of training and then fades while the gradient
through the block grows, the two changing place within one epoch. With y = x + F(x) and
g = ∂ℒ/∂y (rows: one per example of the batch), the gradient at the block input is
∂ℒ/∂x = g + g·J with J = ∂F/∂x: g is the length-0 path (over the connection), g·J the
length-1 path (through the block). Both are measured exactly at every step (g by autograd
at y, g·J as the vector-Jacobian product of F at x), as Frobenius norms over the batch.

The network (torch, float64): x (64 pixels of scikit-learn's bundled 8×8 digits, scaled to
[0, 1]) → ReLU(Linear 64→d) → ReLU(Linear d→d) (block 1) → y = x + W₂ σ(W₁ x) (block 2, the
registered `residual` block, σ = ReLU, no biases) → Linear d→10 → cross-entropy. PyTorch's
default initialisation, Adam, minibatches drawn by a generator seeded per run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symres.errors import SymresError

__all__ = [
    "TrainingRun",
    "load_digits_data",
    "train_run",
    "training_cost",
    "crossing",
    "window_mean",
    "STATEMENT",
    "record",
    "record_json",
    "load_record",
    "plot_runs",
    "statement_experiment",
]

#: the seed's statement, as checked per run by `TrainingRun.statement_holds`
STATEMENT = (
    "at the start of training the gradient over the residual connection (‖g‖) exceeds the gradient through "
    "the block (‖g·J‖), and the two change place (‖g·J‖ ≥ ‖g‖, both averaged over a sliding window of steps) "
    "within the first epoch"
)


@dataclass(frozen=True)
class TrainingRun:
    """The record of one seeded training run: per step the batch loss, ‖g‖ and ‖g·J‖
    (Frobenius norms of the batch's rows), and the test accuracy at the end."""

    seed: int
    width: int
    batch: int
    lr: float
    steps_per_epoch: int
    window: int
    loss: list[float] = field(default_factory=list)
    connection: list[float] = field(default_factory=list)  # ‖g‖
    through: list[float] = field(default_factory=list)  # ‖g·J‖
    accuracy: float = math.nan
    check_error: float = math.nan  # max over steps of |g·J (derived) − g·J (torch autograd)| / max|g·J|

    @property
    def crossing(self) -> int | None:
        """The first step at which the window mean of ‖g·J‖ reaches that of ‖g‖ (see `crossing`)."""
        return crossing(self.connection, self.through, self.window)

    @property
    def starts_with_connection(self) -> bool:
        """‖g‖ > ‖g·J‖ over the first window of steps."""
        w = min(self.window, len(self.connection))
        return w > 0 and float(np.mean(self.connection[:w])) > float(np.mean(self.through[:w]))

    @property
    def statement_holds(self) -> bool:
        """The seed's statement (`STATEMENT`) for this run."""
        c = self.crossing
        return self.starts_with_connection and c is not None and c < self.steps_per_epoch

    @property
    def epoch_of_crossing(self) -> int | None:
        """The epoch (1-based) in which `crossing` falls, None without a crossing."""
        c = self.crossing
        return None if c is None else c // self.steps_per_epoch + 1

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingRun:
        """The run of a record (`as_dict`'s keys; the derived entries are recomputed, not read)."""
        try:
            loss, connection, through = ([float(v) for v in d[k]] for k in ("loss", "norm_connection", "norm_through_block"))
            return cls(
                seed=int(d["seed"]),
                width=int(d["width"]),
                batch=int(d["batch"]),
                lr=float(d["lr"]),
                steps_per_epoch=int(d["steps_per_epoch"]),
                window=int(d["window"]),
                loss=loss,
                connection=connection,
                through=through,
                accuracy=float(d["test_accuracy"]),
                check_error=float(d["check"]["max_rel_error"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SymresError(f"not a train-paths run record: {type(exc).__name__} {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        """The settings, the derived results (crossing, verdict per run) and every step's numbers."""
        return {
            "seed": self.seed,
            "width": self.width,
            "batch": self.batch,
            "lr": self.lr,
            "steps_per_epoch": self.steps_per_epoch,
            "window": self.window,
            "crossing_step": self.crossing,
            "starts_with_connection": self.starts_with_connection,
            "statement_holds": self.statement_holds,
            "test_accuracy": self.accuracy,
            "check": {
                "what": "g.J from the derived Jacobian of the residual block vs torch autograd's vector-Jacobian product",
                "max_rel_error": self.check_error,
                "passed": bool(self.check_error <= 1e-9),
            },
            "loss": self.loss,
            "norm_connection": self.connection,
            "norm_through_block": self.through,
        }


def window_mean(values: Sequence[float], window: int, at: int) -> float:
    """The mean of ``values`` over the ``window`` steps ending at step ``at`` (negative ``at``
    counts from the end, −1 the last step)."""
    a = np.asarray(values, dtype=float)
    end = at % a.size + 1
    return float(a[max(0, end - window) : end].mean())


def crossing(connection: Sequence[float], through: Sequence[float], window: int) -> int | None:
    """The first step s (0-based, the window's last step) at which the mean of ``through``
    over steps s−window+1..s is at least the mean of ``connection`` there, after a window
    where it was below; None if that never happens."""
    a = np.asarray(connection, dtype=float)
    b = np.asarray(through, dtype=float)
    if a.size < window or window < 1:
        return None
    kernel = np.ones(window) / window
    ma, mb = np.convolve(a, kernel, "valid"), np.convolve(b, kernel, "valid")
    below = mb < ma
    for i in range(1, len(ma)):
        if below[i - 1] and not below[i]:
            return i + window - 1
    return None


def training_cost(seeds: int, epochs: float, batch: int, width: int, n_examples: int = 1797) -> tuple[int, Any]:
    """(total steps, `symres.paths.Cost`) of ``seeds`` runs of `train_run` on ``n_examples``
    examples (4/5 for training): about 0.05 s per step at d = 32 on a loaded 2-core
    machine, growing like d², plus start-up."""
    from symres.paths import Cost

    per_run = max(1, round(epochs * math.ceil((n_examples - n_examples // 5) / batch)))
    steps = seeds * per_run
    return steps, Cost(f"training {seeds} runs ({steps} steps)", steps * 0.05 * max(1.0, (width / 32) ** 2) + 2, 3e8)


def load_digits_data() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 digits: X (1797, 64) in [0, 1], y (1797,) in 0..9."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SymresError("train-paths needs scikit-learn (its bundled 8×8 digits): pip install 'symres[train]'") from None
    data = load_digits()
    return np.asarray(data.data, dtype=np.float64) / 16.0, np.asarray(data.target, dtype=np.int64)


def train_run(
    seed: int,
    *,
    width: int = 32,
    epochs: float = 1.0,
    batch: int = 32,
    lr: float = 1e-3,
    window: int = 5,
    data: tuple[np.ndarray, np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
    steps: int | None = None,
) -> TrainingRun:
    """Train the network of the module doc for ``epochs`` epochs from ``seed``
    (torch.manual_seed and the split/minibatch generator) and record, at every step,
    ‖g‖ and ‖g·J‖ at the residual block (before the step's update). ``steps`` stops the
    run earlier (its first steps are those of the full run)."""
    try:
        import torch
    except ImportError:
        raise SymresError("train-paths needs torch (pip install torch)") from None
    if width < 1 or batch < 1 or not (epochs > 0) or not (lr > 0) or window < 1:
        raise SymresError("train-paths: width, batch, window must be positive integers and epochs, lr positive")
    X, y = data if data is not None else load_digits_data()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 5
    test, train = order[:n_test], order[n_test:]
    steps_per_epoch = math.ceil(len(train) / batch)
    total = max(1, round(epochs * steps_per_epoch))
    if steps is not None:
        if steps < 1:
            raise SymresError(f"train-paths: steps must be a positive integer, got {steps}")
        total = min(total, steps)
    if total > 200_000:
        raise SymresError(f"train-paths: {total} steps is past the limit of 200000; lower --epochs")

    torch.manual_seed(seed)
    dtype = torch.float64
    stem = torch.nn.Linear(64, width).to(dtype)
    block1 = torch.nn.Linear(width, width).to(dtype)
    W1 = torch.nn.Linear(width, width, bias=False).to(dtype)
    W2 = torch.nn.Linear(width, width, bias=False).to(dtype)
    head = torch.nn.Linear(width, 10).to(dtype)
    modules = [stem, block1, W1, W2, head]
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y)

    def forward(xb: Any) -> tuple[Any, Any, Any]:
        h = torch.relu(block1(torch.relu(stem(xb))))
        F = W2(torch.relu(W1(h)))
        return h, F, head(h + F)

    jacobian = _derived_branch_jacobian(width)
    worst = 0.0

    run = TrainingRun(seed, width, batch, lr, steps_per_epoch, window)
    step = 0
    while step < total:
        perm = train[rng.permutation(len(train))]
        for i in range(0, len(perm), batch):
            if step >= total:
                break
            idx = torch.tensor(perm[i : i + batch])
            h = torch.relu(block1(torch.relu(stem(Xt[idx]))))
            F = W2(torch.relu(W1(h)))
            out = h + F
            loss = torch.nn.functional.cross_entropy(head(out), yt[idx])
            (g,) = torch.autograd.grad(loss, out, retain_graph=True)
            # g·J with J = ∂F/∂x from symres's derived Jacobian of the block, one per example
            J = jacobian(W1.weight.detach().numpy(), W2.weight.detach().numpy(), h.detach().numpy())
            gJ = np.einsum("ni,nij->nj", g.numpy(), J)
            (gJ_torch,) = torch.autograd.grad(F, h, grad_outputs=g, retain_graph=True)  # the oracle
            scale = max(float(np.abs(gJ).max()), 1e-300)
            worst = max(worst, float(np.abs(gJ - gJ_torch.numpy()).max()) / scale)
            run.loss.append(float(loss.detach()))
            run.connection.append(float(torch.linalg.norm(g)))
            run.through.append(float(np.linalg.norm(gJ)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if progress is not None:
                progress(step, total)
    with torch.no_grad():
        _, _, logits = forward(Xt[torch.tensor(test)])
        accuracy = float((logits.argmax(dim=1) == yt[torch.tensor(test)]).double().mean())
    return TrainingRun(seed, width, batch, lr, steps_per_epoch, window, run.loss, run.connection, run.through, accuracy, worst)


def _derived_branch_jacobian(width: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """(W_1, W_2, X) ↦ J = ∂F/∂x at each row x of X (N, d d×d matrices, numerator layout),
    from the derived Jacobian I + W₂ diag(σ'(W₁x)) W₁ of the registered `residual` block
    (σ = ReLU), lambdified once."""
    from symres.blocks import derive
    from symres.numeric import compile_expr

    proof = derive("residual", dim=width, activation="relu", check=False)
    inst = proof.meta["instance"]
    fn = compile_expr(proof.result, inst.symbols, "relu")
    eye = np.eye(width)

    def jac(W1: np.ndarray, W2: np.ndarray, X: np.ndarray) -> np.ndarray:
        values = {"x": X[:, :, None], "W_1": W1[None], "W_2": W2[None]}
        return np.asarray(fn(values)) - eye

    return jac


def statement_experiment(runs: Sequence[TrainingRun], source: str = "") -> Any:
    """The seed's statement (`STATEMENT`) put to ``runs``: a `symres.experiment.Experiment`
    with, per seed, whether it held and where the two norms crossed; its verdict is
    observed, contradicted or undecided (`Outcome.of_seeds`)."""
    from symres.experiment import Experiment, SeedResult

    def detail(r: TrainingRun) -> str:
        c = r.crossing
        where = "no crossing" if c is None else f"crossing at step {c}, epoch {r.epoch_of_crossing}"
        start = "‖g‖ > ‖g·J‖" if r.starts_with_connection else "‖g‖ ≤ ‖g·J‖"
        return f"{where} ({r.steps_per_epoch} steps per epoch); {start} at the start"

    results = tuple(SeedResult(r.seed, r.statement_holds, detail(r)) for r in runs)
    return Experiment("Within the first epoch", STATEMENT, results, source)


# --------------------------------------------------------------------------- records


#: what a record of `symres train-paths --output` says it is
RECORD_KIND = "symres train-paths record"


def _rounded(values: Sequence[float], digits: int = 8) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in values]


def record(runs: Sequence[TrainingRun], *, epochs: float, command: str) -> dict[str, Any]:
    """A record of ``runs`` to store (``symres train-paths --output FILE.json``): every setting
    needed to re-run them, the versions that ran them, and per run every step's batch loss,
    ‖g‖ and ‖g·J‖ (8 significant digits). `load_record` reads it back."""
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    runs_out = []
    for r in runs:
        d = r.as_dict()
        for key in ("loss", "norm_connection", "norm_through_block"):
            d[key] = _rounded(d[key])
        runs_out.append(d)
    first = runs[0]
    return {
        "kind": RECORD_KIND,
        "command": command,
        "statement": STATEMENT,
        "settings": {
            "seeds": [r.seed for r in runs],
            "epochs": epochs,
            "width": first.width,
            "batch": first.batch,
            "lr": first.lr,
            "window": first.window,
            "data": "scikit-learn's bundled 8×8 digits (1797 examples, /16; 1/5 held out, split by the seed)",
            "network": "ReLU(Linear 64→d), ReLU(Linear d→d), y = x + W₂ ReLU(W₁ x), Linear d→10; float64; Adam",
        },
        "versions": {name: version(name) for name in ("symres", "torch", "numpy", "scikit-learn")},
        "runs": runs_out,
    }


def record_json(rec: dict[str, Any]) -> str:
    """`record`'s JSON text: the settings indented, each run on one line (a small file that
    a diff still reads run by run)."""
    import json

    head = {k: v for k, v in rec.items() if k != "runs"}
    text = json.dumps(head, indent=1, ensure_ascii=False)
    runs = ",\n".join("  " + json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rec["runs"])
    return text[:-2] + ',\n "runs": [\n' + runs + "\n ]\n}\n"


def load_record(path: str | Path) -> tuple[dict[str, Any], list[TrainingRun]]:
    """(settings, runs) of a record written by `record`: the settings with the command that
    made the record under "command"; the derived entries of each run, its crossing and
    verdict, are recomputed from the steps, never read."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SymresError(f"cannot read the record {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SymresError(f"the record {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != RECORD_KIND or not isinstance(data.get("runs"), list):
        raise SymresError(f"{path} is not a {RECORD_KIND}")
    runs = [TrainingRun.from_dict(d) for d in data["runs"]]
    if not runs:
        raise SymresError(f"the record {path} holds no runs")
    return {**data.get("settings", {}), "command": str(data.get("command", ""))}, runs


def plot_runs(runs: Sequence[TrainingRun], fmt: str = "pdf") -> bytes:
    """One panel per run: ‖g‖ (over the connection) and ‖g·J‖ (through the block) against
    steps, log scale, the crossing (`TrainingRun.crossing`) and the epoch boundaries
    marked; the figure as ``fmt`` bytes (pdf or png; the same bytes for the same runs)."""
    try:
        import matplotlib
    except ImportError:
        raise SymresError("the plot needs matplotlib: pip install matplotlib") from None
    import io

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if fmt not in ("pdf", "png"):
        raise SymresError(f"a plot is written as .pdf or .png, not .{fmt}")
    n = len(runs)
    cols = min(n, 3)
    rows = -(-n // cols)
    with matplotlib.rc_context({"font.size": 9}):
        fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), sharey=True, squeeze=False)
        try:
            for ax in axes.flat[n:]:
                ax.set_axis_off()
            for ax, r in zip(axes.flat, runs):
                steps = np.arange(len(r.connection))
                for values, color, label in (
                    (r.connection, "C0", r"$\|g\|$ over the connection"),
                    (r.through, "C1", r"$\|g\,J\|$ through the block"),
                ):
                    averaged = len(values) >= r.window
                    ax.plot(steps, values, color=color, lw=0.5, alpha=0.4, label=None if averaged else label)
                    if averaged:
                        mean = np.convolve(values, np.ones(r.window) / r.window, "valid")
                        ax.plot(steps[r.window - 1 :], mean, color=color, lw=1.2, label=f"{label}, mean of {r.window}")
                for e in range(r.steps_per_epoch, len(steps), r.steps_per_epoch):
                    ax.axvline(e, color="0.6", lw=0.6, ls=":")
                c = r.crossing
                if c is not None:
                    ax.axvline(c, color="C3", lw=1.0)
                    ax.annotate(
                        f"crossing: step {c}\n(epoch {r.epoch_of_crossing})",
                        (c, 0.04),
                        xycoords=("data", "axes fraction"),
                        xytext=(4, 0),
                        textcoords="offset points",
                        color="C3",
                        fontsize=8,
                    )
                ax.set_yscale("log")
                ax.set_title(f"seed {r.seed}")
                ax.set_xlabel(f"step (epochs of {r.steps_per_epoch} steps dotted)")
                ax.grid(True, alpha=0.25)
            for row in axes:
                row[0].set_ylabel("norm over the batch")
            axes[0][0].legend(fontsize=7, loc="center left")
            fig.tight_layout()
            buf = io.BytesIO()
            meta = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
            fig.savefig(buf, format=fmt, dpi=150, metadata=meta)
        finally:
            plt.close(fig)
    return buf.getvalue()
