"""Batches, integers, instances, the counterexample search and its minimisation.

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from symres import grammar as g
from symres.claims.certify import MAX_NEAR, MAX_UNCONFIRMED, _certify, _Decision
from symres.claims.functions import safe
from symres.claims.model import DEFAULT_INT_RANGE, Array, Claim, Key, _bindings, _match
from symres.claims.sampling import _Env, _expand, _LinkEval, _margin, _Missing
from symres.errors import SymresError

# =========================================================================== batches


@dataclass
class _Batch:
    env: _Env
    links: list[_LinkEval]
    margin: Array
    violated: Array  # valid, and the float screen sees a violation
    valid: Array
    near: Array  # valid, and too close to call in floats


def _evaluate(
    claim: Claim,
    d: int,
    ints: Mapping[str, int],
    t: int,
    rng: np.random.Generator,
    proposals: Mapping[Key, Array] | None = None,
    *,
    project: bool = True,
    fixed_only: bool = False,
) -> _Batch:
    """Evaluate the relation and the constraints on a batch of T trials."""
    env = _Env(claim, d, t, ints, rng, proposals, project=project, fixed_only=fixed_only)
    sig = claim.signature
    with np.errstate(all="ignore"):
        links = []
        for a, op, b in claim.relation.links():
            va, vb = env.eval(a, {}), env.eval(b, {})
            links.append(_margin(va, sig.kind(a), op, vb, sig.kind(b), claim.tolerance, b.col))
        feasible = _feasible(claim, env)
    margin = np.min([ln.margin for ln in links], axis=0)
    valid = feasible
    violated = np.any([ln.violated for ln in links], axis=0) & valid
    near = np.any([ln.near for ln in links], axis=0) & valid & ~violated
    return _Batch(env, links, margin, violated, valid, near)


def _feasible(claim: Claim, env: _Env) -> Array:
    """Which trials satisfy every constraint (within the tolerance)."""
    ok = np.ones(env.t, dtype=bool)
    sig, tol = claim.signature, max(claim.tolerance, 1e-8)
    for a, op, b in claim.rules.links:
        for binding in _bindings(env.cache, (a, b)):
            ln = _margin(env.eval(a, binding), sig.kind(a), op, env.eval(b, binding), sig.kind(b), tol, b.col)
            margin = np.nan_to_num(ln.margin, nan=-np.inf)
            ok &= (margin > 0) if op in ("<", ">") else (margin >= -tol)  # strict constraints hold strictly
    keys = list(env.cache)
    for name, prop in claim.rules.props:
        for key in keys:
            if _match(name, key) is not None:
                ok &= _has_property(env.cache[key], prop, tol)
    for names in claim.rules.commute:
        members = [k for k in keys if any(_match(n, k) is not None for n in names)]
        for k1, k2 in itertools.combinations(members, 2):
            x, y = env.cache[k1], env.cache[k2]
            scale = np.maximum(1.0, np.abs(x).max(axis=(-2, -1)) * np.abs(y).max(axis=(-2, -1)))
            ok &= np.abs(x @ y - y @ x).max(axis=(-2, -1)) <= tol * 10 * scale
    for m in claim.rules.ranges:
        for key in keys:
            found = _match(m.subject, key)
            if found is not None:
                v = env.cache[key]
                lo = _expand(np.broadcast_to(env.eval(m.lo, found), (env.t,)), v.ndim)
                hi = _expand(np.broadcast_to(env.eval(m.hi, found), (env.t,)), v.ndim)
                inside = (v >= lo - tol) & (v <= hi + tol)
                ok &= inside.reshape(env.t, -1).all(axis=1)
    return ok


def _has_property(x: Array, prop: str, tol: float) -> Array:
    scale = np.maximum(1.0, np.abs(x).max(axis=(-2, -1)))
    xt = np.swapaxes(x, -1, -2)
    d = x.shape[-1]
    off = np.abs(x * (1 - np.eye(d))).max(axis=(-2, -1))
    if prop == "diagonal":
        return off <= tol * scale
    if prop == "symmetric":
        return np.abs(x - xt).max(axis=(-2, -1)) <= tol * scale
    if prop == "skew":
        return np.abs(x + xt).max(axis=(-2, -1)) <= tol * scale
    if prop == "psd":
        sym = np.abs(x - xt).max(axis=(-2, -1)) <= tol * scale
        return sym & (safe((x + xt) / 2, np.linalg.eigvalsh).min(axis=-1) >= -tol * scale)
    if prop == "orthogonal":
        return np.abs(xt @ x - np.eye(d)).max(axis=(-2, -1)) <= tol * 10
    if prop == "nilpotent":
        return np.abs(np.linalg.matrix_power(x / scale[:, None, None], d)).max(axis=(-2, -1)) <= tol * 10
    raise SymresError(f"unknown property {prop}")


# =========================================================================== integers


def _int_value(node: g.Node, ints: Mapping[str, int]) -> Fraction:
    """Exact value of a bound such as ``100`` or ``L - 1`` from the integers known so far."""
    if isinstance(node, g.Num):
        return node.value
    if isinstance(node, g.Name) and node.sub is None and node.base in ints:
        return Fraction(ints[node.base])
    if isinstance(node, g.Neg):
        return -_int_value(node.arg, ints)
    if isinstance(node, g.BinOp):
        a, b = _int_value(node.left, ints), _int_value(node.right, ints)
        if node.op == "/" and b == 0:
            raise SymresError(f"malformed statement, column {node.col}: division by zero")
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[node.op]
    if isinstance(node, g.Pow):
        e = _int_value(node.exp, ints)
        if e.denominator == 1 and abs(e) <= 64:
            return _int_value(node.base, ints) ** int(e)
    raise _NeedsInts(node)


class _NeedsInts(Exception):
    def __init__(self, node: g.Node) -> None:
        super().__init__(node)
        self.node = node


@dataclass(frozen=True)
class _IntDomain:
    name: str
    fixed: g.Node | None  # L = 100
    lows: tuple[tuple[g.Node, bool], ...]
    highs: tuple[tuple[g.Node, bool], ...]

    def interval(self, ints: Mapping[str, int]) -> tuple[int, int]:
        lo = max((_int_bound(n, ints, strict, True) for n, strict in self.lows), default=None)
        hi = min((_int_bound(n, ints, strict, False) for n, strict in self.highs), default=None)
        if lo is None:
            lo = DEFAULT_INT_RANGE[0] if hi is None or hi >= DEFAULT_INT_RANGE[0] else hi - 5
        if hi is None:
            hi = lo + (DEFAULT_INT_RANGE[1] - DEFAULT_INT_RANGE[0])
        if lo > hi:
            raise SymresError(f"no whole number {self.name} satisfies the constraints ({lo} > {hi})")
        return lo, hi


def _int_bound(node: g.Node, ints: Mapping[str, int], strict: bool, lower: bool) -> int:
    try:
        v = _int_value(node, ints)
    except _NeedsInts as exc:
        raise SymresError(f"malformed statement, column {exc.node.col}: a bound on an integer must be a whole number") from None
    if lower:
        n = math.ceil(v)
        return n + 1 if strict and n == v else n
    n = math.floor(v)
    return n - 1 if strict and n == v else n


def _int_domains(claim: Claim) -> list[_IntDomain]:
    out = []
    for name in sorted(claim.signature.integers):
        fixed = next((d.expr for d in claim.rules.defs if d.target.base == name and d.target.sub is None), None)
        lows = tuple((b.expr, b.strict) for b in claim.rules.bounds if b.target.base == name and not b.upper)
        highs = tuple((b.expr, b.strict) for b in claim.rules.bounds if b.target.base == name and b.upper)
        out.append(_IntDomain(name, fixed, lows, highs))
    return out


def _resolve_ints(domains: Sequence[_IntDomain], free: Mapping[str, int]) -> dict[str, int]:
    """The values of every integer: the free ones given, the defined ones computed."""
    ints = dict(free)
    pending = [dm for dm in domains if dm.fixed is not None]
    for _ in range(len(pending) + 1):
        left = []
        for dm in pending:
            assert dm.fixed is not None
            try:
                v = _int_value(dm.fixed, ints)
            except _NeedsInts:
                left.append(dm)
                continue
            if v.denominator != 1:
                raise SymresError(f"{dm.name} must be a whole number, not {v}")
            ints[dm.name] = int(v)
        pending = left
    if pending:
        raise SymresError(f"cannot work out the integer {pending[0].name} from the constraints")
    return ints


def _draw_ints(claim: Claim, t: int, rng: np.random.Generator) -> list[tuple[dict[str, int], Array]]:
    """Integer values per trial, grouped: [(values, trial indices), ...]."""
    domains = _int_domains(claim)
    free = [dm for dm in domains if dm.fixed is None]
    if not domains:
        return [({}, np.arange(t))]
    columns = []
    for i, dm in enumerate(free):
        lo, hi = dm.interval({})
        col = rng.integers(lo, hi + 1, size=t)
        col[(np.arange(t) + i) % 7 == 0] = lo
        col[(np.arange(t) + i) % 7 == 1] = hi
        columns.append(col)
    table = np.stack(columns, axis=1) if columns else np.zeros((t, 0), dtype=int)
    groups = []
    for row in np.unique(table, axis=0):
        idx = np.nonzero(np.all(table == row, axis=1))[0]
        values = _resolve_ints(domains, {dm.name: int(v) for dm, v in zip(free, row)})
        groups.append((values, idx))
    return groups


def _int_choices(claim: Claim) -> list[dict[str, int]]:
    """A few integer settings for the structured search: each free integer at its lower
    end, one above it, and its upper end (smallest first)."""
    domains = _int_domains(claim)
    free = [dm for dm in domains if dm.fixed is None]
    options = []
    for dm in free:
        lo, hi = dm.interval({})
        options.append(sorted({lo, min(lo + 1, hi), hi}))
    combos = sorted(itertools.product(*options), key=lambda c: (sum(c), c))
    return [_resolve_ints(domains, {dm.name: int(v) for dm, v in zip(free, combo)}) for combo in combos]


# =========================================================================== instances


@dataclass
class _Instance:
    """One concrete assignment of every free symbol (no trial axis)."""

    d: int
    ints: dict[str, int]
    values: dict[Key, Array]
    margin: float


@dataclass
class _Stats:
    candidates: int = 0
    worst: float = math.inf
    unconfirmed: int = 0
    near: int = 0
    undecided: _Decision | None = None  # the first point certified arithmetic could not decide

    def see(self, batch: _Batch) -> None:
        self.candidates += batch.env.t
        m = batch.margin[batch.valid]
        m = m[np.isfinite(m)]
        if m.size:
            self.worst = min(self.worst, float(m.min()))

    def decide(self, claim: Claim, inst: _Instance) -> _Decision:
        """`_certify` at one instance, remembering the first undecided one."""
        got = _certify(claim, inst)
        if got.state == "undecided" and self.undecided is None:
            self.undecided = got
        return got


def _take(batch: _Batch, i: int, d: int, ints: Mapping[str, int]) -> _Instance:
    values = {k: np.array(batch.env.cache[k][i], dtype=float) for k in batch.env.free}
    return _Instance(d, dict(ints), values, float(batch.margin[i]))


def _best(batch: _Batch, d: int, ints: Mapping[str, int], mask: Array, n: int = 1) -> list[_Instance]:
    idx = np.nonzero(mask)[0]
    if idx.size == 0:
        return []
    order = idx[np.argsort(batch.margin[idx], kind="stable")[:n]]
    return [_take(batch, int(i), d, ints) for i in order]


def _first_confirmed(
    claim: Claim, batch: _Batch, d: int, ints: Mapping[str, int], stats: _Stats, *, by_margin: bool = True, limit: int = 10
) -> _Instance | None:
    """The first trial of a batch that certified arithmetic shows violating: the float
    violations first (worst margin first), then a few near ties."""
    idx = np.nonzero(batch.violated)[0]
    if by_margin:
        idx = idx[np.argsort(batch.margin[idx], kind="stable")]
    limit = min(limit, MAX_UNCONFIRMED - stats.unconfirmed)
    for i in idx[: max(limit, 0)]:
        inst = _take(batch, int(i), d, ints)
        if stats.decide(claim, inst).state == "violated":
            return inst
        stats.unconfirmed += 1
    near = np.nonzero(batch.near)[0][: max(0, min(3, MAX_NEAR - stats.near))]
    for i in near:
        stats.near += 1
        inst = _take(batch, int(i), d, ints)
        if stats.decide(claim, inst).state == "violated":
            return inst
    return None


def _run(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator, *, project: bool = False) -> _Batch | None:
    """Evaluate instances sharing d, integers and symbols in one batch (None if one lacks a symbol)."""
    first = cands[0]
    proposals = {k: np.stack([c.values[k] for c in cands]) for k in first.values}
    try:
        return _evaluate(claim, first.d, first.ints, len(cands), rng, proposals, project=project, fixed_only=True)
    except _Missing:
        return None


# =========================================================================== search


RANDOM_DRAWS = 256
MAX_STRUCTURED = 1500
OPT_PARENTS = 3
OPT_ITERATIONS = 20
OPT_CHILDREN = 24
#: a family with at most this many members gets independent structured candidates
UNTIED_MEMBERS = 3


def _run_trials(claim: Claim, d: int, t: int, rng: np.random.Generator, stats: _Stats) -> tuple[int, _Instance | None]:
    """The seeded trials: returns (number of valid trials, the first violation or None)."""
    valid = 0
    violation: _Instance | None = None
    for ints, idx in _draw_ints(claim, t, rng):
        batch = _evaluate(claim, d, ints, len(idx), rng)
        stats.see(batch)
        valid += int(batch.valid.sum())
        if violation is None and (batch.violated.any() or batch.near.any()):
            violation = _first_confirmed(claim, batch, d, ints, stats)
    return valid, violation


def _search_dim(claim: Claim, d: int, seed: int, stats: _Stats) -> _Instance | None:
    """Random draws, then structured candidates, then local optimisation, at dimension d."""
    rng = np.random.default_rng([seed, d, 7])
    pool: list[_Instance] = []
    random_hit: _Instance | None = None
    for ints, idx in _draw_ints(claim, RANDOM_DRAWS, rng):
        batch = _evaluate(claim, d, ints, len(idx), rng)
        stats.see(batch)
        pool += _best(batch, d, ints, batch.valid & ~batch.violated, OPT_PARENTS)
        if random_hit is None and (batch.violated.any() or batch.near.any()):
            random_hit = _first_confirmed(claim, batch, d, ints, stats)
    structured_hit = _structured_search(claim, d, rng, stats, pool)
    if structured_hit is not None:  # preferred: structured candidates are the simplest
        return structured_hit
    if random_hit is not None:
        return random_hit
    pool.sort(key=lambda inst: inst.margin)
    return _optimise(claim, pool[:OPT_PARENTS], rng, stats)


def _matrix_shapes(d: int) -> list[Array]:
    eye = np.eye(d)
    e11 = np.zeros((d, d))
    e11[0, 0] = 1.0
    shapes = [np.zeros((d, d)), eye, -eye, e11, -e11]
    if d >= 2:
        rot = np.eye(d)
        rot[:2, :2] = [[0.0, -1.0], [1.0, 0.0]]
        e12 = np.zeros((d, d))
        e12[0, 1] = 1.0
        shift = np.eye(d, k=1)
        refl = np.eye(d)
        refl[1, 1] = -1.0
        half = np.eye(d)
        half[:2, :2] = [[math.sqrt(0.5), -math.sqrt(0.5)], [math.sqrt(0.5), math.sqrt(0.5)]]
        shapes += [rot, rot.T, e12, e12.T, shift, shift.T, refl, -refl, half]
    shapes.append(np.ones((d, d)) / d)
    return shapes


def _vector_shapes(d: int) -> list[Array]:
    e1 = np.zeros((d, 1))
    e1[0, 0] = 1.0
    shapes = [np.zeros((d, 1)), e1, -e1, np.ones((d, 1)) / math.sqrt(d)]
    if d >= 2:
        e2 = np.zeros((d, 1))
        e2[1, 0] = 1.0
        shapes.append(e2)
    return shapes


def _bounded(claim: Claim, key: Key, on_norm: bool) -> tuple[bool, bool]:
    """Whether ``key`` (or its norm) has a lower / an upper bound in the constraints."""
    lo = hi = False
    for b in claim.rules.bounds:
        if b.on_norm == on_norm and _match(b.target, key) is not None:
            hi |= b.upper
            lo |= not b.upper
    if not on_norm:
        if any(_match(m.subject, key) is not None for m in claim.rules.ranges):
            lo = hi = True
    return lo, hi


def _candidates(claim: Claim, d: int, key: Key) -> Array:
    kind = claim.signature.kinds[key[0]]
    probe = (key[0], 1) if key[1] == "*" else key
    if kind is g.Kind.SCALAR:
        lo, hi = _bounded(claim, probe, on_norm=False)
        values = [0.0, 1.0, -1.0, 0.5, 2.0, -0.5] + ([-1e6] if lo else []) + ([1e6] if hi else [])
        return np.array(values)
    shapes = _matrix_shapes(d) if kind is g.Kind.MATRIX else _vector_shapes(d)
    _, hi = _bounded(claim, probe, on_norm=True)
    scales = (1e6, 1.0, 0.5) if hi else (1.0, 0.5, 2.0)
    return np.stack([s * m for s in scales for m in shapes])


def _combos(sizes: Sequence[int], rng: np.random.Generator) -> Array:
    """Index tuples into each candidate list, simplest (smallest indices) first."""
    total = math.prod(sizes)
    if total <= MAX_STRUCTURED:
        combos = np.array(list(itertools.product(*[range(n) for n in sizes])), dtype=int).reshape(-1, len(sizes))
    else:
        tied = [[i % n for n in sizes] for i in range(max(sizes))]
        rand = rng.integers(0, np.array(sizes), size=(MAX_STRUCTURED - len(tied), len(sizes)))
        combos = np.unique(np.concatenate([np.array(tied, dtype=int), rand]), axis=0)
    order = np.lexsort(combos.T[::-1])
    combos = combos[order]
    return combos[np.argsort(combos.sum(axis=1), kind="stable")]


def _structured_search(claim: Claim, d: int, rng: np.random.Generator, stats: _Stats, pool: list[_Instance]) -> _Instance | None:
    """±cI, rotations, rank-one and nilpotent matrices (every member of a family J_1..J_L
    tied to the same one), with the scalars at 0, ±1 and their bounds."""
    for ints in _int_choices(claim):
        probe = _evaluate(claim, d, ints, 1, rng)
        members: dict[str, int] = {}
        for base, sub in probe.env.free:
            members[base] = members.get(base, 0) + isinstance(sub, int)
        groups: list[Key] = []
        for base, sub in probe.env.free:
            tie = isinstance(sub, int) and members[base] > UNTIED_MEMBERS
            gk: Key = (base, "*") if tie else (base, sub)
            if gk not in groups:
                groups.append(gk)
        if not groups:
            continue
        lists = [_candidates(claim, d, gk) for gk in groups]
        combos = _combos([len(c) for c in lists], rng)
        proposals = {gk: lists[j][combos[:, j]] for j, gk in enumerate(groups)}
        try:
            batch = _evaluate(claim, d, ints, len(combos), rng, proposals, project=True, fixed_only=True)
        except _Missing:
            continue
        stats.see(batch)
        pool += _best(batch, d, ints, batch.valid & ~batch.violated, OPT_PARENTS)
        hit = _first_confirmed(claim, batch, d, ints, stats, by_margin=False, limit=20)
        if hit is not None:
            return hit
    return None


def _optimise(claim: Claim, parents: Sequence[_Instance], rng: np.random.Generator, stats: _Stats) -> _Instance | None:
    """Lower the margin from the best instances so far by a (1+λ) evolution strategy,
    batched: λ perturbed copies per step, pulled back onto the constraints."""
    for parent in parents:
        current, sigma = parent, 0.5
        for _ in range(OPT_ITERATIONS):
            proposals = {}
            for key, v in current.values.items():
                scale = max(float(np.abs(v).max(initial=0.0)), 0.1)
                proposals[key] = v[None] + sigma * scale * rng.standard_normal((OPT_CHILDREN,) + v.shape)
            try:
                batch = _evaluate(claim, current.d, current.ints, OPT_CHILDREN, rng, proposals, project=True, fixed_only=True)
            except _Missing:
                break
            stats.see(batch)
            if batch.violated.any() or batch.near.any():
                hit = _first_confirmed(claim, batch, current.d, current.ints, stats, limit=3)
                if hit is not None:
                    return hit
            best = _best(batch, current.d, current.ints, batch.valid & ~batch.violated)
            if best and best[0].margin < current.margin:
                current, sigma = best[0], sigma * 1.5
            else:
                sigma *= 0.5
            if sigma < 1e-3:
                break
    return None


# =========================================================================== minimising


def _verified(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator) -> list[_Instance | None]:
    """Evaluate exact candidates (no projection) in double precision: each is returned,
    trimmed to the symbols it uses, if it is still a counterexample that satisfies the
    constraints."""
    if not cands:
        return []
    batch = _run(claim, cands, rng)
    if batch is None:
        return [None] * len(cands)
    out: list[_Instance | None] = []
    for i, c in enumerate(cands):
        out.append(_take(batch, i, c.d, c.ints) if (batch.violated[i] or batch.near[i]) else None)
    return out


def _first_good(claim: Claim, cands: Sequence[_Instance], rng: np.random.Generator) -> _Instance | None:
    """The first candidate that is a counterexample in double precision and in certified arithmetic."""
    for got in _verified(claim, cands, rng):
        if got is not None and _certify(claim, got).state == "violated":
            return got
    return None


def _minimise(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    """Make a counterexample small: lower the integers, tie the members of a family,
    round the entries, and zero the entries that are not needed."""
    checked = _first_good(claim, [inst], rng)
    if checked is None:  # should not happen: it was found violating and confirmed
        return inst
    inst = checked
    inst = _shrink_ints(claim, inst, rng)
    inst = _tie_families(claim, inst, rng)
    inst = _round(claim, inst, rng)
    inst = _signs(claim, inst, rng)
    return _zero_entries(claim, inst, rng)


def _shrink_ints(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    domains = _int_domains(claim)
    for dm in domains:
        if dm.fixed is not None:
            continue
        lo, _ = dm.interval({})
        free = {x.name: inst.ints[x.name] for x in domains if x.fixed is None}
        for v in range(lo, inst.ints[dm.name]):
            ints = _resolve_ints(domains, {**free, dm.name: v})
            got = _first_good(claim, [_Instance(inst.d, ints, inst.values, inst.margin)], rng)
            if got is not None:
                inst = got
                break
    return inst


def _families(inst: _Instance) -> dict[str, list[Key]]:
    fam: dict[str, list[Key]] = {}
    for key in inst.values:
        if isinstance(key[1], int):
            fam.setdefault(key[0], []).append(key)
    return {b: ks for b, ks in fam.items() if len(ks) > 1}


def _tie_families(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    for _base, keys in _families(inst).items():
        if all(np.array_equal(inst.values[k], inst.values[keys[0]]) for k in keys):
            continue
        cands = []
        for src in keys:
            values = dict(inst.values)
            values.update({k: inst.values[src] for k in keys})
            cands.append(_Instance(inst.d, inst.ints, values, inst.margin))
        got = _first_good(claim, cands, rng)
        if got is not None:
            inst = got
    return inst


def _round(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    cands = [
        _Instance(inst.d, inst.ints, {k: np.round(v, digits) + 0.0 for k, v in inst.values.items()}, inst.margin)
        for digits in range(0, 9)
    ]
    return _first_good(claim, cands, rng) or inst


def _signs(claim: Claim, inst: _Instance, rng: np.random.Generator) -> _Instance:
    """Try entries in {-1, 0, 1}: all symbols at once, then one unit at a time."""

    def signed(base: _Instance, keys: Sequence[Key]) -> _Instance:
        values = dict(base.values)
        values.update({k: np.sign(values[k]) + 0.0 for k in keys})
        return _Instance(base.d, base.ints, values, base.margin)

    got = _first_good(claim, [signed(inst, list(inst.values))], rng)
    if got is not None:
        return got
    for unit in _units(inst):
        if np.array_equal(np.sign(inst.values[unit[0]]), inst.values[unit[0]]):
            continue
        got = _first_good(claim, [signed(inst, unit)], rng)
        if got is not None:
            inst = got
    return inst


def _units(inst: _Instance) -> list[list[Key]]:
    """Symbols that move together: a family whose members are all equal is one unit."""
    units: list[list[Key]] = []
    tied: set[Key] = set()
    for keys in _families(inst).values():
        if all(np.array_equal(inst.values[k], inst.values[keys[0]]) for k in keys):
            units.append(keys)
            tied.update(keys)
    units += [[k] for k in inst.values if k not in tied]
    return units


def _zero_entries(claim: Claim, inst: _Instance, rng: np.random.Generator, budget: int = 40) -> _Instance:
    def zeroed(base: _Instance, unit: list[Key], index: tuple[int, ...]) -> _Instance:
        values = dict(base.values)
        for k in unit:
            v = values[k].copy()
            v[index] = 0.0
            values[k] = v
        return _Instance(base.d, base.ints, values, base.margin)

    moves: list[tuple[list[Key], tuple[int, ...]]] = []
    for unit in _units(inst):
        v = inst.values[unit[0]]
        if v.ndim == 0:
            if v != 0:
                moves.append((unit, ()))
        else:
            moves += [(unit, tuple(int(i) for i in ix)) for ix in zip(*np.nonzero(v))]
    if not moves or len(moves) > 400:
        return inst
    singles = _verified(claim, [zeroed(inst, u, ix) for u, ix in moves], rng)
    for (unit, index), ok in zip(moves, singles):
        if ok is None or budget <= 0:
            continue
        budget -= 1
        got = _first_good(claim, [zeroed(inst, unit, index)], rng)
        if got is not None:
            inst = got
    return inst
