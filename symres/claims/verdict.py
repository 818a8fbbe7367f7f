"""Verdicts, counterexamples and `check`, the entry point.

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from symres import grammar as g
from symres.budget import OutOfTime, time_limit
from symres.claims.certify import _certify
from symres.claims.model import MAX_TRIALS, SEARCH_DIMS, TOLERANCE, Array, Claim, Key, _label, parse
from symres.claims.prover import _prove
from symres.claims.search import _Instance, _minimise, _run, _run_trials, _search_dim, _Stats
from symres.errors import SymresError
from symres.outcome import Outcome
from symres.proof import Check, Proof, Step

# =========================================================================== verdicts


@dataclass(frozen=True)
class LinkValue:
    """Both sides of one comparison of the statement on a counterexample."""

    lhs: str
    op: str
    rhs: str
    lhs_value: Any
    rhs_value: Any
    margin: float
    violated: bool


@dataclass(frozen=True)
class Counterexample:
    """A concrete instance on which the statement is false (re-verified).

    ``values`` maps each free symbol (``"J_3"``, ``"c"``) to its value: a (d, d) array for
    a matrix, (d, 1) for a vector, a float for a scalar. ``integers`` holds L, k, ...
    """

    dim: int
    integers: Mapping[str, int]
    values: Mapping[str, Any]
    links: tuple[LinkValue, ...]
    seed: int
    margin: float
    interval: tuple[float, float] | None = None  # the certified enclosure of the violated margin
    digits: int = 0  # the precision that certified it

    def grouped(self) -> list[tuple[str, Any]]:
        """The values with equal consecutive members of a family shown once:
        ``[("J_l (l = 1..100)", array), ...]``."""
        out: list[tuple[str, Any]] = []
        items = list(self.values.items())
        i = 0
        while i < len(items):
            name, v = items[i]
            base, _, sub = name.partition("_")
            j = i
            if sub.isdigit():
                while (
                    j + 1 < len(items)
                    and items[j + 1][0] == f"{base}_{int(sub) + (j + 1 - i)}"
                    and np.array_equal(np.asarray(items[j + 1][1]), np.asarray(v))
                ):
                    j += 1
            if j > i:
                out.append((f"{base}_l (l = {sub}..{int(sub) + j - i})", v))
            else:
                out.append((name, v))
            i = j + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "integers": dict(self.integers),
            "values": {name: _jsonable(v) for name, v in self.values.items()},
            "sides": [
                {
                    "lhs": ln.lhs,
                    "op": ln.op,
                    "rhs": ln.rhs,
                    "lhs_value": _jsonable(ln.lhs_value),
                    "rhs_value": _jsonable(ln.rhs_value),
                    "margin": ln.margin,
                    "holds": not ln.violated,
                }
                for ln in self.links
            ],
            "seed": self.seed,
            "certified": {"interval": [_finite(x) for x in self.interval] if self.interval else None, "digits": self.digits},
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome of `check`: ``verdict`` is an `Outcome` (proved, holds, refuted,
    undecided; it compares equal to its name)."""

    verdict: Outcome
    statement: str
    method: str
    trials: int
    seed: int
    dim: int
    worst_margin: float | None
    tolerance: float
    search_dims: tuple[int, ...] = ()
    search_candidates: int = 0
    search_worst_margin: float | None = None
    counterexample: Counterexample | None = None
    notes: tuple[str, ...] = ()
    #: undecided: the enclosure [lo, hi] of the margin that could not be decided, and where
    interval: tuple[float, float] | None = None
    undecided_at: str = ""
    #: the same enclosure as text, without underflow to 0 (``[-2.4e-481, 1.1e-481]``)
    interval_text: str = ""
    #: proved by theorems: the theorems applied, in order
    theorems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False only for refuted (exit status 1); see `exit_status` for undecided (3)."""
        return self.verdict != Outcome.REFUTED

    @property
    def exit_status(self) -> int:
        """0 proved or holds, 1 refuted, 3 undecided."""
        return Outcome(self.verdict).exit_status

    def as_check(self) -> Check:
        """A claims `Verdict` as a `Check` of the one evidence model, its verdict preserved:

        proved → method ``theorem`` (``numbers["theorems"]`` the theorems applied, in order),
        ``certified`` or ``symbolic``; holds → ``numeric`` with the trials and the seed;
        refuted → failed, ``instance`` the re-verified counterexample (its integers and values);
        undecided → ``decided=False``, ``numbers["interval"]`` the enclosure that straddles 0.
        ``detail`` is how the checker settled it; ``numbers`` the worst margin seen, the
        tolerance, the dimension and the counterexample search.
        """
        v = self.verdict
        how = self.method
        for prefix in ("symbolic: ", "theorems: ", "numeric: "):
            how = how.removeprefix(prefix)
        numbers: dict[str, Any] = {
            "worst_margin": self.worst_margin,
            "tolerance": self.tolerance,
            "dim": self.dim,
            "search_candidates": self.search_candidates,
            "search_worst_margin": self.search_worst_margin,
        }
        if self.theorems:
            numbers["theorems"] = list(self.theorems)
        if self.interval is not None:
            numbers["interval"] = list(self.interval)
        if v == Outcome.PROVED:
            method = "theorem" if self.theorems else "certified" if self.method.startswith("certified") else "symbolic"
            detail = ", ".join(self.theorems) if self.theorems else how
            return Check(method, True, detail, numbers=numbers)
        instance = None
        if self.counterexample is not None:
            cx = self.counterexample
            instance = {**dict(cx.integers), **{name: np.asarray(x).tolist() for name, x in cx.values.items()}}
            numbers["counterexample_margin"] = cx.margin
        return Check(
            "numeric",
            v == Outcome.HOLDS,
            how,
            trials=self.trials,
            tolerance=self.tolerance,
            seed=self.seed,
            instance=instance,
            numbers=numbers,
            decided=v != Outcome.UNDECIDED,
        )

    def as_proof(self) -> Proof:
        """The verdict in the one evidence model (`symres.proof`): a Proof of one step, the
        statement, whose Check is `as_check` (the theorems applied, the certified or numeric
        evidence, the counterexample, the undecided interval)."""
        step = Step.claim(self.statement, self.summary, self.as_check())
        return Proof(title=self.statement, assumptions=(), steps=(step,), conclusion=f"{self.statement}: {self.verdict}")

    @property
    def summary(self) -> str:
        if self.verdict == Outcome.PROVED:
            return (
                "proved by theorems"
                if self.theorems
                else ("proved by certified arithmetic" if self.method.startswith("certified") else "proved symbolically")
            )
        if self.verdict == Outcome.HOLDS:
            return f"holds numerically ({self.trials} trials, seed {self.seed})"
        if self.verdict == Outcome.UNDECIDED:
            if self.interval is None:
                return "undecided (out of time)"
            lo, hi = self.interval
            shown = self.interval_text or f"[{lo:.3g}, {hi:.3g}]"
            return f"undecided: the margin of {self.undecided_at} lies in {shown}, which contains 0"
        cx = self.counterexample
        return f"refuted (counterexample at dimension {cx.dim if cx else '?'}, seed {self.seed})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": str(self.verdict),
            "summary": self.summary,
            "statement": self.statement,
            "method": self.method,
            "trials": self.trials,
            "seed": self.seed,
            "dim": self.dim,
            "worst_margin": self.worst_margin,
            "tolerance": self.tolerance,
            "search": {
                "dims": list(self.search_dims),
                "candidates": self.search_candidates,
                "worst_margin": self.search_worst_margin,
            },
            "notes": list(self.notes),
        }
        if self.theorems:
            out["theorems"] = list(self.theorems)
        if self.interval is not None:
            lo, hi = self.interval
            out["interval"] = {"comparison": self.undecided_at, "lo": _finite(lo), "hi": _finite(hi), "text": self.interval_text}
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample.to_json()
        return out


def _jsonable(v: Any) -> Any:
    a = np.asarray(v)
    if np.iscomplexobj(a):
        if np.all(np.abs(a.imag) <= 1e-12 * np.maximum(1.0, np.abs(a))):
            a = a.real
        else:
            return [{"re": float(x.real), "im": float(x.imag)} for x in a.reshape(-1)]
    if a.ndim == 0:
        return float(a)
    return a.tolist()


def _number(x: complex | float, exact: bool = False) -> str:
    z = complex(x)
    if exact and z.imag == 0:
        text = repr(z.real + 0.0)
        return text[:-2] if text.endswith(".0") else text
    if abs(z.imag) <= 1e-12 * max(1.0, abs(z)):
        return f"{z.real + 0.0:.6g}"
    return f"{z.real + 0.0:.6g}{z.imag:+.6g}i"


def format_value(v: Any, exact: bool = False) -> str:
    """A value for the terminal: ``0.5``, a multiset ``{0, 2}``, a matrix ``[[1, 0], [0, 1]]``.
    ``exact``: the shortest decimal that reads back as the same double (a counterexample
    is certified on exactly what is printed); otherwise 6 significant digits."""
    a = np.asarray(v)
    if a.ndim == 0:
        return _number(a.item(), exact)
    if a.ndim == 1:
        return "{" + ", ".join(_number(x, exact) for x in a) + "}"
    return "[" + ", ".join("[" + ", ".join(_number(x, exact) for x in row) + "]" for row in a) + "]"


def _finite(x: float) -> float | None:
    return None if not math.isfinite(x) else x


def _counterexample(claim: Claim, inst: _Instance, seed: int, rng: np.random.Generator) -> Counterexample | None:
    batch = _run(claim, [inst], rng)
    if batch is None:
        return None
    decision = _certify(claim, inst)
    if decision.state != "violated":
        return None
    links = []
    for (a, op, b), ln in zip(claim.relation.links(), batch.links):
        links.append(
            LinkValue(
                g.render(a),
                op,
                g.render(b),
                _squeeze(ln.lhs[0]),
                _squeeze(ln.rhs[0]),
                float(ln.margin[0]),
                f"{g.render(a)} {op} {g.render(b)}" == decision.comparison,
            )
        )
    values = {_label(k): _squeeze(v) for k, v in inst.values.items()}
    return Counterexample(
        inst.d, dict(inst.ints), values, tuple(links), seed, float(batch.margin[0]), decision.interval, decision.digits
    )


def _squeeze(v: Any) -> Any:
    a = np.asarray(v)
    if a.ndim == 0:
        return complex(a) if np.iscomplexobj(a) else float(a)
    if a.ndim == 1 and np.iscomplexobj(a):
        return np.sort_complex(a)
    return np.sort(a) if a.ndim == 1 else a.copy()


def recheck(claim: Claim | str, cx: Counterexample) -> bool:
    """Evaluate the statement again on a counterexample's values: True if it is still
    violated and satisfies every constraint."""
    claim = parse(claim) if isinstance(claim, str) else claim
    values: dict[Key, Array] = {}
    for name, v in cx.values.items():
        base, _, sub = name.partition("_")
        key: Key = (base, (int(sub) if sub.isdigit() else sub) if sub else None)
        values[key] = np.asarray(v, dtype=float)
    inst = _Instance(cx.dim, dict(cx.integers), values, cx.margin)
    batch = _run(claim, [inst], np.random.default_rng(0))
    return batch is not None and _certify(claim, inst).state == "violated"


# =========================================================================== check


#: the default time budget of one statement, in seconds (`check(timeout=...)`, `--timeout`)
DEFAULT_TIMEOUT = 20.0
#: the prover's share of the time budget
PROVER_SHARE = 0.25
#: the recursion limit while a statement is checked: a 2,000-character statement nests at
#: most ~1,000 operations deep, a few frames each
_RECURSION_LIMIT = 20_000


@dataclass
class _Progress:
    """How far `check` got (what a timeout reports)."""

    stage: str = "parsing"
    claim: Claim | None = None
    method: str | None = None


def check(
    statement: str | Claim, *, trials: int = 200, seed: int = 0, dim: int | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Verdict:
    """Prove, check numerically, or refute a statement; ``undecided`` when certified
    arithmetic cannot tell or ``timeout`` seconds run out.

    ``trials`` seeded random instances are drawn at dimension ``dim`` (3 by default); if
    no proof is found and no trial fails, a counterexample is searched for at dimension
    ``dim`` or, by default, at 1, 2, 3 and 4. Every draw comes from
    ``numpy.random.default_rng`` seeded by ``seed``. Every decision (a counterexample, a
    statement without free symbols) is certified at the witness point (`_certify`).
    Raises `SymresError` on a malformed or too costly statement, or on constraints that
    no instance satisfies.
    """
    if not 1 <= trials <= MAX_TRIALS:
        raise SymresError(f"--trials must be between 1 and {MAX_TRIALS}")
    if dim is not None and not 1 <= dim <= 12:
        raise SymresError("--dim must be between 1 and 12")
    if not 0 < timeout <= 3600:
        raise SymresError("--timeout must be between 0 and 3600 seconds")
    progress = _Progress()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        with time_limit(timeout):
            return _check(statement, trials, seed, dim, timeout, progress)
    except OutOfTime:
        text = progress.claim.text if progress.claim else str(statement).strip()
        common = dict(statement=text, trials=trials, seed=seed, dim=dim or 3, worst_margin=None, tolerance=TOLERANCE)
        notes: tuple[str, ...] = (f"the time budget of {timeout:g} s ran out during {progress.stage}",)
        if progress.method is not None:
            notes += ("the numeric cross-check of the proof was cut short",)
            return Verdict(Outcome.PROVED, method=f"symbolic: {progress.method}", notes=notes, **common)  # type: ignore[arg-type]
        return Verdict(Outcome.UNDECIDED, method="out of time", notes=notes, **common)  # type: ignore[arg-type]
    finally:
        sys.setrecursionlimit(limit)


def _is_constant(claim: Claim) -> bool:
    """No symbol and no I: the statement is one number compared with another."""
    roots = [claim.relation, *(n for c in claim.statement.constraints for n in g._constraint_nodes(c))]
    return not claim.signature.kinds and not any(isinstance(n, (g.Name, g.Identity)) for root in roots for n in g._walk(root))


def _check_constant(claim: Claim, seed: int) -> Verdict:
    """A statement without symbols: decided by certified arithmetic alone."""
    inst = _Instance(1, {}, {}, 0.0)
    decision = _certify(claim, inst, constant=True)
    common = dict(statement=claim.text, trials=0, seed=seed, dim=1, worst_margin=None, tolerance=0.0)
    how = (
        f"certified arithmetic: both sides enclosed at {decision.digits} digits"
        if decision.digits
        else "certified arithmetic: exact rational arithmetic"
    )
    if decision.state == "holds":
        return Verdict(Outcome.PROVED, method=how, **common)  # type: ignore[arg-type]
    if decision.state == "violated":
        cx = _counterexample(claim, inst, seed, np.random.default_rng(seed))
        return Verdict(Outcome.REFUTED, method=how, counterexample=cx, **common)  # type: ignore[arg-type]
    if decision.state == "undecided":
        return Verdict(
            Outcome.UNDECIDED,
            method=how,
            interval=decision.interval,
            undecided_at=decision.comparison,
            interval_text=decision.text,
            **common,  # type: ignore[arg-type]
        )
    raise SymresError(f"cannot evaluate {claim.text!r} (a value is undefined, e.g. a division by zero)")


def _check(statement: str | Claim, trials: int, seed: int, dim: int | None, timeout: float, progress: _Progress) -> Verdict:
    claim = statement if isinstance(statement, Claim) else parse(statement)
    progress.claim = claim
    if _is_constant(claim):
        progress.stage = "certified evaluation"
        return _check_constant(claim, seed)
    progress.stage = "the symbolic prover"
    proof = _prove(claim, max(1.0, PROVER_SHARE * timeout))
    method, theorems = proof if proof is not None else (None, ())
    progress.method = method
    progress.stage = "the seeded trials"
    trial_dim = dim or 3
    rng = np.random.default_rng(seed)
    stats = _Stats()
    valid, violation = _run_trials(claim, trial_dim, trials, rng, stats)
    if valid == 0:
        raise SymresError(
            f"no random instance satisfies the constraints of {claim.text!r}; "
            "give bounds that can be met (e.g. norm(J) <= c with c >= 0)"
        )
    worst = _finite(stats.worst)
    search = _Stats()
    dims: tuple[int, ...] = (dim,) if dim else SEARCH_DIMS
    notes: list[str] = []
    if valid < trials:
        notes.append(f"{trials - valid} of {trials} trials were discarded (constraints unmet or values undefined)")
    searched: list[int] = []
    progress.stage = "the counterexample search"
    if violation is None and method is None:
        for d in dims:
            searched.append(d)
            violation = _search_dim(claim, d, seed, search)
            if violation is not None:
                break
    elif violation is not None and dim is None:
        for d in (x for x in dims if x < trial_dim):
            searched.append(d)
            smaller = _search_dim(claim, d, seed, search)
            if smaller is not None:
                violation = smaller
                break
    unconfirmed = stats.unconfirmed + search.unconfirmed
    if unconfirmed:
        notes.append(
            f"{unconfirmed} apparent violation(s) in double precision were not confirmed by certified arithmetic "
            "(floating-point error, or a premise broken by rounding) and were discarded"
        )
    common = dict(
        statement=claim.text,
        trials=trials,
        seed=seed,
        dim=trial_dim,
        worst_margin=worst,
        tolerance=claim.tolerance,
        search_candidates=search.candidates,
        search_worst_margin=_finite(search.worst),
    )
    if violation is None:
        if method is not None:
            return Verdict(
                Outcome.PROVED,
                method=f"{'theorems' if theorems else 'symbolic'}: {method}",
                notes=tuple(notes),
                theorems=theorems,
                **common,  # type: ignore[arg-type]
            )
        undecided = stats.undecided or search.undecided
        if undecided is not None:
            return Verdict(
                Outcome.UNDECIDED,
                method=f"certified arithmetic could not decide an instance at {undecided.digits} digits; no counterexample found",
                search_dims=tuple(searched),
                notes=tuple(notes),
                interval=undecided.interval,
                undecided_at=undecided.comparison,
                interval_text=undecided.text,
                **common,  # type: ignore[arg-type]
            )
        return Verdict(
            Outcome.HOLDS,
            method=(
                f"numeric: {trials} seeded trials at dimension {trial_dim}, then a counterexample search "
                f"(random, structured, optimised) at dimension {', '.join(map(str, dims))}; not a proof"
            ),
            search_dims=tuple(searched),
            notes=tuple(notes),
            **common,  # type: ignore[arg-type]
        )
    progress.stage = "minimising the counterexample"
    mrng = np.random.default_rng([seed, 99])
    small = _minimise(claim, violation, mrng)
    cx = _counterexample(claim, small, seed, mrng) or _counterexample(claim, violation, seed, mrng)
    if cx is None:  # cannot happen for a genuine violation; never report what did not re-verify
        raise SymresError("internal error: a counterexample did not re-verify")
    if method is not None:
        notes.append(f"a symbolic rule claimed a proof ({method}) but the numbers refute it: please report this")
    return Verdict(
        Outcome.REFUTED,
        method=(
            "counterexample, minimised and re-verified in certified arithmetic "
            f"({f'{cx.digits} digits' if cx.digits else 'exact rationals'}), premises included"
        ),
        search_dims=tuple(searched),
        counterexample=cx,
        notes=tuple(notes),
        **common,  # type: ignore[arg-type]
    )
