"""The numerical parts of the model-based searches: log-EI, DNGO, the RL baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from selfnas.search.bo import log_expected_improvement
from selfnas.search.dngo import DNGO, DNGOConfig


def test_log_ei_matches_the_closed_form_and_stays_ordered_far_below():
    mean = np.array([2.0, 0.5, 0.0, -1.5, -3.0])
    std = np.array([1.0, 0.5, 2.0, 1.0, 0.7])
    z = (mean - 0.4) / std
    ei = std * (z * stats.norm.cdf(z) + stats.norm.pdf(z))
    assert np.allclose(log_expected_improvement(mean, std, 0.4), np.log(ei), rtol=1e-9)
    far = log_expected_improvement(np.array([-30.0, -40.0, -60.0]), np.ones(3), 0.0)
    assert np.all(np.isfinite(far)) and far[0] > far[1] > far[2]


def test_dngo_learns_a_smooth_function_with_honest_uncertainty():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(80, 3))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2 - x[:, 2]
    model = DNGO(DNGOConfig(hidden=32, epochs=60), rng).fit(x[:60], y[:60])
    mean, std = model.predict(x[60:])
    assert np.corrcoef(mean, y[60:])[0, 1] > 0.9
    _, far_std = model.predict(np.full((1, 3), 8.0))
    assert far_std[0] > np.median(std)  # farther from the data, less sure


def test_dngo_is_deterministic_given_its_generator():
    x = np.linspace(0, 1, 20)[:, None]
    a = DNGO(DNGOConfig(hidden=16, epochs=5), np.random.default_rng(1)).fit(x, x[:, 0])
    b = DNGO(DNGOConfig(hidden=16, epochs=5), np.random.default_rng(1)).fit(x, x[:, 0])
    assert np.array_equal(a.predict(x)[0], b.predict(x)[0])


@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_rl_baseline_is_a_moving_average_of_episode_rewards(momentum):
    import torch

    from selfnas.search.reinforce import EmbeddingReinforce, ReinforceOptions

    agent = object.__new__(EmbeddingReinforce)
    agent.options = ReinforceOptions(episode=2, baseline_momentum=momentum)
    agent.policy = __import__("selfnas.search.reinforce", fromlist=["Policy"]).Policy(4, 8)
    agent.optimizer = torch.optim.Adam(agent.policy.parameters(), lr=1e-2)
    agent.baseline, agent.updates, agent.lstm_state = None, 0, None
    for rewards, expected in (([90.0, 92.0], 91.0), ([80.0, 84.0], None)):
        agent.inputs = [np.zeros(4, np.float32)] * 2
        agent.actions = [np.ones(4, np.float32)] * 2
        agent.rewards = list(rewards)
        before = agent.baseline
        agent._update()
        if expected is not None:
            assert agent.baseline == pytest.approx(expected)
        else:
            assert agent.baseline == pytest.approx(momentum * before + (1 - momentum) * 82.0)
