"""The creation of companies (:mod:`sim.world`): later companies' kernel against its
pure-Python twin draw for draw, and the initial population's profiles."""

from __future__ import annotations

import numpy as np
import pytest

from sim.state.codes import SME
from sim.world import spawn_smes, unit_profiles
from tests import reference as ref
from tests.worlds import (
    SME_COLUMNS,
    SME_RENAME,
    actors_of,
    copy_args,
    make_world,
    new_firms_of,
    run_both,
    spawn_args,
)

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]


def call_spawn(args: dict) -> None:
    """``spawn_smes`` on the flat arguments of its twin."""
    actors = actors_of(args, SME_RENAME)
    spawn_smes(actors.view, args["n"], args["sector"], args["like"], new_firms_of(args),
               args["step"], args["origin"], args["rng"])
    actors.check()


@pytest.mark.parametrize("seed", SEEDS)
def test_spawn_smes(seed):
    w = make_world(seed)
    for k, spin_off, prod_start in ((1, False, None), (7, False, 0.0), (5, True, None),
                                    (0, True, None)):
        args = spawn_args(w, k, spin_off, prod_start)
        before = copy_args(args)
        _, out, _ = run_both(call_spawn, ref.spawn_smes, args)
        n = args["n"]
        new = slice(n, n + k)
        assert out["alive"][new].all() and (out["atype"][new] == SME).all()
        assert ((out["employment"][new] >= 1.0) & (out["employment"][new] <= 249.0)).all()
        assert (out["born"][new] == 17).all() and (out["a_origin"][new] == args["origin"]).all()
        if spin_off:  # a spin-off keeps its parent's profile and province
            assert np.array_equal(out["knowledge"][new], out["knowledge"][args["like"]])
            assert np.array_equal(out["province"][new], out["province"][args["like"]])
        elif k:
            norms = np.linalg.norm(out["knowledge"][new].astype(np.float64), axis=1)
            np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
        # nothing else moves: the rows before n and after the new ones
        for name in SME_COLUMNS:
            assert np.array_equal(out[name][:n], before[name][:n]), name
            assert np.array_equal(out[name][n + k:], before[name][n + k:]), name



@pytest.mark.parametrize("seed", SEEDS[:4])
def test_unit_profiles_are_the_numpy_expression(seed):
    """The initial profiles' kernel gives NumPy's ``|c + s z| / ||c + s z||`` to the bit."""
    g = np.random.default_rng(seed)
    centroids = g.gamma(0.5, size=(5, 8))
    sector = g.integers(0, 5, 300)
    noise = g.standard_normal((300, 8))
    noise[0] = -centroids[sector[0]] / 0.7  # a profile of norm 0 stays as it is
    raw = np.abs(centroids[sector] + 0.7 * noise)
    norm = np.linalg.norm(raw, axis=1, keepdims=True)
    want = (raw / np.where(norm == 0, 1.0, norm)).astype(np.float32)
    assert np.array_equal(unit_profiles(centroids, sector, 0.7, noise), want)
