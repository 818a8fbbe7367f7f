"""Proofs: a chain of (in)equalities with reasons, each step checked and marked how.

A `Proof` has a title, its assumptions, an ordered chain of `Step`s and a conclusion.
`Proof.check()` runs every step's verifier and records a `Check` on it: `symbolic`
(SymPy showed the two sides equal) or `numeric` (both sides lambdified once and
compared on seeded random instances, derivatives by central finite differences).
A failed step keeps the seed and the instance that breaks it.

Printers (`symres.latex`, the CLI) read a Proof; they add no mathematics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sympy import Basic

__all__ = ["Check", "Step", "Proof", "Point", "Verifier"]


@dataclass(frozen=True)
class Check:
    """How one step was verified, and the outcome."""

    method: str  # "symbolic" | "numeric" | "definition"
    passed: bool
    detail: str = ""  # what SymPy returned, or how the numbers were compared
    trials: int = 0
    max_error: float = 0.0
    tolerance: float = 0.0
    seed: int | None = None
    instance: dict[str, Any] | None = None  # the breaking instance, when failed

    @property
    def mark(self) -> str:
        """A short mark for the margin: how the step was checked."""
        err = "0" if self.max_error == 0 else f"{self.max_error:.0e}"
        if self.method == "numeric":
            return f"numeric, {self.trials} pts, err {err}"
        if self.method == "symbolic" and self.trials:
            return f"symbolic; numeric {self.trials} pts, err {err}"
        return "given" if self.method == "definition" else self.method

    def summary(self, *, failed: str = "FAILED") -> str:
        """The check in a sentence; `failed` is the word for a failed check (a printer of an
        expected refutation passes "refuted")."""
        verdict = "passed" if self.passed else failed
        if self.method == "numeric":
            return (
                f"numerically ({self.detail}): {self.trials} points, max rel. error {self.max_error:.1e} "
                f"(tolerance {self.tolerance:.0e}), seed {self.seed}: {verdict}"
            )
        if self.method == "symbolic" and self.trials:
            return (
                f"symbolically ({self.detail}) and numerically: {self.trials} points, max rel. error "
                f"{self.max_error:.1e} (tolerance {self.tolerance:.0e}), seed {self.seed}: {verdict}"
            )
        return f"symbolically ({self.detail}): {verdict}" if self.method == "symbolic" else f"{self.method}: {self.detail}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "passed": self.passed, "detail": self.detail}
        if self.trials:
            out.update(trials=self.trials, max_error=self.max_error, tolerance=self.tolerance, seed=self.seed)
        if self.instance is not None:
            out["instance"] = self.instance
        return out


#: verifier(trials, seed) -> Check
Verifier = Callable[[int, int], Check]


@dataclass(frozen=True)
class Step:
    """`lhs relation rhs` because of `reason`; lhs None continues the previous line."""

    rhs: Basic | str
    reason: str
    lhs: Basic | str | None = None
    relation: str = "="
    verifier: Verifier | None = field(default=None, repr=False, compare=False)
    check: Check | None = None
    short: str = ""  # the reason in a few words, for the margin of an align*


@dataclass(frozen=True)
class Proof:
    """A derivation: `steps` lead from the statement's left side to its right side.

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
