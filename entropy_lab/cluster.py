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
from redis.exceptions import AskError, ClusterCrossSlotError, MovedError, RedisClusterException, TryAgainError

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
        _check_sizes(masters, replicas)
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

    # ---- one slot by hand (to see ASK up close)
    def begin_migration(self, slot: int, dest: str, keys: Sequence[str] = ()) -> str:
        """Start moving `slot` to master `dest` as redis-cli does (SETSLOT IMPORTING on `dest`,
        MIGRATING on the owner) and MIGRATE only `keys`; returns the owner's name. Finish with
        `end_migration(slot)`."""
        slot = _check_slot(slot)
        source = self.slot_map().owners[slot]
        if dest not in self.masters or dest == source:
            raise LabError(f"Migrate slot {slot} to another master than its owner {source}: one of {self.masters}.")
        self._admin(dest).execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", self._ids[source])
        self._admin(source).execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", self._ids[dest])
        self._migrate(source, dest, list(keys))
        self._open = getattr(self, "_open", {})
        self._open[slot] = (source, dest)
        return source

    def end_migration(self, slot: int) -> None:
        """MIGRATE the rest of `slot`'s keys and give the slot to its new master (SETSLOT NODE everywhere)."""
        source, dest = getattr(self, "_open", {}).pop(slot, (None, None))
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


def _check_sizes(masters: int, replicas: int) -> None:
    if isinstance(masters, bool) or not isinstance(masters, int) or masters < 3:
        raise LabError(f"redis-cli creates a cluster from at least 3 masters (a whole number), not {masters!r}.")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise LabError(f"replicas is a whole number of replicas per master (0 or more), not {replicas!r}.")


def _check_slot(slot: int) -> int:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < CLUSTER_SLOTS:
        raise LabError(f"A hash slot is a whole number from 0 to {CLUSTER_SLOTS - 1}, not {slot!r}.")
    return slot


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
SIM_PORT = 6379
MIGRATE_BATCH = 10  # keys per MIGRATE, redis-cli's default --cluster-pipeline


def _sim_address(name: str) -> str:
    """A simulated master's address in MOVED/ASK replies: its name and the default port (no socket)."""
    return f"{name}:{SIM_PORT}"


class SimulatedNode:
    """One simulated master: it routes every key command the way a Redis 7.0 Cluster node does
    (cluster.c getNodeByQuery) before its embedded fake Redis serves it.

    - keys in more than one slot: CROSSSLOT (even when this master owns every one of those slots);
    - a slot owned by another master: MOVED <slot> <address>;
    - a slot this master is migrating away, every key of the command gone: ASK <slot> <address>;
      some gone and some still here: TRYAGAIN (measured on 7.0.15);
    - a slot this master is importing: served only after ASKING; several keys with one missing: TRYAGAIN.
    """

    def __init__(self, cluster: "SimulatedCluster", name: str, db: redis.Redis) -> None:
        self._cluster, self.name, self.db = cluster, name, db

    def route(self, keys: Sequence[str], asking: bool = False) -> None:
        """Raise the redirection or error this node would answer for a command on `keys`."""
        slots = {_slot(key) for key in keys}
        if len(slots) > 1:
            raise ClusterCrossSlotError("Keys in request don't hash to the same slot")
        slot = slots.pop()
        cluster = self._cluster
        source, dest = cluster._migrating.get(slot, (None, None))
        if cluster._map.owners[slot] == self.name:
            if source == self.name:
                present = sum(bool(self.db.exists(key)) for key in keys)
                if present == 0:
                    raise AskError(f"{slot} {_sim_address(dest)}")
                if present < len(keys):  # some keys here, some gone: Redis 7.0.15 answers TRYAGAIN
                    raise TryAgainError("Multiple keys request during rehashing of slot")
            return
        if dest == self.name and asking:
            if len(keys) > 1 and any(not self.db.exists(key) for key in keys):
                raise TryAgainError("Multiple keys request during rehashing of slot")
            return
        raise MovedError(f"{slot} {_sim_address(cluster._map.owners[slot])}")

    def serve_slots(self, groups: dict[int, list[str]]) -> tuple[list[str], dict[int, Exception]]:
        """Route one command per slot group (as a pipeline does) without ASKING: the keys this node
        may serve, and the error each other slot gets. Only migrating slots need a lookup."""
        served: list[str] = []
        errors: dict[int, Exception] = {}
        owners, migrating = self._cluster._map.owners, self._cluster._migrating
        for slot, keys in groups.items():
            if owners[slot] == self.name and slot not in migrating:
                served += keys
                continue
            try:
                self.route(keys)
                served += keys
            except (MovedError, AskError, TryAgainError) as exc:
                errors[slot] = exc
        return served, errors

    def get(self, key: str, asking: bool = False) -> Any:
        self.route([key], asking)
        return self.db.get(key)

    def set(self, key: str, value: Any, asking: bool = False, **kwargs: Any) -> Any:
        self.route([key], asking)
        return self.db.set(key, value, **kwargs)

    def mget(self, keys: Sequence[str], asking: bool = False) -> list[Any]:
        self.route(keys, asking)
        return self.db.mget(keys)

    def mset(self, mapping: dict[str, Any], asking: bool = False) -> Any:
        self.route(list(mapping), asking)
        return self.db.mset(mapping)

    def delete(self, key: str, asking: bool = False) -> int:
        self.route([key], asking)
        return self.db.delete(key)

    def exists(self, key: str, asking: bool = False) -> int:
        self.route([key], asking)
        return self.db.exists(key)

    def pttl(self, key: str, asking: bool = False) -> int:
        self.route([key], asking)
        return self.db.pttl(key)

    def dbsize(self) -> int:
        return self.db.dbsize()

    def __repr__(self) -> str:
        return f"SimulatedNode({self.name})"


class SimulatedClusterClient:
    """The part of RedisCluster a lesson uses, for the simulated cluster.

    Like redis-py's client it keeps its OWN copy of the slot map, taken when it was created, and
    sends each command to the master that copy names. A MOVED reply makes it reload the map and
    retry; an ASK reply makes it retry once at the named master with ASKING. `redirections`
    counts both. Multi-key commands refuse keys in different slots with redis-py's own exception
    and message before sending anything.
    """

    MAX_REDIRECTIONS = 16

    def __init__(self, cluster: "SimulatedCluster") -> None:
        self._cluster = cluster
        self._owners = list(cluster._map.owners)
        self.redirections: Counter = Counter()

    def keyslot(self, key: str) -> int:
        return key_slot(key)

    def _call(self, keys: Sequence[str], command: str, *args: Any, **kwargs: Any) -> Any:
        """Run `command` on the master that owns `keys` (one slot), following redirections."""
        name, asking = self._owners[_slot(keys[0])], False
        for _ in range(self.MAX_REDIRECTIONS):
            node = self._cluster.node_client(name)
            try:
                return getattr(node, command)(*args, asking=asking, **kwargs)
            except MovedError as exc:
                self.redirections["MOVED"] += 1
                self._owners = list(self._cluster._map.owners)  # reload the slot map (CLUSTER SLOTS)
                name, asking = exc.host, False
            except AskError as exc:
                self.redirections["ASK"] += 1
                name, asking = exc.host, True
            except TryAgainError:
                self.redirections["TRYAGAIN"] += 1
                asking = False
        raise RedisClusterException(f"{command}: too many redirections for slot {_slot(keys[0])}")

    def set(self, key: str, value: Any, **kwargs: Any) -> Any:
        return self._call([key], "set", key, value, **kwargs)

    def get(self, key: str) -> Any:
        return self._call([key], "get", key)

    def delete(self, *keys: str) -> int:
        return sum(self._call([key], "delete", key) for key in keys)

    def exists(self, *keys: str) -> int:
        return sum(self._call([key], "exists", key) for key in keys)

    def _same_slot(self, command: str, keys: Sequence[str]) -> None:
        if len({key_slot(k) for k in keys}) > 1:
            raise RedisClusterException(f"{command} - all keys must map to the same key slot")

    def mget(self, keys: Sequence[str] | str, *args: str) -> list[Any]:
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        self._same_slot("MGET", keys)
        return self._call(keys, "mget", keys)

    def mset(self, mapping: dict[str, Any]) -> Any:
        self._same_slot("MSET", list(mapping))
        return self._call(list(mapping), "mset", mapping)

    def _pipelined(self, keys: Iterable[str], command: str, payload) -> list[tuple[list[str], Any]]:
        """One `command` per slot, pipelined to the masters this client's map names. Slots answered
        MOVED (one reply each) are retried after one reload of the map; ASK slots one by one."""
        pending = _group_by_slot(keys)
        results: list[tuple[list[str], Any]] = []  # (keys sent, reply)
        for _ in range(self.MAX_REDIRECTIONS):
            by_node: dict[str, dict[int, list[str]]] = {}
            for slot, group in pending.items():
                by_node.setdefault(self._owners[slot], {})[slot] = group
            moved: dict[int, list[str]] = {}
            for name, groups in by_node.items():
                node = self._cluster.node_client(name)
                served, errors = node.serve_slots(groups)
                if served:
                    reply = getattr(node.db, command)(payload(served))
                    results.append((served, reply))
                for slot, exc in errors.items():
                    if isinstance(exc, MovedError):
                        self.redirections["MOVED"] += 1
                        moved[slot] = groups[slot]
                    else:
                        results.append((groups[slot], self._call(groups[slot], command, payload(groups[slot]))))
            if not moved:
                return results
            self._owners = list(self._cluster._map.owners)  # reload the slot map (CLUSTER SLOTS)
            pending = moved
        raise RedisClusterException(f"{command}: too many redirections")

    def mget_nonatomic(self, keys: Sequence[str] | str, *args: str) -> list[Any]:
        """One MGET per slot (see `_pipelined`); values in the order of `keys`."""
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        found: dict[str, Any] = {}
        for sent, values in self._pipelined(keys, "mget", list):
            found.update(zip(sent, values))
        return [found[key] for key in keys]

    def mset_nonatomic(self, mapping: dict[str, Any]) -> list[bool]:
        """One MSET per slot (see `_pipelined`)."""
        return [bool(reply) for _, reply in self._pipelined(mapping, "mset",
                                                             lambda sent: {k: mapping[k] for k in sent})]

    def close(self) -> None:
        pass


def _group_by_slot(keys: Iterable[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault(_slot(key), []).append(key)
    return groups


class SimulatedCluster:
    """The same steps as LocalCluster on a simulated slot map: one embedded fake Redis per master,
    each behind a `SimulatedNode` that answers MOVED, ASK, TRYAGAIN and CROSSSLOT as Redis 7.0 does.

    Resharding moves slots in redis-cli's order, one at a time, and each slot's keys in batches of
    10 like MIGRATE (the slot MIGRATING on its old master and IMPORTING on the new one meanwhile).
    A probe, a client that routes with an old map and follows nothing, reads its keys every
    `probe_every` slots, halfway through migrating a slot: what it sees comes from the simulated
    nodes' state, not from a formula. There is no clock: when a real client's reads land during a
    rebalance is a matter of timing, here it is this fixed schedule.
    """

    simulated = True

    def __init__(self, masters: int = 3) -> None:
        from .twin import TwinServer, fake_client

        self._fake = (TwinServer, fake_client)
        self.masters = node_names(masters)
        self._clients = {name: fake_client(TwinServer()) for name in self.masters}
        self._nodes = {name: SimulatedNode(self, name, self._clients[name]) for name in self.masters}
        self._map = SlotMap.create(self.masters)
        self._migrating: dict[int, tuple[str, str]] = {}

    @classmethod
    def start(cls, masters: int = 3, replicas: int = 0) -> "SimulatedCluster":
        _check_sizes(masters, replicas)
        return cls(masters)

    def client(self, **kwargs: Any) -> SimulatedClusterClient:
        return SimulatedClusterClient(self)

    def node_client(self, name: str) -> SimulatedNode:
        """One master, as a plain (non-cluster) client sees it: it answers redirections, never follows them."""
        if name not in self._nodes:
            raise LabError(f"{name!r} is not a master of this cluster: pick one of {self.masters}.")
        return self._nodes[name]

    def slot_map(self, via: str | None = None) -> SlotMap:
        return SlotMap(list(self._map.owners), self.masters)

    def keys_per_node(self) -> dict[str, int]:
        return {name: int(self._clients[name].dbsize()) for name in self.masters}

    def add_master(self, name: str | None = None, probe_keys: Sequence[str] = (),
                   probe_every: int = 256) -> Rebalance:
        """Add an empty master and move slots to it one at a time (probing every `probe_every` slots)."""
        if isinstance(probe_every, bool) or not isinstance(probe_every, int) or probe_every < 1:
            raise LabError(f"probe_every is a whole number of slots (1 or more), not {probe_every!r}.")
        name = name or node_names(len(self.masters) + 1)[-1]
        if name in self.masters:
            raise LabError(f"{name!r} is already a master of this cluster: pick a new name.")
        TwinServer, fake_client = self._fake
        before = self.slot_map()
        target = before.with_node_added(name)
        keys_by_slot: dict[int, list[str]] = {}
        for node in self.masters:
            for key in sorted(self._clients[node].scan_iter(count=1000)):
                keys_by_slot.setdefault(key_slot(key), []).append(key)
        self._clients[name] = fake_client(TwinServer())
        self._nodes[name] = SimulatedNode(self, name, self._clients[name])
        self.masters.append(name)
        self._map = SlotMap(list(before.owners), self.masters)  # updated in place, slot by slot
        moving = [slot for slot in range(CLUSTER_SLOTS) if before.owners[slot] != target.owners[slot]]
        progress: list[ProbeRound] = []
        for done in range(0, len(moving), probe_every):
            chunk = moving[done:done + probe_every]
            if probe_keys:  # the probe reads while the chunk's first slot is half migrated
                slot, chunk = chunk[0], chunk[1:]
                self._migrate_slot(slot, target.owners[slot], keys_by_slot.get(slot, []),
                                   lambda: progress.append(ProbeRound(done, self.probe(probe_keys, before))))
            self._migrate_quietly(chunk, target, keys_by_slot)
        if probe_keys:
            progress.append(ProbeRound(len(moving), self.probe(probe_keys, before)))
        return Rebalance(name, len(moving), self.keys_per_node()[name], 0.0, progress)

    def _migrate_slot(self, slot: int, dest: str, keys: list[str], halfway=None) -> None:
        """Move one slot like redis-cli: SETSLOT IMPORTING/MIGRATING, MIGRATE batches of keys (values and
        TTLs), then SETSLOT NODE. `halfway()` runs after half of the batches (a probe's moment)."""
        source = self._map.owners[slot]
        self._migrating[slot] = (source, dest)
        batches = [keys[i:i + MIGRATE_BATCH] for i in range(0, len(keys), MIGRATE_BATCH)]
        for index, batch in enumerate(batches):
            if halfway is not None and index == len(batches) // 2:
                halfway()
                halfway = None
            self._migrate_keys(source, dest, batch)
        if halfway is not None:
            halfway()
        del self._migrating[slot]
        self._map.owners[slot] = dest

    def begin_migration(self, slot: int, dest: str, keys: Sequence[str] = ()) -> str:
        """Start moving `slot` to master `dest` (MIGRATING on its owner, IMPORTING on `dest`) and
        move only `keys`; returns the owner's name. Finish with `end_migration(slot)`."""
        slot = _check_slot(slot)
        source = self._map.owners[slot]
        if dest not in self.masters or dest == source:
            raise LabError(f"Migrate slot {slot} to another master than its owner {source}: one of {self.masters}.")
        self._migrating[slot] = (source, dest)
        self._migrate_keys(source, dest, [k for k in keys if _slot(k) == slot])
        return source

    def end_migration(self, slot: int) -> None:
        """Move the rest of `slot`'s keys and give the slot to its new master."""
        if slot not in self._migrating:
            raise LabError(f"Slot {slot} is not being migrated: call begin_migration first.")
        source, dest = self._migrating.pop(slot)
        rest = [k for k in self._clients[source].scan_iter(count=1000) if _slot(k) == slot]
        self._migrate_keys(source, dest, sorted(rest))
        self._map.owners[slot] = dest

    def ask(self, name: str, key: str) -> Any:
        """GET `key` from master `name` after ASKING, as a client does when it follows an ASK reply."""
        return self.node_client(name).get(key, asking=True)

    def _migrate_quietly(self, slots: list[int], target: SlotMap, keys_by_slot: dict[int, list[str]]) -> None:
        """Migrate `slots` as `_migrate_slot` does, in bulk: with nobody reading in between, the
        end state is the same."""
        moves: dict[tuple[str, str], list[str]] = {}
        for slot in slots:
            moves.setdefault((self._map.owners[slot], target.owners[slot]), []).extend(keys_by_slot.get(slot, []))
        for (source, dest), keys in moves.items():
            if keys:
                self._migrate_keys(source, dest, keys)
        for slot in slots:
            self._map.owners[slot] = target.owners[slot]

    def _migrate_keys(self, source: str, dest: str, keys: list[str]) -> None:
        if not keys:
            return
        src, dst = self._clients[source], self._clients[dest]
        read = src.pipeline(transaction=False)
        read.mget(keys)
        for key in keys:
            read.pttl(key)
        values, *ttls = read.execute()
        write = dst.pipeline(transaction=False)
        write.mset({key: value for key, value in zip(keys, values) if value is not None})
        for key, ttl in zip(keys, ttls):
            if ttl > 0:
                write.pexpire(key, ttl)
        write.execute()
        src.delete(*keys)

    def probe(self, keys: Iterable[str], slot_map: SlotMap) -> Counter:
        """GET every key from the node `slot_map` names, as a client that does not follow redirections.

        Returns counts of 'served', 'missing', 'MOVED', 'ASK' and 'TRYAGAIN' replies.
        """
        counts: Counter = Counter()
        by_node: dict[str, dict[int, list[str]]] = {}
        for slot, group in _group_by_slot(keys).items():
            by_node.setdefault(slot_map.owners[slot], {})[slot] = group
        for name, groups in by_node.items():
            node = self._nodes[name]
            single = {key: [key] for slot in groups if slot in self._migrating for key in groups[slot]}
            groups = {slot: group for slot, group in groups.items() if slot not in self._migrating}
            served, errors = node.serve_slots(groups)  # GET is one command per key; MGET per slot is
            for key in single:                         # equivalent except in a migrating slot
                try:
                    node.route([key])
                    served.append(key)
                except (MovedError, AskError, TryAgainError) as exc:
                    counts[classify(exc)] += 1
            for slot, exc in errors.items():
                counts[classify(exc)] += len(groups[slot])
            counts.update(classify(v) for v in (node.db.mget(served) if served else []))
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

    _check_sizes(masters, replicas)
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
