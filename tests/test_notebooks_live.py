"""Every notebook runs against a real Redis, and leaves a learner's data and config alone.

The server plays a learner's own Redis: it holds foreign keys and non-default settings
before the notebook runs, and the test checks that both survive untouched.
"""
import pytest
import redis

from tests.notebook_runner import NOTEBOOKS, execute

FOREIGN = {"app:user:1": "alice", "app:session:9": "token", "entropy-lab": "not ours", "cart:{42}:items": "3"}
SETTINGS = {"maxmemory": "734003200", "maxmemory-policy": "volatile-lfu", "notify-keyspace-events": "",
            "hz": "17", "maxmemory-samples": "7"}


@pytest.fixture
def learners_redis(fresh_redis_server):
    client = fresh_redis_server.client()
    client.config_set("notify-keyspace-events", "")
    for name, value in SETTINGS.items():
        client.config_set(name, value)
    for key, value in FOREIGN.items():
        client.set(key, value)
    client.set("app:ttl", "x", ex=3600)
    yield fresh_redis_server, client


@pytest.mark.redis_server
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_live_and_leaves_foreign_data_alone(path, learners_redis):
    server, client = learners_redis
    execute(path, {"ENTROPY_LAB_REDIS_URL": server.url, "ENTROPY_LAB_BACKEND": "live"})
    assert {k: client.get(k) for k in FOREIGN} == FOREIGN
    assert client.ttl("app:ttl") > 3000
    assert {k: client.config_get(k)[k] for k in SETTINGS} == SETTINGS
    leftovers = [k for k in client.scan_iter(match="entropy-lab:*")]
    assert leftovers == [], f"{path.name} left keys behind: {leftovers[:5]}"


@pytest.mark.redis_server
def test_private_server_backend_runs_notebook_00():
    from tests.conftest import need_redis_server
    need_redis_server()
    execute(NOTEBOOKS[0], {"ENTROPY_LAB_BACKEND": "server"})
