#!/usr/bin/env python3
"""Write the hand-made seed corpus: fuzz/corpus/<harness>/<name>.

Each seed spells out, op by op, an input in the format the harness's
comment describes (fuzz-ops.c: an opcode byte, then its argument bytes;
fuzz-hypercall.c: a config byte, then 26-byte records).  Run it again after
changing either format: python3 fuzz/seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v & (2**64 - 1))


# ---- fuzz-ops: opcodes (byte % 23) and argument encodings ----
CREATE, CLOSE, FTRUNCATE, FALLOCATE, SEAL, IO, MMAP, MAP_USE, REGISTER, UNREGISTER = range(10)
GET_LOCK_PFN, PUT_UNLOCK_PFN, MAPPING_LEVEL, MAP_RANGE, GUEST_WRITE, VERIFY = range(10, 16)
VM_CREATE, VM_DESTROY, MEMSLOT, SET_ATTR, WRITE_SHARED, READ_SHARED, KEEP_PINS = range(16, 23)

# op_create's flag table indexes
ORDINARY, SEALABLE, GUEST, HUGE_GUEST = 0, 1, 2, 6
# pick_length: a byte >= 128 picks from its table
LEN_0, LEN_2M, LEN_4M = bytes([140]), bytes([131]), bytes([133])


def length(v):
    """pick_length: an exact page-aligned length below 4 MiB."""
    return bytes([0]) + u32(v)


def rng(off, ln):
    """pick_range: a page-aligned, in-bounds offset and length."""
    return bytes([0x80]) + u32(off) + u32(ln)


def create(flags, size):
    return bytes([CREATE, flags, 2]) + size


def gpa_range(slot, first, pages, alias=False):
    """pick_gpa_range: whole pages of a slot of the model."""
    return bytes([0x20 | slot | (0x80 if alias else 0)]) + u16(first) + u16(pages)


OPS = {
    "files-and-pins": b"".join([
        create(GUEST, LEN_4M),
        create(SEALABLE, LEN_2M),
        bytes([REGISTER, 0, 1]),
        bytes([GET_LOCK_PFN, 0]) + u16(5) + bytes([0]),
        bytes([GET_LOCK_PFN, 0]) + u16(600) + bytes([1]),
        bytes([GUEST_WRITE, 0]) + u16(7),
        bytes([FALLOCATE, 0, 0]) + rng(0x10000, 0x20000),
        bytes([MAPPING_LEVEL, 0]) + u16(600),
        bytes([PUT_UNLOCK_PFN, 0]),
        bytes([PUT_UNLOCK_PFN, 0]),
        bytes([FALLOCATE, 0, 2]) + rng(0, 0x100000),
        bytes([VERIFY, 0]),
        bytes([IO, 1, 0x82]) + u32(0x1000) + u32(0x100) + bytes([0]) + bytes(range(256)),
        bytes([MMAP, 1, 1, 0, 4]),
        bytes([MAP_USE, 0]) + u32(100) + bytes([0x41]),
        bytes([SEAL, 1, 0x08]),
        bytes([FTRUNCATE, 0]) + LEN_2M,
        bytes([MAP_RANGE, 0, 0, 1, 0]),
        bytes([UNREGISTER, 0, 0]),
        bytes([CLOSE, 0]),
        bytes([MAP_USE, 0x80, 0, 0, 0, 0, 0]),
    ]),
    "doomed-pins": b"".join([
        create(GUEST, LEN_4M),
        bytes([REGISTER, 0, 1]),
        bytes([GUEST_WRITE, 0]) + u16(3),
        bytes([GET_LOCK_PFN, 0]) + u16(3) + bytes([0]),
        bytes([KEEP_PINS]),
        bytes([FALLOCATE, 0, 2]) + rng(0, 0x10000),            # page 3 freed under the pin
        bytes([GET_LOCK_PFN, 0]) + u16(3) + bytes([0]),        # -EAGAIN
        bytes([GUEST_WRITE, 0]) + u16(3),                      # -EAGAIN
        bytes([FTRUNCATE, 0]) + LEN_2M,
        bytes([FALLOCATE, 0, 0]) + rng(0, 0x10000),            # drops the doomed pin first
        bytes([VERIFY, 0]),
        bytes([CLOSE, 0]),
    ]),
    "vm-conversions": b"".join([
        create(ORDINARY, LEN_4M),
        create(GUEST, LEN_4M),
        create(ORDINARY, LEN_2M),
        bytes([VM_CREATE, 1]),
        bytes([MEMSLOT, 0, 0, 0, 4, 2, 0, 1]),                 # boot: gpa 0, 2 MiB
        bytes([MEMSLOT, 1, 1, 4, 5, 0, 0, 1, 1, 0]),           # RAM: private-capable
        bytes([GUEST_WRITE, 1]) + u16(3),
        bytes([SET_ATTR, 1, 1]) + gpa_range(1, 0, 16),
        bytes([GUEST_WRITE, 1]) + u16(2),
        bytes([READ_SHARED]) + gpa_range(1, 2, 1),             # private: -EPERM
        bytes([GET_LOCK_PFN, 1]) + u16(1) + bytes([0]),
        bytes([PUT_UNLOCK_PFN, 0]),
        bytes([SET_ATTR, 0, 1]) + gpa_range(1, 0, 8),
        bytes([WRITE_SHARED]) + gpa_range(1, 0, 2) + bytes([0x33]),
        bytes([READ_SHARED]) + gpa_range(0, 0, 1),
        bytes([WRITE_SHARED]) + gpa_range(1, 20, 1, alias=True) + bytes([0x44]),
        bytes([VERIFY, 1]),
        bytes([REGISTER, 1, 1]),                               # held by the VM: -EPERM
        bytes([MEMSLOT, 1, 0, 0, 0, 0, 0, 1]),                 # delete RAM
        bytes([REGISTER, 1, 1]),
        bytes([VM_DESTROY]),
    ]),
    "seals-and-errors": b"".join([
        create(SEALABLE, LEN_0),
        bytes([SEAL, 0, 0x20]),                                # turns guest-only
        bytes([FTRUNCATE, 0]) + length(0x100000),
        bytes([FALLOCATE, 0, 1]) + rng(0x100000, 0x100000),     # KEEP_SIZE past the end
        bytes([SEAL, 0, 0x12]),
        bytes([FALLOCATE, 0, 2]) + rng(0, 0x1000),             # sealed: -EPERM
        bytes([FTRUNCATE, 0]) + LEN_0,
        bytes([GET_LOCK_PFN, 0]) + u16(1) + bytes([0]),        # no owner: -EPERM
        create(HUGE_GUEST, LEN_2M),
        bytes([FALLOCATE, 1, 0]) + rng(0, 0x200000),
        bytes([FTRUNCATE, 6]) + LEN_0,                         # NULL file
        bytes([IO, 0, 0x80]) + u32(0) + u32(0x1000) + bytes([0]),
        bytes([MMAP, 0, 0, 0, 0]),
        create(ORDINARY, LEN_2M),
        bytes([REGISTER, 2, 1]),                               # ordinary: -EPERM
        bytes([VM_CREATE, 0]),                                 # bad engine
        bytes([VM_CREATE, 1]),
        bytes([MEMSLOT, 5, 0, 0, 4, 2, 0, 1]),                 # slot 32
        bytes([MEMSLOT, 0, 1, 11, 4, 2, 0, 1, 0, 0]),          # unaligned gpa
        bytes([SET_ATTR, 3, 1]) + bytes([0xf0]) + u64(1) + u64(4096),
    ]),
}

# ---- fuzz-hypercall: config byte, then (op, mode, a0, a1, a2) records ----
HC_EXIT, HC_PRINT, HC_CONVERT, HC_REPORT, HC_HOST_READ64, HC_PROGRESS = 1, 2, 3, 4, 5, 6
ACCESS = 0x80
IN_RAM, ALIGNED, SHARED, SIZE, BOOL, IN_BOOT, SHORT = 1, 2, 4, 8, 0x10, 0x20, 0x40


def rec(op, mode=0, a0=0, a1=0, a2=0):
    return bytes([op, mode]) + u64(a0) + u64(a1) + u64(a2)


CONVERT = IN_RAM | ALIGNED | SIZE | BOOL
HC = {
    "convert-and-touch": bytes([0x0f]) + b"".join([
        rec(HC_CONVERT, CONVERT, 0x3000, 0x4000, 0),
        rec(ACCESS, IN_RAM, 0x3008),
        rec(ACCESS, IN_RAM | SHARED, 0x5000),
        rec(HC_PRINT, IN_BOOT | SHORT, 0x100000, 16),
        rec(HC_REPORT, 0, 3, 1),
        rec(HC_HOST_READ64, IN_RAM, 0x2000),
        rec(HC_PROGRESS, 0, 4096),
        rec(0x40 | 0x20),
        rec(HC_CONVERT, CONVERT, 0, 0x10000, 1),
        rec(ACCESS, IN_RAM | SHARED, 0x7000),
        rec(HC_CONVERT, CONVERT, 0x1000, 0x200000, 0),
        rec(ACCESS, IN_RAM, 0x1000),
    ] * 3),
    "shared-ram-faults": bytes([0x04]) + b"".join([
        rec(ACCESS, IN_RAM, 0x8000 + 0x1000 * i) + rec(ACCESS, IN_RAM | SHARED, 0x8000 + 0x1000 * i)
        for i in range(8)
    ]),
    "stop-on-mismatch": bytes([0x01]) + b"".join([
        rec(HC_REPORT, 0, 1, 0),
        rec(ACCESS, IN_RAM, 0x10000),
        rec(HC_PRINT, IN_BOOT | SHORT, 0x100000, 8),
    ]),
    "wild-arguments": bytes([0x06]) + b"".join([
        rec(HC_CONVERT, 0, 0xffff_ffff_ffff_f000, 0x2000, 1),
        rec(HC_CONVERT, IN_RAM | ALIGNED, 0, 2**64 - 4096, 1),
        rec(HC_PRINT, 0, 0x40000000, 5000),
        rec(HC_HOST_READ64, 0, 0x8000000001, 0),
        rec(HC_REPORT, 0, 99, 1),
        rec(HC_EXIT, 0, 7),
        rec(ACCESS, IN_RAM, 0x4000),
    ]),
}


def write(harness, seeds):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("fuzz-ops", OPS)
write("fuzz-hypercall", HC)
