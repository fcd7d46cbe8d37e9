#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The build enforces the layers: from each layer's sources, an #include of
a private header of any layer it is not built on does not compile, and one
of a layer it is built on does.

Reads meson's compile_commands.json (argv[1]: the build directory) for the
flags each layer's sources are compiled with, and compiles a one-line file
with those flags for every private header under src/.  The table below is
the design (README.md, "Layout"); src/*/meson.build implements it.
"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile

# Each layer and the layers whose private headers it may include.
BUILT_ON = {
    'util': [],
    'common': ['util'],
    'host': ['util'],
    'pmem': ['util', 'common', 'host'],
    'store': ['util', 'common', 'host', 'pmem'],
    'provider': ['util', 'common', 'pmem', 'store'],
    'vm': ['util', 'common', 'host', 'engine'],
    'snapshot': ['util', 'common', 'host', 'engine', 'vm'],
    'engine-kvm': ['util', 'host', 'engine'],
    'engine-emu': ['util', 'engine'],
    'vmm': ['util'],
    'cli': ['util', 'vmm'],
}


def layer_flags(build, src):
    """Each layer's compile flags (-I and -D only), from one of its sources."""
    with open(os.path.join(build, 'compile_commands.json')) as f:
        commands = json.load(f)
    flags = {}
    for entry in commands:
        path = os.path.relpath(os.path.join(entry['directory'], entry['file']), src)
        parts = path.split(os.sep)
        if len(parts) != 3 or parts[0] != 'src' or parts[1] in flags:
            continue
        args = entry.get('arguments') or shlex.split(entry['command'])
        keep = [a for a in args if a.startswith(('-I', '-D', '-std='))]
        flags[parts[1]] = (args[0], entry['directory'], keep)
    return flags


def headers(src):
    """Private headers by layer folder."""
    found = {}
    for layer in sorted(os.listdir(os.path.join(src, 'src'))):
        folder = os.path.join(src, 'src', layer)
        if os.path.isdir(folder):
            found[layer] = sorted(h for h in os.listdir(folder) if h.endswith('.h'))
    return found


def compiles(compiler, directory, flags, header):
    with tempfile.NamedTemporaryFile('w', suffix='.c') as tu:
        tu.write('#include "%s"\n' % header)
        tu.flush()
        run = subprocess.run([compiler] + flags + ['-fsyntax-only', tu.name],
                             cwd=directory, capture_output=True, text=True)
    return run.returncode == 0


def main():
    build = os.path.abspath(sys.argv[1])
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    flags = layer_flags(build, src)
    by_layer = headers(src)
    cases = []
    failures = 0
    for layer, below in BUILT_ON.items():
        if layer not in flags:
            if layer in by_layer and layer != 'util':
                print('FAIL %s: no compile command for its sources' % layer)
                failures += 1
            continue
        for other, names in by_layer.items():
            if other != layer:
                cases += [(layer, other, header, other in below) for header in names]

    def check(case):
        layer, other, header, want = case
        compiler, directory, layer_args = flags[layer]
        return case, compiles(compiler, directory, layer_args, header) == want

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for (layer, other, header, want), ok in pool.map(check, cases):
            if not ok:
                print('FAIL %s: #include "%s" (src/%s) %s' %
                      (layer, header, other, 'does not compile' if want else 'compiles'))
                failures += 1
    checked = sum(len(v) for v in by_layer.values())
    print('%d layers, %d private headers, %d includes tried: %d wrong' %
          (len(flags), checked, len(cases), failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
