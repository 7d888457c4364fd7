"""Where the lab's Redis lives: one object per backend, each owning its clock and its clients.

- `FakeBackend`: the embedded twin (default), on the virtual clock.
- `LiveBackend`: a server the learner owns, from ENTROPY_LAB_REDIS_URL; never reconfigured.
- `ServerBackend`: a private redis-server the lab starts and stops.

`connect`, `sandbox`, `another_client`, `close` and `backend_of` take and give plain redis-py
clients; the lab finds a client's backend in a weak map, never in an attribute on the client.
"""
from .base import Backend, another_client, backend_of, clock_of, close, owner_of
from .choose import BACKENDS, apply_config, chosen_backend, connect, open_backend, sandbox, scratch_client
from .describe import banner, describe, server_version
from .fake import FakeBackend
from .live import CONNECT_TIMEOUT_S, FALLBACK, URL_VARIABLES, LiveBackend, mask_password, redis_url
from .server import ServerBackend

__all__ = [
    "BACKENDS", "CONNECT_TIMEOUT_S", "FALLBACK", "URL_VARIABLES", "Backend", "FakeBackend", "LiveBackend",
    "ServerBackend", "another_client", "apply_config", "backend_of", "banner", "chosen_backend", "clock_of",
    "close", "connect", "describe", "mask_password", "open_backend", "owner_of", "redis_url", "sandbox",
    "scratch_client", "server_version",
]
