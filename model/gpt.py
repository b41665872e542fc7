"""microgpt in numpy: a char-level GPT small enough to read.

The architecture mirrors Karpathy's microgpt exactly (no biases, rmsnorm without gain, no
final norm). Pieces are named after it: embed, rmsnorm, attention, mlp, gpt. Every array
function works on a leading batch axis `...`, so training (B, T, C) and inference (T, C)
share one forward pass; `Decoder` is the incremental step with a KV cache used for sampling
(a batch of names drawn together, one step for all of them at each position).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

EPS = 1e-5
LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOS = 26  # begins and ends every name


@dataclass(frozen=True)
class Config:
    vocab_size: int = 27
    n_embd: int = 16
    n_head: int = 4
    n_layer: int = 1
    block_size: int = 16

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def param_shapes(cfg: Config) -> dict[str, tuple[int, int]]:
    """microgpt's parameter names and their (out, in) shapes, in state_dict order."""
    C, V = cfg.n_embd, cfg.vocab_size
    shapes = {"wte": (V, C), "wpe": (cfg.block_size, C), "lm_head": (V, C)}
    for i in range(cfg.n_layer):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            shapes[f"layer{i}.{name}"] = (C, C)
        shapes[f"layer{i}.mlp_fc1"] = (4 * C, C)
        shapes[f"layer{i}.mlp_fc2"] = (C, 4 * C)
    return shapes


def n_params(cfg: Config) -> int:
    return sum(r * c for r, c in param_shapes(cfg).values())


def encode(text: str) -> list[int]:
    """Letters a..z to token ids 0..25; anything else is a ValueError."""
    ids = [ord(ch) - ord("a") for ch in text]
    if any(not 0 <= i < 26 for i in ids):
        raise ValueError(f"{text!r} is not made of the letters a..z")
    return ids


def decode(ids) -> str:
    return "".join(LETTERS[i] for i in ids)


# ---- pieces of the forward pass ---------------------------------------------------------

def embed(p: dict, idx: np.ndarray) -> np.ndarray:
    T = idx.shape[-1]
    return p["wte"][idx] + p["wpe"][:T]  # (..., T, C)


@functools.cache
def _column(n: int, value: float) -> np.ndarray:
    return np.full((n, 1), value)  # (n, 1)


# Sum and mean over the last axis as matmuls: numpy's keepdims reductions cost several
# microseconds on arrays this small, and the sampler pays them on every token.
def row_sum(a: np.ndarray) -> np.ndarray:
    return a @ _column(a.shape[-1], 1.0)  # (..., 1)


def row_mean(a: np.ndarray) -> np.ndarray:
    return a @ _column(a.shape[-1], 1.0 / a.shape[-1])  # (..., 1)


def rmsnorm(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(row_mean(x * x) + EPS)  # (..., T, C)


def split_heads(x: np.ndarray, n_head: int) -> np.ndarray:
    *lead, T, C = x.shape
    return x.reshape(*lead, T, n_head, C // n_head).swapaxes(-2, -3)  # (..., H, T, D)


def merge_heads(y: np.ndarray) -> np.ndarray:
    *lead, H, T, D = y.shape
    return y.swapaxes(-2, -3).reshape(*lead, T, H * D)  # (..., T, C)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / row_sum(e)


@functools.cache
def causal_mask(T: int) -> np.ndarray:
    """0 where a position may attend, -inf on the future."""
    return np.triu(np.full((T, T), -np.inf), 1)  # (T, T)


def attention(p: dict, layer: str, x: np.ndarray, cfg: Config) -> tuple[np.ndarray, dict]:
    """Causal multi-head self-attention over the whole sequence; returns output and cache."""
    q = split_heads(x @ p[f"{layer}.attn_wq"].T, cfg.n_head)  # (..., H, T, D)
    k = split_heads(x @ p[f"{layer}.attn_wk"].T, cfg.n_head)  # (..., H, T, D)
    v = split_heads(x @ p[f"{layer}.attn_wv"].T, cfg.n_head)  # (..., H, T, D)
    T = x.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(cfg.head_dim)  # (..., H, T, T)
    att = softmax(scores + causal_mask(T))  # (..., H, T, T)
    y = merge_heads(att @ v)  # (..., T, C)
    return y @ p[f"{layer}.attn_wo"].T, dict(q=q, k=k, v=v, att=att, y=y)  # (..., T, C)


def mlp(p: dict, layer: str, x: np.ndarray) -> tuple[np.ndarray, dict]:
    h = x @ p[f"{layer}.mlp_fc1"].T  # (..., T, 4C)
    r = np.maximum(h, 0.0)  # (..., T, 4C)
    return r @ p[f"{layer}.mlp_fc2"].T, dict(h=h, r=r)  # (..., T, C)


def gpt(p: dict, idx: np.ndarray, cfg: Config) -> tuple[np.ndarray, dict]:
    """Logits after each position of idx (..., T), and the activations backward needs."""
    emb = embed(p, idx)  # (..., T, C)
    x = rmsnorm(emb)  # (..., T, C)
    cache = dict(emb=emb, layers=[])
    for i in range(cfg.n_layer):
        layer = f"layer{i}"
        x_in = x
        n1 = rmsnorm(x)  # (..., T, C)
        a, att_cache = attention(p, layer, n1, cfg)
        x = x + a  # (..., T, C)
        x_mid = x
        n2 = rmsnorm(x)  # (..., T, C)
        m, mlp_cache = mlp(p, layer, n2)
        x = x + m  # (..., T, C)
        cache["layers"].append(dict(x_in=x_in, n1=n1, x_mid=x_mid, n2=n2, **att_cache, **mlp_cache))
    cache["x_out"] = x
    return x @ p["lm_head"].T, cache  # (..., T, V)


class Decoder:
    """A batch of sequences fed in lockstep, one position at a time, with a KV cache (the
    sampling loop). Every row sits at the same position; a batch of one is the plain loop."""

    def __init__(self, p: dict, cfg: Config, batch: int = 1):
        self.p, self.cfg = p, cfg
        L, H, S, D = cfg.n_layer, cfg.n_head, cfg.block_size, cfg.head_dim
        self.keys = np.zeros((L, batch, H, S, D))  # (L, B, H, S, D)
        self.values = np.zeros((L, batch, H, S, D))  # (L, B, H, S, D)
        # q, k and v of a layer in one matmul: per-step overhead is what sampling pays for
        self.wqkv = [np.concatenate([p[f"layer{i}.attn_{w}"] for w in ("wq", "wk", "wv")]).T
                     for i in range(L)]  # (C, 3C) each
        self.pos = 0

    def step(self, tokens) -> np.ndarray:
        """Feed each row's token at the next position; return the logits for the one after
        it: (B, V) for a sequence of B tokens, (V,) for one token."""
        p, cfg, t = self.p, self.cfg, self.pos
        if t >= cfg.block_size:
            raise ValueError(f"the context holds at most {cfg.block_size} tokens")
        ids = np.atleast_1d(tokens)  # (B,)
        x = rmsnorm(p["wte"][ids] + p["wpe"][t])  # (B, C)
        B, H, D = len(ids), cfg.n_head, cfg.head_dim
        for i in range(cfg.n_layer):
            layer = f"layer{i}"
            q, k, v = (rmsnorm(x) @ self.wqkv[i]).reshape(B, 3, H, D).swapaxes(0, 1)  # (B, H, D) each
            self.keys[i, :, :, t] = k
            self.values[i, :, :, t] = v
            scores = (self.keys[i, :, :, : t + 1] @ q[..., None])[..., 0] / np.sqrt(D)  # (B, H, t+1)
            att = softmax(scores)  # (B, H, t+1)
            y = (att[..., None, :] @ self.values[i, :, :, : t + 1]).reshape(B, -1)  # (B, C)
            x = x + y @ p[f"{layer}.attn_wo"].T  # (B, C)
            x = x + mlp(p, layer, rmsnorm(x))[0]  # (B, C)
        self.pos += 1
        logits = x @ p["lm_head"].T  # (B, V)
        return logits if np.ndim(tokens) else logits[0]
