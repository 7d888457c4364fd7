import re

import pytest
import redis

import entropy_lab as lab
from entropy_lab import namespaces
from entropy_lab.errors import LabError


def test_reset_deletes_only_its_prefix(fake_mode):
    r = lab.connect()
    ns, other = lab.namespace(r, "00"), lab.namespace(r, "01")
    for i in range(1200):
        r.set(ns.key("item", i), i)
    r.set(other.key("item", 1), "keep")
    r.set("entropy-lab:00", "not under the prefix")
    r.set("app:user:1", "keep")
    assert ns.reset() == 1200
    assert r.dbsize() == 3


def test_glob_characters_in_prefix_are_escaped(fake_mode):
    r = lab.connect()
    ns = lab.namespace(r, "a*")
    r.set("entropy-lab:ab:x", "keep")
    r.set(ns.key("x"), "go")
    assert ns.reset() == 1
    assert r.get("entropy-lab:ab:x") == "keep"


def test_key_and_name_round_trip(fake_mode):
    ns = lab.namespace(lab.connect(), "02")
    assert ns.key("user", 42) == "entropy-lab:02:user:42"
    assert ns.name(ns.key("user", 42)) == "user:42"


@pytest.mark.parametrize("bad", ["", "a:b", " 00", "a@b", None])
def test_bad_lesson_names_are_one_sentence(bad, fake_mode):
    with pytest.raises(LabError, match="lesson name"):
        lab.namespace(lab.connect(), bad)


# ------------------------------------------------------------------ learners on a shared server

def test_fake_and_private_prefixes_do_not_name_a_learner(fake_mode, monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    ns = lab.namespace(lab.connect(), "02")
    assert ns.prefix == "entropy-lab:02:" and ns.learner is None
    assert ns.private("log") == ns.key("log") == "entropy-lab:02:log"  # stored outputs stay as they are


@pytest.mark.parametrize("good", ["ada", "learner07", "A-1_b", "x" * 32, "0"])
def test_valid_learner_ids(good):
    assert namespaces.validate_learner(good) == good


@pytest.mark.parametrize("bad", ["", "a:b", "a*", "ad a", "-ada", "_x", "x" * 33, "ada\\", "[ab]", "a?b", "é"])
def test_invalid_learner_ids_are_refused(bad):
    with pytest.raises(LabError, match="not a learner id"):
        namespaces.validate_learner(bad)


def test_default_learner_is_stable_short_and_hides_the_host(monkeypatch):
    import socket
    monkeypatch.delenv("ENTROPY_LAB_LEARNER", raising=False)
    first = namespaces.learner_id()
    assert first == namespaces.learner_id() == namespaces.default_learner()
    assert re.fullmatch(r"u[0-9a-f]{8}", first)
    assert socket.gethostname() not in first
    monkeypatch.setattr(socket, "gethostname", lambda: "another-machine")
    assert namespaces.default_learner() != first


def test_learner_comes_from_the_variable_then_the_url_user(monkeypatch):
    client = redis.Redis.from_url("redis://learner07:pw@127.0.0.1:1/0")
    monkeypatch.delenv("ENTROPY_LAB_LEARNER", raising=False)
    assert namespaces.learner_id(client) == "learner07"
    assert namespaces.learner_id(redis.Redis.from_url("redis://default:pw@127.0.0.1:1/0")).startswith("u")
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    assert namespaces.learner_id(client) == "ada"
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada:*")
    with pytest.raises(LabError, match="ENTROPY_LAB_LEARNER='ada:\\*' is not a learner id"):
        namespaces.learner_id(client)


@pytest.fixture
def live(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    client = lab.connect("live")
    yield client
    for key in client.scan_iter(match="entropy-lab:*"):
        client.unlink(key)


def test_live_prefix_names_the_learner_and_reset_spares_other_learners(live, monkeypatch):
    ada = lab.namespace(live, "00")
    assert ada.prefix == "entropy-lab:ada:00:" and ada.key("item", 42) == "entropy-lab:ada:00:item:42"
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "bob")
    bob = lab.namespace(live, "00")
    assert bob.prefix == "entropy-lab:bob:00:"
    live.mset({ada.key("x", i): "a" for i in range(30)} | {bob.key("x", i): "b" for i in range(30)})
    live.set("entropy-lab:00:x:1", "old layout, not ada's")
    assert ada.reset() == 30
    assert sorted(live.scan_iter(match="entropy-lab:*")) == sorted([bob.key("x", i) for i in range(30)]
                                                                   + ["entropy-lab:00:x:1"])


def test_private_names_survive_another_kernels_reset(live, monkeypatch):
    mine = lab.namespace(live, "02")
    monkeypatch.setattr(namespaces, "KERNEL", "other1")
    other = lab.namespace(live, "02")  # the same learner's second kernel
    assert mine.private("log") != other.private("log")
    assert mine.private("log").startswith("entropy-lab:ada:")  # inside the learner's ACL patterns
    live.xadd(mine.private("log"), {"k": "v"})
    live.xgroup_create(mine.private("log"), "svc0", id="0")
    live.xadd(other.private("log"), {"k": "v"})
    live.set(mine.key("shared"), "1")
    assert other.reset() == 2  # the shared key and its own stream
    assert live.xinfo_groups(mine.private("log"))[0]["name"] == "svc0"  # no NOGROUP for this kernel
    assert mine.name(mine.private("log")) == "log"
    assert [k for k in mine.scan()] == []  # private names are outside the lesson's SCAN pattern
    assert mine.reset() == 1 and not live.exists(mine.private("log"))
    live.xadd(other.private("left-by-a-dead-kernel"), {"k": "v"})
    assert mine.reset(every_kernel=True) == 1
