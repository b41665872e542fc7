"""Degenerate: both hooks raise (the loop fails closed)."""
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_safe_request(prefixes):
    raise ValueError("not implemented")


def is_safe_name(name):
    raise ValueError("not implemented")
