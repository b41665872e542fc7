"""Build test submissions from their editable part alone: the frozen code always comes from
the kit's starter, so a fixture never carries a stale copy of it."""
import textwrap
from pathlib import Path

from grader.integrity.gate import BEGIN_MARKER, END_MARKER, KIT_STARTER

STARTER = KIT_STARTER.read_text(encoding="utf-8")


def editable_part(text: str) -> str:
    start = text.index(BEGIN_MARKER)
    return text[start:text.index(END_MARKER)]


def splice(body: str) -> str:
    """The starter with its editable part replaced by body (dedented)."""
    head = STARTER[: STARTER.index(BEGIN_MARKER)]
    tail = STARTER[STARTER.index(END_MARKER):]
    first_line = STARTER[STARTER.index(BEGIN_MARKER):].splitlines()[0]
    return head + first_line + "\n" + textwrap.dedent(body).strip("\n") + "\n\n" + tail


def write_submission(directory: Path, body: str, name: str = "bot.py") -> Path:
    path = Path(directory) / name
    path.write_text(splice(body), encoding="utf-8")
    return path


DEFAULT_HOOKS = """
BLOCKED_PREFIX_PATTERNS: list[str] = []
BLOCKED_OUTPUT_PATTERNS: list[str] = []


def is_safe_request(prefixes):
    return None


def is_safe_name(name):
    return True
"""


def with_hooks(request_body: str = "return None", name_body: str = "return True",
               prelude: str = "", prefix_patterns: str = "[]", output_patterns: str = "[]") -> str:
    """An editable part with the given hook bodies (each a dedented block)."""
    indent = lambda block: textwrap.indent(textwrap.dedent(block).strip("\n"), "    ")  # noqa: E731
    return (textwrap.dedent(prelude).strip("\n") + "\n\n"
            f"BLOCKED_PREFIX_PATTERNS: list[str] = {prefix_patterns}\n"
            f"BLOCKED_OUTPUT_PATTERNS: list[str] = {output_patterns}\n\n\n"
            "def is_safe_request(prefixes):\n" + indent(request_body) + "\n\n\n"
            "def is_safe_name(name):\n" + indent(name_body) + "\n")
