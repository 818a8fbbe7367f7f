"""A library of derivations: statements from the seeds, each decided by the toolkit.

A derivation module (derivations/*.py) declares statements with `@statement(...)`: where
the statement stands (seed file, section), what it says, and the verdict its author
expects. The decorated function gathers the evidence and returns it: a `Proof` (`tested`
makes the Proof of one statement decided by one Check), a claims `Verdict`, or a tuple
(evidence for the statement as written, evidence for the corrected statement). The
toolkit's verdict is computed from the evidence (`Proof.verdict`, from its Checks), never typed in:

- `proved`: every step was shown symbolically, or derived rule by rule;
- `holds`: every check passed, at least one only numerically (N seeded trials);
- `refuted`: a counterexample was found and re-checked; the corrected statement must then
  be proved or hold;
- `observed` / `contradicted`: a statement about training, decided on recorded seeded runs
  (`symres.experiment.Experiment`): it held in every seed / in none. A contradicted
  statement, like a refuted one, needs its corrected form, which must then be proved,
  hold, or be observed.

A statement *passes* when the computed verdict equals the expected one (a refuted seed
statement passes when it is refuted and its correction stands). `symres verify`, the
pytest plugin and the booklet all run `run_statement`; they add nothing of their own.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symres.errors import SymresError
from symres.guard import time_limit, user_code
from symres.outcome import Outcome as Verdicts
from symres.proof import VERDICT_ORDER, Check, Proof

__all__ = [
    "Statement",
    "Outcome",
    "statement",
    "tested",
    "instance_text",
    "load_statements",
    "run_statement",
    "evidence_verdict",
    "VERDICTS",
]

#: the verdicts a derivation may expect: those of `symres.outcome.Outcome` that are a yes or
#: a no (a statement's derivation that ends `undecided` has not established anything)
VERDICTS = tuple(o.value for o in Verdicts if o is not Verdicts.UNDECIDED)
#: the verdicts that say a statement is false as written: they need a corrected statement
FALSE = (Verdicts.REFUTED.value, Verdicts.CONTRADICTED.value)
#: the verdicts a corrected statement must reach
STANDS = (Verdicts.PROVED.value, Verdicts.HOLDS.value, Verdicts.OBSERVED.value)


@dataclass(frozen=True)
class Statement:
    """A statement of a seed, located, with the verdict its derivation expects."""

    seed: str  # seed file name, e.g. "001_3a3f3c0e152939cc.txt"
    where: str  # section, example, problem or quiz, e.g. "§3, Example 2"
    text: str  # what the seed states (quoted or faithfully paraphrased)
    expect: str  # "proved" | "holds" | "refuted" | "observed" | "contradicted"
    corrected: str  # for a refuted or contradicted statement: the statement that does hold
    build: Callable[[], Any] = field(repr=False, compare=False)
    module: str = ""  # the derivation module's file name
    name: str = ""  # the function's name

    @property
    def id(self) -> str:
        return f"{Path(self.module).stem}::{self.name}"


def statement(
    *, seed: str, where: str, text: str, expect: str, corrected: str = ""
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Declare the decorated function as the evidence for a seed statement."""
    if expect not in VERDICTS:
        raise SymresError(f"expect must be one of {', '.join(VERDICTS)}, got {expect!r}")
    if (expect in FALSE) != bool(corrected):
        raise SymresError("a refuted or contradicted statement needs its corrected form, and only such a one")

    def mark(fn: Callable[[], Any]) -> Callable[[], Any]:
        fn.__symres_statement__ = Statement(seed, where, text, expect, corrected, fn, name=fn.__name__)  # type: ignore[attr-defined]
        return fn

    return mark


# --------------------------------------------------------------------------- evidence


def tested(title: str, statement: str, check: Check, note: str = "") -> Proof:
    """Evidence for or against `statement` (LaTeX), decided by `check`: a one-step `Proof`
    (`Proof.statement`) whose verdict is the check's — passed symbolically or exactly →
    proved, numerically → holds, failed with a breaking instance → refuted (the instance is
    the counterexample, reproducible from the check's seed)."""
    return Proof.statement(title, statement, check, note)


def instance_text(instance: dict[str, Any] | None) -> str:
    """A counterexample in one line: ``name = value; …``, arrays rounded to 4 decimals."""
    import numpy as np

    if not instance:
        return ""
    parts = []
    for k, v in instance.items():
        try:
            shown: Any = np.round(np.asarray(v, dtype=float), 4).tolist()
        except (TypeError, ValueError):
            shown = v
        parts.append(f"{k} = {shown}")
    return "; ".join(parts)


def evidence_verdict(evidence: Any) -> tuple[str, str]:
    """(verdict, one-line summary) of one piece of evidence: a `Proof` (its `Proof.verdict`,
    computed from its Checks), a claims `Verdict` (its verdict and summary) or an
    `Experiment` (observed, contradicted or undecided over its seeds)."""
    from symres.claims import Verdict
    from symres.experiment import Experiment

    if isinstance(evidence, Verdict):
        return str(evidence.verdict), evidence.summary
    if isinstance(evidence, Experiment):
        return evidence.verdict, evidence.summary()
    if not isinstance(evidence, Proof):
        raise SymresError(f"a derivation returned {type(evidence).__name__}; expected a Proof, a claims Verdict or an Experiment")
    verdict = evidence.verdict
    if evidence.is_statement and evidence.steps[0].check is not None:
        check = evidence.steps[0].check
        text = f"{evidence.title}: {check.summary()}"
        if verdict == "refuted":
            text += f"; counterexample {instance_text(check.instance)}"
        return verdict, text
    if verdict in ("failed", "refuted"):
        n = len(evidence.failures())
        return verdict, f"{n} step(s) of “{evidence.title}” failed their check"
    if evidence.final is not None:
        return verdict, evidence.final.summary()
    methods = dict.fromkeys(s.check.method for s in evidence.steps if s.check is not None)
    return verdict, f"{evidence.title}: {len(evidence.steps)} steps checked ({', '.join(methods)})"


def _combine(items: Iterable[Any]) -> tuple[str, list[str]]:
    """The verdict of several pieces of evidence for one statement: refuted if any is, then
    contradicted, failed, undecided, observed, holds in this order, else proved."""
    verdicts, lines = [], []
    for item in items:
        v, s = evidence_verdict(item)
        verdicts.append(v)
        lines.append(s)
    return next((v for v in VERDICT_ORDER if v in verdicts), "proved"), lines


@dataclass(frozen=True)
class Outcome:
    """What running a statement's derivation established."""

    statement: Statement
    verdict: str  # proved | holds | refuted | observed | contradicted | undecided | failed | error
    corrected_verdict: str  # for refuted statements, the verdict of the correction
    summary: tuple[str, ...]
    evidence: tuple[Any, ...]
    corrected_evidence: tuple[Any, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        if self.verdict != self.statement.expect:
            return False
        return self.verdict not in FALSE or self.corrected_verdict in STANDS

    @property
    def label(self) -> str:
        """The verdict as the table shows it (an experiment's with its tally of seeds)."""
        written = _verdict_name(self.verdict, self.evidence)
        if self.verdict in FALSE:
            return f"{written} → corrected ({_verdict_name(self.corrected_verdict, self.corrected_evidence)})"
        return written


def _verdict_name(verdict: str, evidence: tuple[Any, ...]) -> str:
    """'holds numerically' for holds; an experiment's verdict with the seeds it was decided on
    ('contradicted in 3 of 3 seeds'); other verdicts by their name."""
    if verdict in (Verdicts.OBSERVED.value, Verdicts.CONTRADICTED.value):
        from symres.experiment import Experiment

        runs = [len(e.results) for e in evidence if isinstance(e, Experiment) and e.verdict == verdict]
        return f"{verdict} in {runs[0]} of {runs[0]} seeds" if runs else verdict
    return Verdicts.label_of(verdict)


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


#: seconds a statement's derivation may take before `run_statement` stops it
STATEMENT_TIMEOUT = 60.0


def run_statement(st: Statement, *, timeout: float | None = STATEMENT_TIMEOUT) -> Outcome:
    """Run a statement's derivation and decide its verdict.

    The derivation runs isolated: whatever it raises (an exception, SystemExit, a
    RecursionError), a malformed result, or running past `timeout` seconds (None: no
    limit; enforced in the main thread only) gives the verdict `error` with the reason
    as its summary, never an exception; Ctrl-C still stops the run.
    """
    start = time.perf_counter()
    try:
        with time_limit(timeout, f"did not finish within {timeout:g} s (the per-statement timeout)"):
            with user_code("the derivation"):
                result = st.build()
                if st.expect in FALSE:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise SymresError(f"a {st.expect} statement returns (evidence as written, evidence for the correction)")
                    written, fixed = _as_tuple(result[0]), _as_tuple(result[1])
                else:
                    written, fixed = _as_tuple(result), ()
                verdict, lines = _combine(written)
                corrected, fixed_lines = _combine(fixed) if fixed else ("", [])
    except SymresError as exc:
        return Outcome(st, "error", "", (str(exc),), (), (), time.perf_counter() - start)
    return Outcome(st, verdict, corrected, tuple(lines + fixed_lines), written, fixed, time.perf_counter() - start)


# --------------------------------------------------------------------------- loading


def _module_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.glob("*.py") if not f.name.startswith(("_", "test_", "conftest")))
        elif p.suffix == ".py" and p.is_file():
            files.append(p)
        else:
            raise SymresError(f"no derivations at {p}: give a directory or a .py file")
    return files


def load_module(path: Path) -> list[Statement]:
    """The statements declared in one derivation module, in the order of the source.

    The module is imported in isolation: if importing it fails (a syntax error, an
    exception or SystemExit at import time), the answer is one statement named
    `<import>` whose derivation reports why, so that the failure is shown and counted
    like any other while the other modules still run.
    """
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # derivation modules may share helpers (files named _*.py) beside them
        sys.path.insert(0, folder)
    name = f"symres_derivation_{path.stem}"
    try:
        with user_code(f"importing {path.name}"):
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise SymresError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            found = []
            for fn in vars(module).values():
                st = getattr(fn, "__symres_statement__", None)
                if isinstance(st, Statement):
                    line = inspect.getsourcelines(fn)[1]
                    found.append((line, Statement(**{**st.__dict__, "module": path.name})))
    except SymresError as exc:
        sys.modules.pop(name, None)
        return [_broken_module(path, str(exc))]
    return [st for _, st in sorted(found, key=lambda t: t[0])]


def _broken_module(path: Path, reason: str) -> Statement:
    """A stand-in statement for a module that could not be imported: running it reports `reason`."""

    def build() -> Any:
        raise SymresError(reason)

    return Statement("?", "import", f"the derivation module {path.name} imports", "proved", "", build, path.name, "<import>")


def load_statements(paths: Iterable[str | Path] = ("derivations",)) -> list[Statement]:
    """Every statement of the derivation modules under paths (files or directories)."""
    return [st for f in _module_files(paths) for st in load_module(f)]


def run_all(statements: Iterable[Statement]) -> Iterator[Outcome]:
    for st in statements:
        yield run_statement(st)


# --------------------------------------------------------------------------- outputs


def markdown_table(outcomes: Iterable[Outcome]) -> str:
    """derivations/README.md: one row per statement (generated by `symres verify --table`)."""
    from symres.seeds import SEED_TITLES, seed_title

    rows = [
        "# The seeds' statements, decided",
        "",
        "Generated by `symres verify derivations --table`; do not edit by hand. Each row is a",
        "statement of one of the seed documents (" + "; ".join(f"*{t}*" for t in SEED_TITLES.values()) + "),",
        "the derivation module that decides it, and the",
        "toolkit's verdict: *proved* (symbolically, or derived rule by rule with every step",
        "checked), *holds numerically* (seeded trials), or *refuted → corrected* (a re-checked",
        "counterexample, and the corrected statement proved or checked). A statement about",
        "training is decided by experiment, on recorded seeded runs: *observed in n of n seeds*",
        "or *contradicted in n of n seeds* (each seed a reproducible counterexample, not a",
        "certified one); neither is a proof.",
        "",
        "| seed | where | statement | derivation | verdict |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        st = o.statement
        text = st.text.replace("|", "\\|")
        if st.corrected:
            text += f" — *corrected:* {st.corrected.replace('|', chr(92) + '|')}"
        rows.append(f"| {seed_title(st.seed)} | {st.where} | {text} | [{st.module}]({st.module}) `{st.name}` | {o.label} |")
    return "\n".join(rows) + "\n"
