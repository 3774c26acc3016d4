"""NB201 from tables: the real reference CSVs, joins, ranks, ledger, corrupt tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import damaged, fuzz_settings, shared_file
from selfnas.benchmarks import Ledger, get_benchmark
from selfnas.benchmarks.nb201 import NB201Tables, parse_table
from selfnas.errors import BudgetExhausted, DataCorrupt, DataNotFound, InvalidOption
from selfnas.spaces import get_space

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    "|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
)


@pytest.fixture(scope="module")
def joined():
    return NB201Tables(
        [shared_file("nb201/nb201_200ep_cifar10.csv"), shared_file("nb201/nb201_12ep.csv")]
    )


def test_optimum_of_200_epoch_cifar10_table():
    bench = NB201Tables([shared_file("nb201/nb201_200ep_cifar10.csv")])
    key, value = bench.best(metric="cifar10_test")
    assert value == pytest.approx(94.3733, abs=5e-5)
    # two cells share the optimum (isomorphic twins, measured alike): both rank 1
    assert bench.rank(key) == bench.rank(BEST) == 1 and key != BEST
    assert bench.regret(BEST) == 0.0
    assert len(bench.table()) == 15625 == get_space("nb201").size


def test_join_keeps_first_tables_names_and_qualifies_repeats(joined):
    raw200 = pd.read_csv(shared_file("nb201/nb201_200ep_cifar10.csv")).set_index("arch")
    raw12 = pd.read_csv(shared_file("nb201/nb201_12ep.csv")).set_index("arch")
    arch = raw12.index[123]
    record = joined.query(arch)
    assert record["cifar10_test"] == pytest.approx(raw200.loc[arch, "cifar10_test"])
    assert record["nb201_12ep:cifar10_test"] == pytest.approx(raw12.loc[arch, "cifar10_test"])
    assert record["cifar10_valid"] == pytest.approx(raw12.loc[arch, "cifar10_valid"])
    assert joined.test_metric() == "cifar10_test"


def test_rank_and_regret_match_brute_force(joined):
    frame = joined.frame()
    rng = np.random.default_rng(0)
    for row in rng.choice(len(frame), 20, replace=False):
        arch = frame["key"][row]
        value = frame["cifar10_valid"][row]
        expected = 1 + int((frame["cifar10_valid"] > value).sum())
        assert joined.rank(arch, metric="cifar10_valid") == expected
        regret = frame["cifar10_test"].max() - frame["cifar10_test"][row]
        assert joined.regret(arch) == pytest.approx(regret)


def test_prepared_batch_equals_single_queries(joined):
    space = get_space("nb201")
    archs = space.sample(50, np.random.default_rng(1))
    rows = joined.prepare(archs)
    fast = joined.values(rows, metric="cifar10_valid")
    slow = [joined.query(a, metric="cifar10_valid")["cifar10_valid"] for a in archs]
    np.testing.assert_allclose(fast, slow)


def test_ledger_counts_isomorphic_cells_separately(joined):
    space = get_space("nb201")
    classes = [c for c in space.unique_classes.values() if len(c) > 1]
    a, b = classes[0][:2]
    ledger = Ledger(joined, metric="cifar10_valid", max_queries=2)
    ledger.query(a)
    ledger.query(a)
    assert ledger.queries == 1 and ledger.seen(a) and not ledger.seen(b)
    ledger.query(b)
    assert ledger.queries == 2
    with pytest.raises(BudgetExhausted):
        ledger.query(space.mutate(a, np.random.default_rng(0)))


def test_registry_defaults_to_reference_tables_and_checks_options():
    bench = get_benchmark("nb201")
    assert bench.best(metric="cifar10_test")[1] == pytest.approx(94.3733, abs=5e-5)
    with pytest.raises(InvalidOption):
        bench.query(BEST, dataset="cifar100")
    with pytest.raises(InvalidOption):
        get_benchmark("nb999")


def _csv(tmp_path, text: str):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_bad_tables_raise_named_errors(tmp_path):
    with pytest.raises(DataNotFound, match=r"nope\.csv"):
        NB201Tables([tmp_path / "nope.csv"])
    with pytest.raises(DataCorrupt, match="no `arch` column"):
        parse_table(_csv(tmp_path, "name,acc\nx,1\n"))
    with pytest.raises(DataCorrupt, match="row 1"):
        parse_table(_csv(tmp_path, "arch,acc\n|bad~0|,1\n"))
    with pytest.raises(DataCorrupt, match="more than once"):
        parse_table(_csv(tmp_path, f"arch,acc\n{BEST},1\n{BEST},2\n"))
    with pytest.raises(DataCorrupt, match="no numeric"):
        parse_table(_csv(tmp_path, f"arch,acc\n{BEST},x\n"))
    with pytest.raises(DataCorrupt):
        parse_table(_csv(tmp_path, ""))


@fuzz_settings(40)
@given(
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 399), st.integers(0, 255)), max_size=4),
)
def test_fuzzed_tables_fail_only_with_named_errors(tmp_path, cut, flips):
    good = "arch,acc,lat\n" + "".join(
        f"{get_space('nb201').format(c)},{i}.5,{i}\n"
        for i, c in enumerate(get_space("nb201").sample(3, np.random.default_rng(0)))
    )
    path = tmp_path / "fuzz.csv"
    path.write_bytes(damaged(good.encode(), cut, flips, xor=False))
    try:
        frame = parse_table(path)
    except DataCorrupt:
        return
    assert len(frame) >= 1 and frame.shape[1] >= 2
