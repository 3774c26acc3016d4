"""NAO's decoder: an LSTM with dot-product attention over the encoder's token outputs.

Teacher-forced during training (input = start token + target shifted right); greedy
at inference, with each position restricted to the tokens that may stand there (edge
positions: no-edge/edge, op positions: an op), as NAO does, so that a decoded sequence is
always well-formed even when its graph is not a valid member of the space.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from selfnas.encoders.seq import PAD_TOKEN

START_TOKEN = PAD_TOKEN
_HALF = math.sqrt(0.5)


class Attention(nn.Module):
    """Luong-style attention: mix = softmax(W q . s) s, out = tanh(V [mix; q])."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.input_proj = nn.Linear(hidden, hidden, bias=False)
        self.output_proj = nn.Linear(2 * hidden, hidden, bias=False)

    def forward(self, query: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """`query [N,T,H]`, `source [N,S,H]` -> `[N,T,H]`."""
        scores = torch.bmm(self.input_proj(query), source.transpose(1, 2))
        mix = torch.bmm(torch.softmax(scores, dim=-1), source)
        return torch.tanh(self.output_proj(torch.cat([mix, query], dim=-1)))


class SeqDecoder(nn.Module):
    """LSTM decoder whose initial state is the architecture embedding (h0 = c0 = e)."""

    def __init__(self, vocab_size: int, length: int, hidden: int = 16, dropout: float = 0.0):
        super().__init__()
        self.length = length
        self.hidden = hidden
        self.dropout = dropout
        self.embedding = nn.Embedding(vocab_size, hidden)
        self.rnn = nn.LSTM(hidden, hidden, 1, batch_first=True)
        self.attention = Attention(hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def _step(
        self,
        tokens: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        source: torch.Tensor,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        x = F.dropout(self.embedding(tokens), self.dropout, training=self.training)
        y, state = self.rnn(x, state)
        x = (x + y) * _HALF
        x = (x + self.attention(x, source)) * _HALF
        return self.out(x), state

    @staticmethod
    def initial_state(embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = embedding.unsqueeze(0).contiguous()
        return e, e

    def forward(
        self, targets: torch.Tensor, embedding: torch.Tensor, source: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced log-probabilities `[N, L, vocab]` of `targets [N, L]`."""
        start = torch.full_like(targets[:, :1], START_TOKEN)
        inputs = torch.cat([start, targets[:, :-1]], dim=1)
        logits, _ = self._step(inputs, self.initial_state(embedding), source)
        return F.log_softmax(logits, dim=-1)

    def generate(
        self, embedding: torch.Tensor, source: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        """Greedy tokens `[N, L]`; `allowed [L, vocab]` masks what each position may emit."""
        allowed = allowed.to(embedding.device)
        state = self.initial_state(embedding)
        token = torch.full(
            (embedding.shape[0], 1), START_TOKEN, dtype=torch.long, device=embedding.device
        )
        out = []
        for i in range(self.length):
            logits, state = self._step(token, state, source)
            logits = logits[:, 0].masked_fill(~allowed[i], float("-inf"))
            token = logits.argmax(dim=-1, keepdim=True)
            out.append(token)
        return torch.cat(out, dim=1)
