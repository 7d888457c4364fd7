"""Redis expiry semantics shown by running them: each command's reply and the key's TTL after it.

Lesson 01 teaches which commands keep, reset or drop a TTL by running them on the learner's
backend, so a table made on the twin and one made on a real Redis can be compared row by row.
"""
from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Any

import redis

from ..tables import Table, table
from ..twin import command_table
from .inputs import TTLInputError


def redis_reply(reply: Any) -> str:
    """A raw Redis reply written the way redis-cli shows it (OK, (integer) 1, (nil), "v")."""
    if reply is None:
        return "(nil)"
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, list):
        return "(empty array)" if not reply else " ".join(f"{n}) {redis_reply(item)}" for n, item in enumerate(reply, 1))
    return "OK" if reply == "OK" else f'"{reply}"'


def run_commands(client: redis.Redis, key: str, commands: Iterable[str], alias: str = "k") -> Table:
    """Run each command (written with `alias` for the key) and tabulate its reply and the TTL after.

    Every other key a command names (`RENAME k k2`, `MSET k 1 j 2`) is kept under `key` too
    (`<key>:k2`), so the lesson never writes outside the learner's namespace. Replies are Redis's
    own, before redis-py converts them, and a command Redis refuses shows its error as the reply,
    as redis-cli does.

    >>> run_commands(r, ns.key("demo"), ["SET k v EX 100", "TTL k"])  # doctest: +SKIP
    """
    if isinstance(commands, str):
        raise TTLInputError("commands must be a list of command strings, e.g. [\"SET k v EX 100\", \"TTL k\"].")
    rows = []
    for text in commands:
        args = _split(text, key, alias)
        try:
            shown = redis_reply(raw_reply(client, args))
        except redis.ResponseError as exc:  # shown as redis-cli shows it, not as a traceback
            shown = f"(error) {exc}"
        rows.append([text, shown, client.ttl(key)])
    return table(["command", "reply", "TTL of k after (s)"], rows)


def raw_reply(client: redis.Redis, args: list[str]) -> Any:
    """Redis's reply to one command as the server sent it (no redis-py response callback)."""
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_command(*args)
        return connection.read_response()
    finally:
        pool.release(connection)


# Commands whose every argument (or every other one) is a key: fakeredis's command table gives
# their last key as 1 where Redis's COMMAND INFO says -1 (to the end).
EVERY_ARGUMENT_A_KEY = {"del": 1, "unlink": 1, "exists": 1, "touch": 1, "mget": 1, "watch": 1,
                        "mset": 2, "msetnx": 2}


def key_positions(args: list[str]) -> list[int]:
    """Where `args` names keys (Redis's COMMAND INFO key spec); one sentence for a command without one."""
    name = args[0].lower()
    if name in EVERY_ARGUMENT_A_KEY:
        return list(range(1, len(args), EVERY_ARGUMENT_A_KEY[name]))
    info = command_table().get(name)
    if info is None or info.first_key <= 0 or "movablekeys" in info.flags:
        raise TTLInputError(f"run_commands runs commands whose keys sit at fixed places (SET, EXPIRE, TTL, "
                            f"RENAME, MSET...), not {args[0]!r}.")
    last = len(args) + info.last_key if info.last_key < 0 else info.last_key
    return list(range(info.first_key, min(last, len(args) - 1) + 1, info.step))


def _split(text: str, key: str, alias: str) -> list[str]:
    """The command's words, with `alias` replaced by the real key; one sentence if it cannot be read."""
    try:
        args = shlex.split(text)
    except (ValueError, AttributeError):
        raise TTLInputError(f"cannot read the command {text!r}: write it as redis-cli would, e.g. \"SET k v EX 100\".") from None
    if not args:
        raise TTLInputError("an empty command: write it as redis-cli would, e.g. \"TTL k\".")
    for position in key_positions(args):
        args[position] = key if args[position] == alias else f"{key}:{args[position]}"
    return args
