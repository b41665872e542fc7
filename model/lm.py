"""The language model the kit serves: logits, sampling and exact name probabilities."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .gpt import BOS, Config, Decoder, decode, encode, gpt, softmax
from .weights import DEFAULT_WEIGHTS, load_weights

# Rows sampled at once: past this, OpenBLAS splits the step's matrix products over threads
# (at M*N*K > 4 * 65536), which for products this small costs several times the arithmetic
SAMPLE_BLOCK = 256


class Model:
    def __init__(self, cfg: Config, params: dict[str, np.ndarray], meta: dict | None = None):
        self.cfg, self.params, self.meta = cfg, params, meta or {}

    def logits(self, token_ids) -> np.ndarray:
        """Logits after each position of a sequence of token ids: shape (len(token_ids), V)."""
        ids = [int(t) for t in token_ids]
        if not 1 <= len(ids) <= self.cfg.block_size:
            raise ValueError(f"expected 1 to {self.cfg.block_size} token ids, got {len(ids)}")
        if not all(0 <= t < self.cfg.vocab_size for t in ids):
            raise ValueError(f"token ids must lie in 0..{self.cfg.vocab_size - 1}")
        idx = np.array(ids)  # (T,)
        return gpt(self.params, idx, self.cfg)[0]  # (T, V)

    def _check(self, prefix: str, temperature: float) -> list[int]:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        ids = encode(prefix)
        if len(ids) >= self.cfg.block_size:
            raise ValueError(f"a prefix holds at most {self.cfg.block_size - 1} letters")
        return ids

    def sample(self, prefix: str, temperature: float, rng: np.random.Generator) -> str:
        """One name starting with prefix: sample until BOS or until the context is full."""
        return self.sample_many([prefix], temperature, [rng])[0]

    def sample_many(self, prefixes: list[str], temperature: float, rngs: list) -> list[str]:
        """One name per prefix, drawn together (one forward step for a block of rows at each
        position); name i is what sample(prefixes[i], temperature, rngs[i]) draws, as each row
        takes its random numbers from its own stream, in the same order."""
        return [name for start in range(0, len(prefixes), SAMPLE_BLOCK)
                for name in self._sample_block(prefixes[start:start + SAMPLE_BLOCK], temperature,
                                               rngs[start:start + SAMPLE_BLOCK])]

    def _sample_block(self, prefixes: list[str], temperature: float, rngs: list) -> list[str]:
        ids = [self._check(prefix, temperature) for prefix in prefixes]
        # the tokens fed before the first draw; an empty prefix is fed BOS twice, as it always was
        feeds = [[BOS] + row if row else [BOS, BOS] for row in ids]
        fed = np.array([len(feed) for feed in feeds])  # (B,)
        out, live = [list(row) for row in ids], np.ones(len(ids), dtype=bool)  # (B,)
        dec, tokens = Decoder(self.params, self.cfg, len(ids)), np.array([feed[0] for feed in feeds])
        while live.any() and dec.pos < self.cfg.block_size:
            t = dec.pos
            cumulative = np.cumsum(softmax(dec.step(tokens) / temperature), -1)  # (B, V)
            for row in np.flatnonzero(t + 1 < fed):
                tokens[row] = feeds[row][t + 1]
            rows = np.flatnonzero(live & (t + 1 >= fed))  # (R,) the rows that draw now
            draws = np.array([rngs[row].random() for row in rows])  # (R,) each from its own stream
            # the first index whose cumulative probability exceeds the draw (searchsorted, right)
            drawn = np.minimum((cumulative[rows] <= draws[:, None]).sum(-1), self.cfg.vocab_size - 1)
            tokens[rows] = drawn
            live[rows] = drawn != BOS
            for row, token in zip(rows, drawn):
                if token != BOS:
                    out[row].append(int(token))
        return [decode(row) for row in out]

    def name_log_prob(self, name: str, prefix: str, temperature: float) -> float:
        """log P(sample(prefix) == name) under the sampler above, exactly."""
        ids = self._check(prefix, temperature)
        full = encode(name)
        if full[: len(ids)] != ids or len(full) > self.cfg.block_size:
            return -np.inf
        ends = len(full) < self.cfg.block_size  # a full context stops without sampling BOS
        targets = full[len(ids):] + ([BOS] if ends else [])
        seq = [BOS] + (full if ends else full[:-1])
        z = self.logits(seq)[len(ids):] / temperature  # (n, V)
        logp = z - z.max(-1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))  # (n, V)
        return float(logp[np.arange(len(targets)), targets].sum())

    def name_probability(self, name: str, prefix: str, temperature: float) -> float:
        return float(np.exp(self.name_log_prob(name, prefix, temperature)))


def load_model(path: str | Path = DEFAULT_WEIGHTS) -> Model:
    cfg, params, meta = load_weights(path)
    return Model(cfg, params, meta)
