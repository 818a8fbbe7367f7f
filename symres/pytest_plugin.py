"""pytest plugin (entry point `pytest11`): `pytest derivations/` collects every statement
of every derivation module as a test item, with an id naming the seed and the section.

An item passes when the toolkit's verdict is the one the derivation expects
(`symres.verify.run_statement`); the plugin only reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from symres.verify import Outcome, Statement, load_module, run_statement


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if (
        file_path.suffix == ".py"
        and file_path.parent.name == "derivations"
        and not file_path.name.startswith(("_", "test_", "conftest"))
    ):
        return DerivationFile.from_parent(parent, path=file_path)
    return None


class DerivationFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        for st in load_module(self.path):
            yield DerivationItem.from_parent(self, name=f"{st.name} [{st.where}]", statement=st)


class DerivationFailed(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class DerivationItem(pytest.Item):
    def __init__(self, *, statement: Statement, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statement = statement

    def runtest(self) -> None:
        outcome = run_statement(self.statement)
        if not outcome.passed:
            raise DerivationFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, DerivationFailed):
            o = excinfo.value.outcome
            st = o.statement
            lines = [
                f"{st.seed}, {st.where}: {st.text}",
                f"expected: {st.expect}; the toolkit found: {o.verdict}"
                + (f" (correction: {o.corrected_verdict or 'none'})" if st.corrected else ""),
                *o.summary,
            ]
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.statement.seed} {self.statement.where}: {self.statement.name}"
