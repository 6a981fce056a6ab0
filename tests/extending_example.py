"""Build and run the worked example of docs/extending.md, in a process of its own.

The document's blocks are applied as its instructions say: the module is written out, the
quantity and the indicator are added to the indicators' table before anything reads it, and
the schedule's line is inserted into ``ClusterModel.step``.  Prints, as JSON, the example's
rows, what a recount of the process's effects gives, and the capability with and without it.
Run by ``tests/test_extending.py`` with its own Numba cache directory (the kernels compiled
for the changed ledger never reach the repository's cache).
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def blocks() -> dict[str, str]:
    """The example's code blocks, by the name of the comment above each."""
    found = re.findall(r"<!-- example: ([^>]+?) -->\s*```python\n(.*?)```", DOC.read_text(),
                       re.S)
    return {name.strip(): code for name, code in found}


def main(folder: str) -> None:
    code = blocks()
    # 3. the quantity and the indicator, in the table, before anything reads it
    from sim.indicators import table

    quantity = eval(code["quantity"], vars(table))  # the repository's own document
    table.QUANTITIES = (*table.QUANTITIES, quantity)
    table.QUANTITY[quantity.name] = quantity
    indicator = eval(code["indicator"], vars(table))
    table.CATALOGUE = (*table.CATALOGUE, indicator)
    table.BY_NAME[indicator.name] = indicator
    # 1. the process's module
    Path(folder, "mentoring_example.py").write_text(code["module"])
    sys.path.insert(0, folder)
    import mentoring_example

    import sim.model
    from sim import ClusterModel, load_scenario

    # 2. the schedule's line
    (where, line), = ((k, v) for k, v in code.items() if k.startswith("schedule"))
    anchor = re.search(r'after "(.+)"', where).group(1)
    lines = textwrap.dedent(inspect.getsource(ClusterModel.step)).splitlines()
    at = next(i for i, text in enumerate(lines) if anchor in text)
    lines.insert(at + 1, re.match(r"\s*", lines[at]).group(0) + line.strip())
    namespace = dict(vars(sim.model), mentoring=mentoring_example)
    exec("\n".join(lines), namespace)  # the repository's own code and document
    mentored_model = type("Mentored", (ClusterModel,), {"step": namespace["step"]})

    # the recount: SMEs whose capability the process raised, quarter by quarter
    counted: dict[str, float] = defaultdict(float)
    process = mentoring_example.mentoring

    def watched(m):
        before = m.actors.capability[: m.actors.n].copy()
        process(m)
        raised = [int(i) for i in range(len(before)) if m.actors.capability[i] > before[i]]
        for i in raised:
            counted[f"{m.year}|{m.clusters.names[m.actors.cluster[i]]}"] += 1
            counted[f"{m.year}|"] += 1

    namespace["mentoring"].mentoring = watched
    sc = load_scenario(None, {"run.scale": 0.5})
    model = mentored_model(sc, seed=4, handles=False)
    df = model.run()
    plain = ClusterModel(sc, seed=4, handles=False)
    out = plain.run()
    rows = df[df.indicator == indicator.name]
    print(json.dumps({
        "rows": {f"{y}|{k}": v for y, k, v in zip(rows.year, rows.key, rows.value, strict=True)},
        "recount": counted,
        "clusters": len(model.clusters.names),
        "last_of_each_year": sorted(set(df.groupby("year").indicator.last())),
        "plain_rows": float(out[out.indicator == indicator.name].value.abs().sum()),
        "capability": [float(model.actors.capability[: model.actors.n].sum()),
                       float(plain.actors.capability[: plain.actors.n].sum())],
    }))


if __name__ == "__main__":
    main(sys.argv[1])
