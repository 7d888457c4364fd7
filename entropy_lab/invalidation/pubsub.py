"""Pub/sub subscribers: each applies a channel's messages to one service's L1.

On a real server a subscriber reads on its own thread, as a service would. On the embedded fake
it starts none (a browser kernel has no threads, and the fake delivers every PUBLISH before it
returns): messages are applied synchronously when the lesson waits for them (`wait_for`, `pump`).
"""
from __future__ import annotations

import threading
import time

import redis

from .. import backends
from ..errors import LabError
from .service import Service


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
