#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Only the layers that own a store may ask a file which store it is.

The kvm store (the kernel's guest_memfd) is one more provider: what sets it
apart (GM_PROVIDER_KERNEL, its own memory operations) reaches the vm and
snapshot layers through the provider, never through a test of the file's
kind.  So gm_file_store() and the GM_STORE_* kinds appear in the library
only under src/store, src/provider and src/engine-kvm (which binds the
kernel's file to its VM itself).  Comments are not code: they are skipped.
"""
import os
import re
import sys

ALLOWED = {'store', 'provider', 'engine-kvm'}
KIND_TEST = re.compile(r'\bgm_file_store\s*\(|\bGM_STORE_(SHMEM|HUGETLB|KVM)\b')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def main():
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'src')
    found = checked = 0
    for layer in sorted(os.listdir(src)):
        folder = os.path.join(src, layer)
        if not os.path.isdir(folder) or layer in ALLOWED:
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(('.c', '.h')):
                continue
            checked += 1
            with open(os.path.join(folder, name)) as f:
                code = COMMENT.sub(lambda m: '\n' * m.group(0).count('\n'), f.read())
            for lineno, line in enumerate(code.split('\n'), 1):
                if KIND_TEST.search(line):
                    print('FAIL src/%s/%s:%d: %s' % (layer, name, lineno, line.strip()))
                    found += 1
    print('%d files outside %s checked: %d store-kind tests' %
          (checked, ', '.join(sorted(ALLOWED)), found))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
