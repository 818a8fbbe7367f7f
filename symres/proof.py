"""Proofs: a chain of (in)equalities with reasons, each step checked and marked how.

A `Proof` has a title, its assumptions, an ordered chain of `Step`s and a conclusion.
`Proof.check()` runs every step's verifier and records a `Check` on it: `symbolic`
(SymPy showed the two sides equal) or `numeric` (both sides lambdified once and
compared on seeded random instances, derivatives by central finite differences).
A failed step keeps the seed and the instance that breaks it.

This is the one model of evidence of the package (DESIGN.md): blocks, stacks, the
path counts (`symres.paths.closed_form`), the theorem library (`symres.theorems`) and the
derivation library (`symres.verify`) all produce Proofs of Steps with Checks, and a
Check's `verdict` (proved, holds, refuted, undecided, failed) is computed from it, in
one place, never typed in.

Printers (`symres.latex`, the CLI) read a Proof; they add no mathematics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sympy import Basic

__all__ = ["Check", "Step", "Proof", "Point", "Verifier", "PROOF_METHODS", "VERDICT_ORDER"]

#: the methods whose passing Check is a proof; a passing Check by any other method
#: ("numeric") is evidence only, and gives the verdict "holds"
PROOF_METHODS = frozenset({"symbolic", "definition", "exact", "theorem", "certified"})

#: how several verdicts combine, the first that occurs deciding: a refutation outweighs
#: everything, a failed check a mere lack of decision, experimental evidence numeric
#: evidence, and numeric evidence a proof
VERDICT_ORDER = ("refuted", "contradicted", "failed", "undecided", "observed", "holds", "proved")


@dataclass(frozen=True)
class Check:
    """How one step was verified, and the outcome.

    ``method`` is one of ``"symbolic"`` (SymPy showed it), ``"exact"`` (exact integer or
    rational arithmetic, e.g. a count by enumeration), ``"theorem"`` (named theorems applied,
    listed in ``numbers["theorems"]``), ``"certified"`` (interval arithmetic),
    ``"definition"`` (true by definition), or ``"numeric"`` (seeded random trials: evidence,
    not proof). ``numbers`` holds the named values that decided the check (the counts
    compared, the SymPy residual, the worst margin, …), JSON-ready. ``decided`` is False when
    the check could not tell (too close to call): its verdict is then ``undecided``.
    """

    method: str
    passed: bool
    detail: str = ""  # what SymPy returned, or how the numbers were compared
    trials: int = 0
    max_error: float = 0.0
    tolerance: float = 0.0
    seed: int | None = None
    instance: dict[str, Any] | None = None  # the breaking instance, when failed
    numbers: Mapping[str, Any] = field(default_factory=dict, hash=False)
    decided: bool = True

    @property
    def verdict(self) -> str:
        """What the check establishes: ``proved`` (passed by a method of `PROOF_METHODS`),
        ``holds`` (passed numerically), ``refuted`` (failed, with the breaking instance),
        ``undecided`` (could not tell), ``failed`` (failed without an instance)."""
        if not self.decided:
            return "undecided"
        if self.passed:
            return "proved" if self.method in PROOF_METHODS else "holds"
        return "refuted" if self.instance is not None else "failed"

    @property
    def mark(self) -> str:
        """A short mark for the margin: how the step was checked."""
        err = "0" if self.max_error == 0 else f"{self.max_error:.0e}"
        margin = self.numbers.get("worst_margin")
        if self.method == "numeric" and margin is not None:  # a comparison (symres.claims)
            return f"numeric, {self.trials} pts, margin {margin:.0e}"
        if self.method == "numeric":
            return f"numeric, {self.trials} pts, err {err}"
        if self.method in ("symbolic", "exact") and self.trials:
            what = f"{self.trials} cases" if self.method == "exact" else f"numeric {self.trials} pts, err {err}"
            return f"{self.method}; {what}"
        if not self.decided:
            return f"{self.method}, undecided"
        return "given" if self.method == "definition" else self.method

    def summary(self, *, failed: str = "FAILED") -> str:
        """The check in a sentence; `failed` is the word for a failed check (a printer of an
        expected refutation passes "refuted")."""
        verdict = "passed" if self.passed else failed if self.decided else "undecided"
        if self.method == "exact":
            cases = f": {self.trials} cases" if self.trials else ""
            return f"exactly ({self.detail}){cases}: {verdict}"
        if self.method == "theorem":
            return f"by theorems ({self.detail}): {verdict}"
        if self.method == "numeric" and self.trials and self.numbers.get("worst_margin") is not None:  # symres.claims
            return (
                f"numerically ({self.detail}): {self.trials} points, worst margin {self.numbers['worst_margin']:.1e}, "
                f"seed {self.seed}: {verdict}"
            )
        if self.method == "numeric" and self.trials:
            return (
                f"numerically ({self.detail}): {self.trials} points, max rel. error {self.max_error:.1e} "
                f"(tolerance {self.tolerance:.0e}), seed {self.seed}: {verdict}"
            )
        if self.method == "symbolic" and self.trials:
            return (
                f"symbolically ({self.detail}) and numerically: {self.trials} points, max rel. error "
                f"{self.max_error:.1e} (tolerance {self.tolerance:.0e}), seed {self.seed}: {verdict}"
            )
        if self.method == "symbolic":
            return f"symbolically ({self.detail}): {verdict}"
        return f"{self.method}: {self.detail}" if self.decided else f"{self.method} ({self.detail}): {verdict}"

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON-ready data: method, passed, detail; the trials, error, tolerance
        and seed when there were trials; the breaking instance; the named numbers; and
        ``decided: false`` when the check could not tell."""
        out: dict[str, Any] = {"method": self.method, "passed": self.passed, "detail": self.detail}
        if self.trials:
            out.update(trials=self.trials, max_error=self.max_error, tolerance=self.tolerance, seed=self.seed)
        if self.instance is not None:
            out["instance"] = self.instance
        if self.numbers:
            out["numbers"] = dict(self.numbers)
        if not self.decided:
            out["decided"] = False
        return out


#: verifier(trials, seed) -> Check
Verifier = Callable[[int, int], Check]


@dataclass(frozen=True)
class Step:
    """`lhs relation rhs` because of `reason`; lhs None continues the previous line.

    The sides are SymPy expressions or LaTeX strings. A step with ``prose=True`` states its
    claim in words (or in the `symres check` grammar) in ``rhs``, with no lhs and no
    relation: printers set it as text, not as mathematics.
    """

    rhs: Basic | str
    reason: str
    lhs: Basic | str | None = None
    relation: str = "="
    verifier: Verifier | None = field(default=None, repr=False, compare=False)
    check: Check | None = None
    short: str = ""  # the reason in a few words, for the margin of an align*
    prose: bool = False

    @classmethod
    def claim(cls, statement: str, reason: str, check: Check | None = None) -> Step:
        """A step whose claim is a statement in words or in the `symres check` grammar."""
        return cls(rhs=statement, reason=reason, relation="", check=check, prose=True)


@dataclass(frozen=True)
class Proof:
    """A derivation: `steps` lead from the statement's left side to its right side.

    `conclusion` is LaTeX, or words when `conclusion_prose`.
    `result` is the final expression (for a block: the Jacobian ∂y/∂x), `facts` are
    further checked statements drawn from it (e.g. "the identity term is ungated"),
    and `meta` carries what printers need (block name, forward expression, …).
    """

    title: str
    assumptions: tuple[str, ...]
    steps: tuple[Step, ...]
    conclusion: str
    result: Basic | None = None
    facts: tuple[Step, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    final_check: Verifier | None = field(default=None, repr=False, compare=False)
    final: Check | None = None
    conclusion_prose: bool = False  # the conclusion is in words (printed as text), not LaTeX

    def check(self, *, trials: int = 200, seed: int = 0) -> Proof:
        """A copy with every step (and the final result) checked."""
        steps = tuple(_run(s, trials, seed) for s in self.steps)
        facts = tuple(_run(s, trials, seed) for s in self.facts)
        final = self.final_check(trials, seed) if self.final_check else self.final
        return replace(self, steps=steps, facts=facts, final=final)

    @property
    def checked(self) -> bool:
        return all(s.check is not None for s in (*self.steps, *self.facts) if s.verifier is not None)

    @property
    def passed(self) -> bool:
        """True when every step that has a check passed it (and the final check passed)."""
        parts = [s.check for s in (*self.steps, *self.facts)] + [self.final]
        return self.checked and all(c.passed for c in parts if c is not None)

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every Check of the proof: the steps', the facts', then the final one."""
        found = [s.check for s in (*self.steps, *self.facts)] + [self.final]
        return tuple(c for c in found if c is not None)

    @property
    def verdict(self) -> str:
        """What the proof establishes, from its Checks (see `Check.verdict`): the first of
        `VERDICT_ORDER` among theirs for refuted, failed, undecided (an unchecked step with a
        verifier: failed); else ``proved`` when every step's check is by a method of
        `PROOF_METHODS` or the proof is a rule-by-rule derivation (``meta["derived"]``; the
        final check then only confirms it), ``holds`` otherwise."""
        verdicts = {c.verdict for c in self.checks}
        for v in VERDICT_ORDER:  # a Check is never observed/contradicted (experiments are not Checks)
            if v in verdicts and v in ("refuted", "failed", "undecided"):
                return v
        if not self.checked:
            return "failed"
        methods = {s.check.method for s in (*self.steps, *self.facts) if s.check is not None}
        return "proved" if self.meta.get("derived") or methods <= PROOF_METHODS else "holds"

    @property
    def is_statement(self) -> bool:
        """A single statement put to a test (no assumptions, one step that stands alone):
        printers show it compactly, as the statement, its note and its verdict."""
        return not self.assumptions and not self.facts and len(self.steps) == 1 and self.steps[0].lhs is None

    @classmethod
    def statement(cls, title: str, statement: str, check: Check, note: str = "", *, prose: bool = False) -> Proof:
        """A statement (LaTeX, or words with ``prose=True``) decided by one `check`: a Proof of
        one step whose reason is `note`; its verdict is the check's."""
        step = Step(rhs=statement, reason=note, relation="", check=check, prose=prose)
        return cls(title=title, assumptions=(), steps=(step,), conclusion=statement, conclusion_prose=prose)

    def __repr__(self) -> str:
        state = "unchecked" if not self.checked else "passed" if self.passed else "FAILED"
        return f"<Proof {self.title!r}: {len(self.steps)} steps, {state}>"

    def at(self, **values: Any) -> Point:
        """A derived block evaluated at one point: its output y and Jacobian ∂y/∂x
        (numerator layout), and the kinks where an activation's derivative was taken
        exactly at a non-differentiable point (with the convention used there).

        Give every symbol of the block by name (`W_1` or `W1`): a NumPy array (or nested
        list) of the symbol's shape — a 1-D array for a vector — a number, or a string as
        `symres derive --let` reads it (`I`, `0`, `-1,1`, `1,0;0,1`).

        >>> import numpy as np, symres
        >>> pt = symres.derive("preact", check=False).at(x="1,-1,0", W1="I", W2="I")
        >>> pt.value.shape, len(pt.kinks)
        ((3, 3), 3)
        """
        import numpy as np

        from symres.errors import SymresError
        from symres.numeric import evaluate, parse_value

        if self.meta.get("evaluate_at") is not None:  # a stack evaluates itself layer by layer (symres.stacks)
            point: Point = self.meta["evaluate_at"](**values)
            return point
        inst = self.meta.get("instance")
        if inst is None or "forward" not in self.meta:
            raise SymresError("at(): only the proof of a derived block can be evaluated at a point")
        by_name = {str(p.symbol): p.symbol for p in inst.params}
        arrays: dict[str, Any] = {}
        for given, raw in values.items():
            sym = inst.symbol(given, what="")  # W1 for W_1
            name = str(sym)
            shape = tuple(int(n) for n in sym.shape) if hasattr(sym, "shape") else (1, 1)
            arrays[name] = _as_value(raw, shape, name, parse_value)
            domain = next(p.domain for p in inst.params if str(p.symbol) == name)
            if not domain.admits(arrays[name]):
                raise SymresError(f"{given}={raw}: every entry of {name} must be > {domain.above:g}")
        missing = [n for n in by_name if n not in arrays]
        if missing:
            raise SymresError(f"no value for {', '.join(missing)}; give every symbol of the block: {', '.join(by_name)}")
        with np.errstate(all="ignore"):  # overflow is reported below, in one line
            out, kinks = evaluate(
                {"value": self.result, "output": self.meta["forward"]}, arrays, activation=self.meta["activation"]
            )
        for key, what in (("output", "y"), ("value", "∂y/∂x")):
            if not np.all(np.isfinite(out[key])):
                raise SymresError(
                    f"{what} is not finite at this point (it overflows float64, |value| > 1.8e308, or is undefined); "
                    "give smaller values"
                )
        return Point(value=np.asarray(out["value"]), output=np.asarray(out["output"])[:, 0], kinks=tuple(kinks))

    def failures(self) -> list[tuple[int, Step]]:
        """The failed steps, numbered from 1, facts numbered after the steps."""
        everything = (*self.steps, *self.facts)
        return [(i, s) for i, s in enumerate(everything, 1) if s.check is not None and not s.check.passed]

    # rendering (the printers live in symres.latex and symres.render)
    def latex(self, *, standalone: bool = False) -> str:
        from symres.latex import proof_latex

        return proof_latex(self, standalone=standalone)

    def markdown(self) -> str:
        from symres.latex import proof_markdown

        return proof_markdown(self)

    def _repr_latex_(self) -> str:
        from symres.latex import proof_latex

        return "$\\displaystyle " + proof_latex(self, jupyter=True) + "$"

    def __rich__(self) -> Any:
        from symres.render import proof_renderable

        return proof_renderable(self)

    def as_dict(self) -> dict[str, Any]:
        from symres.latex import proof_dict

        return proof_dict(self)


@dataclass(frozen=True, repr=False)
class Point:
    """A block evaluated at one point (`Proof.at`): the Jacobian `value` (∂y/∂x,
    numerator layout), the `output` y, and the activation kinks met on the way."""

    value: Any  # numpy array, m×d
    output: Any  # numpy array, m
    kinks: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The fields `symres derive --let … --json` adds: value, output, kinks."""
        return {"value": self.value.tolist(), "output": self.output.tolist(), "kinks": [k.as_dict() for k in self.kinks]}

    def __repr__(self) -> str:
        kinks = f", {len(self.kinks)} kink(s)" if self.kinks else ""
        return f"<Point: y of size {self.output.shape[0]}, ∂y/∂x of shape {self.value.shape}{kinks}>"


def _as_value(raw: Any, shape: tuple[int, ...], name: str, parse: Callable[..., Any]) -> Any:
    """A value given to Proof.at as an array of `shape` (strings as --let reads them)."""
    import numpy as np

    from symres.errors import SymresError

    if isinstance(raw, str):
        return parse(raw, shape, name)
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise SymresError(f"{name}: expected numbers, got {type(raw).__name__}") from None
    rows, cols = (shape + (1, 1))[:2]
    if arr.ndim == 0:
        arr = arr * np.eye(rows) if rows == cols and rows > 1 else np.full(shape, float(arr))
    elif arr.ndim == 1 and cols == 1:
        arr = arr[:, None]
    if arr.shape != shape:
        raise SymresError(f"{name}: expected shape {rows}×{cols}, got {'×'.join(map(str, arr.shape))}")
    if not np.all(np.isfinite(arr)):
        raise SymresError(f"{name}: every entry must be a finite number")
    return arr


def _run(step: Step, trials: int, seed: int) -> Step:
    if step.verifier is None:
        return step
    return replace(step, check=step.verifier(trials, seed))
