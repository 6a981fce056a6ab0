"""Same model, same bytes: every shipped scenario's indicators and final state, seeds 1-3,
digest for digest as in ``tests/data/identity.json`` (``benchmarks/identity.py``).

Only a deliberate change of the model's results regenerates the reference
(``python -m benchmarks.identity --write``), in its own commit that says what changed and why.
"""

from __future__ import annotations

import json

from benchmarks.identity import REFERENCE, compute, differences


def test_every_scenario_is_identical_to_the_reference():
    ref = json.loads(REFERENCE.read_text())
    new = compute()
    diff = differences(ref, new)
    assert not diff, "\n".join(diff[:30])


def test_the_digests_tell_runs_apart():
    """A check that cannot fail is no check: the runs' digests differ between seeds and
    scenarios, in the frame and in the state."""
    ref = json.loads(REFERENCE.read_text())
    assert len(ref) >= 38
    frames = {r["frame"]["__frame__"] for r in ref.values()}
    states = {tuple(sorted(r["state"].items())) for r in ref.values()}
    assert len(frames) == len(ref) and len(states) == len(ref)
