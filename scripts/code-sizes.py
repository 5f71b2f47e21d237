#!/usr/bin/env python3
"""scripts/code-sizes.py [N] — the N largest source files and functions of the
non-test code (graph, passes, codegen, runtime, models, tools), for issue 27's
goals: no file above 400 lines, no function above 120. A function is a
definition at namespace or class level; its length is the lines between its
braces (string and character literals and comments are ignored when counting
braces). Exit status 1 when a goal is exceeded."""
import glob
import re
import sys

LAYERS = ["graph", "passes", "codegen", "runtime", "models", "tools"]
MAX_FILE, MAX_FUNCTION = 400, 120
SIGNATURE = re.compile(
    r"^(?:  )?(?!namespace|struct|class|enum|union|extern|\s|return|if|for|while|switch|case|else|do)"
    r"[A-Za-z_][^;\n]*\)\s*(const\s*)?(override\s*)?(noexcept\s*)?(->[^{\n]*)?\{\s*$", re.M)


def sources(exts):
    return sorted(f for layer in LAYERS for ext in exts for f in glob.glob(f"{layer}/**/*.{ext}", recursive=True))


def functions(path):
    text = open(path).read()
    text = re.sub(r'R"\((.|\n)*?\)"', '""', text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"'(\\.|[^'\\\n])'", "''", text)
    text = re.sub(r"//[^\n]*", "", text)
    for m in SIGNATURE.finditer(text):
        start = m.end() - 1
        while text[start] != "{":
            start -= 1
        depth, j = 0, start
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        yield text[start:j].count("\n"), path, m.group(0).strip().split("(")[0]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    files = sorted(((sum(1 for _ in open(f)), f) for f in sources(["cpp", "h", "c", "def"])), reverse=True)
    funcs = sorted((f for path in sources(["cpp", "c"]) for f in functions(path)), reverse=True)
    print(f"{'lines':>6}  largest files")
    for lines, f in files[:n]:
        print(f"{lines:>6}  {f}")
    print(f"{'lines':>6}  largest functions")
    for lines, f, name in funcs[:n]:
        print(f"{lines:>6}  {f}: {name}")
    over = files[0][0] > MAX_FILE or funcs[0][0] > MAX_FUNCTION
    print(f"goals: files <= {MAX_FILE} lines ({'met' if files[0][0] <= MAX_FILE else 'NOT met'}), "
          f"functions <= {MAX_FUNCTION} lines ({'met' if funcs[0][0] <= MAX_FUNCTION else 'NOT met'})")
    return 1 if over else 0


sys.exit(main())
