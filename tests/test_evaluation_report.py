"""The evaluation's score table and its figure (sim/evaluation/report.py)."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from sim.evaluation.report import figure_estimates, format_scores
from sim.evaluation.synthetic import SyntheticDesign, monte_carlo
from sim.evaluation.truth import score


@pytest.fixture(scope="module")
def mc():
    d = SyntheticDesign(n_firms=80, first_year=2001, last_year=2008, cohorts=(2004, 2006),
                        effects={"employment": 2.0, "value_added": 5e4})
    return monte_carlo(d, 4, seed=3, estimators=("naive", "twfe", "sun_abraham"),
                       outcomes=("employment", "value_added"))


def test_table_has_one_row_per_estimator_and_outcome(mc):
    s = score(*mc)
    md = format_scores(s).splitlines()
    assert len(md) == 2 + 6
    assert md[0].startswith("| estimator | outcome | reps | true effect")
    assert "employment (FTE)" in md[2] and "%" in md[2]
    plain = format_scores(s, "plain").splitlines()
    assert len(plain) == 1 + 6 and len({len(x) for x in plain}) == 1  # aligned
    with pytest.raises(ValueError, match="fmt"):
        format_scores(s, "html")


def test_figure_files(mc, tmp_path):
    est, truth = mc
    paths = figure_estimates(est, truth, tmp_path / "scores", "Synthetic test")
    assert [p.suffix for p in paths] == [".pdf", ".svg", ".png"]
    img = imread(paths[2])
    assert img.shape[1] == pytest.approx(7.2 * 300, rel=0.1)  # two-column width at 300 dpi
    one = figure_estimates(est[est["replication"] == 0], truth[truth["replication"] == 0],
                           tmp_path / "one", "One", outcomes=("employment",))
    assert imread(one[2]).shape[1] == pytest.approx(3.5 * 300, rel=0.15)  # one column
