"""JUnit XML, as Jenkins' xunit-plugin schema (junit-10.xsd) and junitparser read it: one
test suite per grading suite, one test case per case; an integrity failure or a grader fault
is a test case of its own."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..results import CaseResult, GradeResult, Status, integrity_headline
from .text import UNSCORED_NOTE, failed_case_lines


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: show them escaped."""
    return "".join(ch if ch in "\t\n" or (ord(ch) >= 32 and ch not in "\ufffe\uffff")
                   else repr(ch)[1:-1] for ch in text)


JUNIT_COUNTS = (("failure", "failures"), ("error", "errors"), ("skipped", "skipped"))


def render_junit(result: GradeResult) -> str:
    """JUnit XML as Jenkins' xunit-plugin schema (junit-10.xsd) and junitparser read it. No
    `time` anywhere (the xsd makes it optional): the grading's wall time is shaped by hooks
    that have seen hidden requests (red team 38), and a CI log may be shown to students."""
    root = ET.Element("testsuites", name="guardrail-lab")
    if not result.integrity_ok or result.status == Status.GRADER_FAULT:
        suite = ET.SubElement(root, "testsuite", name="integrity")
        case = ET.SubElement(suite, "testcase", classname="integrity", name="shared-code")
        tag = "error" if result.status == Status.GRADER_FAULT else "failure"
        headline = integrity_headline(result.causes) if result.status != Status.GRADER_FAULT else None
        ET.SubElement(case, tag, message=_clean(headline or (result.notes or ["failed"])[0])).text = \
            _clean("\n".join(result.integrity_findings + result.integrity_diff + result.notes))
    suites: dict[str, list[CaseResult]] = {}
    for case in result.cases:
        suites.setdefault(case.suite, []).append(case)
    for name, cases in suites.items():
        suite = ET.SubElement(root, "testsuite", name=name)
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=f"{name}.{case.category}", name=case.case_id)
            if not case.scored:
                ET.SubElement(element, "skipped", message=UNSCORED_NOTE)
            elif not case.passed:
                ET.SubElement(element, "failure", message=_clean(case.why)).text = _clean(
                    "\n".join(line.strip() for line in failed_case_lines(case)))
    for element in [*root, root]:  # every count is read off the test cases it holds
        cases = list(element.iter("testcase"))
        element.set("tests", str(len(cases)))
        # junit-10.xsd allows no `skipped` on <testsuites>: only each <testsuite> counts them
        for tag, attribute in JUNIT_COUNTS if element is not root else JUNIT_COUNTS[:2]:
            element.set(attribute, str(sum(c.find(tag) is not None for c in cases)))
    return xml_document(root)


def fallback_junit(submission: str, status: str, note: str) -> str:
    """One error test case: why a submission has no grading result."""
    root = ET.Element("testsuites", name="guardrail-lab", tests="1", failures="0", errors="1")
    case = ET.SubElement(ET.SubElement(root, "testsuite", name="grading", tests="1", errors="1"),
                         "testcase", classname="grading", name=status)
    ET.SubElement(case, "error", message=note).text = note
    return xml_document(root)


def xml_document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
