"""The generated bad-input corpus (tests/fuzz_inputs.py) as a property: every mutation of a
shipped scenario, design or targets file is accepted and valid, or refused clearly (a message
naming the key path, status 2 from the command, no traceback, nothing written).

Hypothesis draws the mutations (derandomized: the same examples on every run, shrunk to the
smallest failing file when one fails).  The longer audit is a command:
``python -m tests.fuzz_inputs --examples 5000``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import fuzz_inputs as fz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def workspace():
    with tempfile.TemporaryDirectory(prefix="fuzz-inputs-") as tmp:
        yield fz.Workspace.make(Path(tmp) / "ws")


counts = {"refused clearly": 0, "accepted valid": 0, "anything else": 0}


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
@given(data=st.data())
def test_every_mutated_input_is_refused_clearly_or_accepted_valid(workspace, data):
    outcome = fz.example(fz.Chooser(data=data), workspace, n=0)
    counts[outcome.verdict] += 1
    fz.check(outcome)


def test_the_property_saw_both_outcomes():
    """The examples above are not all of one kind (a corpus that only ever refuses, or only
    ever accepts, would test little).  One to three random mutations rarely leave a file
    valid: of the 200 derandomized examples, 6 were accepted with the corpus of 2026-12-03 (the
    draws shift whenever a shipped file changes), so the floor is 3, not a share."""
    if not sum(counts.values()):
        pytest.skip("the property test did not run in this session")
    assert counts["refused clearly"] >= 100 and counts["accepted valid"] >= 3, counts


def test_the_judge_catches_what_it_must(workspace, monkeypatch):
    """The property is not vacuous: a loader that crashes, a refusal that names no key, and a
    command that writes into --out are each judged 'anything else'."""
    import numpy as np

    import sim.loader

    def outcome(seed: int) -> fz.Outcome:
        return fz.example(fz.Chooser(rng=np.random.default_rng(seed)), workspace, n=1)

    with monkeypatch.context() as m:
        m.setattr(sim.loader, "read_user_file", lambda *a, **k: 1 / 0)
        got = [outcome(s) for s in range(5)]
    assert all(o.verdict == "anything else" and "ZeroDivisionError" in o.message for o in got)
    with monkeypatch.context() as m:
        real = sim.loader.ScenarioError.__init__
        m.setattr(sim.loader.ScenarioError, "__init__",
                  lambda self, source, errors: real(self, source, ["somewhere: wrong"]))
        got = [outcome(s) for s in range(20)]
    assert any(o.verdict == "anything else" and "no error names a mutated key" in o.message
               for o in got)
    import sim.cli

    def writes(args):
        Path(args.out).mkdir(parents=True)
        return 2

    with monkeypatch.context() as m:
        for name in ("cmd_run", "cmd_sweep", "cmd_validate"):
            m.setattr(sim.cli, name, writes)
        got = [outcome(s) for s in range(20)]
    assert any(o.verdict == "anything else" and "wrote into --out" in o.message for o in got)
