"""Lever liveness as a declared test (issue 16): every ``policy.*`` lever, perturbed with
paired replications (``benchmarks/levers.py``), moves at least one outcome, or is listed in
``benchmarks.levers.INERT`` with its reason."""

from __future__ import annotations

import pytest

from benchmarks.levers import INERT, changes, lever_table
from sim.loader import load_scenario
from sim.scenario import parameter_bounds


def test_every_policy_lever_has_a_perturbation():
    """Declared: each numeric ``policy.*`` parameter of the schema gets two changes."""
    levers = {p for p in parameter_bounds() if p.startswith("policy.")}
    changed = {c.lever for c in changes(load_scenario(None))}
    assert levers == changed


@pytest.mark.slow
def test_every_policy_lever_moves_an_outcome():
    """Declared: the baseline, 3 paired replications, 2001-2012 (about a minute).  Pass: for
    every lever not in INERT, at least one of its changes gives at least one outcome of one
    replication that differs from the base (bit-identical runs mean a dead lever)."""
    rows = lever_table(reps=3, progress=False)
    refused = [f"{r['lever']} {r['change']}: {r['error']}" for r in rows if "error" in r]
    assert not refused, refused
    live = {}
    for r in rows:
        live[r["lever"]] = live.get(r["lever"], False) or r["live"]
    dead = sorted(lever for lever, ok in live.items() if not ok and lever not in INERT)
    assert not dead, dead
