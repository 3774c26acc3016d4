"""Mean ± std over seeds: the sample standard deviation, and how it is written."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from selfnas.stats import format_mean_std, mean_std


def test_std_is_the_sample_standard_deviation():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32; 32 / 7 under ddof=1
    # (the population formula, 32 / 8, gives exactly 2)
    result = mean_std([2, 4, 4, 4, 5, 5, 7, 9])
    assert result.mean == 5.0
    assert result.std == pytest.approx(math.sqrt(32 / 7))
    assert result.n == 8


def test_accepts_arrays_and_generators_alike():
    values = np.array([[0.1, 0.2], [0.3, 0.6]])
    assert mean_std(values) == mean_std(v for v in (0.1, 0.2, 0.3, 0.6))


def test_one_value_has_no_spread_and_none_has_no_mean():
    assert mean_std([0.7]) == (0.7, None, 1)
    assert mean_std([]) == (None, None, 0)


def test_nan_is_kept_not_skipped():
    result = mean_std([1.0, math.nan])
    assert math.isnan(result.mean) and result.n == 2


def test_format_mean_std():
    assert format_mean_std(0.81234, 0.01, 3) == "0.812 ± 0.010"
    assert format_mean_std(12.0, 1.5, 1, n=5) == "12.0 ± 1.5 (n=5)"
    assert format_mean_std(0.5, None, 2, n=1) == "0.50 (n=1)"
    assert format_mean_std(0.5, math.nan, 2) == "0.50"
    assert format_mean_std(None, None, 3) == "-"
    assert format_mean_std(math.nan, 0.1, 3) == "-"


def test_search_summary_spreads_are_sample_std_over_seeds():
    from selfnas.search.summary import regret_curves, summarise

    frame = pd.DataFrame(
        {
            "strategy": "re",
            "seed": [0, 0, 1, 1],
            "step": [1, 2, 1, 2],
            "best_value": [90.0, 91.0, 92.0, 92.0],
            "best_test": [90.0, 91.0, 92.0, 92.0],
            "regret": [3.0, 2.0, 1.0, 1.0],
            "rank": [5, 3, 2, 2],
            "seconds": [1.0, 2.0, 1.0, 2.0],
        }
    )
    s = summarise(frame, checkpoints=())["re"]
    # final tests 91 and 92: sample std |91 - 92| / sqrt(2) (the population std is 0.5)
    assert s["std_test"] == pytest.approx(1 / math.sqrt(2))
    assert s["std_queries_to_best"] == pytest.approx(1 / math.sqrt(2))  # found at 2 and 1
    curves = regret_curves(frame)
    assert curves["std"].tolist() == pytest.approx([2 / math.sqrt(2), 1 / math.sqrt(2)])
    one = summarise(frame[frame["seed"] == 0], checkpoints=())["re"]
    assert one["std_test"] is None and one["mean_test"] == 91.0


def test_reproduce_rows_use_the_same_formatter():
    from selfnas.reproduce.writer import fmt

    assert fmt(0.81234, 0.0123) == "0.8123 ± 0.0123"  # Kendall tau: 4 places
    assert fmt(94.3733, None) == "94.37"  # one seed: no spread
    assert fmt(None) == "-"


def test_search_without_an_optimum_reports_found_as_unknown_not_zero():
    """A surrogate or real training has no optimum: "found optimum" is "-", never "0 %"."""
    from selfnas.search.summary import found_percent, markdown_table, summarise

    frame = pd.DataFrame(
        {
            "strategy": ["re", "re", "random", "random"],
            "seed": [0, 0, 0, 0],
            "step": [1, 2, 1, 2],
            "best_value": [90.0, 91.0, 90.0, 90.5],
            "best_test": [90.0, 91.0, 90.0, 90.5],
            "regret": [math.nan] * 4,
            "rank": [0] * 4,
            "seconds": [1.0, 2.0, 1.0, 2.0],
        }
    )
    summary = summarise(frame, checkpoints=())
    assert summary["re"]["found_optimum_fraction"] is None
    assert found_percent(summary["re"]) == "-"
    assert "0 %" not in markdown_table(summary)
    with_optimum = summarise(frame.assign(regret=[1.0, 0.0, 1.0, 0.5]), checkpoints=())
    assert [found_percent(with_optimum[s]) for s in ("re", "random")] == ["100 %", "0 %"]
