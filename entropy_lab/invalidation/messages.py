"""Invalidation messages: ``invalidate:<key>``, ``update:<key>``, ``refresh_all:<prefix>``.

Their text (`format_message` / `parse_message`, keys and prefixes may contain colons), the
reference subscriber handler (`apply_message`) and the popular article's handler
(`article_on_message`), kept to show which keys it silently skips.
"""
from __future__ import annotations

from collections.abc import Callable, MutableMapping

import redis

from ..errors import LabError

KINDS = ("invalidate", "update", "refresh_all")


def format_message(kind: str, target: str) -> str:
    """The text of one invalidation message: ``<kind>:<key or prefix>``."""
    if kind not in KINDS:
        raise LabError(f"{kind!r} is not a message kind: use one of {', '.join(KINDS)}.")
    if not target:
        raise LabError(f"A {kind} message needs a key or prefix after the colon, e.g. {kind}:user:42.")
    return f"{kind}:{target}"


def parse_message(text: str) -> tuple[str, str]:
    """(kind, target) of a message. Splits on the FIRST colon only, so keys may hold colons."""
    if not isinstance(text, str):
        raise LabError(f"an invalidation message is text such as 'invalidate:user:42', not {type(text).__name__}.")
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
