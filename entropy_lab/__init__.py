"""Entropy Lab: watch a distributed cache decay, then fight it with measurements.

The small public face used by the notebooks:
    connect, another_client, sandbox, close, backend_of, banner, namespace, sleep, now,
    table, simulate, miss_ratio_curve, workloads
"""
from __future__ import annotations

__version__ = "0.1.0"

from .backends import another_client, backend_of, banner, close, connect, describe, sandbox
from .clock import now, sleep
from .errors import LabError
from .namespaces import Namespace, namespace
from .tables import table
from .twin import miss_ratio_curve, simulate
from . import workloads

__all__ = [
    "LabError", "Namespace", "__version__", "another_client", "backend_of", "banner", "close",
    "connect", "describe", "miss_ratio_curve", "namespace", "now", "sandbox", "simulate", "sleep",
    "table", "workloads",
]
