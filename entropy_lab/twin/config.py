"""The twin's configuration: the Redis 7.0 parameters that shape memory, eviction and expiry.

Values are parsed and validated the way redis-server 7.0.15 does it (`config.c`), and invalid
values get the server's own error text, so a learner sees the same message on both backends.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any

POLICIES = (
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction",
)
INT_MAX = 2_147_483_647

# notify-keyspace-events classes (server.h NOTIFY_*), in the order Redis prints them.
_NOTIFY_CLASSES = "g$lshzxetdn"
_NOTIFY_ALL = "g$lshzxetd"  # 'A' is an alias for these ('n' and 'm' are not in it)


class ConfigError(ValueError):
    """An invalid CONFIG SET; str(error) is the server's reply without the ERR prefix."""


def parse_memory(text: str) -> int:
    """Redis `memtoull`: digits with an optional unit b, k, kb, m, mb, g, gb (any case)."""
    match = re.fullmatch(r"(\d+)(b|k|kb|m|mb|g|gb)?", text.strip().lower())
    if not match:
        raise ValueError(text)
    unit = {None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
            "g": 1000**3, "gb": 1024**3}[match.group(2)]
    return int(match.group(1)) * unit


def format_memory_human(n: int) -> str:
    """Redis `bytesToHuman`: 1.00M, 941.41K, 512B."""
    n = float(n)
    for unit, scale in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{int(n)}B"


def parse_notify_flags(text: str) -> str:
    """Validate notify-keyspace-events and return the canonical string Redis stores."""
    flags = set()
    for ch in text:
        if ch == "A":
            flags.update(_NOTIFY_ALL)
        elif ch in _NOTIFY_CLASSES or ch in "KEm":
            flags.add(ch)
        else:
            raise ValueError(ch)
    out = "A" if set(_NOTIFY_ALL) <= flags else "".join(c for c in _NOTIFY_CLASSES[:-1] if c in flags)
    if "n" in flags:
        out += "n"
    for ch in "KEm":
        if ch in flags:
            out += ch
    return out


def config_error(name: str, why: str) -> ConfigError:
    return ConfigError(f"CONFIG SET failed (possibly related to argument '{name}') - {why}")


def int_in(lo: int, hi: int):
    def parse(name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise config_error(name, "argument couldn't be parsed into an integer") from None
        if not lo <= value <= hi:
            raise config_error(name, f"argument must be between {lo} and {hi} inclusive")
        return value
    return parse


def memory_value(name: str, text: str) -> int:
    try:
        return parse_memory(text)
    except ValueError:
        raise config_error(name, "argument must be a memory value") from None


def _policy(name: str, text: str) -> str:
    value = text.lower()
    if value not in POLICIES:
        raise config_error(name, "argument(s) must be one of the following: " + ", ".join(POLICIES))
    return value


def _hz(name: str, text: str) -> int:
    return min(500, max(1, int_in(0, INT_MAX)(name, text)))


def _notify(name: str, text: str) -> str:
    try:
        return parse_notify_flags(text)
    except ValueError:
        raise config_error(name, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.") from None


def _any(name: str, text: str) -> str:
    return text


# name -> (parser, default). Parameters the twin models, plus a few common read-only-ish ones
# that CONFIG GET should answer like a default server.
PARAMETERS: dict[str, tuple[Any, Any]] = {
    "maxmemory": (memory_value, 0),
    "maxmemory-policy": (_policy, "noeviction"),
    "maxmemory-samples": (int_in(1, INT_MAX), 5),
    "maxmemory-eviction-tenacity": (int_in(0, 100), 10),
    "maxmemory-clients": (memory_value, 0),
    "lfu-log-factor": (int_in(0, INT_MAX), 10),
    "lfu-decay-time": (int_in(0, INT_MAX), 1),
    "hz": (_hz, 10),
    "active-expire-effort": (int_in(1, 10), 1),
    "notify-keyspace-events": (_notify, ""),
    "databases": (None, 16),
    "save": (_any, ""),
    "appendonly": (_any, "no"),
    "timeout": (int_in(0, INT_MAX), 0),
    "maxclients": (int_in(1, INT_MAX), 10000),
    "lazyfree-lazy-eviction": (_any, "no"),
    "lazyfree-lazy-expire": (_any, "no"),
    "activerehashing": (_any, "yes"),
    "requirepass": (_any, ""),
}


class TwinConfig:
    """Current values; attribute access for the hot ones (`maxmemory`, `policy`, ...)."""

    def __init__(self, **overrides: Any) -> None:
        self.parameters = dict(PARAMETERS)
        self.aliases: dict[str, str] = {}
        self.values: dict[str, Any] = {name: default for name, (_, default) in PARAMETERS.items()}
        self._derive()
        for name, value in overrides.items():
            self.set(name.replace("_", "-"), str(value))

    def _derive(self) -> None:
        v = self.values
        self.maxmemory: int = v["maxmemory"]
        self.policy: str = v["maxmemory-policy"]
        self.samples: int = v["maxmemory-samples"]
        self.lfu_log_factor: int = v["lfu-log-factor"]
        self.lfu_decay_time: int = v["lfu-decay-time"]
        self.hz: int = v["hz"]
        self.notify: str = v["notify-keyspace-events"]
        self.allkeys = self.policy.startswith("allkeys")
        self.lfu = self.policy.endswith("lfu")
        # what the eviction pool scores by: "lru", "lfu", "ttl"; "random"; or "none" (noeviction)
        self.kind = "none" if self.policy == "noeviction" else self.policy.split("-")[1]

    def set(self, name: str, text: str) -> None:
        """CONFIG SET one parameter; raises ConfigError with Redis's message."""
        key = name.lower()
        key = self.aliases.get(key, key)
        if key not in self.parameters or self.parameters[key][0] is None:
            raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - '{name}'")
        self.values[key] = self.parameters[key][0](key, text)
        self._derive()

    def add_parameters(self, parameters: dict[str, tuple[Any, Any]], aliases: dict[str, str]) -> None:
        """More parameters for this server only (the served twin accepts more than fake mode)."""
        self.parameters.update(parameters)
        self.aliases.update(aliases)
        for name, (_, default) in parameters.items():
            self.values.setdefault(name, default)

    def set_many(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET a b c d: all or nothing, like Redis 7."""
        saved = dict(self.values)
        try:
            for name, text in pairs:
                self.set(name, text)
        except ConfigError:
            self.values = saved
            self._derive()
            raise

    def get(self, *patterns: str) -> dict[str, str]:
        """CONFIG GET with glob patterns -> {name: value as text}."""
        out: dict[str, str] = {}
        for pattern in patterns:
            pattern = self.aliases.get(pattern.lower(), pattern.lower())
            for name, value in self.values.items():
                if fnmatch.fnmatchcase(name, pattern):
                    out[name] = value if isinstance(value, str) else self._text(name, value)
        return out

    def _text(self, name: str, value: Any) -> str:
        render = getattr(self.parameters.get(name, (None,))[0], "render", None)
        return render(value) if render else str(value)
