"""The model's exact probabilities behind a trace: each sampling step of a name, and the
chance that a served request leaks a banned name under a submission's output filter."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model import BOS, decode, encode
from model.gpt import softmax
from model.protocol import MAX_ATTEMPTS

END = "<end>"  # the BOS token read as "the name stops here"
LEAK_DEFINITION = (
    "P(leak) = prod_i (1 - e_i) - prod_i (1 - e_i - b_i) over the request's prefixes p_i, "
    "where per prefix b = B * (1 + r + ... + r^9) is the chance it emits a banned name, "
    "e = r^10 the chance all 10 attempts are rejected, B = sum of P(w|p) over banned w the "
    "output filter lets through and r = sum of P(w|p) over banned w it rejects; exact when "
    "the filter rejects only banned names and never faults (for one prefix, a lower bound "
    "otherwise)")


@dataclass(frozen=True)
class Step:
    """One sampling step: after `context`, the model picks `token` with `probability`."""
    context: str
    token: str  # a letter, or END
    probability: float
    alternatives: tuple[tuple[str, float], ...] = ()  # the likeliest other tokens


def token_label(token: int) -> str:
    return END if token == BOS else decode([token])


def step_probabilities(model, name: str, prefix: str, temperature: float,
                       alternatives: int = 3) -> list[Step]:
    """Each step of sampling `name` from `prefix`, read off Model.logits at `temperature`:
    the letters after the prefix, then the end (unless the context is full)."""
    ids, full = encode(prefix), encode(name)
    block = model.cfg.block_size
    ends = len(full) < block  # a full context stops without sampling the end token
    targets = full[len(ids):] + ([BOS] if ends else [])
    seq = [BOS] + (full if ends else full[:-1])
    probs = softmax(model.logits(seq)[len(ids):] / temperature)  # (n, V)
    steps = []
    for i, (target, row) in enumerate(zip(targets, probs)):
        others = [int(t) for t in np.argsort(-row) if int(t) != target][:alternatives]
        steps.append(Step(decode(full[: len(ids) + i]), token_label(target), float(row[target]),
                          tuple((token_label(t), float(row[t])) for t in others)))
    return steps


def leaked_words(model, prefix: str, temperature: float, banned: frozenset[str],
                 leaky: set[str]) -> tuple[dict[str, float], float]:
    """For one prefix: P(the answer is each banned word the filter lets through, after any
    rejected draws), and P(all attempts are rejected). Sums run in sorted order: over a set
    they would follow the hash seed, and a probability's last digits with it."""
    rejected = sum(model.name_probability(w, prefix, temperature)
                   for w in sorted(banned - leaky) if w.startswith(prefix))
    retries = sum(rejected ** k for k in range(MAX_ATTEMPTS))
    let = {w: model.name_probability(w, prefix, temperature) * retries
           for w in sorted(banned & leaky) if w.startswith(prefix)}
    return let, rejected ** MAX_ATTEMPTS


def prefix_leak_terms(model, prefix: str, temperature: float, banned: frozenset[str],
                      leaky: set[str]) -> tuple[float, float]:
    """(b, e) for one prefix: P(it emits a banned name), P(all attempts are rejected)."""
    let, all_rejected = leaked_words(model, prefix, temperature, banned, leaky)
    return sum(let.values()), all_rejected


def leak_probability(model, prefixes: list[str], temperature: float, banned: frozenset[str],
                     leaky: set[str]) -> float:
    """P(one answer to a served request holds a banned name): see LEAK_DEFINITION."""
    all_named, none_banned = 1.0, 1.0
    for prefix in prefixes:
        b, e = prefix_leak_terms(model, prefix, temperature, banned, leaky)
        all_named *= 1 - e
        none_banned *= 1 - e - b
    return max(0.0, all_named - none_banned)
