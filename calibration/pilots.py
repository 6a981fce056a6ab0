"""Why the seed's four clusters of 2001 are the Region's pilots (inputs), not observations of
the creation process (issue 17): two measurements.

    python -m calibration.pilots             # the ranking table, and 20 runs without pilots
    python -m calibration.pilots --reps 50

1. **The groups' drivers.**  Every group-level quantity the creation process can respond to
   in the first call, when no group has a record yet (its companies, its large firms, its
   cooperation propensity by the sector rule, the companies times that propensity, its
   universities and research centres), ranks the scenario's twelve groups; the four at the top
   would apply first.  None of these rankings puts more than one of the seed's 2001 clusters
   (Aeronautics, Automotive, Wood, Food processing) among its first four, and two of the pilots
   are contained in later groups (food in nutrition, wood in eco-building: a quantity added
   over the companies ranks the larger group first).
2. **With a history.**  The replay started in 1998 (three years of partnering with no cluster,
   ``time.start_year = 1998``): in January 2001 each group's recent cooperation (its companies
   that started a partnership in the last four quarters, as a share and as a count), the
   quantity a pre-2001 history would add to the first call, over ``--reps`` replications.
3. **Without the pilots.**  The calibrated creation process
   (``calibration/calibrated_creation.toml``) under the historical calls with no cluster
   pinned (``pinned_until = 1990``, calls in 2001, 2003 and 2004): the clusters launched in
   each call, over ``--reps`` replications.  The process was estimated with the pilots in
   place; what it does without them says how much the later clusters owe to the pilots (the
   demonstration effect).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REPLAY = ROOT / "scenarios" / "clusters_bottom_up_replay.toml"
CALLS = (2001, 2003, 2004)


def replay(overrides: dict):
    """The historical replay with ``overrides``, cut before the poles (their warning silenced:
    no pole call before 2006 is the point)."""
    from sim.loader import ScenarioWarning, load_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScenarioWarning)
        return load_scenario(REPLAY, overrides=overrides)


def group_drivers(sc) -> list[dict]:
    """One row per declared cluster (its sectors a group): its seed year and the group-level
    quantities of the first call."""
    from sim.world import sector_table

    table = sector_table(sc)
    index = {s.name: k for k, s in enumerate(sc.world.sectors)}
    rows = []
    for c in sc.clusters:
        specs = [sc.world.sectors[index[s]] for s in c.sectors]
        firms = sum(s.firms for s in specs)
        coop = sum(s.firms * table["cooperation"][index[s.name]] for s in specs) / firms
        rows.append({"cluster": c.name, "year": c.launch_year, "companies": firms,
                     "large firms": sum(s.firms * s.large_share for s in specs),
                     "cooperation propensity": coop,
                     "companies x propensity": firms * coop,
                     "universities + research centres": sum(s.universities + s.research_centres
                                                            for s in specs)})
    return rows


def history_drivers(reps: int) -> dict[str, dict[str, float]]:
    """Each group's recent cooperation in January 2001 after three years without clusters
    (the replay from 1998): mean over ``reps`` replications of the share and the number of its
    living companies that started a partnership in 2000."""
    from sim.model import ClusterModel
    from sim.state.codes import LARGE, SME

    sc = replay({"time.start_year": 1998, "time.end_year": 2001,
                 "policy.rules.recognition.pinned_until": 1990,
                 "policy.rules.recognition.rounds": [2001]})
    share: dict[str, list[float]] = {c.name: [] for c in sc.clusters}
    count: dict[str, list[float]] = {c.name: [] for c in sc.clusters}
    for r in range(reps):
        m = ClusterModel(sc, replication=r, handles=False)
        while m.year < 2001:
            m.step()
        a, n = m.actors, m.actors.n
        company = a.alive[:n] & np.isin(a.atype[:n], (SME, LARGE))
        for c, name in enumerate(m.clusters.names):
            recent = a.last_project[:n][company & m.clusters.sectors[c][a.sector[:n]]] >= m.t - 4
            share[name].append(float(recent.mean()))
            count[name].append(float(recent.sum()))
    return {name: {"recent cooperation share": float(np.mean(share[name])),
                   "recently cooperating companies": float(np.mean(count[name]))}
            for name in share}


def launches_without_pilots(reps: int) -> dict[int, np.ndarray]:
    """Clusters launched in each call (by replication) in the historical calls, nothing pinned."""
    from sim.model import ClusterModel

    sc = replay({"policy.rules.recognition.pinned_until": 1990,
                 "policy.rules.recognition.rounds": list(CALLS), "time.end_year": max(CALLS)})
    out = {y: np.zeros(reps) for y in CALLS}
    for r in range(reps):
        df = ClusterModel(sc, replication=r, handles=False).run()
        tot = df[(df["indicator"] == "clusters_created") & (df["by"] == "total")]
        for y in CALLS:
            out[y][r] = float(tot.loc[tot["year"] == y, "value"].sum())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m calibration.pilots", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=20, help="replications without pilots (20)")
    args = ap.parse_args(argv)
    from sim.loader import load_scenario

    rows = group_drivers(load_scenario(REPLAY))
    pilots = {r["cluster"] for r in rows if r["year"] == 2001}
    print("The first call's four groups by each group-level driver (the seed's pilots: "
          + ", ".join(sorted(pilots)) + ")")
    for key in ("companies", "large firms", "cooperation propensity", "companies x propensity",
                "universities + research centres"):
        top = sorted(rows, key=lambda r: (-r[key], r["cluster"]))[:4]
        hits = sum(r["cluster"] in pilots for r in top)
        cells = ", ".join(f"{r['cluster']} ({r[key]:.3g})" for r in top)
        print(f"  {key:32s} {cells}: {hits} of 4 pilots")
    hist = history_drivers(args.reps)
    print(f"\nWith three years of history (from 1998, no cluster), January 2001, "
          f"{args.reps} replications")
    for key in ("recent cooperation share", "recently cooperating companies"):
        top = sorted(hist, key=lambda c: (-hist[c][key], c))[:4]
        cells = ", ".join(f"{c} ({hist[c][key]:.3g})" for c in top)
        print(f"  {key:32s} {cells}: {sum(c in pilots for c in top)} of 4 pilots")
    print(f"\nWithout the pilots (nothing pinned, calls {', '.join(map(str, CALLS))}), "
          f"{args.reps} replications: clusters launched per call")
    got = launches_without_pilots(args.reps)
    for y in CALLS:
        v = got[y]
        print(f"  {y}: mean {v.mean():.2f}, runs with any {int((v > 0).sum())} of {args.reps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
