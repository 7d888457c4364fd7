"""Invalidation: remove stale copies on purpose, and measure what each way costs.

Small pieces, each testable without a kernel:

- Messages: `format_message` / `parse_message` for ``invalidate:<key>``, ``update:<key>`` and
  ``refresh_all:<prefix>`` (keys and prefixes may contain colons), `apply_message` (the reference
  subscriber handler) and `article_on_message` (the popular article's subscriber, kept to show
  which keys it silently skips).
- `Service`: one app instance with an in-process L1 (`L1`) in front of the shared Redis, in front
  of the source of truth (`entropy_lab.truth.SourceOfTruth`).
- `Publisher` and `Subscriber`: pub/sub, the subscriber on its own connection and (optionally) its
  own thread, started and stopped cleanly.
- `clear_prefix` (SCAN + UNLINK) and `keys_vs_scan` (one blocking KEYS call against SCAN batches).
- `InvalidationLog` and `LogReader`: a Redis Stream with one consumer group per service, a durable
  log a returning subscriber replays (XADD / XREADGROUP / XACK).
- `plain_fill`, `versioned_fill` (WATCH/MULTI compare-and-set), `versioned_invalidate` (a
  tombstone that carries the new version), `VERSIONED_FILL_LUA` and `SlowReader` (the cache-aside
  race, one step at a time).
- `keyspace_events` and `tracking_invalidations`: server-assisted invalidation.
- `run_strategy` / `compare_strategies`: the measured comparison.

Times are explicit: every read takes a `now` (the stream's clock in the harness, the lab clock
otherwise), so the harness gives the same numbers on the fake and on a real Redis.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import random
import secrets
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field

import redis

from . import backends, clock
from .decay import Request, payload, request_stream
from .errors import LabError
from .namespaces import Namespace
from .transactions import compare_and_set
from .truth import Record, SourceOfTruth

KINDS = ("invalidate", "update", "refresh_all")
# One token per Python process (kernel), for names that must not collide between two kernels
_KERNEL = getattr(importlib.import_module(".namespaces", __package__), "KERNEL", None) or secrets.token_hex(3)

# ---------------------------------------------------------------------------------------------
# Messages


def format_message(kind: str, target: str) -> str:
    """The text of one invalidation message: ``<kind>:<key or prefix>``."""
    if kind not in KINDS:
        raise LabError(f"{kind!r} is not a message kind: use one of {', '.join(KINDS)}.")
    if not target:
        raise LabError(f"A {kind} message needs a key or prefix after the colon, e.g. {kind}:user:42.")
    return f"{kind}:{target}"


def parse_message(text: str) -> tuple[str, str]:
    """(kind, target) of a message. Splits on the FIRST colon only, so keys may hold colons."""
    kind, sep, target = text.partition(":")
    if not sep or kind not in KINDS or not target:
        raise LabError(f"{text!r} is not an invalidation message: expected invalidate:<key>, "
                       "update:<key> or refresh_all:<prefix>.")
    return kind, target


def article_on_message(r: redis.Redis, data: str) -> None:
    """The article's subscriber, one message at a time, as printed in the article.

    Two changes, so it runs here: it takes the message text (the article decodes
    ``message['data']`` from bytes first) and prints keys as the str they are (``decode_responses``
    clients; the article calls ``key.decode()``). Like the article, it deletes keys in Redis, so
    run it only on a server you own (`entropy_lab.sandbox()`).
    """
    print(f"Received invalidation message: '{data}'")

    if data.startswith("invalidate:"):
        # Example: "invalidate:user:42" -> key_to_invalidate = "user:42"
        parts = data.split(":")
        if len(parts) == 3:
            key_to_invalidate = f"{parts[1]}:{parts[2]}"
            r.delete(key_to_invalidate)
            print(f"  --> Deleted key: '{key_to_invalidate}'")
    elif data.startswith("update:"):
        # For updates, you might re-fetch and set
        parts = data.split(":")
        if len(parts) == 3:
            key_to_update = f"{parts[1]}:{parts[2]}"
            print(f"  --> Received update signal for '{key_to_update}'. Would refresh from source.")
    elif data == "refresh_all:news":
        print("  --> Received global news refresh. Clearing all 'news:item:*' keys.")
        # Use SCAN for large sets to avoid blocking
        for key in r.scan_iter("news:item:*"):
            r.delete(key)
            print(f"    Deleted news key: {key}")
    else:
        print(f"  --> Unrecognized invalidation command: {data}")


Fetch = Callable[[str], "str | None"]
Handler = Callable[[MutableMapping, str, Fetch], object]


def apply_message(l1: MutableMapping, text: str, fetch: Fetch) -> str:
    """Apply one message to an L1 cache (key -> cached text); returns the message kind.

    invalidate:<key>     drop the key from L1
    update:<key>         reload the key from the shared cache (`fetch`), or drop it if gone there
    refresh_all:<prefix> drop every L1 key that starts with the prefix (any prefix)
    """
    kind, target = parse_message(text)
    if kind == "invalidate":
        l1.pop(target, None)
    elif kind == "update":
        value = fetch(target)
        if value is None:
            l1.pop(target, None)
        else:
            l1[target] = value
    else:
        for key in [k for k in l1 if k.startswith(target)]:
            del l1[key]
    return kind


# ---------------------------------------------------------------------------------------------
# Values in the shared cache: a version, a value (None for a tombstone) and when it was filled


def encode_copy(record: Record, filled_at: float) -> str:
    """A cached copy of `record` (readable by `entropy_lab.truth.decode`)."""
    return json.dumps({"version": record.version, "value": record.value, "at": filled_at})


def encode_tombstone(version: int) -> str:
    """A marker left by a versioned invalidation: "version `version` exists, not cached here"."""
    return json.dumps({"version": version, "value": None})


def version_of(cached: str | None) -> int:
    """The version a cached copy (or tombstone) carries; 0 for a missing key."""
    return 0 if cached is None else int(json.loads(cached)["version"])


def is_tombstone(cached: str | None) -> bool:
    return cached is not None and json.loads(cached)["value"] is None


# ---------------------------------------------------------------------------------------------
# Filling the shared cache: plain SET, or compare-and-set on the version


def plain_fill(client: redis.Redis, key: str, copy: str) -> bool:
    """The cache-aside fill everybody writes: SET, whatever is there now. One round trip."""
    client.set(key, copy)
    return True


def versioned_fill(client: redis.Redis, key: str, copy: str) -> bool:
    """SET `copy` unless the cache already holds a NEWER version (a copy or a tombstone).

    WATCH key, GET it, then MULTI/SET/EXEC: if anyone touches the key in between, EXEC fails
    and the whole check runs again. Three round trips; returns False when refused.
    """
    mine = version_of(copy)
    return compare_and_set(client, key, copy, lambda current: version_of(current) <= mine)


def versioned_invalidate(client: redis.Redis, key: str, version: int) -> bool:
    """Replace the cached copy by a tombstone carrying `version` (never lowers a version)."""
    return versioned_fill(client, key, encode_tombstone(version))


# The same compare-and-set in one round trip, as a Lua script (real Redis; the embedded fake has
# no Lua interpreter unless the `lupa` package is installed).
VERSIONED_FILL_LUA = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['version'] > tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def lua_versioned_fill(client: redis.Redis) -> Callable[[redis.Redis, str, str], bool]:
    """A fill function that runs VERSIONED_FILL_LUA (one round trip)."""
    script = client.register_script(VERSIONED_FILL_LUA)

    def fill(c: redis.Redis, key: str, copy: str) -> bool:
        return bool(script(keys=[key], args=[copy, version_of(copy)], client=c))

    return fill


FILL_ROUND_TRIPS = {plain_fill: 1, versioned_fill: 3}


# ---------------------------------------------------------------------------------------------
# An app instance: L1 in front of the shared Redis


class L1(MutableMapping):
    """An in-process cache, key -> cached text, that remembers when each entry was stored."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._data: dict[str, str] = {}
        self._at: dict[str, float] = {}
        self._now = now

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._data[key] = value
        self._at[key] = self._now()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._at.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def stored_at(self, key: str) -> float:
        return self._at[key]

    def __repr__(self) -> str:
        return f"L1({len(self)} keys)"


@dataclass(frozen=True)
class Read:
    """What one read served: where it came from, and whether (and how long) it was stale."""

    value: str | None
    source: str    # "l1", "redis" or "truth"
    version: int
    stale: bool
    age: float     # seconds the served copy had been out of date (0 when fresh)


class Service:
    """One app instance: an L1 dict in front of the shared Redis, in front of the truth.

    `ttl` (seconds) bounds how long a copy is trusted, in L1 and in Redis (None: forever).
    The Redis side of the TTL is applied on this service's clock from the fill time stored in
    the copy, so the harness can replay minutes of traffic in a blink on any backend.
    `fill` is `plain_fill` or `versioned_fill`; `handler` applies invalidation messages.
    """

    def __init__(self, name: str, client: redis.Redis, ns: Namespace, truth: SourceOfTruth, *,
                 ttl: float | None = None, fill: Callable = plain_fill, handler: Handler = apply_message,
                 now: Callable[[], float] | None = None) -> None:
        self.name, self.client, self.ns, self.truth = name, client, ns, truth
        self.ttl, self.fill_fn, self.handler = ttl, fill, handler
        self.now = now or clock.now
        self.l1 = L1(lambda: self.now())
        self.round_trips = 0
        self.lock = threading.RLock()  # the subscriber thread and the caller share the L1

    # -- read path ------------------------------------------------------------------------------
    def lookup(self, name: str, now: float | None = None) -> Read | None:
        """L1, then Redis; None on a miss (the caller reads the truth and calls `fill`)."""
        now = self.now() if now is None else now
        key = self.ns.key(name)
        with self.lock:
            cached = self.l1.get(key)
            if cached is not None and self._expired(cached, now):
                del self.l1[key]
                cached = None
            if cached is not None:
                return self._served(name, cached, "l1", now)
        cached = self.client.get(key)
        self.round_trips += 1
        if cached is None or is_tombstone(cached) or self._expired(cached, now):
            return None
        with self.lock:
            self.l1[key] = cached
        return self._served(name, cached, "redis", now)

    def _expired(self, cached: str, now: float) -> bool:
        """Past the TTL, counted from when the copy was filled into Redis (L1 inherits that age)."""
        return self.ttl is not None and now - json.loads(cached).get("at", now) >= self.ttl

    def fill(self, name: str, record: Record, now: float | None = None) -> bool:
        """Store `record` (read from the truth earlier) in Redis, then L1 if Redis took it."""
        now = self.now() if now is None else now
        key, copy = self.ns.key(name), encode_copy(record, now)
        stored = self.fill_fn(self.client, key, copy)
        self.round_trips += FILL_ROUND_TRIPS.get(self.fill_fn, 1)
        if stored:
            with self.lock:
                self.l1[key] = copy
        return stored

    def read(self, name: str, now: float | None = None) -> Read:
        """A cache-aside read: L1, then Redis, then the source of truth (filling both caches)."""
        now = self.now() if now is None else now
        served = self.lookup(name, now)
        if served is not None:
            return served
        record = self.truth.read(name)
        if record is None:
            return Read(None, "truth", 0, False, 0.0)
        self.fill(name, record, now)
        return Read(record.value, "truth", record.version, False, 0.0)

    def _served(self, name: str, cached: str, source: str, now: float) -> Read:
        data = json.loads(cached)
        since = self.truth.stale_since(name, data["version"])
        return Read(data["value"], source, data["version"], since is not None,
                    0.0 if since is None else now - since)

    # -- invalidation ---------------------------------------------------------------------------
    def fetch(self, key: str) -> str | None:
        """The shared copy of `key` (for update messages); tombstones count as missing."""
        cached = self.client.get(key)
        self.round_trips += 1
        return None if is_tombstone(cached) else cached

    def apply(self, text: str) -> object:
        """Apply one invalidation message to this service's L1."""
        with self.lock:
            return self.handler(self.l1, text, self.fetch)

    def __repr__(self) -> str:
        return f"Service({self.name!r}, {self.l1!r})"


# ---------------------------------------------------------------------------------------------
# Publishing: the writer's side


class Publisher:
    """The writer's invalidation path: fix the shared cache, then tell every L1.

    Messages go to a pub/sub `channel`, to a durable `log` (InvalidationLog), or both.
    `versioned=True` leaves a tombstone with the new version instead of deleting.
    """

    def __init__(self, client: redis.Redis, channel: str | None = None, log: "InvalidationLog | None" = None,
                 versioned: bool = False) -> None:
        self.client, self.channel, self.log, self.versioned = client, channel, log, versioned
        self.sent = 0          # messages published (PUBLISH or XADD)
        self.receivers = 0     # pub/sub deliveries the server reported
        self.round_trips = 0

    def send(self, text: str) -> int:
        """Publish one message; returns how many pub/sub subscribers received it."""
        parse_message(text)
        received = 0
        if self.channel is not None:
            received = self.client.publish(self.channel, text)
            self.sent += 1
            self.round_trips += 1
        if self.log is not None:
            self.log.append(text)
            self.sent += 1
            self.round_trips += 1
        self.receivers += received
        return received

    def invalidate(self, key: str, version: int | None = None) -> int:
        """UNLINK the shared copy (or tombstone it when versioned), then send invalidate:<key>."""
        if self.versioned:
            if version is None:
                raise LabError("A versioned invalidation needs the new version: invalidate(key, version=record.version).")
            versioned_invalidate(self.client, key, version)
            self.round_trips += 3
        else:
            self.client.unlink(key)
            self.round_trips += 1
        return self.send(format_message("invalidate", key))

    def update(self, key: str, copy: str) -> int:
        """SET the new copy in the shared cache, then send update:<key> (L1s reload it)."""
        if self.versioned:
            versioned_fill(self.client, key, copy)
            self.round_trips += 3
        else:
            self.client.set(key, copy)
            self.round_trips += 1
        return self.send(format_message("update", key))

    def refresh_all(self, prefix: str) -> int:
        """Clear every shared key under `prefix` (SCAN + UNLINK), then send refresh_all:<prefix>."""
        cleared = clear_prefix(self.client, prefix)
        self.round_trips += cleared.round_trips
        return self.send(format_message("refresh_all", prefix))


# ---------------------------------------------------------------------------------------------
# Subscribing: one connection (and optionally one thread) per service


class Subscriber:
    """Applies the messages of a pub/sub `channel` to `service`'s L1.

    `start()` opens its own connection (`entropy_lab.another_client`), subscribes and waits for
    the server's confirmation, so nothing published afterwards can be missed. On a real server a
    worker thread applies messages as they come (`wait_for(n)` blocks until n have been applied).
    On the embedded fake no thread is started (a browser kernel has none, and the fake delivers
    every PUBLISH at once): `wait_for(n)` reads what has arrived. `thread=` forces either way;
    without a thread, `pump(n)` also applies messages.
    `stop()` stops the thread, joins it and closes the connection. Use it as a context manager.
    """

    def __init__(self, service: Service, channel: str, poll: float = 0.02) -> None:
        self.service, self.channel, self.poll = service, channel, poll
        self.received = 0
        self.errors: list[str] = []
        self._client: redis.Redis | None = None
        self._pubsub = None
        self._thread = None
        self._done = threading.Condition()

    @property
    def running(self) -> bool:
        return self._pubsub is not None

    def start(self, thread: bool | None = None, timeout: float = 5.0) -> "Subscriber":
        if self.running:
            return self
        if thread is None:
            thread = backends.backend_of(self.service.client) != "fake"
        self._client = backends.another_client(self.service.client)
        self._pubsub = self._client.pubsub()
        self._pubsub.subscribe(**{self.channel: self._on_message})
        deadline = time.monotonic() + timeout
        while True:  # wait for the server's confirmation: from here on nothing can be missed
            message = self._pubsub.get_message(timeout=0.05)
            if message is not None and message["type"] == "subscribe":
                break
            if time.monotonic() > deadline:
                self.stop()
                raise LabError(f"No subscribe confirmation for {self.channel!r} within {timeout} s: is the server up?")
        if thread:
            self._thread = self._pubsub.run_in_thread(sleep_time=self.poll, daemon=True)
        return self

    def _on_message(self, message: dict) -> None:
        try:
            self.service.apply(message["data"])
        except Exception as exc:  # a bad message must not kill the subscriber thread
            self.errors.append(f"{message['data']!r}: {exc}")
        with self._done:
            self.received += 1
            self._done.notify_all()

    def pump(self, expected: int = 1, timeout: float = 2.0) -> int:
        """(No thread) read and apply messages until `expected` more arrived or `timeout` passed."""
        if self._thread is not None:
            raise LabError("This subscriber runs on a thread: use wait_for(n) instead of pump().")
        target, deadline = self.received + expected, time.monotonic() + timeout
        fake = backends.backend_of(self.service.client) == "fake"
        while self.received < target and time.monotonic() < deadline:
            before = self.received
            # the fake delivers a PUBLISH before it returns: an empty queue means nothing more is
            # coming (get_message hands a message to the handler and returns None, or returns a
            # subscribe confirmation)
            message = self._pubsub.get_message(timeout=0.0 if fake else min(0.5, max(0.0, deadline - time.monotonic())))
            if fake and message is None and self.received == before:
                break
        return self.received

    def wait_for(self, total: int, timeout: float = 5.0) -> bool:
        """Until `total` messages in all have been applied (False on timeout); without a thread,
        applies what has arrived."""
        if self._thread is None:
            return self.pump(max(0, total - self.received), timeout) >= total
        with self._done:
            return self._done.wait_for(lambda: self.received >= total, timeout=timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (if any), join it, close the pub/sub connection and its client."""
        if self._thread is not None:
            self._thread.stop()
            self._thread.join(timeout)
            self._thread = None
        if self._pubsub is not None:
            self._pubsub.close()
            self._pubsub = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "Subscriber":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "thread" if self._thread is not None else ("pump" if self.running else "stopped")
        return f"Subscriber({self.service.name!r}, {state}, received={self.received})"


def subscriber_threads() -> int:
    """How many redis-py pub/sub worker threads are alive in this process (0 after a clean stop)."""
    return sum(isinstance(t, redis.client.PubSubWorkerThread) and t.is_alive() for t in threading.enumerate())


# ---------------------------------------------------------------------------------------------
# Prefix clears: SCAN + UNLINK, and why not KEYS

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """`text` with glob characters escaped, for SCAN MATCH."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


@dataclass
class Cleared:
    keys: int
    scan_calls: int
    round_trips: int


def lab_keyspace(client: redis.Redis) -> str:
    """The part of a server's keyspace the lab may clear: everything on a server it owns (""), and
    only this learner's keys (`entropy-lab:<learner>:`, or `entropy-lab:` without learner ids) on a
    server it did not start."""
    if backends.backend_of(client) != "live":
        return ""
    try:
        from .namespaces import learner_id, learner_prefix
    except ImportError:  # namespaces without learner ids: the lab's root prefix
        from .namespaces import ROOT
        return f"{ROOT}:"
    return learner_prefix(learner_id(client))


def clear_prefix(client: redis.Redis, prefix: str, count: int = 500) -> Cleared:
    """UNLINK every key that starts with `prefix`, found by SCAN in batches (never KEYS).

    On a server the lab did not start, only a prefix inside the lab's own keys is allowed.
    """
    if not prefix:
        raise LabError("refusing to clear an empty prefix: that is every key on the server.")
    allowed = lab_keyspace(client)
    if not prefix.startswith(allowed):
        raise LabError(f"The lab clears only its own keys on a server it did not start: {prefix!r} is outside "
                       f"{allowed!r}; use ns.key(...) to build the prefix, or a lab.sandbox().")
    cursor, deleted, calls, unlinks = 0, 0, 0, 0
    while True:
        cursor, batch = client.scan(cursor, match=glob_escape(prefix) + "*", count=count)
        calls += 1
        if batch:
            deleted += client.unlink(*batch)
            unlinks += 1
        if cursor == 0:
            return Cleared(deleted, calls, calls + unlinks)


@dataclass
class KeysVsScan:
    """One KEYS call against a full SCAN of the same pattern."""

    keyspace: int            # keys on the server
    matched: int             # keys the pattern matches
    keys_reply: int          # keys KEYS returned, all in one reply
    keys_seconds: float      # how long the one KEYS call blocked this client
    scan_calls: int
    scan_largest_batch: int
    scan_total: int          # distinct keys SCAN returned
    scan_longest_call: float
    scan_seconds: float


def keys_vs_scan(client: redis.Redis, pattern: str, count: int = 500) -> KeysVsScan:
    """Time one `KEYS pattern` and a whole `SCAN MATCH pattern COUNT count` on `client`."""
    size = client.dbsize()
    started = time.perf_counter()
    everything = client.keys(pattern)
    keys_seconds = time.perf_counter() - started
    cursor, calls, largest, longest, seen = 0, 0, 0, 0.0, set()
    scan_started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        cursor, batch = client.scan(cursor, match=pattern, count=count)
        longest = max(longest, time.perf_counter() - t0)
        calls, largest = calls + 1, max(largest, len(batch))
        seen.update(batch)
        if cursor == 0:
            break
    return KeysVsScan(size, len(everything), len(everything), keys_seconds, calls, largest, len(seen),
                      longest, time.perf_counter() - scan_started)


# ---------------------------------------------------------------------------------------------
# A durable invalidation log: a Redis Stream, one consumer group per service


class InvalidationLog:
    """Messages appended to a stream (XADD, trimmed to about `maxlen` entries)."""

    FIELD = "m"

    def __init__(self, client: redis.Redis, key: str, maxlen: int = 10_000) -> None:
        self.client, self.key, self.maxlen = client, key, maxlen

    def append(self, text: str) -> str:
        return self.client.xadd(self.key, {self.FIELD: text}, maxlen=self.maxlen, approximate=True)

    def length(self) -> int:
        return self.client.xlen(self.key)


class LogReader:
    """A service reading the log through its own consumer group (its position lives on the server).

    `catch_up()` reads every entry the group has not seen (XREADGROUP ... >), applies it to the
    service's L1 and acknowledges it (XACK). A reader that was away replays what it missed.
    """

    def __init__(self, service: Service, log: InvalidationLog, group: str | None = None,
                 consumer: str = "1", start: str = "$") -> None:
        self.service, self.log = service, log
        # On a server the lab did not start, two kernels of one learner must not share a group (a
        # group hands each entry to ONE of its consumers): the group name carries this kernel's token.
        suffix = f"@{_KERNEL}" if backends.backend_of(service.client) == "live" else ""
        self.group, self.consumer = (group or service.name) + suffix, consumer
        self.applied = 0
        self.round_trips = 0
        try:
            service.client.xgroup_create(log.key, self.group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def catch_up(self, count: int = 100, pending: bool = False, limit: int | None = None) -> int:
        """Apply and acknowledge every new entry (">"); returns how many were applied.

        `pending=True` (when an instance comes back): first its own pending entries, delivered
        before but never acknowledged because it crashed mid-way, read with ID 0.
        `limit`: apply at most that many new entries (the oldest first).
        """
        done = self._drain("0", count) if pending else 0
        done += self._drain(">", count, limit)
        self.applied += done
        return done

    def _drain(self, start: str, count: int, limit: int | None = None) -> int:
        done, position = 0, start
        while limit is None or done < limit:
            want = count if limit is None else min(count, limit - done)
            reply = self.service.client.xreadgroup(self.group, self.consumer, {self.log.key: position}, count=want)
            self.round_trips += 1
            entries = reply[0][1] if reply else []
            for _, fields in entries:
                if fields:  # a pending entry trimmed away since comes back with no fields
                    self.service.apply(fields[InvalidationLog.FIELD])
            if entries:
                self.service.client.xack(self.log.key, self.group, *[entry_id for entry_id, _ in entries])
                self.round_trips += 1
                done += len(entries)
            if len(entries) < want:
                return done
            if start != ">":
                position = entries[-1][0]
        return done

    def pending(self) -> int:
        """Entries delivered to this group but not yet acknowledged."""
        return int(self.service.client.xpending(self.log.key, self.group)["pending"])


# ---------------------------------------------------------------------------------------------
# The cache-aside race, one step at a time


class SlowReader:
    """A cache-aside read split in two steps, so a test can put a writer in between.

    `start()` misses the cache and reads the source of truth (the reader now holds a copy);
    `finish()` writes that copy into the cache with `fill`. Returns what it stored.
    """

    def __init__(self, client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str,
                 fill: Callable = plain_fill, now: float = 0.0) -> None:
        self.client, self.ns, self.truth, self.name, self.fill, self.now = client, ns, truth, name, fill, now
        self.record: Record | None = None

    def start(self) -> Record | None:
        cached = self.client.get(self.ns.key(self.name))
        if cached is None or is_tombstone(cached):
            self.record = self.truth.read(self.name)
        return self.record

    def finish(self) -> bool:
        if self.record is None:
            return False
        return bool(self.fill(self.client, self.ns.key(self.name), encode_copy(self.record, self.now)))


def write_and_invalidate(client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str, value: str,
                         at: float = 0.0, versioned: bool = False) -> Record:
    """The writer: update the source of truth, then delete (or tombstone) the cached copy."""
    record = truth.write(name, value, at)
    if versioned:
        versioned_invalidate(client, ns.key(name), record.version)
    else:
        client.unlink(ns.key(name))
    return record


def cached_state(client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str) -> str:
    """One line: what the cache holds for `name` against the source of truth."""
    cached = client.get(ns.key(name))
    current = truth.peek(name)
    now_v = current.version if current else 0
    if cached is None:
        return f"cache: (empty)             | truth: version {now_v}"
    if is_tombstone(cached):
        return f"cache: tombstone v{version_of(cached)}        | truth: version {now_v}"
    v = version_of(cached)
    verdict = "fresh" if v == now_v else "STALE"
    return f"cache: version {v} ({verdict})   | truth: version {now_v}"


@dataclass
class RaceReplay:
    stored: bool          # whether the late (old) fill was stored
    state: str            # `cached_state` afterwards
    truth: SourceOfTruth  # the source of truth the replay used

    def __repr__(self) -> str:
        return f"late fill stored: {self.stored!s:5} | {self.state}"


def replay_race(client: redis.Redis, ns: Namespace, fill: Callable = plain_fill, versioned: bool = False,
                name: str = "item:1") -> RaceReplay:
    """The three steps of the race on a fresh `name`: a slow reader starts, a writer writes and
    invalidates (deletes, or tombstones when `versioned`), the reader fills with `fill`."""
    client.unlink(ns.key(name))
    truth = SourceOfTruth()
    truth.write(name, "price=10", 0.0)
    reader = SlowReader(client, ns, truth, name, fill=fill)
    reader.start()
    write_and_invalidate(client, ns, truth, name, "price=12", 1.0, versioned=versioned)
    stored = reader.finish()
    return RaceReplay(stored, cached_state(client, ns, truth, name), truth)


# ---------------------------------------------------------------------------------------------
# Server-assisted invalidation


def keyspace_events(client: redis.Redis, actions: Callable[[redis.Redis], None], db: int = 0,
                    timeout: float = 3.0) -> list[tuple[str, str]]:
    """(event, key) pairs the server announced on __keyevent@<db>__:* while `actions` ran.

    Call it on a sandbox client with notify-keyspace-events set. A sentinel key's `del` event
    marks the end, so the list is complete without sleeping.
    """
    listener = backends.another_client(client)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    sentinel = "entropy-lab:events:end-marker"
    events: list[tuple[str, str]] = []
    try:
        pubsub.psubscribe(f"__keyevent@{db}__:*")
        deadline = time.monotonic() + timeout
        while not pubsub.subscribed and time.monotonic() < deadline:
            pubsub.get_message(timeout=0.05)
        pubsub.get_message(timeout=0.05)
        actions(client)
        client.set(sentinel, "1")
        client.delete(sentinel)
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
            if message is None or message["type"] != "pmessage":
                continue
            event = message["channel"].split(":", 1)[1]
            if message["data"] == sentinel:
                if event == "del":
                    break
                continue
            events.append((event, message["data"]))
    finally:
        pubsub.close()
        listener.close()
    return events


def tracking_invalidations(client: redis.Redis, key: str, writes: int = 2, timeout: float = 2.0) -> list[list[str]]:
    """CLIENT TRACKING in redirect mode (Redis 6+; raw commands, so it works on 7.0).

    A listener connection subscribes to __redis__:invalidate; a tracking connection turns
    tracking on with REDIRECT to the listener and GETs `key`; another client then SETs `key`
    `writes` times. Returns the key lists the server pushed to the listener.
    """
    pool = client.connection_pool
    # RESP2 connections: the listener gets plain pub/sub "message" replies (RESP3 would push them)
    make = lambda: pool.connection_class(**{**pool.connection_kwargs, "protocol": 2,
                                                          "maint_notifications_config": None})  # noqa: E731
    listener, tracked = make(), make()
    pushed: list[list[str]] = []
    try:
        listener.connect()
        listener.send_command("CLIENT", "ID")
        listener_id = listener.read_response()
        listener.send_command("SUBSCRIBE", "__redis__:invalidate")
        listener.read_response()
        tracked.connect()
        tracked.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", listener_id)
        tracked.read_response()
        tracked.send_command("GET", key)
        tracked.read_response()
        for i in range(writes):
            client.set(key, f"written {i + 1}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not listener.can_read(timeout=0.2):
                if pushed:
                    break
                continue
            reply = listener.read_response()
            if isinstance(reply, list) and len(reply) == 3 and reply[0] in ("message", b"message"):
                keys = reply[2]
                pushed.append([k.decode() if isinstance(k, bytes) else k for k in (keys or [])])
    finally:
        listener.disconnect()
        tracked.disconnect()
    return pushed


# ---------------------------------------------------------------------------------------------
# The comparison harness


@dataclass(frozen=True)
class Strategy:
    name: str
    transport: str | None = None   # None, "pubsub" or "stream"
    ttl: float | None = None
    versioned: bool = False


STRATEGIES = (
    Strategy("no invalidation"),
    Strategy("TTL only", ttl=5.0),
    Strategy("pub/sub", "pubsub"),
    Strategy("pub/sub + TTL", "pubsub", ttl=5.0),
    Strategy("stream", "stream"),
    Strategy("stream + versioned writes", "stream", versioned=True),
)


@dataclass
class Outcome:
    """What one strategy did with the same traffic and the same faults."""

    strategy: str
    reads: int = 0
    stale_reads: int = 0
    worst_age: float = 0.0
    messages: int = 0
    lost: int = 0                 # deliveries that never reached a subscriber
    round_trips: int = 0          # Redis round trips of the whole run
    source_reads: int = 0         # load on the source of truth
    in_flight: list[float] = field(default_factory=list)  # times of stale L1 reads served while the
                                  # invalidation was still on its way (younger than the delivery delay)
    timeline: list[tuple[float, bool]] = field(default_factory=list)   # (t, stale) per read

    @property
    def stale_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0


@dataclass(frozen=True)
class Scenario:
    """The traffic and the faults every strategy faces."""

    n_keys: int = 50
    seconds: float = 20.0
    rate: float = 40.0
    write_share: float = 0.1
    services: int = 2
    outage: tuple[float, float] | None = (6.0, 12.0)   # the last service hears nothing in [start, end)
    fill_delay: float = 0.25                     # a miss reads the truth, fills this much later
    delivery_delay: float = 0.05                 # model: an invalidation reaches each L1 this much later
    seed: int = 3

    def __post_init__(self) -> None:
        if self.services < 1:
            raise LabError(f"A scenario needs at least one instance, not services={self.services}.")
        if self.delivery_delay < 0 or self.fill_delay < 0:
            raise LabError("Delays are seconds, 0 or more: delivery_delay=0 delivers at once.")
        if self.outage is not None and not self.outage[0] < self.outage[1]:
            raise LabError(f"An outage is (start, end) with start < end, not {self.outage}; use None for no outage.")

    def replace(self, **changes) -> "Scenario":
        """The same scenario with some fields changed, e.g. `scenario.replace(outage=None)`."""
        return dataclasses.replace(self, **changes)

    @property
    def cut_off(self) -> int:
        """The instance the outage cuts off: the last one."""
        return self.services - 1

    @property
    def outage_start(self) -> float:
        return self.outage[0] if self.outage else self.seconds

    @property
    def outage_end(self) -> float:
        """When the outage ends (the end of the run when there is none)."""
        return min(self.outage[1], self.seconds) if self.outage else self.seconds

    @property
    def outage_seconds(self) -> float:
        return max(0.0, self.outage_end - self.outage_start)

    def in_outage(self, t: float) -> bool:
        return self.outage is not None and self.outage[0] <= t < self.outage[1]

    def requests(self) -> list[Request]:
        return request_stream(n_keys=self.n_keys, seconds=self.seconds, rate=self.rate,
                              write_share=self.write_share, seed=self.seed)


def _private(ns: Namespace, *parts: object) -> str:
    """A name only this kernel uses (`ns.private` when the namespace has it, else `ns.key`)."""
    private = getattr(ns, "private", None)
    return private(*parts) if private is not None else ns.key(*parts)


def run_strategy(client: redis.Redis, ns: Namespace, strategy: Strategy, scenario: Scenario = Scenario()) -> Outcome:
    """Replay the scenario's traffic through `scenario.services` services using `strategy`.

    Every read is served by the service chosen by a seeded coin; a miss reads the truth at once
    but fills the caches `fill_delay` later (a slow query: the race window). A write fixes Redis
    and publishes at once; each instance applies the message `delivery_delay` later (a modelled
    delay: pub/sub messages wait in the subscriber's connection, stream entries in the log). The
    last service is cut off from invalidations during the outage (pub/sub: its connection is
    closed, losing what was published or still in flight, and reopened; stream: it reads nothing
    until the outage ends, then catches up).
    """
    ns.reset()
    stream_time = [0.0]
    now = lambda: stream_time[0]  # noqa: E731
    truth = SourceOfTruth()
    for name in sorted({r.key for r in scenario.requests()}):
        truth.write(name, payload(name, 1), 0.0)
    fill = versioned_fill if strategy.versioned else plain_fill
    services = [Service(f"svc{i}", client, ns, truth, ttl=strategy.ttl, fill=fill, now=now)
                for i in range(scenario.services)]
    channel = _private(ns, "channel", "invalidations")
    log = InvalidationLog(client, _private(ns, "log", "invalidations")) if strategy.transport == "stream" else None
    publisher = Publisher(client, channel if strategy.transport == "pubsub" else None, log, strategy.versioned)
    subscribers: list[Subscriber] = []
    readers: list[LogReader] = []
    if strategy.transport == "pubsub":
        subscribers = [Subscriber(s, channel).start(thread=False) for s in services]
    elif strategy.transport == "stream":
        readers = [LogReader(s, log) for s in services]
    rng = random.Random(scenario.seed)
    outcome = Outcome(strategy.name)
    cut = scenario.cut_off
    # Events between requests, in time order; ties: fills, then deliveries, then the outage's edges
    FILL, DELIVER, CUT, RESTORE = 0, 1, 2, 3
    events: list[tuple[float, int, int, tuple]] = []
    order = 0

    def schedule(at: float, kind: int, payload_: tuple) -> None:
        nonlocal order
        events.append((at, kind, order, payload_))
        order += 1

    if scenario.outage is not None and strategy.transport is not None:
        schedule(scenario.outage[0], CUT, ())
        schedule(scenario.outage[1], RESTORE, ())
    cut_off = False
    epoch = [0] * scenario.services      # a pub/sub reconnect loses what was in flight
    in_flight = [0] * scenario.services
    owed = [0] * scenario.services       # stream entries each reader should have read by now

    def run_events(until: float) -> None:
        nonlocal events, cut_off
        due = sorted(e for e in events if e[0] <= until)
        events = [e for e in events if e[0] > until]
        for at, kind, _, data in due:
            stream_time[0] = at
            if kind == FILL:
                service, name, record = data
                service.fill(name, record, at)
            elif kind == DELIVER:
                i, sent_epoch = data
                if subscribers:
                    if sent_epoch == epoch[i] and subscribers[i].running:
                        subscribers[i].pump(1)
                        in_flight[i] -= 1
                else:
                    owed[i] += 1
                    if not (cut_off and i == cut) and owed[i] > readers[i].applied:
                        readers[i].catch_up(limit=owed[i] - readers[i].applied)
            elif kind == CUT:
                cut_off = True
                if subscribers:
                    subscribers[cut].stop()
                    outcome.lost += in_flight[cut]
                    in_flight[cut] = 0
                    epoch[cut] += 1
            elif kind == RESTORE:
                cut_off = False
                if subscribers:
                    subscribers[cut].start(thread=False)
                if readers:
                    readers[cut].catch_up(pending=True)

    try:
        for request in scenario.requests():
            t = request.at
            run_events(t)
            stream_time[0] = t
            service = services[rng.randrange(len(services))]
            if request.op == "read":
                served = service.lookup(request.key, t)
                if served is None:
                    record = truth.read(request.key)
                    schedule(t + scenario.fill_delay, FILL, (service, request.key, record))
                    served = Read(record.value, "truth", record.version, False, 0.0)
                outcome.reads += 1
                outcome.stale_reads += served.stale
                outcome.worst_age = max(outcome.worst_age, served.age)
                outcome.timeline.append((t, served.stale))
                if strategy.transport is not None and served.stale and served.source == "l1" \
                        and served.age < scenario.delivery_delay and not (cut_off and services.index(service) == cut):
                    outcome.in_flight.append(t)
            else:
                current = truth.peek(request.key)
                record = truth.write(request.key, payload(request.key, current.version + 1), t)
                if strategy.transport is None:
                    continue
                publisher.invalidate(ns.key(request.key), record.version)
                for i in range(scenario.services):
                    if subscribers and not subscribers[i].running:
                        outcome.lost += 1      # not connected when it was published
                        continue
                    if subscribers:
                        in_flight[i] += 1
                    schedule(t + scenario.delivery_delay, DELIVER, (i, epoch[i]))
        run_events(float("inf"))
    finally:
        for sub in subscribers:
            sub.stop()
    outcome.messages = publisher.sent
    outcome.round_trips = (sum(s.round_trips for s in services) + publisher.round_trips
                           + sum(r.round_trips for r in readers))
    outcome.source_reads = truth.reads
    ns.reset()
    return outcome


def compare_strategies(client: redis.Redis, ns: Namespace, strategies: Iterable[Strategy] = STRATEGIES,
                       scenario: Scenario = Scenario()) -> list[Outcome]:
    """`run_strategy` for each strategy, on the same traffic and faults."""
    return [run_strategy(client, ns, s, scenario) for s in strategies]
