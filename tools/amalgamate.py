#!/usr/bin/env python3
"""Generates single_include/mien/mien.hpp from include/mien/mien.hpp.

Every quoted #include is inlined recursively, each file once, at its first use (so a file
always comes after the files it includes), with its `#pragma once` removed; <system> includes
stay as they are. The result opens with a do-not-edit banner.

    python3 tools/amalgamate.py           regenerate the single header
    python3 tools/amalgamate.py --check   exit 1 if the committed single header is stale
"""

import argparse
import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDE = ROOT / "include"
ENTRY = INCLUDE / "mien" / "mien.hpp"
OUTPUT = ROOT / "single_include" / "mien" / "mien.hpp"
COMMAND = "python3 tools/amalgamate.py"

QUOTED = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\b")
CONDITION_OPEN = re.compile(r"^\s*#\s*if")  # #if, #ifdef, #ifndef
CONDITION_CLOSE = re.compile(r"^\s*#\s*endif\b")


def version() -> str:
    match = re.search(r"project\(\s*mien\s+VERSION\s+([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    return match.group(1) if match else "unknown"


def banner() -> str:
    return "\n".join([
        f"// mien {version()} -- single-header edition.",
        "//",
        "// GENERATED FILE, DO NOT EDIT. Edit the headers under include/mien/ and regenerate:",
        f"//     {COMMAND}",
        "// (generator: tools/amalgamate.py; CI fails when this file is stale: --check).",
        "//",
        "// Needs xsimd (and xtensor for interop) on the include path; never OpenCV.",
        "#pragma once",
        "#define MIEN_SINGLE_INCLUDE 1",
        "",
    ])


def amalgamate() -> str:
    seen: set[Path] = set()
    out: list[str] = [banner()]

    def inline(path: Path, chain: tuple[Path, ...]) -> None:
        seen.add(path)
        name = path.relative_to(INCLUDE).as_posix()
        out.append(f"// ---- begin {name} ----")
        depth = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PRAGMA_ONCE.match(line):
                continue
            if CONDITION_OPEN.match(line):
                depth += 1
            elif CONDITION_CLOSE.match(line):
                depth -= 1
            match = QUOTED.match(line)
            if not match:
                out.append(line)
                continue
            target = (path.parent / match.group(1)).resolve()
            if not target.is_file() or INCLUDE not in target.parents:
                sys.exit(f"amalgamate: {name}:{number}: cannot find {match.group(1)} under include/")
            if depth > 0:
                # Inlined once, a conditional include would vanish from every later includer.
                sys.exit(f"amalgamate: {name}:{number}: quoted #include inside #if is not supported")
            if target in chain:
                sys.exit(f"amalgamate: include cycle: {' -> '.join(p.name for p in chain + (target,))}")
            if target not in seen:
                inline(target, chain + (target,))
        out.append(f"// ---- end {name} ----")

    inline(ENTRY, (ENTRY,))
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed single header is stale")
    args = parser.parse_args()

    text = amalgamate()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current == text:
            print(f"{OUTPUT.relative_to(ROOT)} is up to date")
            return 0
        diff = difflib.unified_diff(current.splitlines(), text.splitlines(), "committed", "generated", lineterm="", n=1)
        print("\n".join(list(diff)[:40]))
        print(f"\n{OUTPUT.relative_to(ROOT)} is stale: regenerate it with `{COMMAND}` and commit it.",
              file=sys.stderr)
        return 1

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
