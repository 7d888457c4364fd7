"""How many bytes Redis 7.0 (64-bit, jemalloc 5.3) allocates for keys, values and tables.

Each allocation is rounded up to a jemalloc size class. A string key/value pair costs a dict
entry (24 B -> 32), the key as an sds string, and the value object (an int, an `embstr` up to
44 bytes in one allocation, or a 16-byte robj plus an sds string). A key with a TTL costs one
more dict entry in the expires table. Each dict has a bucket table of 8 B per slot, a power of
two that doubles when it fills (and the old table lingers while rehashing).

Checked against redis-server 7.0.15: MEMORY USAGE of 1, 10, 44, 45, 100, 1000, 1024 and 4000
byte values and 1..40 byte keys match exactly; the used_memory delta of N keys with 100 B values
(184 B/key) and of keys with a TTL (224 B/key) match.
"""
from __future__ import annotations

from typing import Any

# used_memory of a 7.0.15 server without keys, and what one connected normal client adds
# (its query buffer and client struct). Calibrated on the real server: a fresh server with
# one client reports about 0.94 MB, but once it has served writes about 80 KB more is in use
# (measured by fitting the keys retained at 2 MB and 10 MB with 100 B and 1 KB values).
STARTUP_BYTES = 980_000
CLIENT_BYTES = 20_600

DICT_ENTRY = 24          # sizeof(dictEntry)
ROBJ = 16                # sizeof(robj)
DICT_STRUCT = 56         # sizeof(dict) in 7.0
OBJ_SHARED_INTEGERS = 10_000
EMBSTR_LIMIT = 44


def je_size(n: int) -> int:
    """The jemalloc size class that serves a request of `n` bytes."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    spacing = 1 << ((n - 1).bit_length() - 3)
    return (n + spacing - 1) // spacing * spacing


def sds_header(length: int, allow_type5: bool = True) -> int:
    """Header bytes of an sds string of `length` bytes (sdsReqType)."""
    if length < 32 and allow_type5:
        return 1
    if length < 256:
        return 3
    if length < 65536:
        return 5
    if length < 2**32:
        return 9
    return 17


def sds_alloc(length: int, allow_type5: bool = True) -> int:
    return je_size(sds_header(length, allow_type5) + length + 1)


ENTRY_BYTES = je_size(DICT_ENTRY)       # 32: one entry in the main or the expires dict
EXPIRE_BYTES = ENTRY_BYTES


def table_bytes(slots: int) -> int:
    """A dict's bucket array of `slots` pointers (0 when not allocated)."""
    return je_size(slots * 8) if slots else 0


def _as_long(value: bytes) -> int | None:
    """Redis string2l: a canonical signed 64-bit decimal, else None."""
    if not value or len(value) > 20:
        return None
    try:
        text = value.decode("ascii")
        number = int(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if str(number) != text or not -(2**63) <= number < 2**63:
        return None
    return number


def string_encoding(value: bytes, shared_ints: bool = True) -> str:
    if _as_long(value) is not None:
        return "int"
    return "embstr" if len(value) <= EMBSTR_LIMIT else "raw"


def string_bytes(value: bytes, shared_ints: bool = True) -> int:
    """Bytes allocated for a string value object (shared small integers cost nothing)."""
    n = len(value)
    if n <= 20:
        number = _as_long(value)
        if number is not None:
            return 0 if shared_ints and 0 <= number < OBJ_SHARED_INTEGERS else ROBJ
    if n <= EMBSTR_LIMIT:
        return je_size(ROBJ + 3 + n + 1)
    return ROBJ + sds_alloc(n, allow_type5=False)


def raw_string_bytes(length: int) -> int:
    """string_bytes for a non-integer value of `length` bytes (the simulator's fast path)."""
    if length <= EMBSTR_LIMIT:
        return je_size(ROBJ + 3 + length + 1)
    return ROBJ + sds_alloc(length, allow_type5=False)


def key_entry_bytes(key_length: int, value_bytes: int) -> int:
    """A key in the main dict: entry + key sds + value object."""
    return ENTRY_BYTES + sds_alloc(key_length) + value_bytes


def _element(e: Any) -> bytes:
    return e if isinstance(e, bytes) else str(e).encode()


def _lp_entry(e: bytes) -> int:
    """Bytes of one listpack entry: small integers are packed, strings carry their length."""
    number = _as_long(e)
    if number is not None and -(2**63) <= number < 2**63:
        if 0 <= number <= 127:
            return 2
        if -4096 <= number < 4096:
            return 3
        return 4 if -(2**15) <= number < 2**15 else (5 if -(2**23) <= number < 2**23 else
                                                      (6 if -(2**31) <= number < 2**31 else 10))
    n = len(e)
    header = 1 if n < 64 else (2 if n < 4096 else 5)
    body = header + n
    return body + (1 if body < 128 else 2 if body < 16384 else 3)


def _listpack(entries: list[bytes]) -> int:
    return je_size(6 + sum(_lp_entry(e) for e in entries) + 1)


def _score_bytes(score: float) -> bytes:
    return str(int(score)).encode() if float(score).is_integer() and abs(score) < 2**53 else repr(score).encode()


def value_info(value: Any, shared_ints: bool = True) -> tuple[int, str]:
    """(bytes, OBJECT ENCODING) of a fakeredis value. Strings are exact; collections are
    estimated from Redis 7.0's encodings and default thresholds (hash: listpack up to 512
    fields of 64 bytes; set: intset up to 512 integers, else hashtable; sorted set: listpack up
    to 128 members of 64 bytes, else skiplist; list: quicklist of 8 KB listpack nodes)."""
    if isinstance(value, bytes):
        return string_bytes(value, shared_ints), string_encoding(value)
    name = type(value).__name__
    if isinstance(value, list):
        elements = [_element(e) for e in value]
        body = sum(_lp_entry(e) for e in elements)
        nodes = max(1, (body + 8191) // 8192)
        return ROBJ + je_size(40) + nodes * (je_size(32) + je_size(min(body, 8192) + 7)), "quicklist"
    if isinstance(value, dict) or name == "Hash":
        items = [(_element(k), _element(v)) for k, v in value.items()]
        if len(items) <= 512 and all(len(k) <= 64 and len(v) <= 64 for k, v in items):
            return ROBJ + _listpack([e for kv in items for e in kv]), "listpack"
        slots = _slots_for(len(items))
        per = sum(ENTRY_BYTES + sds_alloc(len(k)) + sds_alloc(len(v)) for k, v in items)
        return ROBJ + je_size(DICT_STRUCT) + table_bytes(slots) + per, "hashtable"
    if name == "ZSet":
        items = [(_element(m), _score_bytes(sc)) for m, sc in value.items()]
        if len(items) <= 128 and all(len(m) <= 64 for m, _ in items):
            return ROBJ + _listpack([e for ms in items for e in ms]), "listpack"
        slots = _slots_for(len(items))
        per = sum(ENTRY_BYTES + sds_alloc(len(m)) + je_size(32 + 16) for m, _ in items)
        return ROBJ + je_size(DICT_STRUCT) + table_bytes(slots) + per + je_size(32), "skiplist"
    try:
        members = [_element(m) for m in value]
    except TypeError:
        return ROBJ + 64, "raw"
    if isinstance(value, (set, frozenset)) or name.endswith("Set"):
        numbers = [_as_long(m) for m in members]
        if len(members) <= 512 and all(n is not None for n in numbers):
            width = 2 if all(-(2**15) <= n < 2**15 for n in numbers) else (
                4 if all(-(2**31) <= n < 2**31 for n in numbers) else 8)
            return ROBJ + je_size(8 + width * len(members)), "intset"
        slots = _slots_for(len(members))
        per = sum(ENTRY_BYTES + sds_alloc(len(m)) for m in members)
        return ROBJ + je_size(DICT_STRUCT) + table_bytes(slots) + per, "hashtable"
    if "stream" in name.lower():
        return ROBJ + 64 + 48 * len(members), "stream"
    return ROBJ + 16 * len(members) + 64, "raw"


def _slots_for(n: int) -> int:
    return 4 if n <= 4 else 1 << (n - 1).bit_length()


def memory_usage(key: bytes, value: Any, shared_ints: bool = True) -> int:
    """MEMORY USAGE key: value object + key sds + sizeof(dictEntry), as Redis 7.0 reports it
    (embstr counted as its whole allocation, the entry as 24 B, not rounded)."""
    if isinstance(value, bytes) and _as_long(value) is not None and len(value) <= 20:
        obj = ROBJ
    else:
        obj = value_info(value, shared_ints)[0]
    return obj + sds_alloc(len(key)) + DICT_ENTRY
