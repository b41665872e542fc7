"""Degenerate: both hooks loop forever (each call times out)."""
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_safe_request(prefixes):
    while True:
        pass


def is_safe_name(name):
    while True:
        pass
