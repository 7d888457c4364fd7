"""The twin's state: which keys exist, their sizes, stamps and deadlines, used memory, stats.

Pure Python, no fakeredis. The fake server mirrors every key of its fakeredis databases here;
the trace simulator drives it directly. Keys are any hashable (bytes from the server, ints from
the simulator). Each database keeps its keys in dense lists (so a random key is one index) with
a key -> position dict; deleting swaps the last key into the hole.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Protocol

from . import memory
from .config import TwinConfig
from .lrulfu import lfu_minutes, lfu_touched, lru_clock, new_stamp
from .pool import EvictionPool

DATABASES = 16
DICT_HT_INITIAL_SIZE = 4
HASHTABLE_MIN_FILL = 10  # percent: below it the cron shrinks a table


class Listener(Protocol):
    def deleted(self, dbid: int, key: Any, event: str) -> None:
        """A key left because it `expired` or was `evicted` (not by a command)."""


def grown_slots(slots: int, used: int) -> int:
    """_dictExpandIfNeeded before adding to a dict holding `used` keys: the new slot count."""
    if slots == 0:
        return DICT_HT_INITIAL_SIZE
    if used >= slots:
        return 1 << used.bit_length()  # next power of two > used
    return slots


class Db:
    """One database: dense key arrays plus the expires set."""

    __slots__ = ("id", "keys", "pos", "stamp", "size", "vkeys", "vpos", "expire",
                 "slots", "vslots", "old_table", "rehash_left")

    def __init__(self, dbid: int) -> None:
        self.id = dbid
        self.keys: list[Any] = []
        self.pos: dict[Any, int] = {}
        self.stamp: list[int] = []     # lru field per key
        self.size: list[int] = []      # bytes of entry + key + value (not the expires entry)
        self.vkeys: list[Any] = []     # keys with a TTL
        self.vpos: dict[Any, int] = {}
        self.expire: dict[Any, float] = {}  # key -> deadline in ms
        self.slots = 0                 # bucket count of the main dict
        self.vslots = 0                # ... and of the expires dict
        self.old_table = 0             # bytes of tables still being rehashed away
        self.rehash_left = 0

    def __len__(self) -> int:
        return len(self.keys)


class Stats:
    FIELDS = ("total_connections_received", "total_commands_processed", "expired_keys",
              "expired_stale_perc", "expired_time_cap_reached_count", "evicted_keys",
              "keyspace_hits", "keyspace_misses")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        for name in self.FIELDS:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}


class Keyspace:
    """All databases of one server plus its memory accounting, clock-driven cron and stats."""

    def __init__(self, config: TwinConfig | None = None, seed: int = 0,
                 listener: Listener | None = None, databases: int = DATABASES,
                 startup_bytes: int = memory.STARTUP_BYTES, client_bytes: int = memory.CLIENT_BYTES) -> None:
        self.config = config or TwinConfig()
        self.rng = random.Random(seed)
        self.random: Callable[[], float] = self.rng.random
        self.listener = listener
        self.dbs = [Db(i) for i in range(databases)]
        self.startup_bytes = startup_bytes
        self.client_bytes = client_bytes
        self.clients = 1
        self.active_expire = True  # DEBUG SET-ACTIVE-EXPIRE 0 turns the cron's expire cycle off
        self.buffer_bytes = 0  # clients' query/reply buffers (the served twin measures them)
        self.data = 0        # entries, keys, values and expires entries
        self.tables = 0      # bucket arrays (current and still-rehashing ones)
        self.peak = 0
        self.stats = Stats()
        self.next_cron: float | None = None  # when the cron ticks next (cron.advance keeps it)
        self.next_db = 0     # for the random policies (evict.c's static next_db)
        self.pool = EvictionPool()

    # ---- memory ---------------------------------------------------------------------------
    def used_memory(self) -> int:
        return (self.startup_bytes + self.clients * self.client_bytes + self.data + self.tables
                + self.buffer_bytes)

    def note_peak(self) -> int:
        used = self.used_memory()
        if used > self.peak:
            self.peak = used
        return used

    def _resize_main(self, db: Db, slots: int) -> None:
        old = memory.table_bytes(db.slots)
        new = memory.table_bytes(slots)
        if slots > db.slots and db.slots:
            # incremental rehash: the old table stays until the cron or enough operations
            db.old_table += old
            db.rehash_left = max(db.rehash_left, db.slots // 4)
            self.tables += new
        else:
            self.tables += new - old
        db.slots = slots

    def _resize_expires(self, db: Db, slots: int) -> None:
        self.tables += memory.table_bytes(slots) - memory.table_bytes(db.vslots)
        db.vslots = slots

    def _rehash_step(self, db: Db) -> None:
        db.rehash_left -= 1
        if db.rehash_left <= 0:
            self.tables -= db.old_table
            db.old_table = 0
            db.rehash_left = 0

    # ---- key operations ---------------------------------------------------------------------
    def new_stamp(self, now: float) -> int:
        """The access stamp of an object created at `now` under the current policy."""
        return new_stamp(now, self.config.lfu)

    def add(self, dbid: int, key: Any, nbytes: int, expire_ms: float | None, stamp: int) -> None:
        """A new key (created by a command) with the stamp of a new object (`new_stamp`)."""
        db = self.dbs[dbid]
        n = len(db.keys)
        if n >= db.slots:
            self._resize_main(db, grown_slots(db.slots, n))
        if db.old_table:
            self._rehash_step(db)
        db.pos[key] = n
        db.keys.append(key)
        db.stamp.append(stamp)
        db.size.append(nbytes)
        self.data += nbytes
        if expire_ms is not None:
            self._set_expire(db, key, expire_ms)

    def _set_expire(self, db: Db, key: Any, expire_ms: float) -> None:
        if key not in db.expire:
            n = len(db.vkeys)
            slots = grown_slots(db.vslots, n)
            if slots != db.vslots:
                self._resize_expires(db, slots)
            db.vpos[key] = n
            db.vkeys.append(key)
            self.data += memory.EXPIRE_BYTES
        db.expire[key] = expire_ms

    def _clear_expire(self, db: Db, key: Any) -> None:
        if key in db.expire:
            del db.expire[key]
            i = db.vpos.pop(key)
            last = db.vkeys.pop()
            if i < len(db.vkeys):
                db.vkeys[i] = last
                db.vpos[last] = i
            self.data -= memory.EXPIRE_BYTES

    def touch(self, dbid: int, key: Any, now: float) -> None:
        """An access by a command that looks the key up (lookupKey): refresh its stamp."""
        db = self.dbs[dbid]
        i = db.pos[key]
        if self.config.lfu:
            cfg = self.config
            db.stamp[i] = lfu_touched(db.stamp[i], lfu_minutes(now), cfg.lfu_decay_time,
                                      cfg.lfu_log_factor, self.random())
        else:
            db.stamp[i] = lru_clock(now)

    def update(self, dbid: int, key: Any, nbytes: int, expire_ms: float | None) -> None:
        """A command changed an existing key's value size or TTL."""
        db = self.dbs[dbid]
        i = db.pos[key]
        self.data += nbytes - db.size[i]
        db.size[i] = nbytes
        if expire_ms is None:
            self._clear_expire(db, key)
        else:
            self._set_expire(db, key, expire_ms)

    def delete(self, dbid: int, key: Any) -> None:
        """Remove a key (a command deleted it, or the twin expired/evicted it)."""
        db = self.dbs[dbid]
        i = db.pos.pop(key)
        self.data -= db.size[i]
        last = db.keys.pop()
        last_stamp = db.stamp.pop()
        last_size = db.size.pop()
        if i < len(db.keys):
            db.keys[i] = last
            db.stamp[i] = last_stamp
            db.size[i] = last_size
            db.pos[last] = i
        if key in db.expire:
            self._clear_expire(db, key)
        if db.old_table:
            self._rehash_step(db)

    def expire_key(self, dbid: int, key: Any) -> None:
        """Reclaim an expired key (lazily on access or by the active cycle)."""
        self.delete(dbid, key)
        self.stats.expired_keys += 1
        if self.listener is not None:
            self.listener.deleted(dbid, key, "expired")

    def evict_key(self, dbid: int, key: Any) -> None:
        self.delete(dbid, key)
        self.stats.evicted_keys += 1
        if self.listener is not None:
            self.listener.deleted(dbid, key, "evicted")

    def flush(self, dbid: int | None = None) -> None:
        """FLUSHDB / FLUSHALL: empty one or every database (tables are freed too)."""
        for db in self.dbs if dbid is None else [self.dbs[dbid]]:
            self.data -= sum(db.size) + memory.EXPIRE_BYTES * len(db.vkeys)
            self.tables -= (memory.table_bytes(db.slots) + memory.table_bytes(db.vslots)
                            + db.old_table)
            self.dbs[db.id] = Db(db.id)

    def swap(self, a: int, b: int) -> None:
        self.dbs[a], self.dbs[b] = self.dbs[b], self.dbs[a]
        self.dbs[a].id, self.dbs[b].id = a, b

    def is_expired(self, dbid: int, key: Any, now: float) -> bool:
        deadline = self.dbs[dbid].expire.get(key)
        return deadline is not None and now * 1000.0 > deadline

    # ---- table maintenance (the cron's part after active expiry) ------------------------------
    def resize_tables(self) -> None:
        """Finish incremental rehashes and shrink tables under 10% full (databasesCron)."""
        for db in self.dbs:
            if db.old_table:
                self.tables -= db.old_table
                db.old_table = 0
                db.rehash_left = 0
            for used, attr, resize in ((len(db.keys), "slots", self._resize_main),
                                       (len(db.vkeys), "vslots", self._resize_expires)):
                slots = getattr(db, attr)
                if slots > DICT_HT_INITIAL_SIZE and used * 100 // slots < HASHTABLE_MIN_FILL:
                    resize(db, max(DICT_HT_INITIAL_SIZE, 1 << max(used - 1, 0).bit_length()))
                    if db.old_table:  # a shrink frees the old table at once
                        self.tables -= db.old_table
                        db.old_table = 0

    # ---- introspection -----------------------------------------------------------------------
    def stamp_of(self, dbid: int, key: Any) -> int | None:
        db = self.dbs[dbid]
        i = db.pos.get(key)
        return None if i is None else db.stamp[i]

    def avg_ttl_ms(self, dbid: int, now: float) -> int:
        db = self.dbs[dbid]
        now_ms = now * 1000.0
        ttls = [d - now_ms for d in db.expire.values() if d > now_ms]
        return int(sum(ttls) / len(ttls)) if ttls else 0
