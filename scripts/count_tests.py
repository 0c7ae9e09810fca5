#!/usr/bin/python3
"""Counts test cases from one `bazel test` run.

Usage: count_tests.py BAZEL_OUTPUT_LOG TESTLOGS_DIR BAZEL_EXIT_CODE
Prints "<passed> <failed>" for the test cases (gtest cases, read from each target's test.xml).
A target that failed without a failing case in its XML (crash, timeout, build failure) counts as
one failed case; a bazel run that failed before listing any target counts as one failure.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

STATUS = re.compile(
    r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE|"
    r"REMOTE FAILURE|FAILED TO BUILD)\b")


def count_xml(path):
    passed = failed = 0
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("result", "completed") in ("completed", "") and case.find("skipped") is None:
            passed += 1
    return passed, failed


def main():
    log_path, testlogs, exit_code = sys.argv[1], sys.argv[2], int(sys.argv[3])
    passed = failed = 0
    targets = 0
    with open(log_path, errors="replace") as f:
        for line in f:
            m = STATUS.match(line.strip())
            if not m:
                continue
            targets += 1
            label, status = m.group(1), m.group(2)
            pkg, _, name = label[2:].partition(":")
            p, fl = count_xml(os.path.join(testlogs, pkg, name, "test.xml"))
            if status != "PASSED" and fl == 0:
                fl = 1
                print(f"count_tests: {label} {status}", file=sys.stderr)
            passed += p
            failed += fl
    if exit_code != 0 and failed == 0:
        failed = 1
        print("count_tests: bazel failed before any test failed (build error?)", file=sys.stderr)
    print(passed, failed)


if __name__ == "__main__":
    main()
