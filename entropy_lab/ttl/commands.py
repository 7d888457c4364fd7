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
from .inputs import TTLInputError

_OK_COMMANDS = {"SET", "SETEX", "PSETEX", "RENAME"}


def redis_reply(command: str, reply: Any) -> str:
    """A redis-py reply written the way redis-cli shows it (OK, (integer) 1, (nil), "v")."""
    name = command.upper()
    if reply is None:
        return "(nil)"
    if reply is True:
        return "OK" if name in _OK_COMMANDS else "(integer) 1"
    if reply is False:
        return "(integer) 0"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    return f'"{reply}"'


def run_commands(client: redis.Redis, key: str, commands: Iterable[str], alias: str = "k") -> Table:
    """Run each command (written with `alias` for the key) and tabulate its reply and the TTL after.

    A command Redis refuses shows its error as the reply, as redis-cli does.

    >>> run_commands(r, ns.key("demo"), ["SET k v EX 100", "TTL k"])  # doctest: +SKIP
    """
    if isinstance(commands, str):
        raise TTLInputError("commands must be a list of command strings, e.g. [\"SET k v EX 100\", \"TTL k\"].")
    rows = []
    for text in commands:
        args = _split(text, key, alias)
        try:
            shown = redis_reply(args[0], client.execute_command(*args))
        except redis.ResponseError as exc:  # shown as redis-cli shows it, not as a traceback
            shown = f"(error) {exc}"
        rows.append([text, shown, client.ttl(key)])
    return table(["command", "reply", "TTL of k after (s)"], rows)


def _split(text: str, key: str, alias: str) -> list[str]:
    """The command's words, with `alias` replaced by the real key; one sentence if it cannot be read."""
    try:
        args = [key if part == alias else part for part in shlex.split(text)]
    except (ValueError, AttributeError):
        raise TTLInputError(f"cannot read the command {text!r}: write it as redis-cli would, e.g. \"SET k v EX 100\".") from None
    if not args:
        raise TTLInputError("an empty command: write it as redis-cli would, e.g. \"TTL k\".")
    return args
