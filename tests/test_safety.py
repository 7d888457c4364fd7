"""On a server the lab did not start, it touches nothing outside its own prefix."""
import pytest

import entropy_lab as lab
from entropy_lab import backends
from entropy_lab.errors import LabError

FOREIGN = {"entropy-lab": "a", "entropy-lab:00": "b", "entropy-lab:000:x": "c", "entropy-lab:0:x": "d",
           "app:user:1": "e", "Entropy-Lab:00:x": "f"}


@pytest.fixture
def learners_redis(monkeypatch, fresh_redis_server):
    client = fresh_redis_server.client()
    client.config_set("maxmemory-policy", "allkeys-lfu")
    client.config_set("maxmemory", "500mb")
    client.mset(FOREIGN)
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url)
    return client


def test_lab_operations_leave_foreign_keys_and_config_alone(learners_redis):
    r = lab.connect()
    ns = lab.namespace(r, "00")
    for i in range(50):
        r.set(ns.key("item", i), i)
    assert ns.reset() == 50
    with pytest.raises(LabError):
        backends.apply_config(r, {"maxmemory": "1mb"})
    with lab.sandbox(maxmemory="2mb", maxmemory_policy="noeviction") as private:
        private.flushall()  # allowed: the sandbox is the lab's own server
    assert learners_redis.mget(list(FOREIGN)) == list(FOREIGN.values())
    assert learners_redis.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lfu"
    assert learners_redis.config_get("maxmemory")["maxmemory"] == str(500 * 1024 * 1024)
