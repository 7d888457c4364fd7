"""Entropy Lab: watch a distributed cache decay, then fight it with measurements.

The small public face used by the notebooks:
    connect, another_client, sandbox, close, backend_of, banner, namespace, sleep, now
"""
from __future__ import annotations

__version__ = "0.1.0"

from .backends import another_client, backend_of, banner, close, connect, describe, sandbox
from .clock import now, sleep
from .errors import LabError
from .namespaces import Namespace, namespace
from .tables import table

__all__ = [
    "LabError", "Namespace", "__version__", "another_client", "backend_of", "banner", "close",
    "connect", "describe", "namespace", "now", "sandbox", "sleep", "table",
]
