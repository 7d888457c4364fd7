"""A real local Redis Cluster: created, grown by one master, measured, and removed without a trace.

These tests start real redis-server processes. Without the binary they skip on a laptop and
FAIL in CI (CI=true): the live cluster part of notebook 04 must really run there.
"""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from redis.exceptions import (AskError, ClusterCrossSlotError, MovedError, RedisClusterException, ResponseError,
                              TryAgainError)

from entropy_lab import cluster as lab_cluster
from entropy_lab.cluster import LocalCluster, SimulatedCluster, classify, start_cluster
from entropy_lab.errors import LabError
from entropy_lab.sharding import SlotMap, key_slot, sample_keys
from tests.conftest import need_redis_server

KEYS = sample_keys(10_000, seed=4)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def grown():
    """A 3-master cluster loaded with 10,000 keys, then grown to 4 masters (shared by the tests below)."""
    need_redis_server()
    with LocalCluster.start(masters=3) as cluster:
        before_counts = _load(cluster)
        before = cluster.slot_map()
        report = cluster.add_master(probe_keys=KEYS[:1000])
        yield cluster, before, before_counts, report
    assert not cluster.running


def _load(cluster):
    client = cluster.client()
    client.mset_nonatomic({key: f"value-{key}" for key in KEYS})
    counts = cluster.keys_per_node()
    client.close()
    return counts


@pytest.mark.redis_server
def test_created_cluster_has_redis_cli_slot_ranges_and_all_keys(grown):
    _, before, before_counts, _ = grown
    assert before.ranges() == SlotMap.create("ABC").ranges()
    assert sum(before_counts.values()) == len(KEYS)


@pytest.mark.redis_server
def test_rebalance_moves_a_quarter_of_slots_and_keys(grown):
    cluster, before, _, report = grown
    assert report.new_node == "D" and cluster.masters == list("ABCD")
    assert report.slots_moved == 4096
    assert 0.23 < report.keys_moved / len(KEYS) < 0.27
    assert cluster.slot_map().owners == before.with_node_added("D").owners  # the simulator predicts redis-cli
    assert sum(cluster.keys_per_node().values()) == len(KEYS)


@pytest.mark.redis_server
def test_a_client_with_the_old_map_gets_moved_for_exactly_the_moved_keys(grown):
    cluster, before, _, report = grown
    counts = cluster.probe(KEYS, before)
    assert counts == {"served": len(KEYS) - report.keys_moved, "MOVED": report.keys_moved}
    assert cluster.probe(KEYS, cluster.slot_map()) == {"served": len(KEYS)}
    rounds = report.progress
    assert len(rounds) >= 2 and rounds[-1].slots_moved == 4096
    predicted = before.with_node_added("D")
    assert rounds[-1].counts["MOVED"] == sum(predicted.node_for(k) == "D" for k in KEYS[:1000])
    assert rounds[0].share("MOVED") <= rounds[-1].share("MOVED")


@pytest.mark.redis_server
def test_redis_cluster_client_sees_no_miss_after_rebalance(grown):
    cluster, *_ = grown
    client = cluster.client()
    values = client.mget_nonatomic(KEYS)
    assert values == [f"value-{key}" for key in KEYS]
    with pytest.raises(RedisClusterException, match="same key slot"):
        client.mget(["user:1:name", "user:1:email"])
    assert client.mget(["{user:1}:name", "{user:1}:email"]) == [None, None]
    client.close()


def _two_keys_of_one_master_in_two_slots(cluster, master="A"):
    owners = cluster.slot_map().owners
    keys = [k for k in KEYS if owners[key_slot(k)] == master]
    first = keys[0]
    second = next(k for k in keys if key_slot(k) != key_slot(first))
    return [first, second]


def _replies(cluster, master, *reads):
    """What a plain client to `master` gets for each MGET, as a type name or the values."""
    node, out = cluster.node_client(master), []
    for keys in reads:
        try:
            out.append(node.mget(keys))
        except ResponseError as exc:
            out.append(type(exc).__name__)
    return out


def _one_slot_by_hand(cluster):
    """Begin migrating a slot of A holding two keys to D, moving one key: what A answers meanwhile."""
    by_slot = {}
    for key in KEYS:
        by_slot.setdefault(key_slot(key), []).append(key)
    owners = cluster.slot_map().owners
    slot, (gone, stays) = next((s, ks[:2]) for s, ks in sorted(by_slot.items()) if len(ks) >= 2 and owners[s] == "A")
    assert cluster.begin_migration(slot, "D", [gone]) == "A"
    during = _replies(cluster, "A", [stays], [gone], [stays, gone])
    asked = cluster.ask("D", gone)
    cluster.end_migration(slot)
    after = _replies(cluster, "A", [stays]) + _replies(cluster, "D", [stays, gone])
    cluster.begin_migration(slot, "A")  # and back, so the shared cluster is as it was
    cluster.end_migration(slot)
    return during, asked, after, (gone, stays)


@pytest.mark.redis_server
def test_crossslot_needs_one_slot_not_one_master_on_a_real_cluster(grown):
    cluster, *_ = grown
    pair = _two_keys_of_one_master_in_two_slots(cluster)
    with pytest.raises(ClusterCrossSlotError, match="same slot"):
        cluster.node_client("A").mget(pair)


def test_crossslot_needs_one_slot_not_one_master_in_the_simulation():
    with SimulatedCluster.start(3) as sim:
        sim.client().mset_nonatomic({key: "v" for key in KEYS[:3000]})
        pair = _two_keys_of_one_master_in_two_slots(sim)
        with pytest.raises(ClusterCrossSlotError, match="same slot"):
            sim.node_client("A").mget(pair)


@pytest.mark.redis_server
def test_ask_and_tryagain_mid_migration_real_and_simulated_agree(grown):
    cluster, *_ = grown
    real = _one_slot_by_hand(cluster)
    with SimulatedCluster.start(3) as sim:
        sim.client().mset_nonatomic({key: f"value-{key}" for key in KEYS})
        sim.add_master()
        simulated = _one_slot_by_hand(sim)
    gone, stays = real[3]
    assert real[0] == simulated[0] == [[f"value-{stays}"], "AskError", "TryAgainError"]
    assert real[1] == simulated[1] == f"value-{gone}"
    assert real[2] == simulated[2] == ["MovedError", [f"value-{stays}", f"value-{gone}"]]


def test_simulated_stale_client_follows_moved_and_misses_nothing():
    with SimulatedCluster.start(3) as sim:
        client = sim.client()
        client.mset_nonatomic({key: f"v-{key}" for key in KEYS[:4000]})
        before = sim.slot_map()
        report = sim.add_master(probe_keys=KEYS[:1000])
        assert client.redirections == {}  # nothing read yet: its map is stale but untested
        assert client.mget_nonatomic(KEYS[:4000]) == [f"v-{key}" for key in KEYS[:4000]]
        moved_slots = {key_slot(k) for k in KEYS[:4000] if before.node_for(k) != sim.slot_map().node_for(k)}
        assert client.redirections["MOVED"] == len(moved_slots)  # one MOVED reply per stale slot, then a reload
        assert client.get(KEYS[0]) == f"v-{KEYS[0]}" and client.redirections["MOVED"] == len(moved_slots)
        old_owner = before.node_for(next(k for k in KEYS if before.node_for(k) != sim.slot_map().node_for(k)))
        with pytest.raises(MovedError):
            sim.node_client(old_owner).get(next(k for k in KEYS if before.node_for(k) == old_owner
                                                and sim.slot_map().node_for(k) == "D"))
        assert report.progress[-1].counts["MOVED"] == sum(before.node_for(k) != sim.slot_map().node_for(k)
                                                          for k in KEYS[:1000])


def test_simulated_probe_mid_slot_sees_ask_only_for_keys_already_gone():
    with SimulatedCluster.start(3) as sim:
        sim.client().mset_nonatomic({key: "v" for key in KEYS})
        before = sim.slot_map()
        slot = key_slot(KEYS[0])
        in_slot = [k for k in KEYS if key_slot(k) == slot]
        sim.begin_migration(slot, "B" if before.owners[slot] != "B" else "C", in_slot[:1])
        counts = sim.probe(in_slot + KEYS[1:50], before)
        assert counts["ASK"] == 1 and counts["served"] == len(in_slot) - 1 + 49 - sum(
            key_slot(k) == slot for k in KEYS[1:50])
        sim.end_migration(slot)
        with pytest.raises(LabError):
            sim.end_migration(slot)
        with pytest.raises(LabError):
            sim.begin_migration(16384, "A")


@pytest.mark.redis_server
def test_the_simulated_cluster_gives_the_same_numbers(grown):
    cluster, _, before_counts, report = grown
    with SimulatedCluster.start(3) as sim:
        sim.client().mset_nonatomic({key: "v" for key in KEYS})
        assert sim.keys_per_node() == before_counts
        sim_report = sim.add_master(probe_keys=KEYS[:1000])
        assert (sim_report.slots_moved, sim_report.keys_moved) == (report.slots_moved, report.keys_moved)
        assert sim.keys_per_node() == cluster.keys_per_node()


@pytest.mark.redis_server
def test_stop_leaves_no_process_and_no_file():
    need_redis_server()
    cluster = LocalCluster.start(masters=3, replicas=1)
    pids, folders = cluster.pids, cluster.folders
    assert len(pids) == 6 and all(alive(pid) for pid in pids)
    assert all((Path(folder) / "nodes.conf").exists() for folder in folders)
    roles = [cluster.info(name)["cluster_size"] for name in cluster.nodes]
    assert roles == ["3"] * 6
    cluster.stop()
    cluster.stop()  # idempotent
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)
    assert not any(os.path.exists(folder) for folder in folders)


@pytest.mark.redis_server
def test_interpreter_exit_stops_the_cluster():
    need_redis_server()
    script = textwrap.dedent("""
        from entropy_lab.cluster import LocalCluster
        cluster = LocalCluster.start(masters=3)
        print(" ".join(map(str, cluster.pids)))
        print("\\n".join(cluster.folders))
    """)  # no stop(): the atexit hook must do it
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    pids_line, *folders = done.stdout.split("\n")
    pids = [int(pid) for pid in pids_line.split()]
    assert len(pids) == 3
    time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
    assert not any(os.path.exists(folder) for folder in folders if folder)


@pytest.mark.redis_server
def test_start_cluster_runs_a_real_cluster_on_the_server_backend(capsys):
    need_redis_server()
    with start_cluster(backend="server") as cluster:
        assert isinstance(cluster, LocalCluster) and not cluster.simulated
    assert "Real Redis Cluster" in capsys.readouterr().out


def test_start_cluster_simulates_in_fake_mode(capsys):
    with start_cluster(backend="fake") as cluster:
        assert isinstance(cluster, SimulatedCluster) and cluster.simulated
        assert cluster.slot_map().ranges() == SlotMap.create("ABC").ranges()
    assert "Simulated Redis Cluster" in capsys.readouterr().out


def test_simulated_cluster_refuses_cross_slot_mget_like_redis_py():
    with SimulatedCluster.start(3) as sim:
        client = sim.client()
        client.set("{user:1}:name", "Ada")
        with pytest.raises(RedisClusterException, match="MGET - all keys must map to the same key slot"):
            client.mget(["user:1:name", "user:1:email"])
        assert client.mget(["{user:1}:name", "{user:1}:email"]) == ["Ada", None]


def test_simulated_rebalance_keeps_ttls():
    with SimulatedCluster.start(3) as sim:
        client = sim.client()
        client.mset_nonatomic({key: "v" for key in KEYS[:2000]})
        for key in KEYS[:2000]:
            client.set(key, "v", px=600_000)
        sim.add_master()
        assert all(0 < sim.node_client(sim.slot_map().node_for(k)).pttl(k) <= 600_000 for k in KEYS[:2000])


def test_clusters_need_three_masters():
    with pytest.raises(LabError):
        SimulatedCluster.start(2)
    with pytest.raises(LabError):
        LocalCluster.start(2)


def test_classify_and_cli_errors():
    assert classify("v") == "served" and classify(None) == "missing"
    assert classify(MovedError("3999 127.0.0.1:6381")) == "MOVED"
    assert classify(AskError("3999 127.0.0.1:6381")) == "ASK"
    with pytest.raises(LabError, match="CLUSTERDOWN"):
        lab_cluster.check_cli_output(["rebalance"], 0, "\x1b[31;1m*** clusterManagerMoveSlot: ERR CLUSTERDOWN\x1b[0m")
    lab_cluster.check_cli_output(["create"], 0, "\x1b[32;1m[OK] All 16384 slots covered.\x1b[0m")


@pytest.mark.parametrize("call, word", [
    (lambda: start_cluster(masters=2.5, backend="fake"), "at least 3 masters"),
    (lambda: start_cluster(masters=3, replicas=-1, backend="fake"), "replicas"),
    (lambda: SimulatedCluster.start("3"), "at least 3 masters"),
    (lambda: SimulatedCluster.start(3).node_client("Z"), "not a master"),
    (lambda: SimulatedCluster.start(3).begin_migration(-1, "B"), "hash slot"),
    (lambda: SimulatedCluster.start(3).begin_migration(0, "A"), "another master"),
    (lambda: SimulatedCluster.start(3).end_migration(5), "not being migrated"),
    (lambda: SimulatedCluster.start(3).add_master("A"), "already a master"),
    (lambda: SimulatedCluster.start(3).add_master(probe_every=0), "probe_every"),
], ids=["float masters", "negative replicas", "string masters", "unknown node", "negative slot",
        "migrate to its owner", "end without begin", "duplicate master", "probe_every 0"])
def test_cluster_bad_input_gives_one_sentence_lab_error(call, word):
    with pytest.raises(LabError, match=word):
        call()
