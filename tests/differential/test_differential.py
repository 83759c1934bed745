"""The differential: every case of cases.py under awslambdaric (the oracle) and under the
bootstrap (the subject), compared by harness.py. A difference fails the case unless a rule of
deliberate.py explains it; each rule must still be needed somewhere in the run.

The cell comes from the environment (mk/differential.mk sets it):
  DIFF_VERSION          the Python version, "3.11", "3.14", ...
  DIFF_ORACLE_PYTHON    the interpreter of a venv with awslambdaric (scripts/anchors.sh)
  DIFF_LIBPYTHON        the libpython of the same version, for the bootstrap
  BOOTSTRAP_BIN         the bootstrap
  TIME_SCALE            multiplier for timeouts
"""

import difflib
import os

import pytest

import cases
import deliberate
import harness

VERSION = os.environ.get("DIFF_VERSION", "")
ORACLE = os.environ.get("DIFF_ORACLE_PYTHON", "")
LIBPYTHON = os.environ.get("DIFF_LIBPYTHON", "")
BOOTSTRAP = os.environ.get("BOOTSTRAP_BIN", os.path.join(harness.ROOT, "bootstrap"))
TIME_SCALE = float(os.environ.get("TIME_SCALE", "1"))

needed = {}  # rule key -> the cases it explained a difference in
ran = set()


def _check_cell():
    missing = [name for name, value in (("DIFF_VERSION", VERSION), ("DIFF_ORACLE_PYTHON", ORACLE),
                                        ("DIFF_LIBPYTHON", LIBPYTHON)) if not value]
    if missing:
        pytest.fail("the differential needs %s (run it with make test-differential)" % ", ".join(missing))
    for path in (ORACLE, LIBPYTHON, BOOTSTRAP):
        if not os.path.exists(path):
            pytest.fail("missing: %s" % path)


def _report(case, unexplained):
    lines = ["%d difference(s) between awslambdaric (-) and the bootstrap (+) in %s (handler %s):"
             % (len(unexplained), case.id, case.handler)]
    for path, oracle, subject in unexplained:
        if isinstance(oracle, list) and isinstance(subject, list) and all(
                isinstance(s, str) for s in oracle + subject):
            lines.append("  %s:" % path)
            lines += ["    " + line[:300] for line in
                      difflib.unified_diff(oracle, subject, "awslambdaric", "bootstrap", lineterm="", n=1)]
        else:
            lines.append("  %s:\n    - %s\n    + %s" % (path, harness.show(oracle), harness.show(subject)))
    lines.append("Fix the bootstrap (src/runtime.py, src/python.c), or add the difference to "
                 "tests/differential/deliberate.py and README.md's \"Differences from awslambdaric\".")
    return "\n".join(lines)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.id)
def test_case(case):
    _check_cell()
    oracle = harness.normalise(harness.run_side(harness.oracle_side(ORACLE, VERSION), case, TIME_SCALE), case.mask)
    subject = harness.normalise(harness.run_side(harness.subject_side(BOOTSTRAP, LIBPYTHON), case, TIME_SCALE),
                                case.mask)
    ran.add(case.id)
    # Both must have done something: an oracle that never answered proves nothing.
    assert oracle["posts"] or oracle["exit"] not in ("hung",), "the oracle did nothing in %s" % case.id
    assert oracle["exit"] != "hung" and subject["exit"] != "hung", \
        "a runtime hung in %s: oracle %s, subject %s" % (case.id, oracle["exit"], subject["exit"])
    unexplained = []
    for path, a, b in harness.differences(oracle, subject):
        rule = deliberate.explain(case.id, path, a, b, VERSION)
        if rule is None:
            unexplained.append((path, a, b))
        else:
            needed.setdefault(rule.key, set()).add(case.id)
    assert not unexplained, _report(case, unexplained)


@pytest.mark.parametrize("rule", deliberate.RULES, ids=lambda r: r.key)
def test_deliberate_difference_still_occurs(rule):
    """Every documented difference is pinned: if it no longer shows, the docs are wrong."""
    if not rule.applies_to(VERSION):
        return  # a difference of later Python versions only: nothing to pin here
    if len(ran) != len(cases.CASES):
        pytest.skip("NOT RUN: needs every case of the differential to have run (%d of %d did)"
                    % (len(ran), len(cases.CASES)))
    assert rule.key in needed, ("deliberate difference %r no longer occurs in any case: remove it from "
                                "deliberate.py and README.md" % rule.key)
