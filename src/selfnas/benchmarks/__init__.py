"""Benchmarks as oracles over real tables and surrogates (NB101, NB201, NB301, NB-Graph)."""

from selfnas.benchmarks.base import Benchmark, Ledger, Record

__all__ = ["Benchmark", "Ledger", "Record"]
