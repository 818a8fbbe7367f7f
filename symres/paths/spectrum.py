"""The exact path-length spectrum g_k = g·Σ_{|S|=k} J_S of a stack, in log scale at any
norm, its effective band, Monte-Carlo comparison and figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from symres.errors import SymresError
from symres.paths._common import BAND_DEFINITION, Float64Array, ProgressFn, non_negative_int
from symres.paths.backend import array_backend
from symres.paths.expansion import path_counts

# --------------------------------------------------------------------------- the path-length spectrum


def random_stack(depth: int, width: int, *, norm: float = 0.5, seed: int = 0) -> tuple[Float64Array, Float64Array]:
    """Random J_1..J_L and a random unit row gradient g.

    One generator ``numpy.random.default_rng(seed)`` draws, in this order, G as one
    (L, d, d) standard Gaussian array (G[ℓ-1] for block ℓ) and then g ~ N(0, I_d)
    normalised to ‖g‖ = 1. J_ℓ = norm · G_ℓ / ‖G_ℓ‖₂ (spectral norm exactly ``norm``).
    Returns (J of shape (L, d, d) with J[ℓ-1] = J_ℓ, g of shape (d,)).
    """
    return _draw_stack(depth, width, norm, np.random.default_rng(non_negative_int(seed, "seed")))


def _draw_stack(depth: int, width: int, norm: float, rng: np.random.Generator) -> tuple[Float64Array, Float64Array]:
    depth, width = non_negative_int(depth, "depth"), non_negative_int(width, "width")
    if width < 1:
        raise SymresError("width must be a positive integer, got 0")
    if not (isinstance(norm, (int, float)) and math.isfinite(norm) and norm >= 0):
        raise SymresError(f"norm must be a finite non-negative number, got {norm}")
    G = rng.standard_normal((depth, width, width))
    if depth:
        G *= norm / np.linalg.norm(G, ord=2, axis=(1, 2))[:, None, None]
    return G, _random_unit(width, rng)


def _random_unit(width: int, rng: np.random.Generator) -> Float64Array:
    g = rng.standard_normal(width)
    g /= np.linalg.norm(g)
    return g


def _to_log(v: Float64Array, c: float) -> tuple[Float64Array, float]:
    """exp(c) · v as (unit vector, log scale)."""
    n = float(np.linalg.norm(v))
    if n == 0 or not math.isfinite(c):
        return np.zeros_like(v), -math.inf
    return v / n, c + math.log(n)


def _as_stack(jacobians: ArrayLike, grad: ArrayLike) -> tuple[Float64Array, Float64Array]:
    J = np.asarray(jacobians, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    if J.ndim != 3 or J.shape[1] != J.shape[2]:
        raise SymresError(f"jacobians must have shape (L, d, d), got {J.shape}")
    if J.shape[2] != g.size:
        raise SymresError(f"the gradient has {g.size} entries but the Jacobians are {J.shape[1]}x{J.shape[2]}")
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(g))):
        raise SymresError("jacobians and gradient must be finite")
    return J, g


def _block_scale(J: Float64Array) -> tuple[Float64Array, float]:
    """(J / s, log s) with s = max |J_ij| (s = 1 for J = 0): entries of J/s are at most 1
    in magnitude, so products with unit rows neither over- nor underflow at any scale of J."""
    s = float(np.max(np.abs(J))) if J.size else 0.0
    if s == 0.0 or s == 1.0:
        return J, 0.0
    return J * (1.0 / s), math.log(s)


#: the fast DP step accumulates without renormalising while every incoming row is at most
#: e^_FAST_GAP times the row it is added to (else that step renormalises every row)
_FAST_GAP = 20.0


def path_components(
    jacobians: ArrayLike, grad: ArrayLike, *, progress: ProgressFn | None = None, device: str | None = None
) -> tuple[Float64Array, Float64Array]:
    """The exact length-k components g_k = g · Σ_{|S|=k} J_S, k = 0..L, in log scale.

    ``jacobians`` has shape (L, d, d) with jacobians[ℓ-1] = J_ℓ; ``grad`` is the row g
    (d entries). Returns (U, c) with g_k = exp(c[k]) · U[k]: U of shape (L+1, d) has unit
    rows (zero rows where g_k = 0 exactly, with c[k] = -inf), c is a natural log; both
    NumPy arrays, whatever ``device``.

    Dynamic programming from the loss side: with V_k the length-k component over blocks
    ℓ..L, processing ℓ = L down to 1 does V_k ← V_k + V_{k-1} J_ℓ for all k at once, one
    (m+1)×d by d×d GEMM (m blocks done so far; rows above m+1 are still zero). Each row is
    held as exp(c_k)·U_k and each J_ℓ as s_ℓ·Ĵ_ℓ with max|Ĵ_ℓ| = 1, so the magnitudes of
    J_ℓ and g_k never meet the float range: a step scales the rows U_{k-1} by
    exp(c_{k-1} + log s_ℓ − c_k) ≤ e^20 (one pass into a preallocated buffer), multiplies
    by Ĵ_ℓ and adds in the same GEMM (β = 1); rows are renormalised (scale folded into c) every few steps, as often
    as the growth bound (1 + e^20·d) per step requires, and in any step whose incoming
    rows would exceed e^20 times their targets. ``progress(done, L)`` is called after
    each block.

    ``device`` None computes with NumPy; "cpu", "cuda" or "cuda:N" keeps the rows and the
    Jacobians as float64 torch tensors on that device (`symres.paths.backend`), the log
    scales on the host: the same arithmetic, the same steps.
    """
    J, g = _as_stack(jacobians, grad)
    ops = array_backend(device)
    L, d = J.shape[0], g.size
    c = np.full(L + 1, -np.inf)
    n0 = float(np.linalg.norm(g))
    if n0 == 0:
        return np.zeros((L + 1, d)), c
    U = ops.zeros((L + 1, d))
    U[0] = ops.put(g / n0)
    c[0] = math.log(n0)
    buf = ops.empty((L + 1, d))
    # a row's norm grows at most by 1 + e^gap · d per fast step; renormalise before its
    # square could overflow (norms up to e^340 square safely)
    every = max(1, int(340.0 // (_FAST_GAP + math.log1p(d) + 1.0)))
    since = 0

    def renormalise(hi: int) -> None:
        n = ops.row_norms(U[1:hi])
        safe = np.where(n > 0, n, 1.0)
        ops.mul_rows(U[1:hi], 1.0 / safe)
        c[1:hi] += np.log(safe)

    # s_ℓ = max|J_ℓ| for all blocks in one pass; Ĵ_ℓ = J_ℓ / s_ℓ made per block (d² work)
    scales = np.maximum(J.max(axis=(1, 2)), -J.min(axis=(1, 2))) if L else np.zeros(0)  # no |J| copy
    scales[scales == 0] = 1.0
    log_scales = np.log(scales)
    Jd = ops.put(J)
    Jh = ops.empty((d, d))
    with np.errstate(under="ignore"):
        for m in range(L):
            ls = float(log_scales[L - 1 - m])
            ops.scale(Jd[L - 1 - m], 1.0 / float(scales[L - 1 - m]), Jh)
            c[m + 1] = c[m] + ls  # the new row starts at zero on the scale of its source
            gap = c[: m + 1] + ls - c[1 : m + 2]
            if float(gap.max()) <= _FAST_GAP:
                ops.scale_rows(U[: m + 1], np.exp(gap), buf[: m + 1])
                ops.add_product(U[1 : m + 2], buf[: m + 1], Jh)
                since += 1
                if since >= every:
                    renormalise(m + 2)
                    since = 0
            else:  # rescale both sides to the larger scale, row by row, then renormalise
                top = np.maximum(c[: m + 1] + ls, c[1 : m + 2])
                ops.scale_rows(U[: m + 1], np.exp(c[: m + 1] + ls - top), buf[: m + 1])
                ops.mul_rows(U[1 : m + 2], np.exp(c[1 : m + 2] - top))
                ops.add_product(U[1 : m + 2], buf[: m + 1], Jh)
                c[1 : m + 2] = top
                renormalise(m + 2)
                since = 0
            if progress is not None:
                progress(m + 1, L)
    renormalise(L + 1)
    c[ops.row_norms(U) == 0] = -np.inf
    return ops.host(U), c


def full_product(jacobians: ArrayLike, grad: ArrayLike) -> tuple[Float64Array, float]:
    """g · (I + J_L) ⋯ (I + J_1) in log scale: (u, c) with the product = exp(c) · u, ‖u‖ = 1.

    Computed block by block from the loss side, renormalised each step, each J_ℓ taken
    as s_ℓ·Ĵ_ℓ (max|Ĵ_ℓ| = 1) so that no magnitude over- or underflows (independent of the
    path decomposition; used to check Σ_k g_k).
    """
    J, g = _as_stack(jacobians, grad)
    n0 = float(np.linalg.norm(g))
    if n0 == 0:
        return np.zeros_like(g), -math.inf
    v, c = g / n0, math.log(n0)
    with np.errstate(under="ignore"):
        for l in range(J.shape[0] - 1, -1, -1):
            Jh, ls = _block_scale(J[l])
            w = v @ Jh
            if ls > 0:  # v + s·w = s·(v/s + w)
                v = v * math.exp(-ls) + w
                c += ls
            else:
                v = v + math.exp(ls) * w
            n = float(np.linalg.norm(v))
            if n == 0:
                return np.zeros_like(g), -math.inf
            v /= n
            c += math.log(n)
    return v, c


def _logsumexp(x: Float64Array) -> float:
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return -math.inf
    top = float(finite.max())
    return top + math.log(float(np.exp(finite - top).sum()))


def effective_band(log_norms: ArrayLike, threshold: float = 0.9) -> tuple[int, int, float]:
    """The effective band of a spectrum: see `BAND_DEFINITION`.

    ``log_norms`` holds the natural logs log ‖g_k‖, k = 0..L (-inf for g_k = 0).
    Returns (a, b, share) with share = Σ_{a≤k≤b}‖g_k‖ / Σ_k‖g_k‖ ≥ threshold; if every
    g_k = 0 the band is (0, 0) with share 0.

    >>> import numpy as np
    >>> effective_band(np.log([1.0, 8.0, 1.0]), 0.8)
    (1, 1, 0.8)
    """
    x = np.asarray(log_norms, dtype=np.float64)
    if not 0 < threshold <= 1:
        raise SymresError(f"band threshold must be in (0, 1], got {threshold}")
    if not np.any(np.isfinite(x)):
        return 0, 0, 0.0
    w = np.where(np.isfinite(x), np.exp(x - x[np.isfinite(x)].max()), 0.0)
    total = float(w.sum())
    need = threshold * total * (1 - 1e-12)
    best = (0, len(w) - 1, total)
    a, acc = 0, 0.0
    for b in range(len(w)):
        acc += w[b]
        while a < b and acc - w[a] >= need:
            acc -= w[a]
            a += 1
        if acc >= need:
            width, best_width = b - a, best[1] - best[0]
            if width < best_width or (width == best_width and acc > best[2]):
                best = (a, b, acc)
    return best[0], best[1], float(min(1.0, best[2] / total))


@dataclass(frozen=True)
class MonteCarloEstimate:
    """An unbiased Monte-Carlo estimate of g_k from ``samples`` uniform k-subsets S:
    ĝ_k = C(L, k) · mean_S (g · J_S), compared with the exact g_k.

    ``rel_error`` = ‖ĝ_k − g_k‖ / ‖g_k‖ (inf if it exceeds float range; see
    ``log10_rel_error``).
    """

    length: int
    samples: int
    log10_count: float
    log10_norm_estimate: float
    log10_norm_exact: float
    log10_rel_error: float

    @property
    def rel_error(self) -> float:
        return 10.0**self.log10_rel_error if self.log10_rel_error < 300 else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "samples": self.samples,
            "log10_paths": _finite(self.log10_count),
            "log10_norm_estimate": _finite(self.log10_norm_estimate),
            "log10_norm_exact": _finite(self.log10_norm_exact),
            "rel_error": _finite(self.rel_error),
            "log10_rel_error": _finite(self.log10_rel_error),
        }


def monte_carlo_components(
    jacobians: ArrayLike, grad: ArrayLike, lengths: Sequence[int], samples: int, rng: np.random.Generator
) -> list[tuple[int, Float64Array, float]]:
    """Unbiased estimates of g_k by path sampling: for each k, ``samples`` subsets drawn
    uniformly among the C(L, k) of size k, ĝ_k = C(L, k) · mean (g · J_S). Returns
    (k, u, c) with ĝ_k = exp(c) · u (log scale, as in `path_components`).

    All samples are pushed through the stack together: block ℓ (from L down to 1) is
    applied, as one GEMM, to the samples whose subset contains ℓ.
    """
    J, g = _as_stack(jacobians, grad)
    L, d = J.shape[0], g.size
    if samples < 1:
        raise SymresError(f"samples must be a positive integer, got {samples}")
    ks = [non_negative_int(k, "length") for k in lengths]
    if any(k > L for k in ks):
        raise SymresError(f"path lengths must be in 0..{L}, got {ks}")
    masks = []
    for k in ks:
        if k == 0:
            masks.append(np.zeros((samples, L), dtype=bool))
        elif k == L:
            masks.append(np.ones((samples, L), dtype=bool))
        else:
            keys = rng.random((samples, L))
            cut = np.partition(keys, k - 1, axis=1)[:, k - 1]
            masks.append(keys <= cut[:, None])
    mask = np.concatenate(masks) if masks else np.zeros((0, L), dtype=bool)
    n0 = float(np.linalg.norm(g))
    V = np.tile(g / n0 if n0 > 0 else g, (mask.shape[0], 1))
    logs = np.full(mask.shape[0], math.log(n0) if n0 > 0 else -math.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for l in range(L - 1, -1, -1):
            rows = np.flatnonzero(mask[:, l])
            if rows.size == 0:
                continue
            Jh, ls = _block_scale(J[l])
            W = V[rows] @ Jh
            n = np.sqrt(np.einsum("ij,ij->i", W, W))
            V[rows] = W / np.where(n > 0, n, 1.0)[:, None]
            logs[rows] += np.log(n) + ls
    out = []
    for i, k in enumerate(ks):
        lg = logs[i * samples : (i + 1) * samples]
        Vk = V[i * samples : (i + 1) * samples]
        finite = np.isfinite(lg)
        if not finite.any():
            out.append((k, np.zeros(d), -math.inf))
            continue
        top = float(lg[finite].max())
        S = (np.exp(np.where(finite, lg - top, -np.inf))[:, None] * Vk).sum(axis=0)
        nS = float(np.linalg.norm(S))
        if nS == 0:
            out.append((k, np.zeros(d), -math.inf))
            continue
        c = math.log(math.comb(L, k)) - math.log(samples) + top + math.log(nS)
        out.append((k, S / nS, c))
    return out


def _log_rel_error(u_est: Float64Array, c_est: float, u: Float64Array, c: float) -> float:
    """log ‖e^{c_est} u_est − e^{c} u‖ − c (natural log), without overflow."""
    if not math.isfinite(c):
        return -math.inf if not math.isfinite(c_est) else math.inf
    if not math.isfinite(c_est):
        return 0.0  # ‖0 − g_k‖ / ‖g_k‖ = 1
    delta = c_est - c
    if delta <= 0:
        diff = float(np.linalg.norm(math.exp(delta) * u_est - u))
        return math.log(diff) if diff > 0 else -math.inf
    diff = float(np.linalg.norm(u_est - math.exp(-delta) * u))
    return delta + math.log(diff) if diff > 0 else -math.inf


def _log_difference(u1: Float64Array, c1: float, u2: Float64Array, c2: float) -> float:
    """log ‖e^{c1} u1 − e^{c2} u2‖ (natural log; unit u1, u2), without overflow."""
    if not math.isfinite(c1) and not math.isfinite(c2):
        return -math.inf
    top = max(c1, c2)
    diff = float(np.linalg.norm(math.exp(c1 - top) * u1 - math.exp(c2 - top) * u2))
    return top + math.log(diff) if diff > 0 else -math.inf


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


_LN10 = math.log(10.0)


@dataclass(frozen=True, eq=False)
class PathSpectrum:
    """The exact gradient spectrum over path lengths of one residual stack.

    ``log10_norms[k]`` = log10 ‖g_k‖ with g_k = g · Σ_{|S|=k} J_S (row vector; -inf if
    g_k = 0 exactly); ``log10_counts[k]`` = log10 C(L, k). ``band`` = (a, b) is the
    effective band (`BAND_DEFINITION`) carrying ``band_share`` ≥ ``band_threshold`` of
    Σ_k ‖g_k‖. The consistency check compares Σ_k g_k with the full product
    g · (I + J_L) ⋯ (I + J_1) computed separately: ``check_error`` is the relative error
    ‖Σ_k g_k − full‖ / ‖full‖, ``check_cancellation`` = Σ_k ‖g_k‖ / ‖full‖ (how much the
    lengths cancel), and the check passes if check_error ≤ 1e-9 · max(1, cancellation),
    that is if ``check_scaled_error`` = ‖Σ_k g_k − full‖ / max(‖full‖, Σ_k ‖g_k‖) ≤ 1e-9
    (which stays meaningful when the full product vanishes exactly: then check_error is
    inf and the check asks ‖Σ_k g_k‖ ≤ 1e-9 · Σ_k ‖g_k‖).
    ``norm`` and ``seed`` describe the random instance (norm is None for supplied J).
    """

    depth: int
    width: int
    norm: float | None
    seed: int | None
    log10_norms: Float64Array
    log10_counts: Float64Array
    log10_full_norm: float
    band: tuple[int, int]
    band_share: float
    band_threshold: float
    check_error: float
    check_cancellation: float
    monte_carlo: tuple[MonteCarloEstimate, ...] = field(default=())
    check_scaled_error: float = math.nan

    @property
    def check_tolerance(self) -> float:
        """1e-9 · max(1, cancellation): the bound on ``check_error`` (inf if the full product is 0)."""
        return 1e-9 * max(1.0, self.check_cancellation)

    @property
    def check_passed(self) -> bool:
        if math.isnan(self.check_scaled_error):
            return self.check_error <= self.check_tolerance
        return self.check_scaled_error <= 1e-9

    @property
    def peak(self) -> int:
        """The length k with the largest ‖g_k‖."""
        return int(np.argmax(self.log10_norms))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become None)."""
        return {
            "depth": self.depth,
            "width": self.width,
            "norm": self.norm,
            "seed": self.seed,
            "convention": "row gradient g_k = g . sum_{|S|=k} J_{s_k}...J_{s_1}; later block left",
            "log10_norms": [_finite(x) for x in self.log10_norms],
            "log10_counts": [_finite(x) for x in self.log10_counts],
            "log10_full_norm": _finite(self.log10_full_norm),
            "peak": self.peak,
            "band": {
                "lengths": list(self.band),
                "share": self.band_share,
                "threshold": self.band_threshold,
                "definition": BAND_DEFINITION.format(threshold=self.band_threshold),
            },
            "check": {
                "method": "numeric",
                "what": "sum_k g_k (path DP) vs g.(I+J_L)...(I+J_1) (direct product), both in log scale",
                "rel_error": _finite(self.check_error),
                "cancellation": _finite(self.check_cancellation),
                "tolerance": _finite(self.check_tolerance),
                "scaled_error": _finite(self.check_scaled_error),
                "scaled_tolerance": 1e-9,
                "passed": self.check_passed,
            },
            "monte_carlo": [m.as_dict() for m in self.monte_carlo],
        }


def path_spectrum(
    depth: int | None = None,
    width: int | None = None,
    *,
    norm: float = 0.5,
    seed: int = 0,
    jacobians: ArrayLike | None = None,
    grad: ArrayLike | None = None,
    mc_lengths: Sequence[int] | None = None,
    mc_samples: int = 1000,
    band_threshold: float = 0.9,
    progress: ProgressFn | None = None,
    device: str | None = None,
) -> PathSpectrum:
    """The exact path-length spectrum of a residual stack, checked two ways.

    Either give ``depth`` L and ``width`` d (random J_ℓ of spectral norm ``norm`` and a
    random unit g, see `random_stack`), or ``jacobians`` (L, d, d) with jacobians[ℓ-1] =
    J_ℓ (then ``grad`` may be given too; a random unit g from default_rng(seed) otherwise).

    Computes g_k for every k = 0..L by `path_components`, checks Σ_k g_k against
    `full_product`, and compares a Monte-Carlo path-sampling estimate with g_k at the
    lengths ``mc_lengths`` (default: 1, 2 and the peak length; ``mc_samples`` subsets
    each; the generator continues after the instance was drawn). ``progress(done, L)`` is
    called after each block of the DP. ``device`` runs the DP with torch on that device
    (see `path_components`); the full product and the Monte-Carlo estimate, its checks,
    stay in NumPy.
    """
    seed = non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    used_norm: float | None
    if jacobians is None:
        if depth is None or width is None:
            raise SymresError("give depth and width, or jacobians")
        J, g = _draw_stack(depth, width, norm, rng)
        used_norm = float(norm)
    else:
        J = np.asarray(jacobians, dtype=np.float64)
        if J.ndim != 3:
            raise SymresError(f"jacobians must have shape (L, d, d), got {J.shape}")
        if (depth is not None and depth != J.shape[0]) or (width is not None and width != J.shape[1]):
            raise SymresError(f"depth/width {depth}/{width} disagree with jacobians of shape {J.shape}")
        g = _random_unit(J.shape[1], rng)
        used_norm = None
    if grad is not None:
        g = np.asarray(grad, dtype=np.float64)
    J, g = _as_stack(J, g)
    L = J.shape[0]

    U, c = path_components(J, g, progress=progress, device=device)
    u_full, c_full = full_product(J, g)
    log10_norms = c / _LN10

    # Σ_k g_k = exp(top) · Σ_k exp(c_k − top) U_k, compared with the direct product
    lse = _logsumexp(c)
    if math.isfinite(lse):
        top = float(c[np.isfinite(c)].max())
        with np.errstate(under="ignore"):
            weights = np.where(np.isfinite(c), np.exp(c - top), 0.0)
        u_sum, c_sum = _to_log(weights @ U, top)
    else:
        u_sum, c_sum = np.zeros_like(g), -math.inf
    if math.isfinite(c_full):
        log_err = _log_rel_error(u_sum, c_sum, u_full, c_full)
        check_error = math.exp(log_err) if log_err < 700 else math.inf
        cancellation = math.exp(lse - c_full) if lse - c_full < 700 else math.inf
    else:  # the full product vanished exactly
        check_error = 0.0 if not math.isfinite(c_sum) else math.inf
        cancellation = 1.0 if not math.isfinite(lse) else math.inf
    scale = max(c_full, lse)
    if math.isfinite(scale):
        log_scaled = _log_difference(u_sum, c_sum, u_full, c_full) - scale
        scaled_error = math.exp(log_scaled) if log_scaled < 700 else math.inf
    else:  # every g_k and the product are exactly 0
        scaled_error = 0.0

    a, b, share = effective_band(c, band_threshold)
    counts = np.array([math.log10(x) for x in path_counts(L)])

    if mc_lengths is None:
        peak = int(np.argmax(np.where(np.isfinite(c), c, -np.inf)))
        mc_lengths = sorted({k for k in (1, 2, peak) if k <= L})
    estimates = monte_carlo_components(J, g, mc_lengths, mc_samples, rng) if mc_lengths else []
    mc = tuple(
        MonteCarloEstimate(
            length=k,
            samples=mc_samples,
            log10_count=float(counts[k]),
            log10_norm_estimate=c_est / _LN10,
            log10_norm_exact=float(log10_norms[k]),
            log10_rel_error=_log_rel_error(u_est, c_est, U[k], float(c[k])) / _LN10,
        )
        for k, u_est, c_est in estimates
    )
    log10_norms.flags.writeable = False
    counts.flags.writeable = False
    return PathSpectrum(
        depth=L,
        width=J.shape[1],
        norm=used_norm,
        seed=seed,
        log10_norms=log10_norms,
        log10_counts=counts,
        log10_full_norm=c_full / _LN10,
        band=(a, b),
        band_share=share,
        band_threshold=band_threshold,
        check_error=check_error,
        check_cancellation=cancellation,
        monte_carlo=mc,
        check_scaled_error=scaled_error,
    )


def require_matplotlib() -> None:
    """Raise a one-line SymresError naming the install command when matplotlib (the
    optional `plot` extra) is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise SymresError("--plot needs matplotlib, an optional extra: pip install 'symres[plot]'")


#: what g_k is, in one line (printed with every spectrum)
COMPONENT_DEFINITION = "g_k = g · Σ_{|S|=k} J_{s_k}⋯J_{s_1}: the part of ∂ℒ/∂h_0 carried by paths through k residual branches"

#: what J_ℓ is for a real stack (symres.spectra)
STACK_JACOBIAN = "J_ℓ = ∂y/∂x − I of block ℓ at h_{ℓ-1} (derived, evaluated along a forward pass)"


def spectrum_rows(spectrum: PathSpectrum) -> list[tuple[int, str]]:
    """The lengths worth showing of a spectrum, ascending, each with its labels: 0, 1, 2,
    the band's ends, the peak and L (``"identity path"``, ``"band start"``, …)."""
    L, (a, b) = spectrum.depth, spectrum.band
    labels = [(0, "identity path"), (a, "band start"), (spectrum.peak, "largest ‖g_k‖"), (b, "band end"), (L, "all branches")]
    return [
        (k, ", ".join(n for kk, n in labels if kk == k)) for k in sorted({k for k in (0, 1, 2, a, spectrum.peak, b, L) if k <= L})
    ]


def plot_spectrum(spectrum: PathSpectrum, path: str) -> None:
    """Write a figure of log10 C(L, k) and log10 ‖g_k‖ against k (with the band shaded);
    see `plot_spectra`."""
    plot_spectra([("gradient", spectrum)], path)


def plot_spectra(spectra: Sequence[tuple[str, PathSpectrum]], path: str) -> None:
    """Write one figure of log10 ‖g_k‖ against k for several spectra (one labelled curve
    each, its effective band marked), with log10 C(L, k) of the deepest.

    matplotlib is imported here (Agg backend); the file is written with
    `symres.safeio.replacing` (a regular file or a new path only, atomically, mode from
    the umask). The format follows the suffix of ``path`` (png by default).
    """
    from pathlib import Path

    require_matplotlib()
    import matplotlib

    from symres.safeio import check_target, replacing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not spectra:
        raise SymresError("nothing to plot")
    target = Path(path)
    check_target(target)  # refuse a device, a FIFO or a directory before drawing
    fmt = target.suffix.lstrip(".").lower() or "png"
    deepest = max((s for _, s in spectra), key=lambda s: s.depth)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        counts = r"paths of length $k$: $\log_{10}\binom{L}{k}$"
        ax.plot(np.arange(deepest.depth + 1), deepest.log10_counts, color="0.5", label=counts)
        for i, (label, spectrum) in enumerate(spectra):
            color = f"C{i % 10}"
            a, b = spectrum.band
            ax.plot(np.arange(spectrum.depth + 1), spectrum.log10_norms, color=color, label=rf"{label}: $\log_{{10}}\|g_k\|$")
            ax.axvspan(a - 0.5, b + 0.5, alpha=0.12, color=color, label=f"{label}: band [{a}, {b}] ({spectrum.band_share:.0%})")
        ax.set_xlabel("path length $k$ (number of residual branches on the path)")
        ax.set_ylabel(r"$\log_{10}$")
        if len(spectra) == 1:
            s = spectra[0][1]
            norm = "supplied J" if s.norm is None else rf"$\|J_\ell\|_2 = {s.norm:g}$"
            ax.set_title(f"L = {s.depth}, d = {s.width}, {norm}, seed {s.seed}")
        else:
            ax.set_title(f"L = {deepest.depth}, d = {deepest.width}: " + ", ".join(label for label, _ in spectra))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        fig.tight_layout()
        with replacing(target) as tmp:  # only a regular file or a new path, atomically
            fig.savefig(tmp, format=fmt, dpi=120)
    except (OSError, ValueError) as exc:
        raise SymresError(f"cannot write the plot {path}: {exc}") from None
    finally:
        plt.close(fig)
