"""DNGO (Snoek et al., 2015): a neural net's last hidden layer as basis functions for
Bayesian linear regression, giving a mean and a variance for every candidate cheaply.

As in arch2vec-BO: three tanh layers of 128 units, trained 100 epochs with Adam (lr 1e-2,
batches of 10) on standardised inputs and targets; then the output layer is replaced by
Bayesian linear regression on the last hidden layer (plus a bias feature) whose prior
precision alpha and noise precision beta maximise the marginal likelihood.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass
class DNGOConfig:
    hidden: int = 128
    epochs: int = 100
    lr: float = 1e-2
    batch_size: int = 10


class _MLP:
    """A tanh MLP with hand-written backprop and Adam in numpy.

    The batches are tiny (10 x 16), where a framework's per-op overhead dominates: numpy
    trains this net several times faster than torch does, which matters for 100 seeds."""

    def __init__(self, sizes: list[int], rng: np.random.Generator) -> None:
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)
            self.params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            self.params.append(rng.uniform(-bound, bound, fan_out))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """Activations of every tanh layer."""
        out = []
        h = x
        for i in range(0, len(self.params) - 2, 2):
            h = np.tanh(h @ self.params[i] + self.params[i + 1])
            out.append(h)
        return out

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One Adam step on the mean squared error of batch (x, y)."""
        acts = self.hidden(x)
        pred = acts[-1] @ self.params[-2] + self.params[-1]
        diff = pred - y
        grad_out = (2.0 / len(x)) * diff
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        inputs = [x, *acts]
        delta = grad_out
        for layer in range(len(self.params) // 2 - 1, -1, -1):
            w = self.params[2 * layer]
            grads[2 * layer] = inputs[layer].T @ delta
            grads[2 * layer + 1] = delta.sum(axis=0)
            if layer:
                delta = (delta @ w.T) * (1.0 - inputs[layer] ** 2)
        self.t += 1
        c1, c2 = 1 - 0.9**self.t, 1 - 0.999**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)
        return float(np.mean(diff**2))


class DNGO:
    """Fit on (X [n, d], y [n]); `predict` gives the predictive mean and std."""

    def __init__(
        self, config: DNGOConfig | None = None, rng: np.random.Generator | None = None
    ) -> None:
        self.config = config or DNGOConfig()
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def fit(self, x: np.ndarray, y: np.ndarray) -> DNGO:
        cfg = self.config
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).ravel()
        self.x_mean, self.x_std = x.mean(0), x.std(0) + 1e-8
        self.y_mean, self.y_std = float(y.mean()), float(y.std() + 1e-8)
        xn = (x - self.x_mean) / self.x_std
        yn = ((y - self.y_mean) / self.y_std)[:, None]
        self.net = _MLP([x.shape[1], cfg.hidden, cfg.hidden, cfg.hidden, 1], self.rng)
        n = len(xn)
        for _ in range(cfg.epochs):
            order = self.rng.permutation(n)
            for start in range(0, n, cfg.batch_size):
                idx = order[start : start + cfg.batch_size]
                self.net.step(xn[idx], yn[idx], cfg.lr)
        self._blr(self._basis(xn), yn[:, 0])
        return self

    def _basis(self, xn: np.ndarray) -> np.ndarray:
        h = self.net.hidden(xn)[-1]
        return np.concatenate([h, np.ones((len(h), 1))], axis=1)

    def _blr(self, phi: np.ndarray, y: np.ndarray) -> None:
        """Choose alpha, beta by marginal likelihood; keep the posterior over weights.

        With gram = V diag(lam) V^T, A = beta gram + alpha I has eigenvalues
        beta lam + alpha, so each likelihood evaluation is O(m), not a new factorisation."""
        n, m = phi.shape
        lam, vecs = np.linalg.eigh(phi.T @ phi)
        lam = np.maximum(lam, 0.0)
        proj = vecs.T @ (phi.T @ y)  # V^T Phi^T y
        yty = float(y @ y)

        def negative_mll(theta: np.ndarray) -> float:
            alpha, beta = math.exp(theta[0]), math.exp(theta[1])
            eig = beta * lam + alpha
            mean_proj = beta * proj / eig  # V^T mean
            fit = yty - 2 * beta * float(proj @ (proj / eig)) + float((lam * mean_proj) @ mean_proj)
            mll = (
                0.5 * m * theta[0]
                + 0.5 * n * theta[1]
                - 0.5 * beta * fit
                - 0.5 * alpha * float(mean_proj @ mean_proj)
                - 0.5 * np.log(eig).sum()
                - 0.5 * n * math.log(2 * math.pi)
            )
            return -float(mll)

        result = optimize.minimize(
            negative_mll,
            np.array([0.0, 3.0]),
            method="L-BFGS-B",
            bounds=[(-10.0, 10.0), (-10.0, 15.0)],
        )
        alpha, beta = math.exp(result.x[0]), math.exp(result.x[1])
        eig = beta * lam + alpha
        self.weights = vecs @ (beta * proj / eig)
        self.cov_factor = vecs / np.sqrt(eig)  # A^-1 = F F^T
        self.alpha, self.beta = alpha, beta

    def predict(self, x: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and standard deviation (in the units of the training y)."""
        x = (np.asarray(x, dtype=np.float64) - self.x_mean) / self.x_std
        means, stds = [], []
        for start in range(0, len(x), chunk):
            phi = self._basis(x[start : start + chunk])
            means.append(phi @ self.weights)
            var = np.square(phi @ self.cov_factor).sum(axis=1) + 1.0 / self.beta
            stds.append(np.sqrt(np.maximum(var, 1e-12)))
        mean = np.concatenate(means) * self.y_std + self.y_mean
        std = np.concatenate(stds) * self.y_std
        return mean, std
