#!/usr/bin/env python3
"""What cl /W4 /WX rejects and no local compiler reports: C4127,
"conditional expression is constant".

clang and GCC deliberately stay quiet about conditions made of macros and
sizeof (they are how portable code configures itself), and clang-cl maps
no flag to C4127. cl warns when an if/while/do-while/?: condition is a
constant expression, except a bare literal such as while (1) (the
documented exemption). This check flags conditions of C files compiled on
Windows whose identifiers are all macros (ALL_CAPS) or sizeof and type
names, with no call and no variable: the shape of `if (ON_WINDOWS)` and
`if (sizeof(size_t) < 8)`. Such code belongs under #if.

What it cannot see: a constant hidden behind a lower-case macro or an
enum constant, and const variables (cl does not flag those either).

Usage: tools/check-msvc-lint.py [FILE...]   (default: every .c file in
src/, tests/, bench/, examples/, fuzz/). Exit status 1 on findings.
"""
import os
import re
import sys

TYPE_WORDS = {
    "sizeof", "char", "short", "int", "long", "unsigned", "signed", "void",
    "float", "double", "size_t", "ptrdiff_t", "intptr_t", "uintptr_t",
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t",
    "uint32_t", "uint64_t", "struct", "const", "defined",
}
KEYWORD = re.compile(r"\b(if|while)\s*\(")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip_comments_and_strings(text):
    """Blank out comments, string and character literals, and
    preprocessor lines (their conditions are meant to be constant), keeping
    line numbers."""
    out, i, n = [], 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            out.append("".join("\n" if ch == "\n" else " "
                               for ch in text[i:j]))
            i = j
            continue
        if c in " \t":
            out.append(c)
            i += 1
            continue
        at_line_start = c == "\n"
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " "
                               for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + "0" * max(0, j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def condition_at(code, start):
    """The text between the parenthesis at start and its match."""
    depth, i = 0, start
    while i < len(code):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return code[start + 1:i]
        i += 1
    return None


def is_constant(cond):
    idents = IDENT.findall(cond)
    if not idents:
        return False  # a bare literal: cl's documented exemption
    for m in IDENT.finditer(cond):
        word = m.group(0)
        rest = cond[m.end():].lstrip()
        if word == "sizeof" or word in TYPE_WORDS:
            continue
        if rest.startswith("(") and word != "sizeof":
            return False  # a call, or a function-like macro: not judged
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", word):
            return False  # a variable
    return True


def check(path):
    text = open(path, encoding="utf-8").read()
    code = strip_comments_and_strings(text)
    found = []
    for m in KEYWORD.finditer(code):
        cond = condition_at(code, m.end() - 1)
        if cond is not None and is_constant(cond):
            line = code.count("\n", 0, m.start()) + 1
            found.append(f"{path}:{line}: C4127 (constant condition): "
                         f"{m.group(1)} ({' '.join(cond.split())})")
    return found


def main(argv):
    files = argv[1:]
    if not files:
        for top in ("src", "tests", "bench", "examples", "fuzz"):
            for root, _, names in os.walk(top):
                files += [os.path.join(root, f) for f in sorted(names)
                          if f.endswith(".c")]
    found = [f for path in files for f in check(path)]
    for f in found:
        print(f)
    print(f"check-msvc-lint: {len(files)} files, {len(found)} findings")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
