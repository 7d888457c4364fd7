"""compare_and_set: the one WATCH/MULTI/EXEC helper, on the fake and on a real Redis."""
from __future__ import annotations

import pytest

import entropy_lab as lab
from entropy_lab import backends
from entropy_lab.errors import LabError
from entropy_lab.transactions import compare_and_set


@pytest.fixture(params=["fake", "real"])
def client(request, fake_mode, monkeypatch):
    if request.param == "real":
        monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", request.getfixturevalue("redis_url"))
        c = lab.connect("live")
    else:
        c = lab.connect("fake")
    ns = lab.namespace(c, "t-cas")
    ns.reset()
    yield c
    ns.reset()
    backends.close(c)


def key(client) -> str:
    return lab.namespace(client, "t-cas").key("k")


def test_writes_when_the_current_value_may_be_replaced(client):
    assert compare_and_set(client, key(client), "2", lambda current: current is None)
    assert client.get(key(client)) == "2"


def test_refuses_and_leaves_the_key_alone(client):
    client.set(key(client), "5")
    assert not compare_and_set(client, key(client), "2", lambda current: int(current) < 2)
    assert client.get(key(client)) == "5"


def test_passes_set_options_through(client):
    assert compare_and_set(client, key(client), "1", lambda current: True, px=60_000)
    assert 0 < client.pttl(key(client)) <= 60_000


def test_a_lost_race_reruns_the_decision_on_the_new_value(client):
    other = backends.another_client(client)
    seen = []

    def replaces(current):
        seen.append(current)
        if len(seen) == 1:
            other.set(key(client), "9")   # a writer sneaks in between WATCH and EXEC
        return current is None or int(current) < 3

    assert not compare_and_set(client, key(client), "3", replaces)
    assert seen == [None, "9"]
    assert client.get(key(client)) == "9"


def test_endless_contention_ends_in_one_clear_error(client):
    other = backends.another_client(client)
    tries = []

    def replaces(current):
        tries.append(current)
        other.incr(key(client))
        return True

    with pytest.raises(LabError, match="gave up .* 4 attempts"):
        compare_and_set(client, key(client), "x", replaces, attempts=4)
    assert len(tries) == 4


def test_attempts_must_be_positive(client):
    with pytest.raises(LabError, match="attempts >= 1"):
        compare_and_set(client, key(client), "x", lambda current: True, attempts=0)
