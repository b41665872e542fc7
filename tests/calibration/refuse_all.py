"""Degenerate: refuses every request and every name."""
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_safe_request(prefixes):
    return "I refuse everything."


def is_safe_name(name):
    return False
