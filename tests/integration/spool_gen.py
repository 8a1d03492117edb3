# SPDX-License-Identifier: Apache-2.0
"""spool_gen.py -- writes and damages hostpulse spool segments for tests.

The on-disk format (docs/reliability.md, transport/spool.h): a segment file
%016x.seg named after its first record number, the 8-byte magic HPSPOOL1,
then records `u32 len (LE) | u32 CRC-32C(len bytes + payload) | payload`.
This is an independent implementation of the writer (CRC-32C included), so
a test built on it checks the agent against the documented format rather
than against itself.

    segs = spool_gen.Spool(directory, "out")
    segs.write(first=0, payloads=[...])          # -> path of the segment
    spool_gen.flip(path, offset)                 # one byte changed
    spool_gen.record_offset(payloads, i)         # where record i starts
"""
import json
import os
import struct

MAGIC = b"HPSPOOL1"


def _table():
    poly = 0x82F63B78
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_T = _table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


def record(payload):
    head = struct.pack("<I", len(payload))
    return head + struct.pack("<I", crc32c(payload, crc32c(head))) + payload


def envelope(seq, session="gen-session", host="genhost", reporter="uptime"):
    """A valid message envelope (docs/schema) as bytes."""
    return json.dumps({"v": 1, "host": host, "reporter": reporter, "ts": 1795290000000 + seq,
                       "session": session, "seq": seq, "interval": 1.0,
                       "data": {"uptime": float(seq), "boot_time": 1795000000}},
                      separators=(",", ":")).encode()


def record_offset(payloads, i):
    """File offset of record i of a segment holding payloads."""
    return len(MAGIC) + sum(8 + len(p) for p in payloads[:i])


class Spool:
    def __init__(self, directory, sink):
        self.dir = os.path.join(directory, sink)
        os.makedirs(self.dir, mode=0o750, exist_ok=True)

    def path(self, first):
        return os.path.join(self.dir, "%016x.seg" % first)

    def write(self, first, payloads):
        with open(self.path(first), "wb") as f:
            f.write(MAGIC + b"".join(record(p) for p in payloads))
        return self.path(first)

    def acked(self, text):
        with open(os.path.join(self.dir, "acked"), "w") as f:
            f.write(text)


def poke(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))
