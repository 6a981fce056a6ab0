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


KINDS = (("policy.rules.evaluation.combine", "Combine"),
         ("policy.rules.evaluation.consequence", "Consequence"),
         ("policy.rules.evaluation.calendar", "Calendar"),
         ("policy.rules.pole_evaluation.consequence", "PoleConsequence"),
         ("policy.rules.pole_evaluation.combine", "Combine"),
         ("policy.rules.animation.subsidy", "Subsidy"),
         ("policy.rules.animation.taper", "Taper"),
         ("policy.rules.pole_money", "PoleMoney"),
         ("policy.rules.recognition", "Recognition"))


def markdown_table() -> str:
    """The rules as the ODD's table (section 7.12a): where each is chosen, its name, its
    parameters (default, bounds, unit) and what it does, from the schema."""
    import typing

    from sim.rules import schema

    rows = ["| chosen at | `rule` | parameters: default [bounds] unit (source) | what it does |",
            "|---|---|---|---|"]
    for where, kind in KINDS:
        union = typing.get_args(getattr(schema, kind))[0]
        for model in typing.get_args(union) or (union,):
            name = typing.get_args(model.model_fields["rule"].annotation)[0]
            params = []
            for f, info in model.model_fields.items():
                if f == "rule":
                    continue
                lo = hi = None
                for m in info.metadata:
                    lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
                    hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
                extra = info.json_schema_extra or {}
                bounds = f" [{lo:g}, {hi:g}]" if lo is not None and hi is not None else ""
                unit = f" {extra['unit']}" if extra.get("unit") else ""
                default = (info.get_default(call_default_factory=True)
                           if info.default_factory is not None else info.default)
                default = "unset" if default is None else default
                params.append(f"`{f}` = {default}{bounds}{unit} ({extra.get('source', '')})")
            doc = " ".join((model.__doc__ or "").split()).replace("|", "\\|").replace("``", "`")
            rows.append(f"| `{where}` | `{name}` | {'; '.join(params) or '–'} | {doc} |")
    return "\n".join(rows)
