"""A real Redis Cluster of private redis-server processes on loopback ports.

`LocalCluster` starts `redis-server --cluster-enabled yes` nodes on free loopback ports, each in
its own temporary folder (where Redis writes nodes.conf), creates the cluster with
`redis-cli --cluster create`, and grows it with `redis-cli --cluster add-node` and
`redis-cli --cluster rebalance --cluster-use-empty-masters`.
"""
from __future__ import annotations

import atexit
import subprocess
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.cluster import RedisCluster

from ..errors import LabError
from ..servers import RedisServer, free_port
from ..sharding import CLUSTER_SLOTS, SlotMap, node_names
from .common import ProbeRound, Rebalance, StopsOnExit, check_sizes, check_slot, classify, group_by_node
from .redis_cli import check_cli_output, cli_argv, require_redis_cli

NODE_TIMEOUT_MS = 5000
_clusters: "weakref.WeakSet[LocalCluster]" = weakref.WeakSet()


class LocalCluster(StopsOnExit):
    """A Redis Cluster of private redis-server processes on loopback ports."""

    simulated = False

    def __init__(self) -> None:
        self.nodes: dict[str, RedisServer] = {}   # every node by name: "A", "B", ... ("A1" replicas)
        self.masters: list[str] = []
        self._ids: dict[str, str] = {}
        self._open: dict[int, tuple[str, str]] = {}  # slots begun by hand: slot -> (source, dest)
        _clusters.add(self)

    # ---- life cycle
    @classmethod
    def start(cls, masters: int = 3, replicas: int = 0, timeout: float = 60.0) -> "LocalCluster":
        """Start `masters` masters (each with `replicas` replicas) and create the cluster."""
        check_sizes(masters, replicas)
        require_redis_cli()
        cluster = cls()
        try:
            names = node_names(masters)
            for name in names:
                cluster._start_node(name)
            for index in range(replicas):
                for name in names:
                    cluster._start_node(f"{name}{index + 1}")
            ordered = names + [n for n in cluster.nodes if n not in names]
            cluster._cli("create", *[cluster._address(n) for n in ordered],
                         "--cluster-replicas", str(replicas), "--cluster-yes", timeout=timeout)
            cluster.masters = list(names)
            cluster._wait_until_converged(timeout)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_node(self, name: str) -> RedisServer:
        bus_port = free_port()
        server = RedisServer.start({
            "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-port": bus_port,
            "cluster-node-timeout": NODE_TIMEOUT_MS, "cluster-require-full-coverage": "yes",
        })
        self.nodes[name] = server
        self._ids[name] = self._admin(name).execute_command("CLUSTER", "MYID")
        return server

    def stop(self) -> None:
        """Stop every node and delete every folder (nodes.conf included). Idempotent."""
        for server in self.nodes.values():  # signal all first, so they shut down in parallel
            if server.running:
                server.process.terminate()
        for server in self.nodes.values():
            server.stop()

    @property
    def running(self) -> bool:
        return any(server.running for server in self.nodes.values())

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.nodes.values()]

    @property
    def folders(self) -> list[str]:
        return [server.workdir for server in self.nodes.values()]

    # ---- clients
    def client(self, **kwargs: Any) -> RedisCluster:
        """A redis-py RedisCluster client (str replies), started from the first master."""
        kwargs.setdefault("decode_responses", True)
        kwargs.setdefault("socket_timeout", 5)
        return RedisCluster(host="127.0.0.1", port=self.nodes[self.masters[0]].port, **kwargs)

    def node_client(self, name: str) -> redis.Redis:
        """A plain (non-cluster) client to one node: it does not follow redirections."""
        if name not in self.nodes:
            raise LabError(f"{name!r} is not a node of this cluster: pick one of {list(self.nodes)}.")
        return self.nodes[name].client()

    def _admin(self, name: str) -> redis.Redis:
        return self.nodes[name].client(socket_timeout=5)

    def _address(self, name: str) -> str:
        return f"127.0.0.1:{self.nodes[name].port}"

    # ---- what the cluster looks like
    def slot_map(self, via: str | None = None) -> SlotMap:
        """The slot owners as node `via` (default: the first master) sees them."""
        if via is not None and via not in self.nodes:
            raise LabError(f"{via!r} is not a node of this cluster: pick one of {list(self.nodes)}.")
        by_id = {node_id: name for name, node_id in self._ids.items()}
        owners: list[str | None] = [None] * CLUSTER_SLOTS
        for first, last, primary, *_ in self._admin(via or self.masters[0]).execute_command("CLUSTER", "SLOTS"):
            owners[first:last + 1] = [by_id[primary[2]]] * (last - first + 1)
        if None in owners:
            raise LabError("The cluster does not cover all 16384 slots yet: wait a second and retry.")
        return SlotMap(owners, self.masters)

    def keys_per_node(self) -> dict[str, int]:
        """DBSIZE of every master."""
        return {name: int(self._admin(name).dbsize()) for name in self.masters}

    def info(self, name: str) -> dict[str, str]:
        text = self._admin(name).execute_command("CLUSTER", "INFO")
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    # ---- growing
    def add_master(self, name: str | None = None, probe_keys: Sequence[str] = (),
                   timeout: float = 300.0) -> Rebalance:
        """Start an empty master, add it with redis-cli, rebalance, and report what moved.

        With `probe_keys`, a client that keeps routing with the OLD slot map reads them
        again and again while the rebalance runs; `Rebalance.progress` records its replies.
        redis-cli makes several round trips per slot (4,096 slots here): about 5 s on an idle
        2-core machine, ten times that when other processes keep the cores busy.
        """
        name = name or node_names(len(self.masters) + 1)[-1]
        if name in self.nodes:
            raise LabError(f"{name!r} is already a node of this cluster: pick a new name.")
        before = self.slot_map()
        self._start_node(name)
        self._cli("add-node", self._address(name), self._address(self.masters[0]), timeout=timeout)
        self.masters.append(name)
        self._wait_until_converged(timeout)
        started = time.perf_counter()
        progress = self._rebalance_while_probing(before, probe_keys, name, timeout)
        seconds = time.perf_counter() - started
        self._wait_until_converged(timeout)
        after = self.slot_map()
        moved = sum(a != b for a, b in zip(before.owners, after.owners))
        return Rebalance(name, moved, self.keys_per_node()[name], seconds, progress)

    def _rebalance_while_probing(self, before: SlotMap, keys: Sequence[str], new: str,
                                 timeout: float, every: float = 0.5) -> list[ProbeRound]:
        argv = cli_argv("rebalance", self._address(self.masters[0]), "--cluster-use-empty-masters")
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rounds: list[ProbeRound] = []
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if keys:
                    rounds.append(ProbeRound(self._slots_owned(new), self.probe(keys, before)))
                time.sleep(every if keys else 0.05)
            if process.poll() is None:
                process.kill()
                raise LabError(f"redis-cli --cluster rebalance did not finish within {timeout:.0f} s.")
        finally:
            output = process.communicate()[0]
        check_cli_output(["rebalance"], process.returncode, output)
        if keys:
            self._wait_until_converged(timeout)
            rounds.append(ProbeRound(self._slots_owned(new), self.probe(keys, before)))
        return rounds

    def _slots_owned(self, name: str) -> int:
        """How many slots `name` owns, in its own view (its CLUSTER SLOTS)."""
        node_id = self._ids[name]
        return sum(last - first + 1 for first, last, primary, *_ in
                   self._admin(name).execute_command("CLUSTER", "SLOTS") if primary[2] == node_id)

    def probe(self, keys: Iterable[str], slot_map: SlotMap) -> Counter:
        """GET every key from the node `slot_map` names, without following redirections.

        Returns counts of 'served', 'missing', 'MOVED', 'ASK' and 'TRYAGAIN' replies.
        """
        counts: Counter = Counter()
        for name, group in group_by_node(keys, slot_map).items():
            pipe = self.node_client(name).pipeline(transaction=False)
            for key in group:
                pipe.get(key)
            counts.update(classify(reply) for reply in pipe.execute(raise_on_error=False))
        return +counts

    # ---- one slot by hand (to see ASK up close)
    def begin_migration(self, slot: int, dest: str, keys: Sequence[str] = ()) -> str:
        """Start moving `slot` to master `dest` as redis-cli does (SETSLOT IMPORTING on `dest`,
        MIGRATING on the owner) and MIGRATE only `keys`; returns the owner's name. Finish with
        `end_migration(slot)`."""
        slot = check_slot(slot)
        source = self.slot_map().owners[slot]
        if dest not in self.masters or dest == source:
            raise LabError(f"Migrate slot {slot} to another master than its owner {source}: one of {self.masters}.")
        self._admin(dest).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", self._ids[source])
        self._admin(source).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", self._ids[dest])
        self._migrate(source, dest, list(keys))
        self._open[slot] = (source, dest)
        return source

    def end_migration(self, slot: int) -> None:
        """MIGRATE the rest of `slot`'s keys and give the slot to its new master (SETSLOT NODE everywhere)."""
        source, dest = self._open.pop(slot, (None, None))
        if source is None:
            raise LabError(f"Slot {slot} is not being migrated: call begin_migration first.")
        admin = self._admin(source)
        while keys := admin.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            self._migrate(source, dest, list(keys))
        for name in (dest, source, *[m for m in self.masters if m not in (source, dest)]):
            self._admin(name).execute_command("CLUSTER", "SETSLOT", slot, "NODE", self._ids[dest])
        self._wait_until_converged(30)

    def ask(self, name: str, key: str) -> Any:
        """GET `key` from master `name` after ASKING, as a client does when it follows an ASK reply."""
        pipe = self.node_client(name).pipeline(transaction=False)
        pipe.execute_command("ASKING")
        pipe.get(key)
        return pipe.execute()[1]

    def _migrate(self, source: str, dest: str, keys: list[str]) -> None:
        if keys:
            self._admin(source).execute_command("MIGRATE", "127.0.0.1", self.nodes[dest].port, "", 0, 5000,
                                                "KEYS", *keys)

    # ---- plumbing
    def _cli(self, *args: str, timeout: float) -> str:
        argv = cli_argv(*args)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"redis-cli --cluster {args[0]} did not finish within {timeout:.0f} s.") from None
        output = done.stdout + done.stderr
        check_cli_output(args, done.returncode, output)
        return output

    def _wait_until_converged(self, timeout: float) -> None:
        """Until every node knows every other node, reports cluster_state:ok and agrees on the slots."""
        deadline = time.monotonic() + timeout
        while True:
            if self._converged():
                return
            if time.monotonic() > deadline:
                raise LabError(f"The cluster did not settle within {timeout:.0f} s: stop() it and start again.")
            time.sleep(0.05)

    def _converged(self) -> bool:
        try:
            views = []
            for name in self.nodes:
                admin = self._admin(name)
                lines = admin.execute_command("CLUSTER", "NODES").splitlines()
                if len(lines) != len(self.nodes) or any("handshake" in l or "noaddr" in l or "fail" in l
                                                        for l in lines):
                    return False
                if self.info(name).get("cluster_state") != "ok":
                    return False
                views.append(sorted((first, last, primary[2]) for first, last, primary, *_ in
                                    admin.execute_command("CLUSTER", "SLOTS")))
            return all(view == views[0] for view in views)
        except redis.RedisError:
            return False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalCluster({len(self.masters)} masters, {len(self.nodes)} nodes, {state})"


@atexit.register
def _stop_all() -> None:
    for cluster in list(_clusters):
        cluster.stop()
