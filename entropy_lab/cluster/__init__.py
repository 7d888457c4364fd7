"""A Redis Cluster the lab owns: real redis-server processes, or a simulated slot map.

    cluster = start_cluster(masters=3)     # real if a redis-server binary exists and the
    rc = cluster.client()                  # backend is not fake; simulated otherwise
    ...
    report = cluster.add_master()          # a 4th master + redis-cli --cluster rebalance
    cluster.stop()                         # every process and file gone (also at exit)

`LocalCluster` (local.py) runs real redis-server nodes and drives them with `redis-cli --cluster`;
`SimulatedCluster` (simulated.py) runs the same steps on `sharding.SlotMap` with one embedded
fake Redis per master, for fake mode. Both offer the same methods, so a notebook's code does not
change between them.
"""
from __future__ import annotations

from ..backends import chosen_backend
from ..servers import redis_server_path, require_redis_server
from .common import ProbeRound, Rebalance, check_sizes, classify
from .local import NODE_TIMEOUT_MS, LocalCluster
from .redis_cli import ANSI, check_cli_output
from .simulated import SimulatedCluster
from .simulated_node import MIGRATE_BATCH, SIM_PORT, SimulatedClusterClient, SimulatedNode, SlotTable


def start_cluster(masters: int = 3, replicas: int = 0, backend: str | None = None) -> LocalCluster | SimulatedCluster:
    """A real local cluster when a redis-server binary exists and the backend is not fake;
    a simulated one (same methods) otherwise. Prints which one you got."""
    check_sizes(masters, replicas)
    name = chosen_backend(backend)
    if name != "fake" and redis_server_path() is not None:
        cluster = LocalCluster.start(masters=masters, replicas=replicas)
        extra = f", {replicas} replica(s) each" if replicas else ""
        print(f"Real Redis Cluster: {masters} masters{extra}, private redis-server processes on loopback ports.")
        return cluster
    if name == "server":
        require_redis_server()
    why = "fake backend" if name == "fake" else "no redis-server binary here"
    if replicas:
        why += "; replicas are not simulated"
    print(f"Simulated Redis Cluster ({why}): {masters} masters, the same slot map and resharding "
          "steps as redis-cli, run in-process. Set ENTROPY_LAB_BACKEND=server to run a real one.")
    return SimulatedCluster.start(masters=masters, replicas=replicas)


__all__ = [
    "ANSI", "MIGRATE_BATCH", "NODE_TIMEOUT_MS", "SIM_PORT", "LocalCluster", "ProbeRound", "Rebalance",
    "SimulatedCluster", "SimulatedClusterClient", "SimulatedNode", "SlotTable", "check_cli_output", "classify",
    "start_cluster",
]
