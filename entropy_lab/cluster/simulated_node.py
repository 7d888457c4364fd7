"""The simulated cluster's moving parts: one master that answers redirections as Redis 7.0 does,
and the client that follows them with its own copy of the slot map."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.exceptions import AskError, ClusterCrossSlotError, MovedError, RedisClusterException, TryAgainError

from ..sharding import key_slot
from .common import group_by_slot, slot_of

SIM_PORT = 6379
MIGRATE_BATCH = 10  # keys per MIGRATE, redis-cli's default --cluster-pipeline


def _sim_address(name: str) -> str:
    """A simulated master's address in MOVED/ASK replies: its name and the default port (no socket)."""
    return f"{name}:{SIM_PORT}"


@dataclass
class SlotTable:
    """Who owns each slot now, and which slots are moving (slot -> (source, dest)): the state every
    simulated node routes by, shared by the cluster, its nodes and its clients."""

    owners: list[str]
    migrating: dict[int, tuple[str, str]] = field(default_factory=dict)


class SimulatedNode:
    """One simulated master: it routes every key command the way a Redis 7.0 Cluster node does
    (cluster.c getNodeByQuery) before its embedded fake Redis serves it.

    - keys in more than one slot: CROSSSLOT (even when this master owns every one of those slots);
    - a slot owned by another master: MOVED <slot> <address>;
    - a slot this master is migrating away, every key of the command gone: ASK <slot> <address>;
      some gone and some still here: TRYAGAIN (measured on 7.0.15);
    - a slot this master is importing: served only after ASKING; several keys with one missing: TRYAGAIN.
    """

    def __init__(self, table: SlotTable, name: str, db: redis.Redis) -> None:
        self.table, self.name, self.db = table, name, db

    def route(self, keys: Sequence[str], asking: bool = False) -> None:
        """Raise the redirection or error this node would answer for a command on `keys`."""
        slots = {slot_of(key) for key in keys}
        if len(slots) > 1:
            raise ClusterCrossSlotError("Keys in request don't hash to the same slot")
        slot = slots.pop()
        owners = self.table.owners
        source, dest = self.table.migrating.get(slot, (None, None))
        if owners[slot] == self.name:
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
        raise MovedError(f"{slot} {_sim_address(owners[slot])}")

    def serve_slots(self, groups: dict[int, list[str]]) -> tuple[list[str], dict[int, Exception]]:
        """Route one command per slot group (as a pipeline does) without ASKING: the keys this node
        may serve, and the error each other slot gets. Only migrating slots need a lookup."""
        served: list[str] = []
        errors: dict[int, Exception] = {}
        owners, migrating = self.table.owners, self.table.migrating
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

    def __init__(self, table: SlotTable, nodes: Mapping[str, SimulatedNode]) -> None:
        self._table, self._nodes = table, nodes  # the cluster's own: they change as it grows
        self._owners = list(table.owners)
        self.redirections: Counter = Counter()

    def keyslot(self, key: str) -> int:
        return key_slot(key)

    def _call(self, keys: Sequence[str], command: str, *args: Any, **kwargs: Any) -> Any:
        """Run `command` on the master that owns `keys` (one slot), following redirections."""
        name, asking = self._owners[slot_of(keys[0])], False
        for _ in range(self.MAX_REDIRECTIONS):
            node = self._nodes[name]
            try:
                return getattr(node, command)(*args, asking=asking, **kwargs)
            except MovedError as exc:
                self.redirections["MOVED"] += 1
                self._owners = list(self._table.owners)  # reload the slot map (CLUSTER SLOTS)
                name, asking = exc.host, False
            except AskError as exc:
                self.redirections["ASK"] += 1
                name, asking = exc.host, True
            except TryAgainError:
                self.redirections["TRYAGAIN"] += 1
                asking = False
        raise RedisClusterException(f"{command}: too many redirections for slot {slot_of(keys[0])}")

    def set(self, key: str, value: Any, **kwargs: Any) -> Any:
        return self._call([key], "set", key, value, **kwargs)

    def get(self, key: str) -> Any:
        return self._call([key], "get", key)

    def delete(self, *keys: str) -> int:
        return sum(self._call([key], "delete", key) for key in keys)

    def exists(self, *keys: str) -> int:
        return sum(self._call([key], "exists", key) for key in keys)

    def _sameslot_of(self, command: str, keys: Sequence[str]) -> None:
        if len({key_slot(k) for k in keys}) > 1:
            raise RedisClusterException(f"{command} - all keys must map to the same key slot")

    def mget(self, keys: Sequence[str] | str, *args: str) -> list[Any]:
        keys = [keys, *args] if isinstance(keys, str) else [*keys, *args]
        self._sameslot_of("MGET", keys)
        return self._call(keys, "mget", keys)

    def mset(self, mapping: dict[str, Any]) -> Any:
        self._sameslot_of("MSET", list(mapping))
        return self._call(list(mapping), "mset", mapping)

    def _pipelined(self, keys: Iterable[str], command: str, payload) -> list[tuple[list[str], Any]]:
        """One `command` per slot, pipelined to the masters this client's map names. Slots answered
        MOVED (one reply each) are retried after one reload of the map; ASK slots one by one."""
        pending = group_by_slot(keys)
        results: list[tuple[list[str], Any]] = []  # (keys sent, reply)
        for _ in range(self.MAX_REDIRECTIONS):
            by_node: dict[str, dict[int, list[str]]] = {}
            for slot, group in pending.items():
                by_node.setdefault(self._owners[slot], {})[slot] = group
            moved: dict[int, list[str]] = {}
            for name, groups in by_node.items():
                node = self._nodes[name]
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
            self._owners = list(self._table.owners)  # reload the slot map (CLUSTER SLOTS)
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
