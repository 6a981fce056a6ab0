"""The pole call (:mod:`sim.processes.pole_call`): the jury and the budget against the NumPy
they replaced, bit for bit (the oracle below is the call's tail as it was before the kernel,
whole-array NumPy, as an economist would write the rule), the funding loop, and who can
propose."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels.consortia import _consortia_view
from sim.processes.pole_call import (
    JURY,
    consortium_means,
    fund_proposals,
    judge_and_fund,
    pole_groups,
)
from sim.state.codes import INVESTMENT, RD, SELECTED, TRAINING, TRAINING_CENTRE
from sim.state.institutions import POLE_FIELDS, _poles_view
from tests.worlds import actors_of, ledger

SEEDS = range(12)


def numpy_funding(order, labelled, rd_req, tr_req, inv_req, envelope, funded, grants):
    """The pole call's funding loop as it was in Python, before ``fund_proposals``."""
    for i in order:
        if not labelled[i] or rd_req[i] > envelope[0]:
            continue
        funded[i] = True
        grants[i, 0] = rd_req[i]
        envelope[0] -= rd_req[i]
        for col, req in ((1, tr_req[i]), (2, inv_req[i])):
            if 0 < req <= envelope[col]:
                grants[i, col] = req
                envelope[col] -= req


def jury_numpy(k, members, size, match, pole, foreign, has_rd, has_tr, capability, atype, z,
               rd_req, jury_noise, label_threshold, training_eur, investment_eur, fund,
               calls_left, remaining, load, a_pole, last_project, step, call, c,
               require_foreign=False):
    """The tail of the pole call as it was in NumPy, before the kernel (returns funded,
    grants)."""
    members, size, match, pole, foreign, has_rd, has_tr = (
        x[:k] for x in (members, size, match, pole, foreign, has_rd, has_tr))
    n_p = c["proposals"].shape[0]
    c["proposals"][:, call] += np.bincount(pole, minlength=n_p)
    cap_mean = np.array([capability[members[i, : size[i]]].mean() for i in range(k)])
    score = (0.5 * cap_mean + 0.3 * match + 0.2 * has_rd + 0.1 * has_tr + 0.2 * (foreign > 0)
             + jury_noise * z)
    labelled = (score >= label_threshold) & ((foreign > 0) | (not require_foreign))
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
        numpy_funding(np.argsort(-score, kind="stable"), labelled, rd_req, tr_req, inv_req,
                      envelope, funded, grants)
        remaining[[RD, TRAINING, INVESTMENT]] -= grants.sum(axis=0)
    for i in np.flatnonzero(~funded):
        load[members[i, : size[i]]] -= 1
    c["funded"][:, call] += np.bincount(pole[funded], minlength=n_p)
    c["funding"][[RD, TRAINING, INVESTMENT]] += grants.sum(axis=0)
    for i in np.flatnonzero(funded):
        a_pole[members[i, : size[i]]] = pole[i]
        last_project[members[i, : size[i]]] = step
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
                   call=int(g.integers(0, n_calls)), require_foreign=bool(g.random() < 0.5))
    return k, actors, buf, z, rd_req, remaining, counters, scalars


def call_jury(k, actors, buf, z, rd_req, remaining, counters, s):
    """``judge_and_fund`` on the case's arrays (the counters in a ledger, read back as
    integers); returns (funded, grants, counters)."""
    n_p, n_calls = counters["proposals"].shape
    led = ledger(1, n_p, n_calls)
    for name in ("proposals", "labelled", "funded", "consortium_size", "consortium_foreign"):
        getattr(led, name)[...] = counters[name]
    led.consortium_partners[...] = counters["consortium_types"]
    led.pole_funding[...] = counters["funding"]
    table = actors_of(actors, {"pole": "a_pole"})
    cons = _consortia_view(buf["members"], buf["size"], buf["match"], buf["pole"],
                           buf["foreign"], np.zeros(len(buf["size"]), np.bool_),
                           buf["has_rd"], buf["has_tr"])
    po = poles_view(remaining)
    jury = np.zeros(1, JURY.dtype)
    jury[0] = (s["jury_noise"], s["label_threshold"], s["training_eur"], s["investment_eur"],
               0.0, s["require_foreign"])
    calls_left = max(s["calls_left"], 1) if s["fund"] else 0
    rows, grants = judge_and_fund(k, cons, table.view,
                                  (z, rd_req, np.zeros(k), np.zeros(k, np.bool_)), jury, po,
                                  led.view,
                                  s["call"], s["step"], calls_left)
    table.check()
    funded = np.zeros(k, np.bool_)
    funded[rows] = True
    out = {name: getattr(led, name).astype(counters[name].dtype)
           for name in ("proposals", "labelled", "funded", "consortium_size",
                        "consortium_foreign")}
    out["consortium_types"] = led.consortium_partners.astype(np.int64)
    out["funding"] = led.pole_funding.copy()
    return funded, grants, rows, out


def poles_view(remaining: np.ndarray):
    """A poles' view holding the budget left."""
    arrays = dict(status=np.zeros(1, np.int8), sectors=np.zeros((1, 1), np.bool_),
                  sector_pole=np.zeros(1, np.int64), call_steps=np.zeros(0, np.int64),
                  budget=remaining.copy(), remaining=remaining, export_spend=np.zeros(1))
    return _poles_view(*(arrays[f] for f in POLE_FIELDS))


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
        s["call"], c1, require_foreign=s["require_foreign"])
    got_funded, got_grants, rows, c2 = call_jury(k, a2, buf, z, rd_req, rem2, c2, s)
    assert np.array_equal(got_funded, funded)
    assert np.array_equal(got_grants, grants)  # bit for bit
    assert rows.tolist() == np.flatnonzero(funded).tolist()
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
                          actors["last_project"].copy(), s["step"], s["call"], c,
                          require_foreign=s["require_foreign"])
        lab = (c["labelled"] - counters["labelled"]).sum()
        funded += int(f.sum())
        refused += int(lab - f.sum())
        unlabelled += int(k - lab)
    assert funded > 0 and refused > 0 and unlabelled > 0, (funded, refused, unlabelled)
    assert (RD, TRAINING, INVESTMENT) == (0, 1, 2)  # the oracle's grant columns


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_judge_and_fund_scores_to_the_last_bit(seed):
    """With the label threshold set exactly at NumPy's score of a proposal, that proposal is
    labelled only if the kernel's score is the same double (``>=``): the scores agree to the
    last bit, not just closely (float32 match times a Python float stays float32 in NumPy)."""
    k, actors, buf, z, rd_req, remaining, counters, s = jury_case(seed)
    members, size = buf["members"][:k], buf["size"][:k]
    match, foreign = buf["match"][:k], buf["foreign"][:k]
    cap_mean = np.array([actors["capability"][members[i, : size[i]]].mean() for i in range(k)])
    score = (0.5 * cap_mean + 0.3 * match + 0.2 * buf["has_rd"][:k] + 0.1 * buf["has_tr"][:k]
             + 0.2 * (foreign > 0) + s["jury_noise"] * z)
    for i in range(min(k, 8)):
        case = dict(s, label_threshold=float(score[i]), fund=False, require_foreign=False)
        _, _, _, c = call_jury(k, {n: v.copy() for n, v in actors.items()}, buf, z, rd_req,
                               remaining.copy(), {n: v.copy() for n, v in counters.items()},
                               case)
        assert (c["labelled"] - counters["labelled"]).sum() == int((score >= score[i]).sum())


@pytest.mark.parametrize("seed", range(6))
def test_consortium_means_are_numpy_means(seed):
    g = np.random.default_rng(seed)
    values = g.lognormal(0.0, 1.0, 200)
    members = np.full((30, 9), -1, np.int32)
    size = g.integers(2, 10, 30).astype(np.int16)
    for i in range(30):
        members[i, : size[i]] = g.choice(200, size[i], replace=False)
    got = consortium_means(values, members, size, 30)
    want = np.array([values[members[i, : size[i]]].mean() for i in range(30)])
    assert np.array_equal(got, want)


@pytest.mark.parametrize("seed", range(6))
def test_pole_groups(seed):
    g = np.random.default_rng(seed)
    n, n_s, n_p = 300, 8, 3
    alive = g.random(n + 20) < 0.9
    atype = g.integers(0, 5, n + 20).astype(np.int8)
    sector = g.integers(0, n_s, n + 20).astype(np.int16)
    sector_pole = np.where(g.random(n_s) < 0.6, g.integers(0, n_p, n_s), -1).astype(np.int64)
    selected = g.random(n_p) < 0.7
    status = np.where(selected, SELECTED, 0).astype(np.int8)
    arrays = dict(status=status, sectors=np.zeros((n_p, n_s), np.bool_),
                  sector_pole=sector_pole, call_steps=np.zeros(0, np.int64),
                  budget=np.zeros(5), remaining=np.zeros(5), export_spend=np.zeros(n_p))
    po = _poles_view(*(arrays[f] for f in POLE_FIELDS))
    a = actors_of(dict(alive=alive, atype=atype, sector=sector))
    group, initiators = pole_groups(a.view, n, po)
    want_g = np.where(alive[:n], sector_pole[sector[:n]], -1)
    want_g = np.where((want_g >= 0) & selected[np.maximum(want_g, 0)], want_g, -1)
    assert group.dtype == np.int16 and np.array_equal(group, want_g)
    assert np.array_equal(initiators,
                          np.flatnonzero((want_g >= 0) & (atype[:n] != TRAINING_CENTRE)))


@pytest.mark.parametrize("seed", range(6))
def test_fund_proposals(seed):
    g = np.random.default_rng(seed)
    k = 40
    score = g.random(k)
    labelled = score > 0.3
    rd, tr = g.random(k) * 1e6, np.where(g.random(k) < 0.5, 2e5, 0.0)
    inv = np.full(k, 3e5)
    env = np.array([8e6, 1e6, 2e6])
    order = np.argsort(-score, kind="stable")
    funded, grants, envelope = np.zeros(k, bool), np.zeros((k, 3)), env.copy()
    fund_proposals(order, labelled, rd, tr, inv, envelope, funded, grants)
    w_funded, w_grants, w_env = np.zeros(k, bool), np.zeros((k, 3)), env.copy()
    numpy_funding(order, labelled, rd, tr, inv, w_env, w_funded, w_grants)
    assert np.array_equal(funded, w_funded)
    assert np.array_equal(grants, w_grants) and np.array_equal(envelope, w_env)


@pytest.mark.parametrize("seed", range(4))
def test_fund_proposals_sme_quota(seed):
    """The quota's first pass funds SME-majority proposals, in rank order, within the reserved
    share; a quota of 0 is the baseline's single pass."""
    g = np.random.default_rng(seed)
    k = 30
    labelled = g.random(k) < 0.8
    rd, tr, inv = g.random(k) * 1e6, np.zeros(k), np.zeros(k)
    sme = g.random(k) < 0.4
    order = np.argsort(-g.random(k), kind="stable")
    env = np.array([5e6, 0.0, 0.0])
    base = [np.zeros(k, bool), np.zeros((k, 3)), env.copy()]
    fund_proposals(order, labelled, rd, tr, inv, base[2], base[0], base[1], sme, 0.0)
    want = [np.zeros(k, bool), np.zeros((k, 3)), env.copy()]
    numpy_funding(order, labelled, rd, tr, inv, want[2], want[0], want[1])
    assert np.array_equal(base[0], want[0]) and np.array_equal(base[1], want[1])
    funded, grants, envelope = np.zeros(k, bool), np.zeros((k, 3)), env.copy()
    fund_proposals(order, labelled, rd, tr, inv, envelope, funded, grants, sme, 0.5)
    reserved, first = 0.5 * 5e6, []
    for i in order:  # the first pass by hand
        if labelled[i] and sme[i] and rd[i] <= reserved:
            reserved -= rd[i]
            first.append(i)
    assert funded[first].all()
    assert grants[:, 0].sum() <= 5e6 and envelope[0] >= 0
