"""Server-assisted invalidation: keyspace notifications and CLIENT TRACKING (redirect mode).

Both read a real server's pushes with a deadline: no thread, no sleep (the fake delivers at once).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import redis

from .. import backends


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
