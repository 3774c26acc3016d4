"""`benchmarks/nb301_fidelity.py`: the NB301 surrogate against 725 really trained genotypes.

The measured numbers live in `benchmarks/results/nb301_fidelity.json` and
`docs/benchmarks/nb301.md`; here the computation is checked on the real files.
"""

from __future__ import annotations

import importlib
import math
import sys

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from conftest import DARTS_V2_TEXT, ROOT, shared_file, zc_rows

if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
nb301_fidelity = importlib.import_module("nb301_fidelity")


@pytest.fixture(scope="module")
def surrogate():
    from selfnas.benchmarks import get_benchmark

    shared_file("nb301/yahpo_nb301_surrogate.onnx")
    shared_file("nb301/yahpo_nb301_encoding.json")
    return get_benchmark("nb301")


@pytest.fixture(scope="module")
def rows():
    return zc_rows("zc_nb301")


@pytest.fixture(scope="module")
def fidelity(rows, surrogate):
    return nb301_fidelity.measure(rows, surrogate, epoch=98)


def test_all_725_rows_parse_and_are_predicted(fidelity, rows):
    report = fidelity.report
    assert len(rows) == report["rows"] == report["n"] == 725
    assert report["skipped"] == {"count": 0, "rows": []}
    assert fidelity.rows == list(range(725))
    assert fidelity.real.shape == fidelity.predicted.shape == (725,)
    assert np.isfinite(fidelity.predicted).all()
    assert fidelity.real.tolist() == [float(row["val_accuracy"]) for row in rows]


def test_correlations_equal_scipy_on_the_same_vectors(fidelity):
    report, real, predicted = fidelity.report, fidelity.real, fidelity.predicted
    tau = kendalltau(predicted, real).statistic
    assert report["surrogate"]["kendall_tau"] == pytest.approx(tau, abs=1e-4)
    assert report["surrogate"]["spearman_rho"] == pytest.approx(
        spearmanr(predicted, real).statistic, abs=1e-4
    )
    for name in ("params", "flops"):
        values = getattr(fidelity, name)
        assert report["references"][name]["n"] == 725
        assert report["references"][name]["kendall_tau"] == pytest.approx(
            kendalltau(values, real).statistic, abs=1e-4
        )
    # the surrogate ranks these genotypes far better than a parameter count
    assert report["surrogate"]["kendall_tau"] > report["references"]["params"]["kendall_tau"]


def test_errors_ranges_and_overlaps_are_consistent(fidelity):
    report, real, predicted = fidelity.report, fidelity.real, fidelity.predicted
    error = predicted - real
    assert report["mean_signed_error"] == pytest.approx(error.mean(), abs=1e-4)
    assert report["mean_absolute_error"] == pytest.approx(np.abs(error).mean(), abs=1e-4)
    assert report["mean_absolute_error"] >= abs(report["mean_signed_error"]) - 1e-4
    assert report["real_val_accuracy"]["max"] == pytest.approx(real.max(), abs=1e-4)
    assert report["predicted_val_accuracy"]["min"] == pytest.approx(predicted.min(), abs=1e-4)
    for k in (10, 50):
        entry = report["top_k_overlap"][f"top{k}"]
        assert entry["of"] == k and 0 <= entry["overlap"] <= k
        best_real = set(np.argsort(-real)[:k].tolist())
        best_predicted = set(np.argsort(-predicted)[:k].tolist())
        assert entry["overlap"] == len(best_real & best_predicted)


def test_bad_rows_are_counted_and_darts_v2_is_predicted_as_documented(fidelity, rows, surrogate):
    """Broken rows are listed, not dropped silently; the batched call gives DARTS-V2 the
    documented 95.46 % and the real rows the same predictions as the full run."""
    broken = {"arch": "Genotype(normal=[('sep_conv_3x3', 0)", "val_accuracy": "93.0"}
    no_accuracy = {**rows[0], "val_accuracy": ""}
    bad_op = {**rows[0], "arch": rows[0]["arch"].replace("sep_conv_3x3", "conv_7x1_1x7")}
    darts_v2 = {"arch": DARTS_V2_TEXT, "val_accuracy": "97.0", "params": "", "flops": "1"}
    mixed = [*rows[:5], broken, no_accuracy, bad_op, darts_v2]
    assert "conv_7x1_1x7" in bad_op["arch"]

    result = nb301_fidelity.measure(mixed, surrogate, epoch=98)
    skipped = result.report["skipped"]
    assert skipped["count"] == 3 and [s["row"] for s in skipped["rows"]] == [5, 6, 7]
    assert "does not parse" in skipped["rows"][0]["reason"]
    assert "val_accuracy" in skipped["rows"][1]["reason"]
    assert "unknown op 'conv_7x1_1x7'" in skipped["rows"][2]["reason"]
    assert result.report["n"] == 6 and result.rows == [0, 1, 2, 3, 4, 8]
    assert result.predicted[-1] == pytest.approx(95.46, abs=0.01)
    np.testing.assert_allclose(result.predicted[:5], fidelity.predicted[:5], atol=1e-4)
    # a missing params value leaves that row out of the params reference only
    assert result.report["references"]["params"]["n"] == 5
    assert result.report["references"]["flops"]["n"] == 6
    assert math.isnan(result.params[-1])
