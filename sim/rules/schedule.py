"""The policy schedule (``[[policy.schedule]]``): any lever of ``policy`` takes values by year.

An entry ``{year = 2008, set = {"animation.subsidy_eur_per_year" = 100000.0}}`` sets the lever
``policy.animation.subsidy_eur_per_year`` from 1 January 2008 on (a new decree, a new budget
period).  Entries apply in order, those of the earlier years first; a value can be a table
(a rule block: ``"rules.animation.taper" = {rule = "sunset", years = 9}``).  The scenario in
force in a year is validated as a whole when the scenario is loaded, so a scheduled value is
checked like any other (bounds, types, rule names).

Levers fixed when the run is built cannot change in its course and are refused: the poles'
candidates, calls, budget and selection date, and the schedule itself.
"""

from __future__ import annotations

from typing import Any

# levers read once, when the run's state is built (sim.state.institutions.Poles.from_scenario)
FIXED = ("poles.enabled", "poles.candidates", "poles.calls", "poles.selection_year",
         "poles.selection_quarter", "poles.budget_", "schedule")


def fixed_lever(path: str) -> bool:
    """Whether ``path`` (under ``policy.``) names a lever fixed when the run is built."""
    return any(path == f or path.startswith(f if f.endswith("_") else f + ".")
               or (f.endswith("_") and path.startswith(f)) for f in FIXED)


def set_dotted(doc: dict[str, Any], path: str, value: Any) -> str | None:
    """Set ``path`` (dotted keys) of ``doc`` in place; the problem (a message) when a key
    is not a table of the document."""
    keys = path.split(".")
    here = doc
    for i, k in enumerate(keys[:-1]):
        nxt = here.get(k) if isinstance(here, dict) else None
        if not isinstance(nxt, dict):
            return f"{'.'.join(keys[: i + 1])} is not a table of policy"
        here = nxt
    if not isinstance(here, dict) or keys[-1] not in here:
        return f"unknown lever policy.{path}"
    here[keys[-1]] = value
    return None


def policy_in(policy_doc: dict[str, Any], schedule: list, year: int) -> dict[str, Any]:
    """The policy document in force in ``year``: ``policy_doc`` with every entry of
    ``schedule`` of a year up to ``year`` applied, in order of year then of the list."""
    import copy

    doc = copy.deepcopy(policy_doc)
    for e in sorted(schedule, key=lambda e: e.year):
        if e.year <= year:
            for path, value in e.set.items():
                set_dotted(doc, path, value)
    return doc


def problems(policy: Any) -> list[str]:
    """``schedule[i].set.<lever>: message`` for each scheduled value that cannot be set: an
    unknown or fixed lever, or a policy (as a whole, in the entry's year) that the schema
    refuses."""
    from pydantic import ValidationError

    if not policy.schedule:
        return []
    out = []
    base = policy.model_dump(exclude={"schedule"})
    for i, e in enumerate(policy.schedule):
        for path in e.set:
            if fixed_lever(path):
                out.append(f"schedule[{i}].set.{path}: this lever is fixed when the run is "
                           "built and cannot be scheduled")
            elif msg := _check_path(base, path):
                out.append(f"schedule[{i}].set.{path}: {msg}")
    if out:
        return out
    for i, e in enumerate(sorted(policy.schedule, key=lambda e: e.year)):
        doc = policy_in(base, policy.schedule, e.year)
        try:
            type(policy).model_validate(doc)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(x) for x in err["loc"])
                out.append(f"schedule[{i}] (policy in {e.year}): {loc}: {err['msg']} "
                           f"(got {err.get('input')!r:.60})")
    return out


def _check_path(doc: dict[str, Any], path: str) -> str | None:
    import copy

    return set_dotted(copy.deepcopy(doc), path, 0)


def apply(m: Any) -> bool:
    """On 1 January, the policy in force this year becomes the model's (``m.sc``); the
    processes' constants are rebuilt.  Returns whether the policy changed."""
    st = m.rulebook
    base = st.base_scenario
    schedule = base.policy.schedule
    if not schedule or st.applied_year == m.year:
        return False
    st.applied_year = m.year
    policy = policy_in(base.policy.model_dump(exclude={"schedule"}), schedule, m.year)
    new = type(base.policy).model_validate(policy | {"schedule": [e.model_dump()
                                                                  for e in schedule]})
    if new == m.sc.policy:
        return False
    m.sc = base.model_copy(update={"policy": new})
    m.constants.clear()
    changed = ", ".join(f"{k} = {v!r}" for e in schedule if e.year == m.year
                        for k, v in e.set.items())
    st.decide(m.year, m.quarter, "policy", "schedule", "schedule", "schedule", "policy_change",
              None, None, changed or "the policy of the earlier entries")
    return True
