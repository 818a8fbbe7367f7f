"""The one set of verdicts shared by the claim checker and the derivation library.

``proved``
    shown symbolically, by named theorems, or by certified arithmetic;
``holds``
    numeric evidence only (seeded trials and a counterexample search), not a proof;
``refuted``
    a counterexample re-verified in certified arithmetic, its constraints included;
``undecided``
    too close to call at the precision available, or out of time: never a yes or no.

Exit status (DESIGN.md): 0 proved/holds, 1 refuted, 2 bad input, 3 undecided.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Outcome"]


class Outcome(str, Enum):
    """A verdict; compares equal to its name (``Outcome.PROVED == "proved"``)."""

    PROVED = "proved"
    HOLDS = "holds"
    REFUTED = "refuted"
    UNDECIDED = "undecided"

    def __str__(self) -> str:
        return self.value

    @property
    def exit_status(self) -> int:
        """0 for proved and holds, 1 for refuted, 3 for undecided."""
        return {"proved": 0, "holds": 0, "refuted": 1, "undecided": 3}[self.value]
