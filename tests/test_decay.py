import entropy_lab as lab
from entropy_lab.decay import request_stream, run_decay, value_size
from entropy_lab.truth import SourceOfTruth


def test_stream_is_seeded_and_stable():
    a, b = request_stream(seed=3), request_stream(seed=3)
    assert a == b and a != request_stream(seed=4)
    assert 0.08 < sum(r.op == "write" for r in a) / len(a) < 0.12
    assert value_size("item:1") == value_size("item:1")


def test_truth_versions_and_staleness():
    truth = SourceOfTruth()
    truth.write("k", "a", 0.0)
    truth.write("k", "b", 3.0)
    assert truth.stale_since("k", 1) == 3.0
    assert truth.stale_since("k", 2) is None
    assert truth.peek("k").version == 2 and truth.reads == 0


def test_disorder_grows_without_defence(fake_mode):
    r = lab.connect()
    run, truth = run_decay(r, lab.namespace(r, "t"), request_stream(seconds=30, seed=1), window=10)
    stale = run.column("stale_fraction")
    assert stale[0] < stale[-1]
    assert run.snapshots[-1].max_age > 15
