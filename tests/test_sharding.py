"""Sharding schemes: stable, consistent where they claim to be, and Redis-exact for slots."""
import binascii
import subprocess
import sys

import pytest
import redis.crc
from hypothesis import given, settings
from hypothesis import strategies as st

from entropy_lab import sharding
from entropy_lab.errors import LabError
from entropy_lab.sharding import (CLUSTER_SLOTS, HashRing, JumpHash, Modulo, Rendezvous, SlotMap, crc16,
                                  hash_tag, jump_hash, key_slot, moved_fraction, node_names)

KEYS = sharding.sample_keys(20_000, seed=11)
SCHEMES = [Modulo, JumpHash, Rendezvous, lambda nodes: HashRing(nodes, vnodes=100)]


def test_stable_hash_is_the_same_in_another_process():
    code = "from entropy_lab.sharding import stable_hash; print(stable_hash('user:42'), stable_hash(b'x', salt='A'))"
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert outputs == {f"{sharding.stable_hash('user:42')} {sharding.stable_hash(b'x', salt='A')}\n"}


def test_stable_hash_salt_changes_the_hash():
    assert sharding.stable_hash("k") != sharding.stable_hash("k", salt="A") != sharding.stable_hash("k", salt="B")


def test_crc16_matches_binascii_and_the_redis_reference_vector():
    assert crc16(b"123456789") == 0x31C3  # the check value of CRC16/XMODEM, quoted in the cluster spec
    for key in KEYS[:500]:
        assert crc16(key.encode()) == binascii.crc_hqx(key.encode(), 0)


@pytest.mark.parametrize("key", ["user:42", "{user:42}:profile", "{user:42}:cart", "a{}b{c}", "{}", "x{",
                                 "foo{bar}{zap}", "{a}{b}", "}{x}", "", "café", "{user:1000}.following"])
def test_key_slot_matches_redis_py(key):
    assert key_slot(key) == redis.crc.key_slot(key.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_key_slot_matches_redis_py_on_any_bytes(key):
    assert key_slot(key) == redis.crc.key_slot(key)


def test_hash_tags_put_related_keys_in_one_slot():
    assert hash_tag("{user:42}:profile") == b"user:42"
    assert key_slot("{user:42}:profile") == key_slot("{user:42}:cart") == key_slot("user:42")
    assert hash_tag("a{}b") == b"a{}b"  # an empty tag is no tag


def test_jump_hash_matches_the_papers_cpp():
    # Outputs of the paper's C++ function (Lamping and Veach, 2014) compiled with g++ -O2.
    assert [jump_hash(key, 1) for key in range(5)] == [0] * 5
    assert [jump_hash(i, 10) for i in range(10)] == [0, 6, 6, 8, 1, 4, 9, 0, 4, 7]
    assert jump_hash(256, 1024) == 520
    assert jump_hash(2**64 - 1, 100_000) == 18311
    assert jump_hash(123456789012345, 7777) == 76


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=1, max_value=300))
def test_jump_hash_is_monotone(key, n):
    before, after = jump_hash(key, n), jump_hash(key, n + 1)
    assert 0 <= before < n
    assert after in (before, n)  # a key only ever moves to the new bucket


def test_jump_hash_refuses_zero_buckets():
    with pytest.raises(LabError):
        jump_hash(1, 0)


@pytest.mark.parametrize("make", SCHEMES[1:], ids=["jump", "rendezvous", "ring"])
def test_consistent_schemes_move_about_one_in_n_plus_one(make):
    for n in (3, 5, 9):
        moved = moved_fraction(make(node_names(n)), make(node_names(n + 1)), KEYS)
        assert abs(moved - 1 / (n + 1)) < 0.04, (n, moved)


def test_modulo_moves_about_n_over_n_plus_one():
    for n in (3, 5, 9):
        moved = moved_fraction(Modulo(node_names(n)), Modulo(node_names(n + 1)), KEYS)
        assert abs(moved - n / (n + 1)) < 0.02, (n, moved)


@pytest.mark.parametrize("make", [Rendezvous, lambda nodes: HashRing(nodes, vnodes=50)], ids=["rendezvous", "ring"])
def test_removing_a_node_moves_only_its_keys(make):
    four, three = make(list("ABCD")), make(list("ACD"))
    for key in KEYS[:5000]:
        if four.node_for(key) != "B":
            assert three.node_for(key) == four.node_for(key)


def test_jump_hash_cannot_remove_a_middle_node_cheaply():
    moved = moved_fraction(JumpHash(list("ABCD")), JumpHash(list("ACD")), KEYS)
    assert moved > 0.5  # renumbering: B's bucket is now C's, and so on


def test_every_scheme_balances_keys_roughly():
    for make in SCHEMES:
        load = sharding.load(make(node_names(4)), KEYS)
        assert sum(load.values()) == len(KEYS)
        assert sharding.max_over_mean(load.values()) < 1.25, load


def test_ring_balance_follows_one_over_sqrt_k():
    for k in (4, 25, 100, 400):
        assert 0.6 / k ** 0.5 < sharding.ring_balance(10, k) < 1.3 / k ** 0.5


def test_ring_shares_sum_to_one():
    shares = HashRing(node_names(7), vnodes=13).shares()
    assert set(shares) == set(node_names(7)) and abs(sum(shares.values()) - 1) < 1e-12


def test_slot_map_matches_redis_cli_create_and_rebalance():
    three = SlotMap.create("ABC")
    assert three.ranges() == [(0, 5460, "A"), (5461, 10922, "B"), (10923, 16383, "C")]
    assert SlotMap.create("ABCD").ranges()[1] == (4096, 8191, "B")
    four = three.with_node_added("D")  # as measured on Redis 7.0.15 (see tests/test_cluster.py)
    assert four.ranges() == [(0, 1364, "D"), (1365, 5460, "A"), (5461, 6826, "D"), (6827, 10922, "B"),
                             (10923, 12287, "D"), (12288, 16383, "C")]
    assert four.slot_counts() == dict.fromkeys("ABCD", 4096)
    assert sum(a != b for a, b in zip(three.owners, four.owners)) == 4096


def test_slot_map_removal_spreads_the_slots():
    three = SlotMap.create("ABCD").with_node_removed("B")
    assert three.nodes == list("ACD") and sum(three.slot_counts().values()) == CLUSTER_SLOTS
    assert max(three.slot_counts().values()) - min(three.slot_counts().values()) <= 1


def test_slot_map_add_to_five():
    assert sorted(SlotMap.create("ABCD").with_node_added("E").slot_counts().values()) == [3276] * 4 + [3280]


def test_bad_inputs_give_lab_errors():
    with pytest.raises(LabError):
        Modulo([])
    with pytest.raises(LabError):
        HashRing(["A", "A"])
    with pytest.raises(LabError):
        HashRing(["A"], vnodes=0)
    with pytest.raises(LabError):
        SlotMap.create("ABC").with_node_added("A")
    with pytest.raises(LabError):
        sharding.stable_hash(1.5)


def test_lookup_cost_is_machine_independent():
    nodes = node_names(10)
    assert sharding.lookup_cost(Rendezvous(nodes), KEYS[:100])["hashes"] == 10
    assert sharding.lookup_cost(HashRing(nodes, vnodes=100), KEYS[:100]) == {"hashes": 1, "steps": 10, "entries": 1000}
    assert 2 < sharding.lookup_cost(JumpHash(nodes), KEYS[:1000])["steps"] < 4


def test_lookups_per_second_uses_the_best_pass():
    ticks = iter([0.0, 2.0, 10.0, 11.0])
    assert sharding.lookups_per_second(Modulo("AB"), ["a", "b"], repeat=2, timer=lambda: next(ticks)) == 2.0


BAD_CALLS = {
    "jump_hash negative key": (lambda: jump_hash(-1, 3), "64-bit"),
    "jump_hash key too big": (lambda: jump_hash(2**64, 3), "64-bit"),
    "jump_hash float key": (lambda: jump_hash(1.5, 3), "64-bit"),
    "jump_hash 0 buckets": (lambda: jump_hash(1, 0), "at least one bucket"),
    "jump_hash float buckets": (lambda: jump_hash(1, 2.5), "whole number"),
    "jump_steps negative key": (lambda: sharding.jump_steps(-5, 3), "64-bit"),
    "ring vnodes a string": (lambda: HashRing("AB", vnodes="x"), "whole number"),
    "ring vnodes 0": (lambda: HashRing("AB", vnodes=0), "at least 1"),
    "nodes as a number": (lambda: Modulo(3), "list of names"),
    "no nodes": (lambda: Rendezvous([]), "at least one node"),
    "duplicate nodes": (lambda: JumpHash(["A", "A"]), "unique"),
    "negative key count": (lambda: sharding.sample_keys(-1), "at least 0"),
    "CV of nothing": (lambda: sharding.coefficient_of_variation([]), "at least one value"),
    "max/mean of nothing": (lambda: sharding.max_over_mean([]), "at least one value"),
    "max/mean of zeros": (lambda: sharding.max_over_mean([0, 0]), "above 0"),
    "ring_balance 0 nodes": (lambda: sharding.ring_balance(0, 10), "at least 1"),
    "ring_busiest 0 layouts": (lambda: sharding.ring_busiest(3, 10, layouts=0), "at least 1"),
    "negative node count": (lambda: node_names(-2), "at least 0"),
    "too many masters": (lambda: sharding.even_slot_ranges(20_000), "at most 16,384"),
    "no masters": (lambda: sharding.even_slot_ranges(0), "at least one master"),
    "lookup cost of no keys": (lambda: sharding.lookup_cost(JumpHash("AB"), []), "at least one value"),
    "timing 0 passes": (lambda: sharding.lookups_per_second(Modulo("AB"), ["a"], repeat=0), "at least 1"),
    "moved fraction of no keys": (lambda: moved_fraction(Modulo("AB"), Modulo("ABC"), []), "at least one key"),
    "a float as a key": (lambda: sharding.stable_hash(1.5), "str, bytes or int"),
    "slot map of the wrong size": (lambda: SlotMap(["A"] * 10), "16384"),
    "remove an unknown node": (lambda: Modulo("AB").with_node_removed("Z"), "Cannot remove"),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_input_gives_one_sentence_lab_error(name):
    call, word = BAD_CALLS[name]
    with pytest.raises(LabError) as caught:
        call()
    message = str(caught.value)
    assert word in message and "\n" not in message and message.rstrip().endswith((".", ")")), message
