"""Consortium formation (:mod:`sim.kernels.consortia`), shared by the partnering and the pole
call: the kernel against its pure-Python twin draw for draw in both modes, the rule's promises
(sizes, members, flags, loads) independently of the twin, and the initiators' draws against
independent Bernoulli draws.

Worlds are small random actor populations (``tests/worlds.py``), called the way
``sim.processes.partnering`` (groups = clusters) and ``sim.processes.pole_call`` (groups =
poles) call the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.kernels.consortia import (
    GROUP,
    _consortia_view,
    draw_initiators,
    form_consortia,
    match_score,
)
from sim.kernels.groups import build_csr
from sim.processes.partnering import RULE
from sim.state.codes import LARGE, RESEARCH_CENTRE, SME, TIES, TRAINING_CENTRE, UNIVERSITY
from tests import reference as ref
from tests.worlds import actors_of, copy_args, effort_matrix, make_world, rng_state, run_both
from tests.worlds import sector_table as sectors_of

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]
OUT_NAMES = ("out_members", "out_size", "out_match", "out_group", "out_foreign", "out_cross",
             "out_has_rd", "out_has_training")
RULE_NAMES = ("nc_prob", "w_h", "w_v", "w_t", "w_p", "threshold", "grow_prob", "n_candidates",
              "max_refusals", "max_size", "use_coop", "require_mix", "mark_involvement")


def out_buffers(rows: int, width: int) -> tuple[np.ndarray, ...]:
    """As ``sim.kernels.consortia.Consortia``; filled with junk so that stale rows are compared
    too."""
    return (np.full((rows, width), -1, np.int32), np.full(rows, 99, np.int16),
            np.full(rows, -1.5, np.float32), np.full(rows, 77, np.int32),
            np.full(rows, 5, np.int8), np.zeros(rows, np.bool_), np.ones(rows, np.bool_),
            np.zeros(rows, np.bool_))


def rule_of(args: dict) -> np.ndarray:
    """The rule's record from the flat arguments."""
    rule = np.zeros(1, RULE.dtype)
    for name in RULE_NAMES:
        rule[0][name] = args[name]
    return rule


def groups_of(args: dict) -> np.ndarray:
    """The groups' probabilities (GROUP rows) from the flat arguments."""
    groups = np.zeros(len(args["group_rate"]), GROUP)
    groups["rate"] = args["group_rate"]
    groups["discovery"] = args["discovery"]
    groups["cross"] = args["cross_prob"]
    groups["foreign"] = args["foreign_prob"]
    return groups


def call_form(args: dict, work: np.ndarray | None = None) -> int:
    """``form_consortia`` on the flat arguments of its twin."""
    actors = actors_of(args)
    index = (args["co_ptr"], args["co_idx"], args["nc_ptr"], args["nc_idx"],
             args["cross_groups"])
    out = _consortia_view(*(args[k] for k in OUT_NAMES))
    k = form_consortia(args["pool"], args["pool_group"], index, groups_of(args),
                       sectors_of(cooperation=args["sector_coop"]), actors.view,
                       args["group_of"], args["step"], rule_of(args), args["rng"], out, work)
    actors.check()
    return k


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_match_score(seed):
    w = make_world(seed)
    g = w["g"]
    a = actors_of(w).view
    weights = (1.0, 0.8, 1.0, 0.3)
    for _ in range(200):
        i, j = (int(x) for x in g.integers(0, w["n"], 2))
        want = ref.match_score(i, j, w["atype"], w["province"], w["knowledge"], w["stage"],
                               w["tie_partner"], w["tie_trust"], *weights)
        assert match_score(a, i, j, weights) == pytest.approx(want, rel=1e-12, abs=1e-15)
    # partners with a tie score their trust on top
    i = int(np.flatnonzero((w["tie_partner"][: w["n"]] >= 0).any(axis=1))[0])
    m = int(np.flatnonzero(w["tie_partner"][i] >= 0)[0])
    j = int(w["tie_partner"][i, m])
    with_t = match_score(a, i, j, (0.0, 0.0, 1.0, 0.0))
    assert with_t == pytest.approx(float(w["tie_trust"][i, m]), rel=1e-7)


def cluster_mode_args(w: dict, *, rows: int | None = None, max_size: int | None = None,
                      width: int | None = None, step: int = 17, stale_index: bool = False) -> dict:
    """``form_consortia`` as ``sim.processes.partnering`` calls it (groups = clusters), as
    the twin's flat arguments.

    With ``stale_index`` the candidate indexes also list dead actors (the kernel must skip
    them); the initiators stay the living companies.
    """
    g = w["g"]
    n, C = w["n"], w["C"]
    comp = np.isin(w["atype"][:n], (SME, LARGE))
    alive = w["alive"][:n]
    co_ptr, co_idx = build_csr(w["cluster"][:n], comp & alive, C)
    nc_ptr, nc_idx = build_csr(w["cluster"][:n], ~comp & alive, C)
    pool = co_idx
    if stale_index:
        co_ptr, co_idx = build_csr(w["cluster"][:n], comp, C)
        nc_ptr, nc_idx = build_csr(w["cluster"][:n], ~comp, C)
    active = g.random(C) < 0.85
    active[int(g.integers(C))] = True
    effort = effort_matrix(g, C)
    rate = np.where(active, float(g.uniform(0.3, 0.9)) * (1.0 + effort[:, 3]), 0.0)
    discovery = 1.0 - (1.0 - 0.35) * np.exp(-1.5 * effort[:, 0])
    cross = np.minimum(1.0, float(g.uniform(0.1, 0.5)) * (1.0 + effort[:, 1]))
    foreign = np.minimum(1.0, float(g.uniform(0.03, 0.5)) * (1.0 + g.integers(0, 3, C)))
    max_size = int(g.integers(2, 9)) if max_size is None else max_size
    width = max_size + int(g.integers(0, 3)) if width is None else width
    rows = max(len(pool), 64) if rows is None else rows
    buf = out_buffers(rows, width)
    args = dict(
        pool=pool, pool_group=w["cluster"][pool].astype(np.int32), group_rate=rate,
        use_coop=True, sector_coop=g.uniform(0.3, 1.0, w["S"]),
        co_ptr=co_ptr, co_idx=co_idx, nc_ptr=nc_ptr, nc_idx=nc_idx,
        cross_groups=np.flatnonzero(active).astype(np.int32),
        discovery=discovery, cross_prob=cross, nc_prob=float(g.uniform(0.1, 0.35)),
        foreign_prob=foreign,
        alive=w["alive"], atype=w["atype"], sector=w["sector"], province=w["province"],
        load=w["load"], capacity=w["capacity"], knowledge=w["knowledge"], stage=w["stage"],
        group_of=w["cluster"], tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        last_project=w["last_project"], step=step,
        n_candidates=int(g.integers(4, 14)), w_h=1.0, w_v=0.8, w_t=1.0, w_p=0.3,
        threshold=float(g.uniform(0.4, 1.3)), max_refusals=int(g.integers(0, 5)),
        max_size=max_size, grow_prob=0.65, require_mix=False, mark_involvement=True,
        rng=rng_state(w["n"] + 1000),
    )
    args.update(zip(OUT_NAMES, buf, strict=True))
    return args


def pole_mode_args(w: dict, *, step: int = 23) -> dict:
    """``form_consortia`` as ``sim.processes.pole_call`` calls it (groups = poles): the
    proposals leave ``last_project`` alone."""
    g = w["g"]
    n, S, n_p = w["n"], w["S"], w["n_poles"]
    sector_pole = g.integers(-1, n_p, S)
    selected = g.random(n_p) < 0.8
    selected[0] = True
    sector_pole[int(g.integers(S))] = 0
    group = np.where(w["alive"][:n], sector_pole[w["sector"][:n]], -1)
    group = np.where((group >= 0) & selected[np.maximum(group, 0)], group, -1).astype(np.int16)
    comp = np.isin(w["atype"][:n], (SME, LARGE))
    co_ptr, co_idx = build_csr(group, comp, n_p)
    nc_ptr, nc_idx = build_csr(group, ~comp, n_p)
    initiators = np.flatnonzero((group >= 0) & (w["atype"][:n] != TRAINING_CENTRE)).astype(
        np.int32)
    max_size = int(g.integers(3, 11))
    buf = out_buffers(max(len(initiators), 64), max_size)
    args = dict(
        pool=initiators, pool_group=group[initiators].astype(np.int32),
        group_rate=np.where(selected, float(g.uniform(0.3, 0.9)), 0.0), use_coop=False,
        sector_coop=g.uniform(0.3, 1.0, S),
        co_ptr=co_ptr, co_idx=co_idx, nc_ptr=nc_ptr, nc_idx=nc_idx,
        cross_groups=np.zeros(0, np.int32), discovery=np.ones(n_p), cross_prob=np.zeros(n_p),
        nc_prob=0.35, foreign_prob=np.full(n_p, 0.3),
        alive=w["alive"], atype=w["atype"], sector=w["sector"], province=w["province"],
        load=w["load"], capacity=w["capacity"], knowledge=w["knowledge"], stage=w["stage"],
        group_of=group, tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        last_project=w["last_project"].copy(), step=step,
        n_candidates=10, w_h=1.0, w_v=0.8, w_t=1.0, w_p=0.3,
        threshold=float(g.uniform(0.4, 1.2)), max_refusals=int(g.integers(0, 5)),
        max_size=max_size, grow_prob=0.6, require_mix=True, mark_involvement=False,
        rng=rng_state(w["n"] + 2000),
    )
    args.update(zip(OUT_NAMES, buf, strict=True))
    return args


def check_consortia_invariants(k: int, args: dict, before: dict) -> None:
    """What the rule promises about committed consortia, independently of the twin."""
    members, size = args["out_members"][:k], args["out_size"][:k]
    width = members.shape[1]
    joined = np.zeros_like(args["load"])
    for r in range(k):
        team = members[r, : size[r]]
        assert 2 <= size[r] <= min(args["max_size"], width)
        assert (members[r, size[r]:] == -1).all()
        assert len(set(team.tolist())) == size[r]
        assert args["alive"][team].all()
        assert args["out_group"][r] == args["group_of"][team[0]]
        kinds = args["atype"][team]
        assert args["out_has_rd"][r] == bool(np.isin(kinds, (UNIVERSITY, RESEARCH_CENTRE)).any())
        assert args["out_has_training"][r] == bool((kinds == TRAINING_CENTRE).any())
        assert args["out_cross"][r] == bool((args["group_of"][team] != args["out_group"][r]).any())
        if args["require_mix"]:
            assert np.isin(kinds, (SME, LARGE)).any() and (~np.isin(kinds, (SME, LARGE))).any()
        joined[team] += 1
    assert np.array_equal(args["load"], before["load"] + joined)
    assert (args["load"][joined > 0] <= args["capacity"][joined > 0]).all()
    stepped = joined > 0
    if args["mark_involvement"]:
        assert (args["last_project"][stepped] == args["step"]).all()
    else:
        assert np.array_equal(args["last_project"], before["last_project"])


@pytest.mark.parametrize("seed", SEEDS)
def test_form_consortia_cluster_mode(seed):
    args = cluster_mode_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    assert k > 0
    check_consortia_invariants(k, out, before)


@pytest.mark.parametrize("p_max", [0.03, 0.08, 0.124, 0.125, 0.5, 0.99])
def test_form_consortia_both_initiation_schemes(p_max):
    """Geometric skipping (the model's rates) and one draw per position (from
    DENSE_INITIATION on) match the twin draw for draw, on both sides of the switch."""
    from sim.kernels.consortia import DENSE_INITIATION

    args = cluster_mode_args(make_world(3))
    reach = float(args["group_rate"].max() * args["sector_coop"].max())
    args["group_rate"] = args["group_rate"] * (p_max / reach)
    assert (float(args["group_rate"].max() * args["sector_coop"].max()) >= DENSE_INITIATION) \
        == (p_max >= ref.DENSE_INITIATION)
    before = copy_args(args)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    assert k > 0
    check_consortia_invariants(k, out, before)


@pytest.mark.parametrize("seed", SEEDS)
def test_form_consortia_pole_mode(seed):
    args = pole_mode_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


def test_form_consortia_exercises_the_branches():
    """Across the seeds, the compared runs include cross-group, foreign, R&D and training
    partners, grown consortia, and both modes produce consortia."""
    seen = dict(k=0, cross=0, foreign=0, rd=0, tr=0, big=0, pole_k=0)
    for seed in SEEDS:
        w = make_world(seed)
        a = cluster_mode_args(w)
        k = call_form(a)
        seen["k"] += k
        seen["cross"] += int(a["out_cross"][:k].sum())
        seen["foreign"] += int(a["out_foreign"][:k].sum())
        seen["rd"] += int(a["out_has_rd"][:k].sum())
        seen["tr"] += int(a["out_has_training"][:k].sum())
        seen["big"] += int((a["out_size"][:k] > 2).sum())
        p = pole_mode_args(make_world(seed))
        seen["pole_k"] += call_form(p)
    assert all(v > 0 for v in seen.values()), seen


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_form_consortia_stale_index(seed):
    """Dead actors in the candidate index are skipped without a discovery draw."""
    w = make_world(seed)
    assert (~w["alive"][: w["n"]] & (w["cluster"][: w["n"]] >= 0)).any()
    args = cluster_mode_args(w, stale_index=True)
    before = copy_args(args)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


def test_form_consortia_buffer_full():
    """When the output buffer is full, the kernel stops (after the initiation draw)."""
    for seed in SEEDS[:4]:
        args = cluster_mode_args(make_world(seed), rows=2)
        k, _, _ = run_both(call_form, ref.form_consortia, args)
        assert k <= 2


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_form_consortia_width_caps_size(seed):
    """A buffer narrower than max_size caps the consortium (target <= width)."""
    args = cluster_mode_args(make_world(seed), max_size=8, width=3)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    assert (out["out_size"][:k] <= 3).all()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_form_consortia_everyone_refuses(seed):
    args = cluster_mode_args(make_world(seed))
    args["threshold"] = 100.0
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    assert k == 0
    assert np.array_equal(out["load"], args["load"])


def _refusals_allowed(max_refusals: int) -> int:
    """Refusals the kernel takes before it stops: one initiator (initiation probability 1, which
    costs no draw), eight remembered partners, all refusing, no random candidates; every refusal
    costs exactly one taste draw."""
    n = 9
    tp = np.full((n, TIES), -1, np.int32)
    tp[0] = np.arange(1, 9)
    one = np.ones(1)
    state = rng_state(3)
    start = ref.Xoshiro(state)
    args = dict(
        pool=np.zeros(1, np.int32), pool_group=np.zeros(1, np.int32), group_rate=one,
        use_coop=False, sector_coop=one, co_ptr=np.array([0, n], np.int64),
        co_idx=np.arange(n, dtype=np.int32), nc_ptr=np.array([0, 0], np.int64),
        nc_idx=np.zeros(0, np.int32), cross_groups=np.zeros(0, np.int32), discovery=one,
        cross_prob=np.zeros(1), nc_prob=0.0, foreign_prob=np.zeros(1),
        alive=np.ones(n, np.bool_), atype=np.zeros(n, np.int8), sector=np.zeros(n, np.int16),
        province=np.zeros(n, np.int8), load=np.zeros(n, np.int16),
        capacity=np.ones(n, np.int16), knowledge=np.full((n, 2), 0.5, np.float32),
        stage=np.zeros(n, np.float32), group_of=np.zeros(n, np.int16), tie_partner=tp,
        tie_trust=np.full((n, TIES), 0.5, np.float32), last_project=np.full(n, -1, np.int32),
        step=0, n_candidates=0, w_h=1.0, w_v=0.8, w_t=1.0, w_p=0.3, threshold=100.0,
        max_refusals=max_refusals, max_size=2, grow_prob=0.0, require_mix=False,
        mark_involvement=True, rng=state)
    args.update(zip(OUT_NAMES, out_buffers(4, 2), strict=True))
    assert call_form(args) == 0
    for draws in range(20):
        if start.state() == [int(x) for x in state]:
            return draws  # one draw per refusal
        start.next_u64()
    raise AssertionError("could not count the draws")


def test_form_consortia_stops_after_max_refusals():
    """As documented (Tomasello et al.'s R): the search stops once ``max_refusals`` candidates
    have refused.  (The first version took one refusal more.)"""
    assert [_refusals_allowed(m) for m in (1, 2, 4)] == [1, 2, 4]


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(60, 300), n_clusters=st.integers(1, 8),
       dims=st.integers(1, 6), pole_mode=st.booleans())
def test_form_consortia_hypothesis(seed, n, n_clusters, dims, pole_mode):
    w = make_world(seed, n=n, n_clusters=n_clusters, dims=dims)
    args = pole_mode_args(w) if pole_mode else cluster_mode_args(w)
    before = copy_args(args)
    k, out, _ = run_both(call_form, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


@pytest.mark.parametrize("rates", [(0.002, 0.01, 0.05), (0.02, 0.2, 0.6)])
def test_draw_initiators_are_independent_bernoulli_draws(rates):
    """Both schemes give each entry its own probability: geometric skipping with thinning
    (largest p below DENSE_INITIATION) and one draw per position (above).

    Declared: pool of 3,000 entries in 3 groups with rates 0.002, 0.01, 0.05 (p from 0.001 to
    0.08), or 0.02, 0.2, 0.6 (p from 0.01 to 0.96), sector cooperation 0.5 / 1 / 1.6, 400 calls
    from one stream (seed 99).  Pass: for every (group, sector) cell the count of draws is within
    4.5 binomial standard deviations of its expectation (18 cells; chance of a false alarm
    < 1e-4), and the number of draws per call has the variance of a sum of independent
    Bernoulli draws within 30% (the relative sd of a sample variance of 400 draws is about 7%,
    so 30% is 4 sd).
    """
    g = np.random.default_rng(5)
    n = 3000
    pool = np.arange(n, dtype=np.int32)
    group = g.integers(0, 3, n).astype(np.int32)
    sector = g.integers(0, 3, n).astype(np.int16)
    rate = np.array(rates)
    coop = np.array([0.5, 1.0, 1.6])
    groups = np.zeros(3, GROUP)
    groups["rate"] = rate
    sectors = sectors_of(cooperation=coop)
    p = rate[group] * coop[sector]
    state = rng_state(99)
    counts = np.zeros(n)
    per_call = []
    calls = 400
    for _ in range(calls):
        pos = draw_initiators(pool, group, groups, True, sectors, sector, state)
        assert np.all(np.diff(pos) > 0)  # in pool order, no repeats
        counts[pos] += 1
        per_call.append(len(pos))
    for gi in range(3):
        for si in range(3):
            cell = (group == gi) & (sector == si)
            expected = calls * p[cell].sum()
            sd = np.sqrt(calls * (p[cell] * (1 - p[cell])).sum())
            assert abs(counts[cell].sum() - expected) < 4.5 * sd, (gi, si)
    var_expected = (p * (1 - p)).sum()
    assert abs(np.var(per_call, ddof=1) / var_expected - 1) < 0.30


def test_draw_initiators_edge_cases():
    pool = np.arange(10, dtype=np.int32)
    grp = np.zeros(10, np.int32)
    sec = np.zeros(10, np.int16)
    state = rng_state(1)
    before = state.copy()

    def rate(p):
        groups = np.zeros(1, GROUP)
        groups["rate"] = p
        return groups

    def coop(c):
        return sectors_of(cooperation=np.array([c]))

    assert len(draw_initiators(pool, grp, rate(0.0), True, coop(1.0), sec, state)) == 0
    np.testing.assert_array_equal(state, before)  # probability 0 draws nothing
    allp = draw_initiators(pool, grp, rate(1.0), False, coop(1.0), sec, state)
    np.testing.assert_array_equal(allp, np.arange(10))  # probability 1: everyone, no draw
    np.testing.assert_array_equal(state, before)
    over = draw_initiators(pool, grp, rate(0.8), True, coop(2.0), sec, state)
    np.testing.assert_array_equal(over, np.arange(10))  # rate x coop above 1 is certain
    empty = np.zeros(0, np.int32)
    assert len(draw_initiators(empty, empty, rate(0.5), False, coop(1.0),
                               np.zeros(0, np.int16), state)) == 0
