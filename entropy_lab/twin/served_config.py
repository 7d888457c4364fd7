"""The CONFIG parameters the served twin accepts beyond fake mode's (stored and answered by
CONFIG GET; not modelled), and the INFO sections it adds."""
from __future__ import annotations

from typing import Any

from .config import config_error, int_in, memory_value
from .info import ALL_SECTIONS, DEFAULT_SECTIONS
from .resp import INT_MAX, PROTO_MAX_BULK_LEN
from .served_stats import format_percentile


def _yes_no(name: str, text: str) -> str:
    value = text.lower()
    if value not in ("yes", "no"):
        raise config_error(name, "argument must be 'yes' or 'no'")
    return value


def _percentiles(name: str, text: str) -> list[float]:
    values = []
    for word in text.split():
        try:
            value = float(word)
        except ValueError:
            raise config_error(name, "Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= value <= 100.0:
            raise config_error(name, "Invalid latency-tracking-info-percentiles parameters")
        values.append(value)
    return values


_percentiles.render = lambda values: " ".join(format_percentile(v) for v in values)  # type: ignore[attr-defined]


def _anything(name: str, text: str) -> str:
    return text


def _ll(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise config_error(name, "argument couldn't be parsed into an integer") from None


SERVED_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "latency-tracking": (_yes_no, "yes"),
    "latency-tracking-info-percentiles": (_percentiles, [50.0, 99.0, 99.9]),
    "slowlog-log-slower-than": (_ll, 10000),
    "slowlog-max-len": (int_in(0, 2**63 - 1), 128),
    "proto-max-bulk-len": (memory_value, PROTO_MAX_BULK_LEN),
    "client-query-buffer-limit": (memory_value, 1024**3),
    "hash-max-listpack-entries": (int_in(0, 2**63 - 1), 512),
    "hash-max-listpack-value": (int_in(0, 2**63 - 1), 64),
    "zset-max-listpack-entries": (int_in(0, 2**63 - 1), 128),
    "zset-max-listpack-value": (int_in(0, 2**63 - 1), 64),
    "set-max-intset-entries": (int_in(0, 2**63 - 1), 512),
    "list-max-listpack-size": (_ll, -2),
    "client-output-buffer-limit": (_anything, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    "appendfsync": (_anything, "everysec"),
    "repl-ping-replica-period": (int_in(1, INT_MAX), 10),
    "repl-timeout": (int_in(1, INT_MAX), 60),
    "repl-backlog-size": (memory_value, 1024**2),
    "replica-read-only": (_yes_no, "yes"),
    "enable-debug-command": (None, "yes"),
}
SERVED_ALIASES = {"hash-max-ziplist-entries": "hash-max-listpack-entries",
                  "hash-max-ziplist-value": "hash-max-listpack-value",
                  "zset-max-ziplist-entries": "zset-max-listpack-entries",
                  "zset-max-ziplist-value": "zset-max-listpack-value",
                  "list-max-ziplist-size": "list-max-listpack-size"}
SERVED_DEFAULT_SECTIONS = DEFAULT_SECTIONS[:-2] + ("errorstats",) + DEFAULT_SECTIONS[-2:]
SERVED_ALL_SECTIONS = ALL_SECTIONS[:-2] + ("commandstats", "errorstats", "latencystats") + ALL_SECTIONS[-2:]
