"""The grader's own exceptions; only the CLI turns them into messages and exit codes."""


class GraderError(Exception):
    """Base class: the message is one line naming the problem and the fix."""


class DataFileError(GraderError):
    """A suite, policy or rubric file that cannot be used (file, field path and reason)."""


class UsageError(GraderError):
    """Bad arguments: an unknown suite, a missing submission file."""


class GraderFault(GraderError):
    """The grader itself failed (not the submission): exit code 3."""


class IsolationUnavailable(UsageError):
    """No sandbox layer strong enough for the job works on this machine."""
