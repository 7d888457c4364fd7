"""Capturing traffic: MONITOR on a server the lab started, the lab's own client on the fake; never a
foreign server without the owner's word."""
import pytest

import entropy_lab as lab
from entropy_lab import workloads
from entropy_lab.capture import capture
from entropy_lab.errors import LabError
from entropy_lab.traces import load

APP = workloads.write_stream(1_500, 300, write_ratio=0.2, seed=3)


def commands(path):
    """The commands of a capture without times and client addresses."""
    return [line.split("] ", 1)[1] for line in path.read_text().splitlines()[1:]]


def test_fake_capture_is_labelled_and_replays(tmp_path, fake_mode):
    client = lab.connect("fake")
    try:
        result = capture(client, APP, tmp_path / "c.txt", lab.namespace(client, "07"))
    finally:
        lab.close(client)
    assert "fake Redis has no MONITOR" in result.source
    reads = int((~APP.writes).sum())
    assert result.lines > len(APP) and len(load(result.path)) == result.lines
    assert sum(c.startswith('"GET"') for c in commands(result.path)) == reads


@pytest.mark.redis_server
def test_monitor_capture_on_a_private_server_matches_the_fake_one(tmp_path, fake_mode):
    from tests.conftest import need_redis_server
    need_redis_server()
    got = {}
    for backend in ("fake", "server"):
        client = lab.connect(backend)
        try:
            got[backend] = capture(client, APP, tmp_path / f"{backend}.txt", lab.namespace(client, "07"))
        finally:
            lab.close(client)
    assert got["server"].source == "MONITOR"
    real = [c for c in commands(got["server"].path) if not c.startswith(('"HELLO"', '"CLIENT"'))]
    assert real == commands(got["fake"].path)


def test_a_server_the_lab_did_not_start_needs_the_owners_word(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    client = lab.connect("live")
    try:
        with pytest.raises(LabError, match="captures only from a server it started"):
            capture(client, APP, tmp_path / "c.txt", lab.namespace(client, "07"))
        result = capture(client, APP, tmp_path / "c.txt", lab.namespace(client, "07"), i_own_this_server=True)
        assert result.source == "MONITOR"
        lab.namespace(client, "07").reset()
    finally:
        lab.close(client)


@pytest.mark.redis_server
def test_monitor_hides_the_password_of_auth(fresh_redis_server):
    """What notebook 07 says about MONITOR and AUTH, checked on Redis 7.0."""
    admin = fresh_redis_server.client()
    admin.config_set("requirepass", "s3cret-word")
    admin = fresh_redis_server.client(password="s3cret-word")
    other = fresh_redis_server.client(password="s3cret-word")
    with admin.monitor() as monitor:
        other.execute_command("AUTH", "s3cret-word")
        other.echo("after-auth")
        seen = []
        while not any("after-auth" in line for line in seen):
            line = monitor.connection.read_response()
            seen.append(line.decode() if isinstance(line, bytes) else str(line))
    assert any('"AUTH"' in line and "(redacted)" in line for line in seen), seen
    assert not any("s3cret-word" in line for line in seen), seen


def test_bad_arguments_get_one_sentence(tmp_path, fake_mode):
    client = lab.connect("fake")
    try:
        with pytest.raises(LabError, match="value_size"):
            capture(client, APP, tmp_path / "c.txt", lab.namespace(client, "07"), value_size=-1)
    finally:
        lab.close(client)
