import socket
import time

import pytest
import redis

import entropy_lab as lab
from entropy_lab import backends, clock
from entropy_lab.errors import LabError


def test_default_backend_is_fake_and_isolated(fake_mode):
    a, b = lab.connect(), lab.connect()
    a.set("k", "1")
    assert lab.backend_of(a) == "fake"
    assert b.get("k") is None  # each connect() gets its own fake server
    assert lab.another_client(a).get("k") == "1"  # another_client shares it


def test_replies_are_str(fake_mode):
    r = lab.connect()
    r.set("k", "v")
    assert r.get("k") == "v"


def test_unknown_backend_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_BACKEND", "fakee")
    with pytest.raises(LabError, match="Unknown backend 'fakee'.*fake, live, server"):
        lab.connect()


@pytest.mark.parametrize("url, message", [
    ("redis://:hunter2@127.0.0.1:1/0", "No Redis answers at redis://:\\*\\*\\*@127.0.0.1:1/0"),
    ("http://example/0", "is not a Redis URL"),
])
def test_bad_live_url_fails_fast_and_masks_password(monkeypatch, url, message):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", url)
    started = time.monotonic()
    with pytest.raises(LabError, match=message) as info:
        lab.connect()
    assert time.monotonic() - started < 3
    assert "hunter2" not in str(info.value)
    assert "\n" not in str(info.value)


def test_silent_server_fails_within_3_seconds(monkeypatch):
    """A port that accepts connections but never answers (a hung server, a wrong service)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever replies
        monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
        monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        with pytest.raises(LabError, match="No Redis answers"):
            lab.connect()
        assert time.monotonic() - started < 3


def test_live_url_without_password_is_explained(monkeypatch, fresh_redis_server):
    fresh_redis_server.client().config_set("requirepass", "s3cret")
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url)
    with pytest.raises(LabError, match="needs a password"):
        lab.connect()
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", fresh_redis_server.url.replace("//", "//:wrong@"))
    with pytest.raises(LabError, match="refused the password"):
        lab.connect()


def test_live_backend_and_banner(monkeypatch, redis_url, capsys):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    r = lab.connect()
    assert lab.backend_of(r) == "live"
    lab.banner(r)
    assert "backend: live" in capsys.readouterr().out
    assert not clock.active().virtual


def test_mask_password():
    assert backends.mask_password("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert backends.mask_password("redis://h:1/0") == "redis://h:1/0"


def test_server_backend_owns_and_stops_its_process(monkeypatch):
    from tests.conftest import need_redis_server
    need_redis_server()
    r = lab.connect("server")
    server = r.entropy_lab_owner
    assert r.ping() and server.running
    lab.close(r)
    assert not server.running


def test_sandbox_refuses_to_reconfigure_live_clients(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    r = lab.connect("live")
    with pytest.raises(LabError, match="never reconfigures"):
        backends.apply_config(r, {"maxmemory": "1mb"})


def test_sandbox_fake_applies_config_on_its_own_server(fake_mode):
    with lab.sandbox(maxmemory_policy="allkeys-lru") as r:
        assert lab.backend_of(r) == "fake"
        r.set("x", "1")
    assert lab.connect().get("x") is None


def test_sandbox_in_live_mode_uses_a_private_server(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    live = redis.Redis.from_url(redis_url, decode_responses=True)
    before = live.config_get("maxmemory")
    with lab.sandbox(maxmemory="3mb") as r:
        assert lab.backend_of(r) == "server"
        assert r.config_get("maxmemory")["maxmemory"] == str(3 * 1024 * 1024)
    assert live.config_get("maxmemory") == before


def test_missing_redis_server_binary_says_how_to_install(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(LabError, match="apt-get install redis-server.*brew install redis.*conda"):
        lab.connect("server")
