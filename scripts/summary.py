#!/usr/bin/env python3
"""Count meson test results.

summary.py TESTLOG.JSON   -> prints "passed failed skipped" for one build
summary.py --total FILE   -> adds such lines and prints the closing line
"""
import json
import sys

if sys.argv[1] == "--total":
    p = f = s = 0
    for line in open(sys.argv[2]):
        a, b, c = map(int, line.split())
        p, f, s = p + a, f + b, s + c
    print(f"{p} passed, {f} failed, {s} skipped")
    sys.exit(0)

p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
