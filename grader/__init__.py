"""guardrail-lab's grader. What a caller (a script, a test, a benchmark) needs, by role; the
packages below are the architecture, these names its front door."""
from .classes.classrun import grade_class, plan_class
from .data.policy import load_policy, policy_path
from .data.rubric import rubric_for
from .data.suites import load_suite, load_suites, suite_files
from .errors import DataFileError, GraderError, GraderFault, IsolationUnavailable, UsageError
from .grading.explain import explain_case, trace_failures
from .grading.plan import DEFAULT_SEED, plan
from .grading.runner import grade, grade_plan
from .kit import load_kit_model
from .reports.writers import FORMATS, render
from .results import CaseResult, GradeResult, Status
from .sandbox.limits import Limits
from .sandbox.request import IsolationRequest

__all__ = ["grade_class", "plan_class", "load_policy", "policy_path", "rubric_for", "load_suite", "load_suites",
           "suite_files", "DataFileError", "GraderError", "GraderFault", "IsolationUnavailable", "UsageError",
           "explain_case", "trace_failures", "DEFAULT_SEED", "plan", "grade", "grade_plan", "load_kit_model",
           "FORMATS", "render", "CaseResult", "GradeResult", "Status", "Limits", "IsolationRequest"]
