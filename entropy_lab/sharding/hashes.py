"""Stable hashes for sharding: the same number in every process and on every machine.

They come from hashlib (BLAKE2b) or CRC16, never from Python's `hash()`, which changes from one
process to the next; a notebook and a test therefore place every key on the same node.
"""
from __future__ import annotations

import binascii
import hashlib
import numbers

from ..arguments import whole_number
from ..errors import LabError

MASK64 = (1 << 64) - 1
CLUSTER_SLOTS = 16384
JUMP_MULTIPLIER = 2862933555777941757  # the paper's 64-bit linear congruential generator
_blake2b = hashlib.blake2b  # bound once: stable_hash runs millions of times in a notebook


def to_bytes(key: str | bytes | int) -> bytes:
    """The bytes a scheme hashes: UTF-8 for str, decimal digits for int (as Redis sees them)."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, (str, int)):
        return str(key).encode()
    raise LabError(f"A key must be str, bytes or int, not {type(key).__name__}: convert it with str(key).")


def stable_hash(key: str | bytes | int, salt: str | bytes = b"") -> int:
    """A 64-bit hash of `key` that is the same in every process and on every machine (BLAKE2b).

    With a `salt` (e.g. a node name) the hash of salt + NUL + key: a different hash per salt.
    """
    data = key.encode() if type(key) is str else to_bytes(key)
    if salt:
        data = to_bytes(salt) + b"\x00" + data
    return int.from_bytes(_blake2b(data, digest_size=8).digest(), "big")


def salted_hash(salt: bytes, data: bytes) -> int:
    """stable_hash(data, salt) for a salt already encoded with its NUL: the hot path of rendezvous hashing."""
    return int.from_bytes(_blake2b(salt + data, digest_size=8).digest(), "big")


# --------------------------------------------------------------------------- jump hash
def jump_hash(key: int, num_buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach, 2014): a bucket in 0..num_buckets-1 for a 64-bit key.

    A line-by-line port of the paper's C++: a 64-bit linear congruential generator decides
    where the key would "jump" next; the last jump below num_buckets is the answer.
    """
    return _jump(*_jump_args(key, num_buckets))[0]


def jump_steps(key: int, num_buckets: int) -> int:
    """How many times jump_hash's loop runs for `key` (about ln(num_buckets) + 1 on average)."""
    return _jump(*_jump_args(key, num_buckets))[1]


def _jump(key: int, num_buckets: int) -> tuple[int, int]:
    """(bucket, loop turns) of the paper's loop, for checked arguments."""
    b, j, steps = -1, 0, 0
    while j < num_buckets:
        b, steps = j, steps + 1
        key = (key * JUMP_MULTIPLIER + 1) & MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b, steps


def _jump_args(key: int, num_buckets: int) -> tuple[int, int]:
    if isinstance(num_buckets, numbers.Integral) and not isinstance(num_buckets, bool) and num_buckets < 1:
        raise LabError(f"jump_hash needs at least one bucket, not {num_buckets}.")
    num_buckets = whole_number("num_buckets", num_buckets, 1)
    if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key <= MASK64:
        raise LabError(f"jump_hash takes a 64-bit unsigned key (0 to 2**64 - 1), not {key!r}: "
                       "hash a name first, e.g. jump_hash(stable_hash(name), n).")
    return int(key), num_buckets


# --------------------------------------------------------------------------- Redis Cluster's CRC16
def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM: polynomial 0x1021, start 0), the checksum Redis Cluster uses.

    Written out so a learner can read it; `key_slot` uses the same CRC computed in C.
    """
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc


def hash_tag(key: str | bytes) -> bytes:
    """The part of `key` Redis hashes: the text inside the first {...} if it is not empty, else all of it."""
    data = to_bytes(key)
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            return data[start + 1:end]
    return data


def key_slot(key: str | bytes) -> int:
    """The Redis Cluster hash slot of `key` (0..16383), as `CLUSTER KEYSLOT` computes it.

    Uses binascii.crc_hqx, the same CRC16 as `crc16` above, computed in C.
    """
    return binascii.crc_hqx(hash_tag(key), 0) % CLUSTER_SLOTS
