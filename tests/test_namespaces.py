import pytest

import entropy_lab as lab


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


@pytest.mark.parametrize("bad", ["", "a:b"])
def test_bad_lesson_names(bad, fake_mode):
    with pytest.raises(ValueError):
        lab.namespace(lab.connect(), bad)
