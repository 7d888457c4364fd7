import re
import socket

import pytest
import redis
from hypothesis import given, strategies as st

import entropy_lab as lab
from entropy_lab import namespaces
from entropy_lab.errors import LabError
from entropy_lab.twin.glob import compile_pattern


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


@given(st.text(alphabet="ab:*?[]^-\\ é", max_size=12), st.text(alphabet="ab:*?[]\\", max_size=12))
def test_an_escaped_glob_matches_exactly_its_own_text(text, other):
    # the twin's SCAN MATCH pattern compiler is the reference for Redis glob syntax
    pattern = compile_pattern(namespaces.glob_escape(text).encode())
    assert pattern.match(text.encode())
    assert bool(pattern.match(other.encode())) == (other == text)


# ------------------------------------------------------------------ prefix clears

def test_clear_prefix_unlinks_only_the_prefix_even_with_glob_characters(fake_mode):
    client = lab.connect()
    ns = lab.namespace(client, "t-clear")
    for name in ["p[1]:a", "p[1]:b", "p[1]x", "p1:a", "other"]:
        client.set(ns.key(name), "v")
    client.set("foreign:p[1]:a", "keep")
    cleared = namespaces.clear_prefix(client, ns.key("p[1]:"), count=1)
    assert cleared.keys == 2 and cleared.round_trips == cleared.scan_calls + 2
    assert sorted(ns.name(k) for k in ns.scan()) == ["other", "p1:a", "p[1]x"]
    assert client.get("foreign:p[1]:a") == "keep"


def test_clearing_an_empty_prefix_is_refused(fake_mode):
    with pytest.raises(LabError, match="empty prefix"):
        namespaces.clear_prefix(lab.connect(), "")


def test_clear_prefix_may_clear_anything_on_a_server_the_lab_owns(fake_mode):
    with lab.sandbox() as s:
        s.mset({"user:1": "a", "user:2": "b", "users:3": "c"})
        assert namespaces.clear_prefix(s, "user:").keys == 2 and s.exists("users:3")


@pytest.mark.redis_server
def test_a_private_server_namespace_names_no_learner(fake_mode, monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_LEARNER", "ada")
    with lab.sandbox("server") as s:
        assert lab.namespace(s, "02").prefix == "entropy-lab:02:"
        assert namespaces.lab_keyspace(s) == ""


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
    namespaces.unlink_matching(client, ["entropy-lab:*"])  # every learner's keys this test made


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


def test_clear_prefix_on_a_live_server_stays_inside_the_learners_keys(live):
    ns = lab.namespace(live, "02")
    foreign = {"user:1": "a", "user:2": "b", "app:user:1": "c", "entropy-lab": "not ours",
               "entropy-lab:someone-else:02:user:1": "d"}
    live.mset(foreign)
    live.mset({ns.key("user", i): "v" for i in range(3)})
    try:
        for prefix in ["user:", "app:", "entropy-lab", "entropy-lab:", "entropy-lab:someone-else:02:"]:
            with pytest.raises(LabError, match="only its own keys"):
                namespaces.clear_prefix(live, prefix)
        assert namespaces.lab_keyspace(live) == "entropy-lab:ada:"
        assert namespaces.clear_prefix(live, ns.key("user:")).keys == 3
        assert {k: live.get(k) for k in foreign} == foreign
    finally:
        live.delete(*foreign)
