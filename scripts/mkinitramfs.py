#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the Linux guest's initramfs: a gzip-compressed cpio "newc" archive.

    mkinitramfs.py --init PATH -o OUT.cpio.gz

It holds the directories dev, proc and root, the console node dev/console
(char 5:1) and PATH as /init.  The headers are written directly, so the
device node needs no mknod and no root; mtimes, owners and inode numbers
are fixed, so the same init gives the same archive byte for byte.
"""

import argparse
import gzip
import os
import sys

S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFREG = 0o100000


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def entry(ino, name, mode, data=b"", nlink=1, rdev=(0, 0)):
    """One newc record: header, NUL-terminated name and data, each padded to 4."""
    name = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, 0, len(data),
              0, 0, rdev[0], rdev[1], len(name), 0)
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    return pad4(header + name) + pad4(data)


def archive(init):
    records = [
        entry(1, "dev", S_IFDIR | 0o755, nlink=2),
        entry(2, "dev/console", S_IFCHR | 0o600, rdev=(5, 1)),
        entry(3, "init", S_IFREG | 0o755, data=init),
        entry(4, "proc", S_IFDIR | 0o555, nlink=2),
        entry(5, "root", S_IFDIR | 0o700, nlink=2),
        entry(0, "TRAILER!!!", 0),
    ]
    return b"".join(records)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", required=True, help="the program to run as /init")
    ap.add_argument("-o", "--output", required=True, help="the .cpio.gz to write")
    args = ap.parse_args()

    with open(args.init, "rb") as f:
        init = f.read()
    data = gzip.compress(archive(init), compresslevel=9, mtime=0)

    # Written beside and renamed, so that a failed run leaves no half archive.
    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
