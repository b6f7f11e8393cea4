#!/usr/bin/env python3
"""Checks that the project stands on its own: no tracked file names a path outside it.

    python3 scripts/check-self-contained.py

Reads every file `git ls-files` lists (text files; binaries such as PNGs are skipped) and
fails, printing each FILE:LINE, when a line
  1. names the workplace's sibling reading folder (two dots, a slash and its name), the
     environment variable the tests once took it from, or the workplace root;
  2. holds a relative path starting with `../` that, taken from the file's own directory,
     climbs above the repository's root, or that lands on nothing the repository tracks
     (`include_str!("../README.md")` in h2-codec-lite/src/lib.rs is fine: it is a tracked file).
The patterns are built from pieces so that this script does not match itself.
Exit status: 0 when clean, 1 when something was found, 2 when git failed.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOTS = "." + "."
FORBIDDEN = [
    re.compile(re.escape(DOTS + "/" + "shared")),
    re.compile(re.escape(DOTS + "\\" + "shared")),
    re.compile("POLLHTTP_" + "SHARED"),
    re.compile(r"(?<![\w.])/" + "work" + r"/"),
]
# A relative path: one or more "../" then the rest of a path, not preceded by a path character.
RELATIVE = re.compile(r"(?<![\w./-])((?:" + re.escape(DOTS) + r"/)+)([\w.\-/]*)")


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print(f"check-self-contained: git ls-files failed: {e}", file=sys.stderr)
        sys.exit(2)
    return [p for p in out.decode().split("\0") if p]


def escapes(path, ups, rest, tracked, dirs):
    """Whether `ups` (a run of ../) then `rest`, taken from `path`'s directory, leaves the repo
    or lands on nothing tracked."""
    here = os.path.dirname(path)
    depth = len([p for p in here.split("/") if p])
    climbs = ups.count(DOTS)
    if climbs > depth:
        return True
    target = os.path.normpath(os.path.join(here, ups + rest)).rstrip("/")
    if target in (".", ""):
        return False
    return target not in tracked and target not in dirs


def main():
    files = tracked_files()
    tracked = set(files)
    dirs = {os.path.dirname(f) for f in files}
    for f in list(dirs):
        while f:
            f = os.path.dirname(f)
            dirs.add(f)
    problems = []
    for path in files:
        full = os.path.join(ROOT, path)
        if not os.path.isfile(full):
            continue
        with open(full, "rb") as fh:
            data = fh.read()
        if b"\0" in data[:8192]:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for pattern in FORBIDDEN:
                if pattern.search(line):
                    problems.append(f"{path}:{number}: names a path outside the repository: {line.strip()}")
                    break
            else:
                for m in RELATIVE.finditer(line):
                    if escapes(path, m.group(1), m.group(2), tracked, dirs):
                        problems.append(f"{path}:{number}: relative path {m.group(0)!r} leaves the "
                                        f"repository or names nothing in it: {line.strip()}")
                        break
    for p in problems:
        print(p)
    if problems:
        print(f"check-self-contained: {len(problems)} line(s) name paths outside the repository",
              file=sys.stderr)
        return 1
    print(f"check-self-contained: {len(files)} tracked files, none names a path outside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
