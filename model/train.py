"""Training: a hand-written backward pass for gpt() and microgpt's Adam, on minibatches."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .gpt import BOS, Config, encode, gpt, merge_heads, n_params, param_shapes, softmax, split_heads


class DataError(Exception):
    """A training data file that cannot be used."""


def rmsnorm_backward(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Gradient through y = x / sqrt(mean(x^2) + eps), given dL/dy."""
    s = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5)  # (..., T, 1)
    return s * dout - x * (s ** 3) * (dout * x).mean(-1, keepdims=True)  # (..., T, C)


def loss_and_grads(p: dict, idx: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                   cfg: Config) -> tuple[float, dict]:
    """Mean cross-entropy over the unmasked positions of a batch, and its gradients."""
    logits, cache = gpt(p, idx, cfg)  # (B, T, V)
    probs = softmax(logits)  # (B, T, V)
    B, T = idx.shape
    picked = probs[np.arange(B)[:, None], np.arange(T)[None, :], targets]  # (B, T)
    count = mask.sum()
    loss = float(-(np.log(picked) * mask).sum() / count)

    g = {}
    dlogits = probs.copy()  # (B, T, V)
    dlogits[np.arange(B)[:, None], np.arange(T)[None, :], targets] -= 1.0
    dlogits *= (mask / count)[..., None]
    g["lm_head"] = np.einsum("btv,btc->vc", dlogits, cache["x_out"])
    dx = dlogits @ p["lm_head"]  # (B, T, C)
    H, D = cfg.n_head, cfg.head_dim
    for i in reversed(range(cfg.n_layer)):
        c, layer = cache["layers"][i], f"layer{i}"
        # x = x_mid + fc2 @ relu(fc1 @ rmsnorm(x_mid))
        g[f"{layer}.mlp_fc2"] = np.einsum("btc,btk->ck", dx, c["r"])
        dh = (dx @ p[f"{layer}.mlp_fc2"]) * (c["h"] > 0)  # (B, T, 4C)
        g[f"{layer}.mlp_fc1"] = np.einsum("btk,btc->kc", dh, c["n2"])
        dx = dx + rmsnorm_backward(c["x_mid"], dh @ p[f"{layer}.mlp_fc1"])  # (B, T, C)
        # x_mid = x_in + wo @ attention(rmsnorm(x_in))
        g[f"{layer}.attn_wo"] = np.einsum("btc,btk->ck", dx, c["y"])
        dyh = split_heads(dx @ p[f"{layer}.attn_wo"], H)  # (B, H, T, D)
        datt = dyh @ c["v"].swapaxes(-1, -2)  # (B, H, T, T)
        dv = c["att"].swapaxes(-1, -2) @ dyh  # (B, H, T, D)
        dscores = c["att"] * (datt - (datt * c["att"]).sum(-1, keepdims=True)) / np.sqrt(D)
        dq = merge_heads(dscores @ c["k"])  # (B, T, C)
        dk = merge_heads(dscores.swapaxes(-1, -2) @ c["q"])  # (B, T, C)
        dn1 = 0.0
        for name, d in (("attn_wq", dq), ("attn_wk", dk), ("attn_wv", merge_heads(dv))):
            g[f"{layer}.{name}"] = np.einsum("btc,btk->ck", d, c["n1"])
            dn1 = dn1 + d @ p[f"{layer}.{name}"]  # (B, T, C)
        dx = dx + rmsnorm_backward(c["x_in"], dn1)  # (B, T, C)
    demb = rmsnorm_backward(cache["emb"], dx)  # (B, T, C)
    g["wte"] = np.zeros_like(p["wte"])
    np.add.at(g["wte"], idx, demb)
    g["wpe"] = np.zeros_like(p["wpe"])
    g["wpe"][:T] = demb.sum(0)
    return loss, g


def read_training_names(path: str | Path) -> list[str]:
    """The names to train on, lowercased; at least two (one is held out for validation)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read training data ({exc}); pass --data PATH "
                        "to a UTF-8 file with one name per line") from None
    names = [w.lower() for w in lines]
    for n, name in enumerate(names, 1):
        if not name.isascii() or not name.isalpha():
            raise DataError(f"{path}: name {n} ({name!r}) is not made of the letters a..z")
    if len(names) < 2:
        raise DataError(f"{path}: needs at least 2 names (one for validation), found {len(names)}")
    return names


def to_batch(names: list[str], cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Names to (inputs, targets, mask), each (B, T): BOS + name + BOS, cut to the block."""
    T = cfg.block_size
    idx = np.full((len(names), T), BOS)
    targets = np.full((len(names), T), BOS)
    mask = np.zeros((len(names), T))
    for b, name in enumerate(names):
        seq = ([BOS] + encode(name) + [BOS])[: T + 1]
        n = len(seq) - 1
        idx[b, :n], targets[b, :n], mask[b, :n] = seq[:-1], seq[1:], 1.0
    return idx, targets, mask


def init_params(cfg: Config, rng: np.random.Generator, std: float = 0.08) -> dict:
    return {k: rng.normal(0.0, std, shape) for k, shape in param_shapes(cfg).items()}


@dataclass
class TrainResult:
    params: dict
    meta: dict


def evaluate(p: dict, data: tuple, cfg: Config, chunk: int = 4096) -> float:
    idx, targets, mask = data
    total = 0.0
    for s in range(0, len(idx), chunk):
        logits, _ = gpt(p, idx[s:s + chunk], cfg)
        z = logits - logits.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))  # (B, T, V)
        picked = np.take_along_axis(logp, targets[s:s + chunk, :, None], -1)[..., 0]
        total += float(-(picked * mask[s:s + chunk]).sum())
    return total / float(mask.sum())


def train(names: list[str], data_sha256: str, steps: int, batch_size: int, seed: int,
          lr: float = 0.01, val_fraction: float = 0.1,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Adam as in microgpt (beta1 0.85, beta2 0.99, eps 1e-8, linear decay to 0)."""
    cfg = Config()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    n_val = max(1, int(len(names) * val_fraction))
    val = to_batch([names[i] for i in order[:n_val]], cfg)
    train_idx, train_t, train_m = to_batch([names[i] for i in order[n_val:]], cfg)
    p = init_params(cfg, rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.85, 0.99, 1e-8
    running = None
    for step in range(steps):
        rows = rng.integers(0, len(train_idx), batch_size)
        loss, g = loss_and_grads(p, train_idx[rows], train_t[rows], train_m[rows], cfg)
        lr_t = lr * (1 - step / steps)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat = m[k] / (1 - b1 ** (step + 1))
            v_hat = v[k] / (1 - b2 ** (step + 1))
            p[k] -= lr_t * m_hat / (np.sqrt(v_hat) + eps)
        running = loss if running is None else 0.98 * running + 0.02 * loss
        if on_step:
            on_step(step, running)
    meta = dict(data_sha256=data_sha256, steps=steps, batch_size=batch_size, seed=seed,
                train_loss=round(evaluate(p, (train_idx, train_t, train_m), cfg), 6),
                val_loss=round(evaluate(p, val, cfg), 6), n_params=n_params(cfg))
    return TrainResult(p, meta)
