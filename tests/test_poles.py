"""The poles' bookkeeping kernels (:mod:`sim.kernels.poles`) and ``resolve_projects`` against
the NumPy they replaced, bit for bit, on random inputs.

The oracles below are the code of :mod:`sim.policy` and :mod:`sim.processes` before those steps
moved into kernels (whole-array NumPy, as an economist would write the rule); the kernels must
give the same numbers to the last bit, so that the move changed no result of the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels.bookkeeping import (
    add_to_members,
    consortium_means,
    fund_proposals,
    pole_counts,
    set_members,
)
from sim.kernels.poles import judge_and_fund, programme_spend, selection_counts
from sim.kernels.projects import complete_projects, resolve_projects

SEEDS = range(12)
RD, TRAINING, INVESTMENT, EXPORT, ASSETS = range(5)
SELECTED = 1


# --------------------------------------------------------------------------------- the jury
def jury_numpy(k, members, size, match, pole, foreign, has_rd, has_tr, capability, atype, z,
               rd_req, jury_noise, label_threshold, training_eur, investment_eur, fund,
               calls_left, remaining, load, a_pole, last_project, step, call, c):
    """The tail of ``sim.policy.pole_call`` as it was in NumPy (returns funded, grants)."""
    members, size, match, pole, foreign, has_rd, has_tr = (
        x[:k] for x in (members, size, match, pole, foreign, has_rd, has_tr))
    n_p = c["proposals"].shape[0]
    c["proposals"][:, call] += np.bincount(pole, minlength=n_p)
    cap_mean = consortium_means(capability, members, size, k)
    score = (0.5 * cap_mean + 0.3 * match + 0.2 * has_rd + 0.1 * has_tr + 0.2 * (foreign > 0)
             + jury_noise * z)
    labelled = score >= label_threshold
    c["labelled"][:, call] += np.bincount(pole[labelled], minlength=n_p)
    lab = np.flatnonzero(labelled)
    in_consortium = np.arange(members.shape[1]) < size[lab, None]
    c["consortium_types"][call] += np.bincount(atype[members[lab][in_consortium]], minlength=5)
    c["consortium_size"][call] += size[lab].sum()
    c["consortium_foreign"][call] += foreign[lab].sum()
    tr_req = np.where(has_tr, training_eur, 0.0)
    inv_req = investment_eur * np.ones(k)
    funded = np.zeros(k, bool)
    grants = np.zeros((k, 3))
    if fund:
        envelope = remaining[[RD, TRAINING, INVESTMENT]] / max(calls_left, 1)
        fund_proposals(np.argsort(-score, kind="stable"), labelled, rd_req, tr_req, inv_req,
                       envelope, funded, grants)
        remaining[[RD, TRAINING, INVESTMENT]] -= grants.sum(axis=0)
    add_to_members(load, members, size, np.flatnonzero(~funded), -1)
    c["funded"][:, call] += np.bincount(pole[funded], minlength=n_p)
    c["funding"][[RD, TRAINING, INVESTMENT]] += grants.sum(axis=0)
    sel = np.flatnonzero(funded)
    set_members(a_pole, members, size, sel, pole)
    set_members(last_project, members, size, sel, np.full(k, step, np.int32))
    return funded, grants


def jury_case(seed: int):
    g = np.random.default_rng(seed)
    n, n_p, n_calls, width = int(g.integers(30, 400)), int(g.integers(1, 7)), 4, 8
    rows = int(g.integers(1, 160))
    k = int(g.integers(1, rows + 1))
    members = np.full((rows, width), -1, np.int32)
    size = np.zeros(rows, np.int16)
    for i in range(rows):
        s = int(g.integers(2, min(width, n) + 1))
        members[i, :s] = g.choice(n, s, replace=False)
        size[i] = s
    actors = dict(capability=g.lognormal(0.0, 0.5, n), atype=g.integers(0, 5, n).astype(np.int8),
                  load=g.integers(1, 5, n).astype(np.int16),
                  a_pole=g.integers(-1, n_p, n).astype(np.int16),
                  last_project=g.integers(-1, 40, n).astype(np.int32))
    buf = dict(members=members, size=size, match=g.uniform(0, 2.5, rows).astype(np.float32),
               pole=g.integers(0, n_p, rows).astype(np.int32),
               foreign=g.choice([0, 0, 1, 2], rows).astype(np.int8),
               has_rd=g.random(rows) < 0.5, has_tr=g.random(rows) < 0.3)
    z = g.standard_normal(k)
    rd_req = 1e6 * 1.5 * np.exp(0.5 * g.standard_normal(k) - 0.125) * np.sqrt(size[:k] / 4.0)
    remaining = g.uniform(0.0, 3e8, 5) * (g.random(5) < 0.9)
    counters = dict(proposals=g.integers(0, 5, (n_p, n_calls)),
                    labelled=g.integers(0, 5, (n_p, n_calls)),
                    consortium_types=g.integers(0, 5, (n_calls, 5)),
                    consortium_size=g.integers(0, 5, n_calls),
                    consortium_foreign=g.integers(0, 5, n_calls),
                    funded=g.integers(0, 5, (n_p, n_calls)), funding=g.uniform(0, 1e7, 5))
    scalars = dict(jury_noise=float(g.uniform(0.0, 0.6)),
                   label_threshold=float(g.uniform(0.5, 2.0)), training_eur=2e5,
                   investment_eur=float(g.choice([0.0, 4e5])), fund=bool(g.random() < 0.8),
                   calls_left=int(g.integers(0, 5)), step=int(g.integers(0, 48)),
                   call=int(g.integers(0, n_calls)))
    return k, actors, buf, z, rd_req, remaining, counters, scalars


@pytest.mark.parametrize("seed", SEEDS)
def test_judge_and_fund_is_the_numpy_jury(seed):
    k, actors, buf, z, rd_req, remaining, counters, s = jury_case(seed)
    copies = [({n: v.copy() for n, v in actors.items()}, remaining.copy(),
               {n: v.copy() for n, v in counters.items()}) for _ in range(2)]
    (a1, rem1, c1), (a2, rem2, c2) = copies
    funded, grants = jury_numpy(
        k, *buf.values(), a1["capability"], a1["atype"], z, rd_req, s["jury_noise"],
        s["label_threshold"], s["training_eur"], s["investment_eur"], s["fund"],
        s["calls_left"], rem1, a1["load"], a1["a_pole"], a1["last_project"], s["step"],
        s["call"], c1)
    out_funded = np.ones(k, np.bool_)
    out_grants = np.full((k, 3), np.nan)
    rows = np.full(k, -1, np.int64)
    n_f = judge_and_fund(
        k, *buf.values(), a2["capability"], a2["atype"], z, rd_req, s["jury_noise"],
        s["label_threshold"], s["training_eur"], s["investment_eur"], s["fund"],
        s["calls_left"], rem2, a2["load"], a2["a_pole"], a2["last_project"], s["step"],
        s["call"], *c2.values(), out_funded, out_grants, rows)
    assert np.array_equal(out_funded, funded)
    assert np.array_equal(out_grants, grants)  # bit for bit
    assert rows[:n_f].tolist() == np.flatnonzero(funded).tolist()
    assert np.array_equal(rem1, rem2)
    for name in actors:
        assert np.array_equal(a1[name], a2[name]), name
    for name in counters:
        assert np.array_equal(c1[name], c2[name]), name


def test_judge_and_fund_cases_cover_the_branches():
    """The random cases fund some proposals, refuse labelled ones and leave some unlabelled."""
    funded = refused = unlabelled = 0
    for seed in SEEDS:
        k, actors, buf, z, rd_req, remaining, counters, s = jury_case(seed)
        c = {n: v.copy() for n, v in counters.items()}
        f, _ = jury_numpy(k, *buf.values(), actors["capability"], actors["atype"], z, rd_req,
                          s["jury_noise"], s["label_threshold"], s["training_eur"],
                          s["investment_eur"], s["fund"], s["calls_left"], remaining.copy(),
                          actors["load"].copy(), actors["a_pole"].copy(),
                          actors["last_project"].copy(), s["step"], s["call"], c)
        lab = (c["labelled"] - counters["labelled"]).sum()
        funded += int(f.sum())
        refused += int(lab - f.sum())
        unlabelled += int(k - lab)
    assert funded > 0 and refused > 0 and unlabelled > 0, (funded, refused, unlabelled)


# ---------------------------------------------------------------------------- programmes
def programmes_numpy(n, pole, status, remaining, quarters_left, firms_per_meur, export_spend,
                     funding):
    """``sim.policy.pole_programmes``' spending as it was in NumPy (returns the expected
    firms, or None when no pole is selected)."""
    export_spend[:] = 0.0
    selected = status == SELECTED
    if not selected.any():
        return None
    weight = pole_counts(n, pole, len(status)) * selected
    if weight.sum() == 0:
        weight = selected.astype(float)
    share = weight / weight.sum()
    export = remaining[EXPORT] / quarters_left
    remaining[EXPORT] -= export
    export_spend[:] = share * export / 1e6
    assets = remaining[ASSETS] / quarters_left
    remaining[ASSETS] -= assets
    funding[[EXPORT, ASSETS]] += (export, assets)
    return firms_per_meur * share * assets / 1e6


@pytest.mark.parametrize("seed", SEEDS)
def test_programme_spend_is_the_numpy_spending(seed):
    g = np.random.default_rng(100 + seed)
    n_p, n = int(g.integers(1, 8)), int(g.integers(0, 300))
    status = g.choice([0, 1, 2], n_p, p=[0.2, 0.5, 0.3]).astype(np.int8)
    pole = g.integers(-1, n_p, n + 5).astype(np.int16)
    if seed % 4 == 0:
        pole[:] = -1  # no pole members: spread evenly
    remaining = g.uniform(0.0, 1e8, 5)
    funding = g.uniform(0.0, 1e7, 5)
    q_left, rate = int(g.integers(1, 30)), float(g.uniform(0.0, 2.0))
    spend1, spend2 = np.full(n_p, 7.0), np.full(n_p, 7.0)
    rem1, rem2, f1, f2 = remaining.copy(), remaining.copy(), funding.copy(), funding.copy()
    expected = programmes_numpy(n, pole, status, rem1, q_left, rate, spend1, f1)
    out = np.full(n_p, np.nan)
    spent = programme_spend(n, pole, status, rem2, q_left, rate, spend2, f2, out)
    assert spent == (expected is not None)
    if spent:
        assert np.array_equal(out, expected)
    assert np.array_equal(spend1, spend2) and np.array_equal(rem1, rem2)
    assert np.array_equal(f1, f2)


# ----------------------------------------------------------------------------- selection
@pytest.mark.parametrize("seed", SEEDS)
def test_selection_counts_are_the_numpy_masks(seed):
    g = np.random.default_rng(200 + seed)
    n, n_s = int(g.integers(0, 400)), 6
    alive = g.random(n + 3) < 0.9
    atype = g.integers(0, 5, n + 3).astype(np.int8)
    sector = g.integers(0, n_s, n + 3).astype(np.int16)
    cluster = g.integers(-1, 4, n + 3).astype(np.int16)
    last_project = np.where(g.random(n + 3) < 0.3, g.integers(0, 40, n + 3), -1).astype(np.int32)
    innovations = g.integers(0, 4, n + 3).astype(np.int32)
    province = g.integers(0, 5, n + 3).astype(np.int8)
    in_sectors = g.random(n_s) < 0.5
    got = selection_counts(n, alive, atype, sector, cluster, last_project, innovations,
                           province, in_sectors, 5)
    # what sim.policy.select_poles computed with masks
    a, t = alive[:n], atype[:n]
    in_sec = a & in_sectors[sector[:n]]
    engaged = in_sec & (t <= 1) & ((cluster[:n] >= 0) | (last_project[:n] >= 0))
    want = (int((in_sec & ((t == 2) | (t == 3))).sum()), int((in_sec & (t == 4)).sum()),
            int(innovations[:n][in_sec].sum()), int(engaged.sum()),
            len(np.unique(province[:n][engaged])))
    assert tuple(int(x) for x in got) == want


# ------------------------------------------------------------------------------- projects
@pytest.mark.parametrize("seed", SEEDS)
def test_resolve_projects_is_complete_projects_then_the_booking(seed):
    """``resolve_projects`` = ``complete_projects``, the tallies, the spin-offs' parents and
    ``Projects.release``, as ``sim.processes.projects`` did them in Python."""
    from test_kernels import copy_args, make_world, projects_args

    args = projects_args(make_world(seed), step=30)
    P = args["p_active"].shape[0]
    n_free = int(np.random.default_rng(seed).integers(0, 5))
    free = np.full(P + n_free + 5, -9, np.int32)
    a1, a2 = copy_args(args), copy_args(args)
    # before: the kernel, then Python
    k = complete_projects(*a1.values())
    done, success, spin = a1["out_done"][:k], a1["out_success"][:k], a1["out_spinoff"][:k]
    spin_slots = done[spin]
    leads, parents = a1["p_members"][spin_slots, 0], a1["p_cluster"][spin_slots]
    free1 = free.copy()
    free1[n_free: n_free + k] = done
    a1["p_active"][done] = False
    a1["p_members"][done] = -1
    # now: one call
    free2 = free.copy()
    lead_out = np.full(P, -5, np.int32)
    parent_out = np.full(P, -5, np.int16)
    values = list(a2.values())
    head, tail = values[:12], values[12:]
    got = resolve_projects(*head, free2, n_free, *tail, lead_out, parent_out)
    assert got == (k, int(success.sum()), int(a1["out_innovations"][:k].sum()), len(leads))
    assert np.array_equal(lead_out[: len(leads)], leads)
    assert np.array_equal(parent_out[: len(leads)], parents)
    assert np.array_equal(free1, free2)
    for name in args:
        v1, v2 = a1[name], a2[name]
        if isinstance(v1, np.ndarray):
            assert np.array_equal(v1, v2, equal_nan=v1.dtype.kind == "f"), name
    assert k > 0


def test_resolve_projects_with_nothing_due_changes_nothing():
    from test_kernels import copy_args, make_world, projects_args

    args = projects_args(make_world(3), step=30)
    args["p_end"] = args["p_end"] + 100
    before = copy_args(args)
    values = list(args.values())
    free = np.zeros(5, np.int32)
    got = resolve_projects(*values[:12], free, 2, *values[12:], np.zeros(1, np.int32),
                           np.zeros(1, np.int16))
    assert got == (0, 0, 0, 0)
    assert not free.any()
    for name, v in before.items():
        if isinstance(v, np.ndarray) and not name.startswith("out_"):
            assert np.array_equal(v, args[name], equal_nan=v.dtype.kind == "f"), name


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_judge_and_fund_scores_to_the_last_bit(seed):
    """With the label threshold set exactly at NumPy's score of a proposal, that proposal is
    labelled only if the kernel's score is the same double (``>=``): the scores agree to the
    last bit, not just closely (float32 match times a Python float stays float32 in NumPy)."""
    k, actors, buf, z, rd_req, remaining, counters, s = jury_case(seed)
    members, size, match, _pole, foreign, has_rd, has_tr = (x[:k] for x in buf.values())
    cap_mean = consortium_means(actors["capability"], members, size, k)
    score = (0.5 * cap_mean + 0.3 * match + 0.2 * has_rd + 0.1 * has_tr + 0.2 * (foreign > 0)
             + s["jury_noise"] * z)
    for i in range(min(k, 8)):
        c = {n: v.copy() for n, v in counters.items()}
        judge_and_fund(k, *buf.values(), actors["capability"], actors["atype"], z, rd_req,
                       s["jury_noise"], float(score[i]), 0.0, 0.0, False, 1, remaining.copy(),
                       actors["load"].copy(), actors["a_pole"].copy(),
                       actors["last_project"].copy(), 0, 0, *c.values(), np.zeros(k, bool),
                       np.zeros((k, 3)), np.zeros(k, np.int64))
        assert (c["labelled"] - counters["labelled"]).sum() == int((score >= score[i]).sum())
