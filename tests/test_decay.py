"""Lesson 00's decay run, and the stream helpers it still offers (they live in entropy_lab.workloads)."""
import pytest

import entropy_lab as lab
from entropy_lab import workloads
from entropy_lab.decay import Request, payload, request_stream, run_decay, value_size
from entropy_lab.errors import LabError
from entropy_lab.truth import SourceOfTruth


def test_stream_helpers_are_the_shared_workloads():
    """Notebooks and lessons 01, 02 and 06 import these from decay: the same objects, not copies."""
    assert (Request, request_stream, value_size, payload) == (
        workloads.Request, workloads.request_stream, workloads.value_size, workloads.payload)


def test_stream_is_seeded_and_stable():
    a, b = request_stream(seed=3), request_stream(seed=3)
    assert a == b and a != request_stream(seed=4)
    assert 0.08 < sum(r.op == "write" for r in a) / len(a) < 0.12


def test_payload_is_as_long_as_its_keys_value_size():
    sizes = {value_size(f"item:{i}") for i in range(200)}
    assert min(sizes) >= 64 and max(sizes) < 2048 and len(sizes) > 150
    assert len(payload("item:7", 3)) == value_size("item:7") and payload("item:7", 3).startswith("item:7 v3 ")


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


# ---------------------------------------------------------------- input checks: one LabError sentence each

def _one_sentence(exc: LabError) -> None:
    text = str(exc)
    assert "\n" not in text and text.endswith(".") and len(text) < 200, text


@pytest.mark.parametrize("call, word", [
    (lambda: request_stream(n_keys=0), "n_keys"),
    (lambda: request_stream(n_keys=2.5), "n_keys"),
    (lambda: request_stream(seconds=-1), "seconds"),
    (lambda: request_stream(rate=0), "rate"),
    (lambda: request_stream(write_share=1.5), "write_share"),
    (lambda: request_stream(write_share=float("nan")), "write_share"),
    (lambda: request_stream(skew=-1), "skew"),
    (lambda: request_stream(rate="100"), "rate"),
    (lambda: value_size("item:1", low=100, high=100), "high"),
    (lambda: value_size("item:1", low=-1), "low"),
    (lambda: value_size(7), "key"),
    (lambda: payload("item:1", 0), "version"),
    (lambda: run_decay(None, None, request_stream(seconds=1), window=0), "window"),
    (lambda: run_decay(None, None, ["not a request"]), "stream"),
])
def test_decay_rejects_bad_input_with_one_sentence(call, word):
    with pytest.raises(LabError, match=word) as info:
        call()
    _one_sentence(info.value)


@pytest.mark.parametrize("call, word", [
    (lambda t: t.write("", "v", 0.0), "key"),
    (lambda t: t.write("k", 10, 0.0), "value"),
    (lambda t: t.write("k", "v", -1.0), "at"),
    (lambda t: t.write("k", "v", float("inf")), "at"),
    (lambda t: (t.write("k", "v", 5.0), t.write("k", "w", 3.0)), "back in time"),
    (lambda t: (t.write("k", "v", 0.0), t.stale_since("k", 0)), "version"),
    (lambda t: (t.write("k", "v", 0.0), t.stale_since("k", 2)), "only 1 version"),
    (lambda t: t.stale_since("k", "1"), "version"),
])
def test_truth_rejects_bad_input_with_one_sentence(call, word):
    with pytest.raises(LabError, match=word) as info:
        call(SourceOfTruth())
    _one_sentence(info.value)


def test_an_unknown_key_is_not_stale():
    assert SourceOfTruth().stale_since("someone-else:k", 1) is None
