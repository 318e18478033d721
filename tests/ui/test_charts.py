"""The dashboard charts' value axis and period labels (hub/ui/charts.py); how they look
in a browser at a phone's and a laptop's width is tests/ui/test_browser_dashboard.py."""
import pytest
from flask import session

from hub.ui import charts


@pytest.mark.parametrize("top,ticks", [
    (0, [0, 1, 2]), (1, [0, 1, 2]), (2, [0, 1, 2]), (4, [0, 1, 2, 3, 4]),
    (5, [0, 1, 2, 3, 4, 5]), (7, [0, 2, 4, 6, 8]), (10, [0, 2, 4, 6, 8, 10]),
    (11, [0, 5, 10, 15]), (26, [0, 10, 20, 30]), (99, [0, 20, 40, 60, 80, 100]),
    (1234, [0, 500, 1000, 1500]),
])
def test_the_value_axis_ends_at_or_above_the_largest_value_in_round_steps(top, ticks):
    axis = charts.axis(top)
    assert axis["ticks"] == ticks
    assert axis["max"] == ticks[-1] >= top


@pytest.mark.parametrize("lang,grain,label", [
    ("id", "week", ("12 Okt", "2026")), ("en", "week", ("12 Oct", "2026")),
    ("id", "month", ("Okt", "2026")), ("en", "month", ("Oct", "2026")),
])
def test_a_period_is_labelled_with_its_year_in_the_session_language(app, lang, grain, label):
    with app.test_request_context("/ui/dashboard"):
        session["lang"] = lang
        assert charts.period_label("2026-10-12", grain) == label
