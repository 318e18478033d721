"""What the dashboard's charts (templates/ui/_charts.html) compute before drawing: a value
axis with round ticks, and the label of a week or month with its year."""
from datetime import date

from babel import dates

from hub.ui import i18n

MAX_TICKS = 5


def axis(top) -> dict:
    """A count axis from 0 to a round number at or above `top`, ticked at a round step
    (1, 2 or 5 times a power of ten): at least three ticks, at most MAX_TICKS + 1.
    {"max": axis end, "ticks": [0, step, ...]}."""
    top = max(int(top or 0), 1)
    step = 1
    while -(-top // step) > MAX_TICKS:
        for factor in (2, 2.5, 2):  # 1 -> 2 -> 5 -> 10 -> 20 -> 50 ...
            step = int(step * factor)
            if -(-top // step) <= MAX_TICKS:
                break
    end = max(-(-top // step), 2) * step
    return {"max": end, "ticks": list(range(0, end + 1, step))}


def period_label(key: str, grain: str) -> tuple[str, str]:
    """A period's label in two lines, (its week's Monday or its month, the year), in the
    session's language: ("9 Mar", "2026") or ("Mar", "2026")."""
    day = date.fromisoformat(key)
    first = dates.format_date(day, "MMM" if grain == "month" else "d MMM",
                              locale=i18n.locale())
    return first, str(day.year)
