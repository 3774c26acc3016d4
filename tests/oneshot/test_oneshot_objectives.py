"""Search objectives against hand-computed values: SimCLR's NT-Xent, BYOL's loss, EMA, schedule."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from torch import nn

from selfnas.oneshot.augment import Normalize
from selfnas.oneshot.network import MacroConfig
from selfnas.oneshot.objectives import BYOLObjective, byol_loss, ema_momentum, info_nce
from selfnas.oneshot.supernet import Supernet


def _unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def test_info_nce_matches_nt_xent_by_hand():
    z1 = [[3.0, 0.0], [0.0, 2.0]]  # not unit length: the loss normalises
    z2 = [[0.6, 0.8], [1.6, -1.2]]
    tau = 0.5
    # anchors 0, 1 are view 1 of images 0, 1; anchors 2, 3 view 2; positive of i is i +- 2
    anchors = [_unit(v) for v in z1 + z2]
    positive = [2, 3, 0, 1]
    total = 0.0
    for i, a in enumerate(anchors):
        sims = [sum(x * y for x, y in zip(a, b, strict=True)) / tau for b in anchors]
        denominator = sum(math.exp(s) for k, s in enumerate(sims) if k != i)
        total += -math.log(math.exp(sims[positive[i]]) / denominator)
    expected = total / len(anchors)
    got = info_nce(torch.tensor(z1), torch.tensor(z2), temperature=tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # the same pair twice: cos 1 for the positive, cos 0 to the other image's two views
    same = info_nce(torch.eye(2), torch.eye(2), temperature=1.0)
    assert same.item() == pytest.approx(-math.log(math.e / (math.e + 2.0)), rel=1e-6)


def test_byol_loss_on_known_cosines():
    p = torch.tensor([[1.0, 0.0]])
    assert byol_loss(p, torch.tensor([[2.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-7)
    assert byol_loss(p, torch.tensor([[0.0, 3.0]])).item() == pytest.approx(2.0)
    assert byol_loss(p, torch.tensor([[-0.5, 0.0]])).item() == pytest.approx(4.0)
    sixty = torch.tensor([[0.5, math.sqrt(3) / 2]])  # cos 60 deg = 0.5 -> 2 - 1
    assert byol_loss(p, sixty).item() == pytest.approx(1.0)
    batch = byol_loss(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[0.0, 1.0], [-1.0, 0]]))
    assert batch.item() == pytest.approx((2.0 + 4.0) / 2)  # batch mean
    # the target side gets no gradient
    z = torch.tensor([[0.0, 1.0]], requires_grad=True)
    q = torch.tensor([[1.0, 1.0]], requires_grad=True)
    byol_loss(q, z).backward()
    assert z.grad is None and q.grad is not None


def test_momentum_schedule_starts_at_base_and_ends_at_one():
    assert ema_momentum(0, 100, 0.996) == pytest.approx(0.996)
    assert ema_momentum(50, 100, 0.996) == pytest.approx(0.998)
    assert ema_momentum(100, 100, 0.996) == 1.0
    assert ema_momentum(150, 100, 0.996) == 1.0
    taus = [ema_momentum(k, 20, 0.9) for k in range(21)]
    assert all(a <= b for a, b in itertools.pairwise(taus))


def _bound(base: float = 0.5) -> tuple[Supernet, BYOLObjective]:
    torch.manual_seed(0)
    model = Supernet(MacroConfig(3, 4, 1), head="projection", out_dim=8, checkpoint_cells=0)
    objective = BYOLObjective(nn.Identity(), Normalize((0.5,), (0.25,)), base_momentum=base)
    objective.bind(model, total_steps=10)
    return model, objective


def test_ema_step_with_tau_half_averages_target_and_online():
    model, objective = _bound(base=0.5)
    assert objective.target is not None
    assert objective.momentum() == pytest.approx(0.5)
    with torch.no_grad():
        for p in model.weight_parameters():
            p.add_(torch.randn_like(p))
    old = [t.clone() for t in objective.target.weight_parameters()]
    online = [p.detach().clone() for p in model.weight_parameters()]
    objective.after_step(model)
    new = objective.target.weight_parameters()
    assert len(new) == len(online) > 0
    for t_new, t_old, o in zip(new, old, online, strict=True):
        assert torch.allclose(t_new, (t_old + o) / 2, atol=1e-6)
    assert int(objective.step) == 1
    # a cell fixed in the online network is fixed (same genotype) in the target too
    model.fix_cell(0)
    objective.after_step(model)
    assert objective.target.fixed[0] == model.fixed[0]
    assert len(objective.target.weight_parameters()) == len(model.weight_parameters())


def test_byol_forward_runs_the_online_path_in_the_target_without_gradient():
    model, objective = _bound(base=0.996)
    assert objective.target is not None
    model.train()
    model.sample(torch.Generator().manual_seed(1), skip_dropout=0.2)
    images = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    loss = objective(model, images)
    assert torch.isfinite(loss) and 0.0 <= loss.item() <= 8.0  # two terms, each in [0, 4]
    loss.backward()
    paths = objective.target._paths
    assert [p.active for p in paths if p] == [p.active for p in model._paths if p]
    assert all(p.grad is None for p in objective.target.parameters())
    assert all(p.grad is not None for p in objective.trainable_parameters())
    # identical online and target, identity predictor, identical views: the loss is 0
    objective.predictor = nn.Identity()
    objective.target.load_state_dict(model.state_dict())
    model.eval()
    assert objective(model, images).item() == pytest.approx(0.0, abs=1e-5)


def test_cli_byol_search_runs_and_resumes_exactly(tmp_path, capsys):
    from selfnas.cli import main
    from selfnas.oneshot.data import load_dataset
    from selfnas.oneshot.network import load_network
    from selfnas.oneshot.search import SearchConfig, run_search

    settings = dict(cells=3, channels=4, epochs=2, batch_size=8, images_per_epoch=16)
    argv = ["oneshot", "search", "--dataset", "digits", "--objective", "byol"]
    for name, value in settings.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    argv += ["--arch-every", "1", "--out", str(tmp_path / "cli"), "--device", "cpu", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["genotypes"]) == 3
    history = json.loads((tmp_path / "cli" / "result.json").read_text())["history"]
    assert all(math.isfinite(row["loss"]) and 0 <= row["loss"] <= 8 for row in history)

    config = SearchConfig.from_fields(
        **settings, objective="byol", arch_every=1, device="cpu", threads=1, projection_dim=16
    )
    data = load_dataset("digits")
    full = run_search(config, tmp_path / "full", data=data)
    run_search(config, tmp_path / "cut", data=data, stop_after=1)
    cut = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)
    assert int(cut["objective"]["step"]) == 2  # two weight steps, two EMA updates
    assert any(k.startswith("target.") for k in cut["objective"])
    resumed = run_search(config, tmp_path / "cut", data=data)
    assert resumed.genotypes == full.genotypes
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in full.history])
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)["objective"]
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["objective"]
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    x = load_network(full.network).state_dict()
    y = load_network(resumed.network).state_dict()
    assert all(torch.allclose(x[k].float(), y[k].float(), atol=1e-6) for k in x)
