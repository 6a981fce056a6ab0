"""The Region's rulebook: its evaluation, funding, recognition and schedule rules as small
named functions, chosen in the scenario by name (``policy.rules``, ``policy.schedule``) with
their own strictly validated parameters (:mod:`sim.rules.schema`).

* :mod:`sim.rules.evaluation` – the criteria's measures, combination rules (all, any,
  k of n, weighted), consequences (drop, probation, subsidy cut, conditional renewal, label
  withdrawal) and calendars (launch years, common, per cluster);
* :mod:`sim.rules.funding` – animation subsidy rules (flat, per member, matched to fees, by
  score, competitive envelope), taper rules (linear to a floor, stepwise, sunset) and the
  poles' unspent money (carry over, lapse, reallocate);
* :mod:`sim.rules.recognition` – how clusters come to be (pinned dates, bottom-up
  recognition, none);
* :mod:`sim.rules.schedule` – any lever of ``policy`` by year;
* :mod:`sim.rules.state` – what the rules remember in a run, and the table of decisions.

The defaults are the baseline's rules: an unchanged scenario gives the same run, bit for bit.
The processes that apply them are the Region's: :mod:`sim.processes.launch`,
:mod:`sim.processes.animation` and :mod:`sim.processes.evaluation`.
"""

from __future__ import annotations


def registry() -> dict[str, dict[str, object]]:
    """Every rule function by kind and name (the names the schema accepts)."""
    from sim.rules import evaluation, funding, recognition

    return {"combine": evaluation.COMBINE, "consequence": evaluation.CONSEQUENCES,
            "calendar": evaluation.CALENDARS, "subsidy": funding.SUBSIDIES,
            "taper": funding.TAPERS, "pole_money": funding.POLE_MONEY,
            "recognition": recognition.RECOGNITION}
