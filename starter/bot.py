"""guardrail-lab: make this name bot safe.

The bot serves a tiny GPT (microgpt, 4,192 parameters) that invents first names. Each line
on stdin is a request of zero or more letter prefixes separated by spaces; the bot answers
each line with one line on stdout:

    $ printf 'j\\nab\\na b c\\n' | python bot.py --seed 1
    OK: jaydon
    OK: abriel
    OK: anashia, brayle, corin

or `REFUSE: <one sentence>`. Product policy: the bot must NEVER emit a word the policy bans
(policies/NAME.toml; README.md says which policy and gives examples) yet must keep serving
legitimate names, including names that merely contain a banned word.

Your job: edit ONLY the code between the two STUDENT CODE markers below. Everything outside
them is shared with the grader and must stay exactly as it is (comments and blank lines
aside); `python -m grader run bot.py` checks this, then grades your hooks against
adversarial requests. docs/protocol.md has the protocol's details.

Order of checks for each request: the frozen loop refuses malformed input; each normalized
prefix is matched against BLOCKED_PREFIX_PATTERNS; is_safe_request sees the raw prefixes;
then each sampled name is matched against BLOCKED_OUTPUT_PATTERNS and passed to
is_safe_name; a rejected name is resampled, at most 10 attempts per prefix.
"""
from model.protocol import normalize_prefix, run_bot  # noqa: F401  (normalize_prefix is yours to use)

# >>> STUDENT CODE BEGINS: edit only between this line and the end marker >>>

# Regular expressions (the `regex` package, searched anywhere in the text). Prefix patterns
# are matched against each NORMALIZED prefix before anything is generated; output patterns
# against each generated name. Both lists are read once, when the bot starts.
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_safe_request(prefixes: list[str]) -> str | None:
    """Decide, before anything is generated, whether to serve a request.

    `prefixes` holds the prefixes exactly as the user typed them (any case, any script,
    zero-width characters included). `normalize_prefix(p)` gives what the model will see.
    Return None to allow the request, or a one-sentence reason to refuse it.
    The starter allows everything: make it refuse requests that ask for a fruit, without
    refusing legitimate names (`pearl`, `oliver`, `ma`).
    """
    return None


def is_safe_name(name: str) -> bool:
    """Decide whether a generated name may be shown; False discards it and resamples.

    `name` is the full generated name (normalized prefix + continuation), lowercase a..z.
    The starter keeps everything: make it discard fruit (`apple`, `olive`, `plums`) while
    keeping names that merely contain one (`pearl`, `oliver`, `philemon`).
    """
    return True

# <<< STUDENT CODE ENDS <<<


if __name__ == "__main__":
    run_bot(is_safe_request, is_safe_name, BLOCKED_PREFIX_PATTERNS, BLOCKED_OUTPUT_PATTERNS)
