"""The runner: integrity gate, then every case through the kit's frozen loop with the
submission's hooks in a sandbox, then the smoke comparison. Returns a GradeResult."""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable

from model.protocol import Bot, HookFault

from .adversary import find_leaks
from .cases import run_probe_case, run_request_case
from .errors import DataFileError, GraderFault, UsageError
from .integrity import check_file
from .kit import load_kit_model
from .results import CaseResult, GradeResult, ProbeStats
from .sandbox import Limits, Sandbox, SandboxHooks
from .scoring import score_categories
from .smoke import smoke_compare, smoke_transcript
from .suites import Kind, Suite, load_suites, rubric_for

DEFAULT_SEED = 1234


def grade(submission: str | Path, suite_paths: list[Path | Suite], seed: int = DEFAULT_SEED,
          limits: Limits = Limits(), on_case: Callable[[CaseResult], None] | None = None,
          model=None) -> GradeResult:
    """Grade one submission. Bad inputs raise UsageError/DataFileError; the submission's
    failures are scored; anything else becomes a result with status 'grader_fault'."""
    started = time.monotonic()
    submission = Path(submission)
    if not submission.is_file():
        raise UsageError(f"{submission}: no such file; pass the path of your bot.py")
    suites = load_suites(suite_paths)
    policy = suites[0].policy
    rubric = rubric_for(policy)
    cases = [case for suite in suites for case in suite.cases]
    for case in cases:
        if case.category not in rubric.weights:
            raise DataFileError(f"{case.key}: category {case.category!r} has no weight in "
                                f"{policy.path.with_suffix('')}/rubric.toml")
    used = {c.category for c in cases}
    max_score = sum(w for name, w in rubric.weights.items() if name in used)

    def finish(status, score, results, categories, findings, diff, notes, probes=None, adversary=()):
        return GradeResult(str(submission), status, seed, policy.name, round(score, 4), max_score,
                           round(time.monotonic() - started, 3), status != "integrity_failed",
                           findings, diff, notes, results, categories, probes or {}, list(adversary),
                           policy.banned_noun)

    model = model or load_kit_model()
    integrity = check_file(submission)
    if not integrity.ok:
        return finish("integrity_failed", 0.0, [], [], [str(f) for f in integrity.findings],
                      integrity.diff, ["the shared code was changed: score 0 until it is restored"])
    try:
        notes, results, probes = [], [], {"name": ProbeStats(), "request": ProbeStats()}
        with Sandbox(submission, limits) as sandbox:
            try:
                sandbox.start()
            except HookFault as fault:
                notes.append(f"{fault}; every hook call fails closed")
                tail = sandbox.stderr_tail(600).strip()
                if tail:
                    notes.append("its error output ends with: " + tail.splitlines()[-1][:200])
            if sandbox.proc is not None and not sandbox.network_isolated:
                notes.append("the kernel refused a network namespace: the hooks were not cut off "
                             "from the network")
            if sandbox.granted:
                notes.append("granted o+x (traverse only) on " + ", ".join(map(str, sandbox.granted))
                             + " so that the sandbox user can run Python")
            bot = Bot(model, SandboxHooks(sandbox))
            if sandbox.pattern_error and not sandbox.import_error:
                notes.append(f"{sandbox.pattern_error}: every request is refused")
            for case in cases:
                if case.kind == Kind.REQUEST:
                    result = run_request_case(bot, case, policy, seed)
                else:
                    stats = probes["name" if case.kind == Kind.NAME_PROBE else "request"]
                    result = run_probe_case(bot, case, policy, stats)
                results.append(result)
                if on_case:
                    on_case(result)
            adversary = find_leaks(bot, policy) if cases else []
            if sandbox.restarts:
                notes.append(f"the submission's process was restarted {sandbox.restarts} time(s) "
                             "after hangs or crashes")
            started_ok = sandbox.import_error is None
        # a submission that cannot even start has nothing to compare: it is scored as it is
        tamper, smoke_note = smoke_compare(submission, model, seed, limits,
                                           smoke_transcript(cases, seed)) if started_ok else ([], "")
        if smoke_note:
            notes.append(smoke_note)
    except (UsageError, DataFileError, GraderFault):
        raise
    except Exception as exc:  # a grader bug must not look like a student's failure
        return finish("grader_fault", 0.0, [], [], [], [], [
            f"grader fault: {type(exc).__name__}: {exc}",
            traceback.format_exc(limit=-3).strip().splitlines()[-1]])
    categories = score_categories(results, rubric.weights)
    if tamper:
        return finish("integrity_failed", 0.0, results, categories, tamper, [],
                      notes + ["the shared behaviour was changed at run time: score 0"], probes,
                      adversary)
    probes = {k: v for k, v in probes.items() if v.true_pos + v.false_pos + v.false_neg + v.true_neg}
    return finish("graded", sum(c.score for c in categories), results, categories, [], [], notes,
                  probes, adversary)
