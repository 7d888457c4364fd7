"""Key namespaces: every lesson writes under its own prefix and cleans only that."""
from __future__ import annotations

import re
from collections.abc import Iterator

import redis

ROOT = "entropy-lab"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class Namespace:
    """The keys of one lesson: `entropy-lab:<lesson>:...`."""

    def __init__(self, client: redis.Redis, lesson: str) -> None:
        if not lesson or ":" in lesson:
            raise ValueError(f"a lesson name is a short word without ':', not {lesson!r}")
        self.client = client
        self.prefix = f"{ROOT}:{lesson}:"

    def key(self, *parts: object) -> str:
        """The full key for `parts`, e.g. key("user", 42) -> entropy-lab:00:user:42."""
        return self.prefix + ":".join(str(p) for p in parts)

    def name(self, key: str) -> str:
        """The key without the namespace prefix."""
        return key[len(self.prefix):] if key.startswith(self.prefix) else key

    def pattern(self, suffix: str = "*") -> str:
        """A SCAN MATCH pattern for keys under this prefix (prefix characters escaped)."""
        return _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + suffix

    def scan(self, count: int = 500) -> Iterator[str]:
        """Every key under the prefix, by SCAN (never KEYS, which blocks a big server)."""
        return self.client.scan_iter(match=self.pattern(), count=count)

    def reset(self, batch: int = 500) -> int:
        """Delete (UNLINK) every key under the prefix and nothing else; returns how many."""
        deleted, pending = 0, []
        for key in self.scan(count=batch):
            pending.append(key)
            if len(pending) >= batch:
                deleted += self.client.unlink(*pending)
                pending.clear()
        if pending:
            deleted += self.client.unlink(*pending)
        return deleted

    def __repr__(self) -> str:
        return f"Namespace({self.prefix!r})"


def namespace(client: redis.Redis, lesson: str) -> Namespace:
    """The namespace of `lesson` on `client`."""
    return Namespace(client, lesson)
