"""The playground behind `try` and `play`: a student types a request and sees why the bot
answered it.

A Session holds one submission's hooks in the grading sandbox (grader/sandbox/client.py, with the
grading Limits and the strongest isolation layer), behind the integrity gate as in grading.
Each request first checks whether the bot file changed (by its sha256) and, if so, checks it
again and starts a fresh sandbox; then it is answered by the frozen loop and traced by
explain's Replayer. Answers are drawn from one stream seeded like `python bot.py --seed N`,
so a session replays `bot.py` on the same lines exactly (for hooks that keep no state).
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from model import BOS, encode
from model.gpt import gpt, softmax
from model.protocol import Bot, HookFault

from ..errors import UsageError
from ..grading.explain import Replayer
from ..grading.trace import Trace
from ..integrity.gate import check_file
from ..sandbox.isolation import choose_isolation
from ..kit import load_kit_model
from ..sandbox.limits import Budget, Limits
from ..data.policy import DEFAULT_POLICY, load_policy, policy_path
from ..safeio import clean_text
from ..sandbox.client import Sandbox, SandboxHooks

DEFAULT_SEED = 0  # as `python bot.py` without --seed


class Refused(Exception):
    """The integrity gate refused the submission (or it cannot be read): the message says
    what to fix. Not a GraderError: the session goes on, and a fixed file is taken up."""


class Session:
    """One submission, answered request by request; safe to share between threads."""

    def __init__(self, submission: str | Path, policy: str = DEFAULT_POLICY, seed: int = DEFAULT_SEED,
                 limits: Limits = Limits(), model=None, alternatives: int = 3,
                 isolation: str | None = None):
        self.path = Path(submission)
        if not self.path.is_file():
            raise UsageError(f"{submission}: no such file; pass the path of your bot.py")
        self.policy = load_policy(policy_path(policy))
        self.model = model or load_kit_model()
        self.seed, self.limits, self.alternatives = seed, limits, alternatives
        self.isolation = isolation
        choose_isolation(isolation)  # an unusable layer is a usage error now, not at the first request
        self.rng = np.random.default_rng(seed)
        self.lock = threading.Lock()
        self.digest: str | None = None
        self.refusal = ""
        self.notes: list[str] = []
        self.loads = 0
        self.sandbox: Sandbox | None = None
        self.replayer: Replayer | None = None

    def ask(self, text: str) -> Trace:
        """The bot's answer to one request line, traced; Refused when the gate refuses the file."""
        with self.lock:
            self._reload_if_changed()
            if self.refusal:
                raise Refused(self.refusal)
            self.sandbox.budget = Budget(self.limits.total_seconds)  # a request spends what a grading may
            trace = self.replayer.typed(text, self.rng)
            trace.notes += self.notes
            return trace

    def check(self) -> str:
        """Load the file now; the integrity gate's refusal, or ""."""
        with self.lock:
            self._reload_if_changed()
            return self.refusal

    def _reload_if_changed(self) -> None:
        try:
            digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError as exc:
            self._stop()
            self.digest, self.refusal = None, f"{self.path}: cannot read ({exc.strerror}); save your bot.py again"
            return
        if digest == self.digest:
            return
        self._stop()
        self.digest, self.loads = digest, self.loads + 1
        report = check_file(self.path)
        if not report.ok:
            self.refusal = " ".join(["the integrity gate refuses this file:",
                                     *[f"{f};" for f in report.findings], *report.causes()])
            return
        self.refusal, self.notes = "", []
        self.sandbox = Sandbox(self.path, self.limits, choose_isolation(self.isolation))
        try:
            self.sandbox.start()
        except HookFault as fault:
            self.notes.append(f"{clean_text(fault)}; every hook call fails closed")
        self.replayer = Replayer(Bot(self.model, SandboxHooks(self.sandbox)), self.policy, self.seed,
                                 str(self.path), self.alternatives)

    def _stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        self.sandbox = self.replayer = None

    def close(self) -> None:
        with self.lock:
            self._stop()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def forward_step(model, context: str, temperature: float) -> dict:
    """One step of the forward pass: how the model picks the letter after `context` (letters
    a..z, shorter than the block), piece by piece, for the last position only."""
    ids = [BOS] + encode(context)
    if len(ids) > model.cfg.block_size:
        raise UsageError(f"a context holds at most {model.cfg.block_size - 1} letters")
    logits, cache = gpt(model.params, np.array(ids), model.cfg)
    layer, p, token, pos = cache["layers"][0], model.params, ids[-1], len(ids) - 1
    rows = lambda a: np.round(a, 4).tolist()  # noqa: E731  (plain numbers for JSON)
    return {
        "context": context,
        "tokens": ["<start>"] + list(context),
        "token_embedding": rows(p["wte"][token]),
        "position_embedding": rows(p["wpe"][pos]),
        "attention": rows(layer["att"][:, -1, :]),  # (H, T): where each head looks from here
        "mlp": rows(layer["r"][-1]),  # (4C,): the hidden layer after ReLU
        "logits": rows(logits[-1]),
        "probabilities": rows(softmax(logits[-1] / temperature)),
        "temperature": temperature,
    }
