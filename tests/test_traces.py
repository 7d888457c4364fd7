"""Reading real traffic: MONITOR captures, Twitter-layout CSV, key lists; bounded by sampling."""
import numpy as np
import pytest

from entropy_lab import workloads
from entropy_lab.errors import LabError
from entropy_lab.traces import detect_format, load, requests, write_monitor

MONITOR = '''OK
1700000000.000100 [0 127.0.0.1:50000] "GET" "user:1"
1700000000.000200 [0 127.0.0.1:50000] "SET" "user:1" "hello" "PX" "1500"
1700000000.000300 [0 lua] "MGET" "a b" "quote\\"d"
1700000000.000400 [0 127.0.0.1:50000] "PING"
1700000000.000500 [0 127.0.0.1:50000] "SETEX" "s:\\x00" "10" "abc"
1700000000.000600 [0 127.0.0.1:50000] "DEL" "user:1"
'''
CSV = '''0,user:1,6,100,7,get,0
1,user:1,6,120,7,set,60
2,"odd,key",8,5,7,gets,0
3,user:2,6,0,7,delete,0
'''


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_monitor_lines_become_reads_and_writes(tmp_path):
    path = write(tmp_path, "cap.txt", MONITOR)
    assert detect_format(path) == "monitor"
    got = [(r.key, r.op, r.size, r.ttl) for r in requests(path)]
    assert got == [("user:1", "read", 0, 0.0), ("user:1", "write", 5, 1.5), ("a b", "read", 0, 0.0),
                   ('quote"d', "read", 0, 0.0), ("s:\x00", "write", 3, 10.0)]


def test_csv_keeps_sizes_ttls_and_keys_with_commas(tmp_path):
    path = write(tmp_path, "t.csv", CSV)
    assert detect_format(path) == "csv"
    got = [(r.time, r.key, r.op, r.size, r.ttl) for r in requests(path)]
    assert got == [(0.0, "user:1", "read", 100, 0.0), (1.0, "user:1", "write", 120, 60.0),
                   (2.0, '"odd,key"', "read", 5, 0.0)]
    loaded = load(path)
    assert loaded.trace.keys.tolist() == [0, 0, 1] and loaded.value_sizes.tolist() == [120, 5]
    assert loaded.trace.writes.tolist() == [False, True, False] and loaded.trace.ttls.tolist() == [0, 60, 0]


def test_plain_key_list(tmp_path):
    path = write(tmp_path, "keys.txt", "a\nb\na\n\nc\n")
    loaded = load(path)
    assert detect_format(path) == "keys" and loaded.trace.keys.tolist() == [0, 1, 0, 2]
    assert loaded.key_names == ["a", "b", "c"] and loaded.trace.writes is None


def test_a_written_trace_reads_back_identically(tmp_path):
    trace = workloads.write_stream(2_000, 300, write_ratio=0.3, seed=4)
    path = tmp_path / "cap.txt"
    write_monitor(path, trace, rate=1000)
    loaded = load(path)
    names = np.array([int(name.split(":")[1]) for name in loaded.key_names])
    assert (names[loaded.trace.keys] == trace.keys).all()
    assert (loaded.trace.writes == trace.writes).all()
    assert np.allclose(np.diff(loaded.timestamps), 0.001, atol=1e-6)


def test_sampling_keeps_every_request_of_a_kept_key_and_bounds_the_keys(tmp_path):
    trace = workloads.zipf(20_000, 5_000, seed=2)
    path = tmp_path / "cap.txt"
    write_monitor(path, trace)
    full, part = load(path), load(path, sample_rate=0.1)
    assert part.lines_read == full.lines_read == 20_000 and part.keys_seen == full.keys_seen
    assert 0.05 < part.trace.n_keys / full.trace.n_keys < 0.15
    kept = set(part.key_names)
    whole = [full.key_names[k] for k in full.trace.keys]
    assert [k for k in whole if k in kept] == [part.key_names[k] for k in part.trace.keys]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("x,user:1,6,100,7,get,0\n0,user:1,6,abc,7,get,0\n", "non-number"),
    ('1700000000.1 [0 127.0.0.1:1] "PING"\n', "no request"),
])
def test_bad_traces_get_one_sentence(tmp_path, text, message):
    path = write(tmp_path, "bad.txt", text)
    with pytest.raises(LabError, match=message):
        load(path)


def test_a_short_csv_line_is_named(tmp_path):
    with pytest.raises(LabError, match="has 3 fields, not 7"):
        load(write(tmp_path, "bad.csv", "1,2,3\n"), format="csv")


def test_bad_arguments_get_one_sentence(tmp_path):
    with pytest.raises(LabError, match="cannot read"):
        load(tmp_path / "missing.txt")
    path = write(tmp_path, "k.txt", "a\n")
    for bad in (0, -1, 1.5):
        with pytest.raises(LabError, match="share of keys"):
            load(path, sample_rate=bad)
    with pytest.raises(LabError, match="unknown trace format"):
        load(path, format="pcap")
