"""docs/api.md's example runs as written and finds what it says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_api_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "api.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    result = namespace["result"]
    assert len(result.history) == 8
    assert 0 <= result.best_value <= 100 and result.best_value == result.history["value"].max()
    assert result.best_value > 20, "one epoch of a conv cell beats chance (10 %) on digits"
    assert (tmp_path / "runs" / "mine" / "trials").is_dir()
    assert str(result.best_arch) in capsys.readouterr().out
