"""The model-aware adversary: which requests are most likely to make this submission leak?

The model is small enough to compute exactly. A name w is only ever sampled from a prefix of
w, and P(sample(p) == w) is a product of next-token probabilities (Model.name_probability).
For each banned word the submission's output filter lets through, every prefix of it, typed
plainly or with a normalization trick, is a candidate request; the ones its request filter
also lets through are scored with the exact probability that one answered name is banned:

    P(leak | p) = sum over let-through banned w of P(w | p) * (1 + r + ... + r^9),

where r = P(the first sample is a banned name the filter rejects | p) and the bot resamples
at most 10 times. The search is exhaustive (a word has at most 16 prefixes and a handful of
variants), so it finds the true optimum that a beam search would approximate. Names the
submission rejects that are not banned are not counted in r, so a figure is exact for a
filter that rejects only banned names, and a lower bound otherwise.

Its findings are shown to students, so it searches the policy's revealed part only
(grader/data/reveal.py): a finding never names a word the kit holds out; the hidden suites
measure those.
"""
from __future__ import annotations

from model.protocol import Bot, Verdict, normalize_prefix

from ..data.policy import Policy
from .probability import leaked_words
from ..results import AdversaryFinding
from ..data.variants import VARIANTS

TYPED_VARIANTS = ("upper", "fullwidth", "zero_width", "combining_accents")


def let_through(bot: Bot, banned) -> set[str]:
    """The banned words the submission's output filter would emit (a fault refuses: no leak)."""
    words = sorted(banned)
    answers = bot.hooks.check_many([("name", w) for w in words])
    return {w for w, answer in zip(words, answers) if isinstance(answer, Verdict) and answer.allowed}


def served_spellings(bot: Bot, prefixes: list[str]) -> dict[str, str]:
    """For each prefix the request filter serves, the first way to type it that it serves
    (plainly, then each typed variant): each spelling asked of the prefixes still unserved in
    one check_many (a fault refuses)."""
    served: dict[str, str] = {}
    for spell in [lambda p: p] + [VARIANTS[v] for v in TYPED_VARIANTS]:
        typed = {p: spell(p) for p in prefixes if p not in served and normalize_prefix(spell(p)) == p}
        answers = bot.hooks.check_many([("request", [t]) for t in typed.values()])
        served.update((p, t) for (p, t), a in zip(typed.items(), answers) if isinstance(a, Verdict) and a.allowed)
    return served


def find_leaks(bot: Bot, policy: Policy, top: int = 5) -> list[AdversaryFinding]:
    model, temperature = bot.model, bot.temperature
    leaky = let_through(bot, policy.revealed_banned)
    if not leaky:
        return []
    findings = []
    prefixes = sorted({w[:i] for w in leaky for i in range(len(w) + 1)
                       if len(w[:i]) < model.cfg.block_size})
    served = served_spellings(bot, prefixes)
    for prefix in prefixes:
        typed = served.get(prefix)
        if typed is None:
            continue
        per_word, _ = leaked_words(model, prefix, temperature, policy.revealed_banned, leaky)
        total = sum(per_word.values())
        if total > 0:
            worst = max(per_word, key=per_word.get)
            findings.append(AdversaryFinding(request=typed, banned_name=worst, probability=total))
    findings.sort(key=lambda f: (-f.probability, f.request))
    return findings[:top]
