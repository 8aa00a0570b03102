#!/usr/bin/env python3
"""Checks the sanitizer suppression files against a build: every entry has its reason on the
comment line above it, and no pattern matches a project symbol or source file.

Usage: check_suppressions.py BUILD_DIR SUPPRESSION_FILE...

Project symbols are the functions and variables defined in the build's object files whose
demangled names are in Surge's namespace (surge::...), plus main; project files are the tracked
files of the checkout. Patterns are matched the way the sanitizers match them: a substring, with
'*' for any run of characters, '^' anchoring the start and '$' the end.
"""
import pathlib
import re
import subprocess
import sys


def to_regex(template):
    anchored_start = template.startswith("^")
    anchored_end = template.endswith("$")
    core = template[1 if anchored_start else 0 : len(template) - (1 if anchored_end else 0)]
    body = ".*".join(re.escape(part) for part in core.split("*"))
    return re.compile(("^" if anchored_start else "") + body + ("$" if anchored_end else ""))


def project_symbols(build_dir):
    objects = [str(p) for p in pathlib.Path(build_dir).rglob("*.o")]
    symbols = set()
    for start in range(0, len(objects), 200):
        out = subprocess.run(["nm", "-C", "--defined-only", *objects[start : start + 200]],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and (parts[2].startswith("surge::") or parts[2] == "main"):
                symbols.add(parts[2])
    return symbols


def project_files(checkout):
    out = subprocess.run(["git", "-C", checkout, "ls-files"], capture_output=True, text=True, check=True).stdout
    return [str(pathlib.Path(checkout, f).resolve()) for f in out.splitlines()]


def main():
    build_dir, files = sys.argv[1], sys.argv[2:]
    checkout = str(pathlib.Path(__file__).resolve().parents[2])
    names = sorted(project_symbols(build_dir)) + project_files(checkout)
    problems = []
    for path in files:
        previous = ""
        for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                previous = entry
                continue
            where = f"{path}:{number}: '{entry}'"
            if not previous.startswith("#") or previous == "#":
                problems.append(f"{where} has no reason on the comment line above it")
            kind, _, template = entry.partition(":")
            if not template:
                problems.append(f"{where} is not TYPE:PATTERN")
            else:
                pattern = to_regex(template)
                hits = [name for name in names if pattern.search(name)]
                if hits:
                    problems.append(f"{where} matches project code, e.g. {hits[0]}")
            previous = entry
    for problem in problems:
        print(f"check_suppressions: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_suppressions: {len(files)} files checked against {len(names)} project symbols and files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
