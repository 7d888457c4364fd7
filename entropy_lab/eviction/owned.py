"""Lab-owned servers for the eviction lesson: refuse a learner's server, reconfigure, let time pass,
and label where a number comes from (the twin's model or a real server's measurement)."""
from __future__ import annotations

import difflib

import contextlib
from collections.abc import Iterator

import redis

from .. import backends, clock
from ..errors import LabError
from ..tables import table
from .inputs import check_count
from .policies import check_policy


def require_owned(client: redis.Redis) -> None:
    """Refuse a client on a server the lab did not start (these helpers flush and reconfigure)."""
    if backends.backend_of(client) == "live":
        raise LabError("These eviction helpers flush and reconfigure their server: pass the client "
                       "from `with entropy_lab.sandbox(...) as s:`, never your own server's client.")


def configure(client: redis.Redis, **config: object) -> None:
    """CONFIG SET on a lab-owned server (names with _ or -), then FLUSHALL and RESETSTAT."""
    require_owned(client)
    if "maxmemory_policy" in config:
        check_policy(config["maxmemory_policy"])
    if "maxmemory_samples" in config:
        check_count("maxmemory-samples", config["maxmemory_samples"], 1, 64)
    client.flushall()
    for name, value in config.items():
        try:
            client.config_set(name.replace("_", "-"), value)
        except redis.ResponseError as exc:
            raise LabError(f"Redis refused {name.replace('_', '-')} = {value!r}: {str(exc).rstrip('.')}.") from None
    client.config_resetstat()


@contextlib.contextmanager
def twin_sandbox(**config: object) -> Iterator[redis.Redis]:
    """`entropy_lab.sandbox(backend="fake", ...)` that leaves the lab's active clock as it was.

    For experiments that always run on the twin, even when the notebook runs against a real
    Redis (minutes of LFU decay, or several samples settings in one cell).
    """
    before = clock.active()
    try:
        with backends.sandbox(backend="fake", **config) as client:
            yield client
    finally:
        clock.use(before)


def wait(client: redis.Redis, seconds: float) -> None:
    """Let `seconds` pass for `client`'s server: instant on the twin's virtual clock, a real
    wait for a real server (whatever the lab's active clock is)."""
    backends.clock_of(client).sleep(seconds)


TWIN_MODEL = "model: the twin of Redis 7.0"


def source_of(client: redis.Redis) -> str:
    """Where a number from `client` comes from, for a table column or a figure subtitle:
    "model: the twin of Redis 7.0" in fake mode, "measured: Redis 7.0.15" on a real server."""
    if backends.backend_of(client) == "fake":
        return TWIN_MODEL
    return f"measured: Redis {backends.server_version(client)}"


def info_int(client: redis.Redis, field_name: str) -> int:
    """One integer field of INFO (memory or stats)."""
    section = "memory" if str(field_name).startswith(("used_memory", "maxmemory")) else "stats"
    fields = client.info(section)
    value = fields.get(field_name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        numeric = [name for part in ("memory", "stats") for name, v in client.info(part).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
        close = difflib.get_close_matches(str(field_name), numeric, n=3) or ["used_memory", "evicted_keys"]
        raise LabError(f"{field_name!r} is not a number in INFO memory or stats: did you mean {', '.join(close)}?")
    return int(value)


def memory_settings(client: redis.Redis):
    """A table of the server's maxmemory* settings (read-only), or a note if CONFIG is disabled."""
    try:
        values = client.config_get("maxmemory*")
    except redis.ResponseError as exc:
        return table(["setting", "value"], [["CONFIG GET refused", str(exc)]])
    return table(["setting", "value"], sorted(values.items()))
