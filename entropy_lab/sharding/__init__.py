"""Ways to pick the cache node for a key, and measurements of what each one costs (notebook 04).

Every scheme maps a key (str or bytes) to one of its `nodes` with `node_for(key)`:

- `Modulo`: hash(key) mod N. Simple, and almost every key moves when N changes.
- `HashRing`: consistent hashing with `vnodes` virtual nodes per node (Karger et al., 1997).
- `JumpHash`: jump consistent hash (Lamping and Veach, 2014): no memory, nodes numbered 0..N-1.
- `Rendezvous`: highest random weight hashing (Thaler and Ravishankar, 1996).
- `SlotMap`: Redis Cluster's 16,384 hash slots (CRC16 of the key or of its `{hash tag}`).

One module per job: `hashes` (stable hashes, jump hash, CRC16 and slots of a key), `schemes`
(the four hash-based schemes), `slots` (Redis Cluster's slot map), `measure` (keys moved, balance,
lookup cost: pure functions, so a notebook and a test get the same numbers).
"""
from __future__ import annotations

from .hashes import CLUSTER_SLOTS, MASK64, crc16, hash_tag, jump_hash, jump_steps, key_slot, stable_hash, to_bytes
from .measure import (assignment, coefficient_of_variation, describe_scheme, first_read_hit_ratio, load,
                      lookup_cost, lookups_per_second, max_over_mean, moved_fraction, moved_on_growth, ring_balance,
                      ring_busiest, ring_layouts, sample_keys, tags_per_key)
from .schemes import HashRing, JumpHash, Modulo, Rendezvous, Scheme, node_names
from .slots import SlotMap, even_slot_ranges, even_slot_ranges_of

__all__ = [
    "CLUSTER_SLOTS", "MASK64", "HashRing", "JumpHash", "Modulo", "Rendezvous", "Scheme", "SlotMap", "assignment",
    "coefficient_of_variation", "crc16", "describe_scheme", "even_slot_ranges", "even_slot_ranges_of",
    "first_read_hit_ratio", "hash_tag", "jump_hash", "jump_steps", "key_slot", "load", "lookup_cost",
    "lookups_per_second", "max_over_mean", "moved_fraction", "moved_on_growth", "node_names", "ring_balance",
    "ring_busiest", "ring_layouts", "sample_keys", "stable_hash", "tags_per_key", "to_bytes",
]
