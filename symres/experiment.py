"""Evidence from an experiment: a statement about what training does, decided per seed on
recorded runs.

An `Experiment` holds, for each seeded run of a record, whether the statement held in it and
one line saying what was measured; its verdict is `Outcome.of_seeds` of the tally
(``observed`` in all seeds, ``contradicted`` in none, ``undecided`` for a split): never
``proved``, and a contradiction is not a certified refutation, only a reproducible one (the
record names the command and the seeds that re-run it). It speaks the protocol of the
derivation library's evidence (`verdict`, `summary()`, `latex()`), and may carry a figure
that the booklet draws from the record when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from symres.errors import SymresError
from symres.outcome import Outcome

__all__ = ["Experiment", "SeedResult"]


@dataclass(frozen=True)
class SeedResult:
    """One run of an experiment: its seed, whether the statement held in it, what was measured."""

    seed: int
    held: bool
    detail: str


@dataclass(frozen=True)
class Experiment:
    """A statement (prose, symres's $…$ format) put to seeded runs.

    ``source`` says where the runs are recorded and how they were made, ``command`` is the
    command that recorded them; ``figure`` (if given) renders the figure as PDF bytes,
    ``caption`` describes it.
    """

    title: str
    statement: str
    results: tuple[SeedResult, ...]
    source: str
    figure: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    caption: str = ""
    command: str = ""  # the command that recorded the runs

    def __post_init__(self) -> None:
        if not self.results:
            raise SymresError(f"the experiment “{self.title}” has no runs")

    @property
    def held(self) -> int:
        """In how many seeds the statement held."""
        return sum(r.held for r in self.results)

    @property
    def tally(self) -> str:
        """'k of n seeds'."""
        return f"{self.held} of {len(self.results)} seeds"

    @property
    def outcome(self) -> Outcome:
        """observed (every seed), contradicted (no seed), undecided (a split)."""
        return Outcome.of_seeds(self.held, len(self.results))

    @property
    def verdict(self) -> str:
        return self.outcome.value

    @property
    def counterexamples(self) -> tuple[int, ...]:
        """The seeds in which the statement failed."""
        return tuple(r.seed for r in self.results if not r.held)

    def summary(self) -> str:
        """One line: the verdict with its tally, and the seeds' measurements."""
        said = {"observed": "held", "contradicted": "failed", "undecided": "held"}[self.verdict]
        count = self.tally if self.verdict != "contradicted" else f"{len(self.results)} of {len(self.results)} seeds"
        details = "; ".join(f"seed {r.seed}: {r.detail}" for r in self.results)
        return f"{self.title}: {said} in {count} (experiment, not a proof): {details}"

    def latex(self, figure: str | None = None) -> str:
        """A paragraph: the statement tested, one line per seed, the verdict with its tally,
        the source, and the figure if the booklet placed one in the file named ``figure``."""
        from symres.latex import experiment_latex

        return experiment_latex(self, figure)
