"""The shared registry: every registered name resolves, unknown names list the choices,
nothing is imported before it is asked for, the CLI help lists every name, and the
abilities spaces declare (`enumerable`, `num_vertices`, ...) match what they do."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from selfnas.benchmarks import BENCHMARKS
from selfnas.cli import main
from selfnas.encoders import ENCODERS
from selfnas.errors import InvalidOption
from selfnas.pretrain.registry import OBJECTIVE_REGISTRY
from selfnas.registry import Registry
from selfnas.reproduce import MODULES, get_reproduction
from selfnas.search.base import STRATEGIES, Strategy
from selfnas.spaces import SPACES, SearchSpace, get_space

REGISTRIES = [SPACES, BENCHMARKS, ENCODERS, OBJECTIVE_REGISTRY, STRATEGIES, MODULES]


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.kind)
def test_every_registered_name_resolves(registry):
    assert len(registry) >= 4
    for name in registry:
        assert registry.get(name) is not None, name
        assert registry[name].help, f"{registry.kind} {name} has no help text"


def test_resolved_objects_are_what_each_registry_promises():
    assert all(issubclass(SPACES.get(n), SearchSpace) for n in SPACES)
    assert all(issubclass(STRATEGIES.get(n), Strategy) for n in STRATEGIES)
    assert all(STRATEGIES.get(n).name == n for n in STRATEGIES)
    assert all(callable(ENCODERS.get(n)) for n in ENCODERS)
    assert all(callable(OBJECTIVE_REGISTRY.get(n)) for n in OBJECTIVE_REGISTRY)
    assert [get_reproduction(n).name for n in MODULES] == MODULES.names()


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda r: r.kind)
def test_unknown_name_lists_the_choices(registry):
    with pytest.raises(InvalidOption, match=f"unknown {registry.kind} 'nope'") as info:
        registry.get("nope")
    assert all(name in str(info.value) for name in registry)


def test_lookup_is_lazy_and_cached():
    registry: Registry[object] = Registry(
        "thing",
        {"json": ("json:dumps", "stdlib"), "gone": ("selfnas_no_such_module:x", "missing")},
    )
    assert "selfnas_no_such_module" not in sys.modules
    assert registry.names() == ["json", "gone"] and "json" in registry
    import json

    assert registry.get("json") is json.dumps is registry.get("json")
    with pytest.raises(ModuleNotFoundError):
        registry.get("gone")
    assert registry.help_text() == "json (stdlib), gone (missing)"
    assert registry.entry("json").module == "json"


def test_bad_registrations_are_caught():
    with pytest.raises(ValueError, match="module:attr"):
        Registry("thing", {"a": ("no_colon", "")})
    registry: Registry[object] = Registry("thing", {"a": ("json:dumps", "")})
    with pytest.raises(ValueError, match="twice"):
        registry.register("a", "json:loads", "")


def test_names_ignore_case_only_where_asked():
    assert get_space("NB201") is get_space("nb201")
    with pytest.raises(InvalidOption):
        STRATEGIES.get("RE")


def _help(argv: list[str], capsys) -> str:
    """The help text with all whitespace removed (argparse wraps lines, also at hyphens)."""
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return "".join(capsys.readouterr().out.split())


def _compact(text: str) -> str:
    return "".join(text.split())


def test_search_help_lists_every_strategy_and_benchmark(capsys):
    text = _help(["search"], capsys)
    for name in STRATEGIES:
        assert _compact(f"{name} ({STRATEGIES[name].help})") in text
    assert "reinforce(" in text
    assert _compact(BENCHMARKS.choices()) in text and _compact(SPACES.choices()) in text


def test_pretrain_and_reproduce_help_list_their_registries(capsys):
    text = _help(["pretrain"], capsys)
    assert all(f"{name}(" in text for name in OBJECTIVE_REGISTRY)
    assert _compact(ENCODERS.choices()) in text
    assert _compact(MODULES.choices()) in _help(["reproduce"], capsys)


def test_enumerable_is_one_property_of_the_space():
    assert [n for n in SPACES if get_space(n).enumerable] == ["nb101", "nb201", "nbgraph"]
    darts = get_space("darts")
    assert not darts.enumerable
    with pytest.raises(InvalidOption):
        darts.enumerate()


@pytest.mark.parametrize("name", ["nb201", "darts", "nbgraph"])
def test_declared_vertex_count_is_the_widest_node_form(name):
    space = get_space(name)
    batch = space.batch(space.sample(64, np.random.default_rng(0)))
    assert space.num_vertices == batch.num_vertices


def test_optional_abilities_default_to_none():
    nb201, darts = get_space("nb201"), get_space("darts")
    cell = nb201.sample(1, np.random.default_rng(0))[0]
    assert nb201.unique_key(cell) is not None
    genotype = darts.sample(1, np.random.default_rng(0))[0]
    assert darts.unique_key(genotype) is None
    assert nb201.hashes_all() is None
    batch = darts.batch([genotype])
    adj, ops = batch.adj[0].numpy(), batch.ops[0].numpy()
    assert darts.published_valid(adj, ops) is True and darts.unpruned_hash(adj, ops) is None
    assert nb201.published_valid(adj, ops) is None
