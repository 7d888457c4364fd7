"""A simulated Redis Cluster for fake mode: the same slot map and resharding steps as redis-cli,
with one embedded fake Redis (from `FakeBackend`) per master, run in-process without a socket."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.exceptions import AskError, MovedError, TryAgainError

from ..backends import FakeBackend
from ..errors import LabError
from ..sharding import CLUSTER_SLOTS, SlotMap, key_slot, node_names
from .common import ProbeRound, Rebalance, StopsOnExit, check_sizes, check_slot, classify, group_by_slot, slot_of
from .simulated_node import MIGRATE_BATCH, SimulatedClusterClient, SimulatedNode, SlotTable


class SimulatedCluster(StopsOnExit):
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
        self.masters = node_names(masters)
        self.table = SlotTable(list(SlotMap.create(self.masters).owners))
        self._backends: dict[str, FakeBackend] = {}
        self._clients: dict[str, redis.Redis] = {}
        self._nodes: dict[str, SimulatedNode] = {}
        for name in self.masters:
            self._add_node(name)

    @classmethod
    def start(cls, masters: int = 3, replicas: int = 0) -> "SimulatedCluster":
        check_sizes(masters, replicas)
        return cls(masters)

    def client(self, **kwargs: Any) -> SimulatedClusterClient:
        return SimulatedClusterClient(self.table, self._nodes)

    def node_client(self, name: str) -> SimulatedNode:
        """One master, as a plain (non-cluster) client sees it: it answers redirections, never follows them."""
        if name not in self._nodes:
            raise LabError(f"{name!r} is not a master of this cluster: pick one of {self.masters}.")
        return self._nodes[name]

    def _add_node(self, name: str) -> None:
        """A new, empty master: its own embedded fake Redis behind a SimulatedNode."""
        self._backends[name] = FakeBackend()
        self._clients[name] = self._backends[name].client()
        self._nodes[name] = SimulatedNode(self.table, name, self._clients[name])

    def slot_map(self, via: str | None = None) -> SlotMap:
        return SlotMap(list(self.table.owners), self.masters)

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
        before = self.slot_map()
        target = before.with_node_added(name)
        keys_by_slot: dict[int, list[str]] = {}
        for node in self.masters:
            for key in sorted(self._clients[node].scan_iter(count=1000)):
                keys_by_slot.setdefault(key_slot(key), []).append(key)
        self._add_node(name)
        self.masters.append(name)  # the table's owners change in place, slot by slot
        moving = [slot for slot in range(CLUSTER_SLOTS) if before.owners[slot] != target.owners[slot]]
        progress: list[ProbeRound] = []
        for done in range(0, len(moving), probe_every):
            chunk = moving[done:done + probe_every]
            if probe_keys:  # the probe reads while the chunk's first slot is half migrated
                slot, chunk = chunk[0], chunk[1:]
                self._migrateslot_of(slot, target.owners[slot], keys_by_slot.get(slot, []),
                                   lambda: progress.append(ProbeRound(done, self.probe(probe_keys, before))))
            self._migrate_quietly(chunk, target, keys_by_slot)
        if probe_keys:
            progress.append(ProbeRound(len(moving), self.probe(probe_keys, before)))
        return Rebalance(name, len(moving), self.keys_per_node()[name], 0.0, progress)

    def _migrateslot_of(self, slot: int, dest: str, keys: list[str], halfway=None) -> None:
        """Move one slot like redis-cli: SETSLOT IMPORTING/MIGRATING, MIGRATE batches of keys (values and
        TTLs), then SETSLOT NODE. `halfway()` runs after half of the batches (a probe's moment)."""
        source = self.table.owners[slot]
        self.table.migrating[slot] = (source, dest)
        batches = [keys[i:i + MIGRATE_BATCH] for i in range(0, len(keys), MIGRATE_BATCH)]
        for index, batch in enumerate(batches):
            if halfway is not None and index == len(batches) // 2:
                halfway()
                halfway = None
            self._migrate_keys(source, dest, batch)
        if halfway is not None:
            halfway()
        del self.table.migrating[slot]
        self.table.owners[slot] = dest

    def begin_migration(self, slot: int, dest: str, keys: Sequence[str] = ()) -> str:
        """Start moving `slot` to master `dest` (MIGRATING on its owner, IMPORTING on `dest`) and
        move only `keys`; returns the owner's name. Finish with `end_migration(slot)`."""
        slot = check_slot(slot)
        source = self.table.owners[slot]
        if dest not in self.masters or dest == source:
            raise LabError(f"Migrate slot {slot} to another master than its owner {source}: one of {self.masters}.")
        self.table.migrating[slot] = (source, dest)
        self._migrate_keys(source, dest, [k for k in keys if slot_of(k) == slot])
        return source

    def end_migration(self, slot: int) -> None:
        """Move the rest of `slot`'s keys and give the slot to its new master."""
        if slot not in self.table.migrating:
            raise LabError(f"Slot {slot} is not being migrated: call begin_migration first.")
        source, dest = self.table.migrating.pop(slot)
        rest = [k for k in self._clients[source].scan_iter(count=1000) if slot_of(k) == slot]
        self._migrate_keys(source, dest, sorted(rest))
        self.table.owners[slot] = dest

    def ask(self, name: str, key: str) -> Any:
        """GET `key` from master `name` after ASKING, as a client does when it follows an ASK reply."""
        return self.node_client(name).get(key, asking=True)

    def _migrate_quietly(self, slots: list[int], target: SlotMap, keys_by_slot: dict[int, list[str]]) -> None:
        """Migrate `slots` as `_migrate_slot` does, in bulk: with nobody reading in between, the
        end state is the same."""
        moves: dict[tuple[str, str], list[str]] = {}
        for slot in slots:
            moves.setdefault((self.table.owners[slot], target.owners[slot]), []).extend(keys_by_slot.get(slot, []))
        for (source, dest), keys in moves.items():
            if keys:
                self._migrate_keys(source, dest, keys)
        for slot in slots:
            self.table.owners[slot] = target.owners[slot]

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
        for slot, group in group_by_slot(keys).items():
            by_node.setdefault(slot_map.owners[slot], {})[slot] = group
        for name, groups in by_node.items():
            node = self._nodes[name]
            single = {key: [key] for slot in groups if slot in self.table.migrating for key in groups[slot]}
            groups = {slot: group for slot, group in groups.items() if slot not in self.table.migrating}
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
        for backend in self._backends.values():
            backend.close()

    running = False
    pids: list[int] = []
    folders: list[str] = []

    def __repr__(self) -> str:
        return f"SimulatedCluster({len(self.masters)} masters)"
