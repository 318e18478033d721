"""Ranked mapping suggestions: string similarity of a local value (and a sample record
title) against the hub's Indonesian labels and codes (rapidfuzz)."""
from rapidfuzz import fuzz, utils


def rank(value: str, sample: str | None, choices: list[tuple[str, str]], limit: int = 5):
    """[(hub value, label, score 0-100)], best first; weak matches are left out."""
    v = utils.default_process(value.replace("-", " ").replace("_", " "))
    s = utils.default_process(sample or "")
    scored = []
    for code, label in choices:
        lab = utils.default_process(label)
        tail = utils.default_process(code.rsplit(".", 1)[-1].replace("-", " "))
        score = max(fuzz.WRatio(v, lab), fuzz.WRatio(v, tail),
                    fuzz.partial_ratio(v, lab) if len(v) >= 3 else 0)
        if s:
            score = max(score, 0.85 * fuzz.token_set_ratio(s, lab))
        scored.append((code, label, round(score)))
    scored.sort(key=lambda x: (-x[2], x[1]))
    return [x for x in scored[:limit] if x[2] >= 40]
