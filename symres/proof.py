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

__all__ = ["Check", "Step", "Proof", "Verifier"]


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


def _run(step: Step, trials: int, seed: int) -> Step:
    if step.verifier is None:
        return step
    return replace(step, check=step.verifier(trials, seed))
