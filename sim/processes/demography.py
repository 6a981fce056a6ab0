"""Sub-step 11, demography: entry of new firms and academic spin-offs from universities and
research centres (docs/ODD.md, submodel "Demography"), in one compiled call
(:func:`demography_step`), on the census of the fabric the economy took right before.

The numbers are exact binomials: each living company of a sector brings one entrant with
probability ``entry_rate`` per quarter, and each living university or research centre draws
an academic spin-off with probability ``academic_spinoff_rate`` (the parents are then drawn
uniformly with replacement among them).  The new companies are SMEs drawn as those of
:mod:`sim.world`; entrants and academic spin-offs each draw from their own stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.rng import bernoulli_count, randbelow
from sim.state.codes import ENTRY, SPINOFF_RESEARCH
from sim.state.params import Params
from sim.world import productivity_level, write_smes

if TYPE_CHECKING:
    from sim.model import ClusterModel

PARAMS = Params(floats={"entry_rate": "world.entry_rate",
                        "spinoff_rate": "behaviour.projects.academic_spinoff_rate"})


def demography(m: ClusterModel, fabric: tuple[np.ndarray, np.ndarray]) -> None:
    """Entry of new firms and academic spin-offs.  ``fabric`` is the economy's census of this
    quarter: the living companies per sector and the rows of the living universities and
    research centres (entrants are companies, so the latter hold after entry)."""
    a, led = m.actors, m.ledger
    per_sector, research = fabric
    n0 = a.n
    while True:
        entries, spinoffs = demography_step(a.view, n0, per_sector, research, PARAMS.of(m),
                                            m.firms, m.t, m.streams["entry"],
                                            m.streams["research"])
        if entries >= 0:
            break
        a.ensure(-entries)  # more new firms than free rows: grow, draw the same again
    if entries or spinoffs:
        a.n = n0 + entries + spinoffs
        led.new_firms[ENTRY] += entries
        led.new_firms[SPINOFF_RESEARCH] += spinoffs
        m.handles.add(np.arange(n0, a.n))


@njit(cache=True)
def demography_step(a, n, per_sector, research, params, gen, step, entry_rng, research_rng):
    """One quarter's entry and academic spin-offs, written into rows from ``n`` on.

    ``per_sector`` holds the living companies of each sector and ``research`` the rows of
    the living universities and research centres.  Entrants per sector are
    Binomial(``per_sector[s]``, ``entry_rate``) (stream ``entry_rng``), written first, in
    sector order; then Binomial(``len(research)``, ``spinoff_rate``) academic spin-offs whose
    parents are drawn uniformly with replacement (stream ``research_rng``).  Both start at the
    productivity level of the companies before entry.

    Returns ``(entrants, spin-offs)``; when the actors' rows from ``n`` on cannot hold them
    all, returns ``(-rows needed, 0)`` with both streams put back as they were, so that the
    caller grows the arrays and calls again with the same draws.
    """
    p = params[0]
    saved_entry = entry_rng.copy()
    saved_research = research_rng.copy()
    n_s = per_sector.shape[0]
    entrants = np.empty(n_s, np.int64)
    n_entry = 0
    for s in range(n_s):
        entrants[s] = bernoulli_count(entry_rng, per_sector[s], p.entry_rate)
        n_entry += entrants[s]
    n_research = research.shape[0]
    k = bernoulli_count(research_rng, n_research, p.spinoff_rate)
    parents = np.empty(k, np.int64)
    for q in range(k):
        parents[q] = research[randbelow(research_rng, n_research)]
    if n + n_entry + k > a.alive.shape[0]:
        entry_rng[:] = saved_entry
        research_rng[:] = saved_research
        return -(n + n_entry + k), 0
    level = productivity_level(a, n, gen.params[0].prod_start)
    if n_entry:
        sector = np.empty(n_entry, np.int64)
        q = 0
        for s in range(n_s):
            for _ in range(entrants[s]):
                sector[q] = s
                q += 1
        write_smes(a, n, sector, parents[:0], level, gen, step, np.int64(ENTRY), entry_rng)
    if k:
        sector = np.empty(k, np.int64)
        for q in range(k):
            sector[q] = a.sector[parents[q]]
        write_smes(a, n + n_entry, sector, parents, level, gen, step, np.int64(SPINOFF_RESEARCH),
                   research_rng)
    return n_entry, k
