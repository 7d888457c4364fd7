"""A Redis Cluster the lab owns: real redis-server processes, or a simulated slot map.

    cluster = start_cluster(masters=3)     # real if a redis-server binary exists and the
    rc = cluster.client()                  # backend is not fake; simulated otherwise
    ...
    report = cluster.add_master()          # a 4th master + redis-cli --cluster rebalance
    cluster.stop()                         # every process and file gone (also at exit)

`LocalCluster` starts `redis-server --cluster-enabled yes` nodes on free loopback ports,
each in its own temporary folder (where Redis writes nodes.conf), creates the cluster with
`redis-cli --cluster create`, and grows it with `redis-cli --cluster add-node` and
`redis-cli --cluster rebalance --cluster-use-empty-masters`. `SimulatedCluster` runs the same
steps on `sharding.SlotMap` with one embedded fake Redis per master, for fake mode.
Both offer the same methods, so a notebook's code does not change between them.
"""
from __future__ import annotations

import atexit
import functools
import re
import shutil
import subprocess
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.exceptions import AskError, MovedError, RedisClusterException, TryAgainError

from .errors import LabError
from .servers import RedisServer, free_port, require_redis_server, redis_server_path
from .sharding import CLUSTER_SLOTS, SlotMap, key_slot, node_names

NODE_TIMEOUT_MS = 5000
_clusters: "weakref.WeakSet[LocalCluster]" = weakref.WeakSet()


@dataclass
class Rebalance:
    """What adding a master changed: slots moved to it, keys moved, and how long it took."""

    new_node: str
    slots_moved: int
    keys_moved: int
    seconds: float
    progress: list["ProbeRound"] = field(default_factory=list)


@dataclass
class ProbeRound:
    """One pass of a client that routes with an old slot map: how the cluster answered."""

    slots_moved: int
    counts: Counter

    def share(self, reply: str) -> float:
        total = sum(self.counts.values())
        return self.counts[reply] / total if total else 0.0


def classify(reply: Any) -> str:
    """'served', 'missing', 'MOVED', 'ASK' or 'TRYAGAIN' for one reply to GET."""
    if isinstance(reply, MovedError):
        return "MOVED"
    if isinstance(reply, AskError):
        return "ASK"
    if isinstance(reply, TryAgainError):
        return "TRYAGAIN"
    if isinstance(reply, Exception):
        raise reply
    return "missing" if reply is None else "served"


_slot = functools.lru_cache(maxsize=1 << 16)(key_slot)  # a pure function: safe to remember


def _group_by_node(keys: Iterable[str], slot_map: SlotMap) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(slot_map.owners[_slot(key)], []).append(key)
    return groups


# --------------------------------------------------------------------------- real cluster
class LocalCluster:
    """A Redis Cluster of private redis-server processes on loopback ports."""

    simulated = False

    def __init__(self) -> None:
        self.nodes: dict[str, RedisServer] = {}   # every node by name: "A", "B", ... ("A1" replicas)
        self.masters: list[str] = []
        self._ids: dict[str, str] = {}
        _clusters.add(self)

    # ---- life cycle
    @classmethod
    def start(cls, masters: int = 3, replicas: int = 0, timeout: float = 60.0) -> "LocalCluster":
        """Start `masters` masters (each with `replicas` replicas) and create the cluster."""
        if masters < 3:
            raise LabError(f"redis-cli creates a cluster from at least 3 masters, not {masters}.")
        _require_redis_cli()
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

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
        return self.nodes[name].client()

    def _admin(self, name: str) -> redis.Redis:
        return self.nodes[name].client(socket_timeout=5)

    def _address(self, name: str) -> str:
        return f"127.0.0.1:{self.nodes[name].port}"

    # ---- what the cluster looks like
    def slot_map(self, via: str | None = None) -> SlotMap:
        """The slot owners as node `via` (default: the first master) sees them."""
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
        argv = _cli_argv("rebalance", self._address(self.masters[0]), "--cluster-use-empty-masters")
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
        _check_cli_output(["rebalance"], process.returncode, output)
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
        for name, group in _group_by_node(keys, slot_map).items():
            pipe = self.node_client(name).pipeline(transaction=False)
            for key in group:
                pipe.get(key)
            counts.update(classify(reply) for reply in pipe.execute(raise_on_error=False))
        return +counts

    # ---- plumbing
    def _cli(self, *args: str, timeout: float) -> str:
        argv = _cli_argv(*args)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"redis-cli --cluster {args[0]} did not finish within {timeout:.0f} s.") from None
        output = done.stdout + done.stderr
        _check_cli_output(args, done.returncode, output)
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


def _require_redis_cli() -> str:
    path = shutil.which("redis-cli")
    if path is None:
        require_redis_server()  # the same install hint: both come in one package
        raise LabError("This needs `redis-cli` on PATH (it ships with redis-server): install the redis package.")
    return path


def _cli_argv(*args: str) -> list[str]:
    return [_require_redis_cli(), "--cluster", *args]


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _check_cli_output(args: Sequence[str], returncode: int, output: str) -> None:
    """Raise a LabError with redis-cli's own error line when it failed."""
    lines = [ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line for line in lines if line.startswith(("***", "[ERR]")) or line.startswith("ERR ")
              or "replied with error" in line]
    if returncode != 0 or errors:
        detail = (errors or [line for line in lines if line] or ["no output"])[-1]
        raise LabError(f"redis-cli --cluster {args[0]} failed: {detail}")


# --------------------------------------------------------------------------- simulated cluster
class SimulatedClusterClient:
    """The part of RedisCluster a lesson uses, routed through a SlotMap to fake masters.

    Multi-key commands refuse keys in different slots with redis-py's own exception and
    message, and redirections are followed silently, as RedisCluster does.
    """

    def __init__(self, cluster: "SimulatedCluster") -> None:
        self._cluster = cluster

    def keyslot(self, key: str) -> int:
        return key_slot(key)

    def _node(self, key: str) -> redis.Redis:
        return self._cluster.node_client(self._cluster.slot_map().node_for(key))

    def set(self, key: str, value: Any, **kwargs: Any) -> Any:
        return self._node(key).set(key, value, **kwargs)

    def get(self, key: str) -> Any:
        return self._node(key).get(key)

    def delete(self, *keys: str) -> int:
        return sum(self._node(key).delete(key) for key in keys)

    def exists(self, *keys: str) -> int:
        return sum(self._node(key).exists(key) for key in keys)

    def _same_slot(self, command: str, keys: Sequence[str]) -> None:
        if len({key_slot(k) for k in keys}) > 1:
            raise RedisClusterException(f"{command} - all keys must map to the same key slot")

    def mget(self, keys: Sequence[str] | str, *args: str) -> list[Any]:
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        self._same_slot("MGET", keys)
        return self._node(keys[0]).mget(keys)

    def mset(self, mapping: dict[str, Any]) -> Any:
        self._same_slot("MSET", list(mapping))
        return self._node(next(iter(mapping))).mset(mapping)

    def mget_nonatomic(self, keys: Sequence[str] | str, *args: str) -> list[Any]:
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        found: dict[str, Any] = {}
        for name, group in _group_by_node(keys, self._cluster.slot_map()).items():
            found.update(zip(group, self._cluster.node_client(name).mget(group)))
        return [found[key] for key in keys]

    def mset_nonatomic(self, mapping: dict[str, Any]) -> list[bool]:
        groups: dict[str, dict[str, Any]] = {}
        owners = self._cluster.slot_map().owners
        for key, value in mapping.items():
            groups.setdefault(owners[_slot(key)], {})[key] = value
        return [self._cluster.node_client(name).mset(group) for name, group in groups.items()]

    def close(self) -> None:
        pass


class SimulatedCluster:
    """The same steps as LocalCluster on a simulated slot map: one embedded fake Redis per master.

    Resharding moves the keys of each slot like MIGRATE does, one slot at a time, in the
    order redis-cli uses; a probe between slots sees what a client with an old map would see.
    """

    simulated = True

    def __init__(self, masters: int = 3) -> None:
        from .twin import TwinServer, fake_client

        self._fake = (TwinServer, fake_client)
        self.masters = node_names(masters)
        self._clients = {name: fake_client(TwinServer()) for name in self.masters}
        self._map = SlotMap.create(self.masters)

    @classmethod
    def start(cls, masters: int = 3, replicas: int = 0) -> "SimulatedCluster":
        if masters < 3:
            raise LabError(f"redis-cli creates a cluster from at least 3 masters, not {masters}.")
        return cls(masters)

    def client(self, **kwargs: Any) -> SimulatedClusterClient:
        return SimulatedClusterClient(self)

    def node_client(self, name: str) -> redis.Redis:
        return self._clients[name]

    def slot_map(self, via: str | None = None) -> SlotMap:
        return self._map

    def keys_per_node(self) -> dict[str, int]:
        return {name: int(self._clients[name].dbsize()) for name in self.masters}

    def add_master(self, name: str | None = None, probe_keys: Sequence[str] = (),
                   probe_every: int = 256) -> Rebalance:
        """Add an empty master and move slots to it one at a time (probing every `probe_every` slots)."""
        name = name or node_names(len(self.masters) + 1)[-1]
        if name in self.masters:
            raise LabError(f"{name!r} is already a master of this cluster: pick a new name.")
        TwinServer, fake_client = self._fake
        before = self._map
        target = before.with_node_added(name)
        keys_by_slot: dict[int, list[str]] = {}
        for node in self.masters:
            for key in self._clients[node].scan_iter(count=1000):
                keys_by_slot.setdefault(key_slot(key), []).append(key)
        probe_by_slot: dict[int, list[str]] = {}
        for key in probe_keys:
            probe_by_slot.setdefault(key_slot(key), []).append(key)
        self._clients[name] = fake_client(TwinServer())
        self.masters.append(name)
        self._map = SlotMap(list(before.owners), self.masters)  # updated in place, slot by slot
        moving = [slot for slot in range(CLUSTER_SLOTS) if before.owners[slot] != target.owners[slot]]
        progress: list[ProbeRound] = []
        for done in range(0, len(moving), probe_every):
            if probe_keys:
                counts = self.probe(probe_keys, before)
                # caught mid-slot: MIGRATE has moved about half of this slot's keys, and the old
                # owner answers ASK for those (the real cluster shows the same, briefly)
                asked = (len(probe_by_slot.get(moving[done], [])) + 1) // 2
                if asked:
                    counts["served"] -= asked
                    counts["ASK"] += asked
                progress.append(ProbeRound(done, counts))
            self._migrate(moving[done:done + probe_every], target, keys_by_slot)
        if probe_keys:
            progress.append(ProbeRound(len(moving), self.probe(probe_keys, before)))
        return Rebalance(name, len(moving), self.keys_per_node()[name], 0.0, progress)

    def _migrate(self, slots: list[int], target: SlotMap, keys_by_slot: dict[int, list[str]]) -> None:
        """Move `slots` and their keys (values and TTLs, like MIGRATE) to their owners in `target`."""
        moves: dict[tuple[str, str], list[str]] = {}
        for slot in slots:
            moves.setdefault((self._map.owners[slot], target.owners[slot]), []).extend(keys_by_slot.get(slot, []))
        for (source, dest), keys in moves.items():
            if not keys:
                continue
            src, dst = self._clients[source], self._clients[dest]
            read = src.pipeline(transaction=False)
            read.mget(keys)
            for key in keys:
                read.pttl(key)
            values, *ttls = read.execute()
            dst.mset({k: v for k, v in zip(keys, values) if v is not None})
            expiring = dst.pipeline(transaction=False)
            for key, ttl in zip(keys, ttls):
                if ttl > 0:
                    expiring.pexpire(key, ttl)
            expiring.execute()
            src.delete(*keys)
        for slot in slots:
            self._map.owners[slot] = target.owners[slot]

    def probe(self, keys: Iterable[str], slot_map: SlotMap) -> Counter:
        """GET every key from the node `slot_map` names, as a client that does not follow redirections."""
        counts: Counter = Counter()
        for name, group in _group_by_node(keys, slot_map).items():
            here = [key for key in group if self._map.owners[_slot(key)] == name]
            counts["MOVED"] += len(group) - len(here)
            for value in (self._clients[name].mget(here) if here else []):
                counts["missing" if value is None else "served"] += 1
        return +counts

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> "SimulatedCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    running = False
    pids: list[int] = []
    folders: list[str] = []

    def __repr__(self) -> str:
        return f"SimulatedCluster({len(self.masters)} masters)"


def start_cluster(masters: int = 3, replicas: int = 0, backend: str | None = None) -> LocalCluster | SimulatedCluster:
    """A real local cluster when a redis-server binary exists and the backend is not fake;
    a simulated one (same methods) otherwise. Prints which one you got."""
    from .backends import chosen_backend

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


@atexit.register
def _stop_all() -> None:
    for cluster in list(_clusters):
        cluster.stop()
