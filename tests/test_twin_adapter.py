"""Canary for the fakeredis internals the twin relies on (entropy_lab/twin/fakeredis_adapter.py).

When a fakeredis release moves one of them, a test here fails and names it, instead of the twin
going subtly wrong. This is the one test file allowed to look at fakeredis's private state.
"""
from __future__ import annotations

import pytest
import redis

from entropy_lab.clock import VirtualClock
from entropy_lab.errors import LabError
from entropy_lab.twin import TwinServer, fake_client
from entropy_lab.twin import fakeredis_adapter as adapter


def test_every_internal_the_adapter_uses_still_exists():
    missing = adapter.missing_internals()
    assert not missing, (f"fakeredis moved internals the twin relies on: {', '.join(missing)}. "
                         "Update entropy_lab/twin/fakeredis_adapter.py (and SUPPORTED_RANGE).")


def test_the_lab_clock_sets_the_time_every_command_judges_expiry_by():
    """fakeredis sets each database's `time` from time.time() before a command runs; the twin's
    hook sets it again from the lab clock. If fakeredis moved its assignment after the hook,
    TTLs would follow the wall clock and a virtual clock far from it would expire everything."""
    clock = VirtualClock(start=1_000.0)  # decades before the wall clock
    server = TwinServer(clock=clock)
    r = fake_client(server)
    r.set("k", "v", px=1500)
    seen = server.dbs[0].time
    assert seen == 1_000.0, (f"a command saw time {seen}, not the lab clock's 1000.0: fakeredis now sets "
                             "Database.time after the twin's run_command hook (see fakeredis_adapter.py)")
    assert server.stored(0, b"k").expireat == pytest.approx(1_001.5)
    clock.advance(1.0)
    assert r.pttl("k") == 500, "PTTL does not follow the lab clock"
    clock.advance(1.0)
    assert r.get("k") is None


def test_fakeredis_still_sets_database_time_before_running_a_command(monkeypatch):
    """The order the twin's clock depends on, seen from plain fakeredis: `time` is set in
    _process_command, before _run_command reads any key."""
    import fakeredis
    from fakeredis._socket import _base

    seen = []
    original = _base.BaseFakeSocket._run_command

    def spy(self, func, sig, args, from_script):
        seen.append(self._db.time)
        return original(self, func, sig, args, from_script)

    monkeypatch.setattr(_base.time, "time", lambda: 12_345.0)
    monkeypatch.setattr(_base.BaseFakeSocket, "_run_command", spy)
    fakeredis.FakeRedis(server=fakeredis.FakeServer()).set("k", "v")
    assert seen and set(seen) == {12_345.0}, ("fakeredis no longer sets Database.time just before running a command; "
                                "the twin's clock hook (AdaptedSocket.run_command) must move with it")


def test_the_command_table_columns_mean_what_the_twin_reads():
    table = adapter.command_table()
    get, set_ = table["get"], table["set"]
    assert "readonly" in get.flags and "denyoom" in set_.flags, "commands.json flags moved"
    assert "@string" in get.categories and set_.arity == -3, "commands.json categories or arity moved"
    assert table["config set"].name == "config|set"


def test_twin_commands_are_dispatched_to_the_twin():
    r = fake_client(TwinServer(clock=VirtualClock(), config={"maxmemory": "2mb"}))
    assert r.info("memory")["maxmemory"] == 2 * 1024 * 1024, "INFO no longer reaches the twin's handler"
    assert r.config_get("maxmemory") == {"maxmemory": str(2 * 1024 * 1024)}


def test_served_clients_get_the_client_fields_fakeredis_connections_have():
    info = adapter.served_client_info(TwinServer(), "127.0.0.1:5000", "127.0.0.1:6380", 9)
    assert {"name", "flags", "ssub", "multi", "events", "cmd", "redir", "resp"} <= set(info)
    assert (info["addr"], info["resp"], info["multi"]) == ("127.0.0.1:5000", 2, -1)


@pytest.mark.parametrize("version", ["2.39.9", "2.41.0", "3.0.0", "nonsense"])
def test_an_unsupported_fakeredis_is_refused_in_one_sentence(version):
    with pytest.raises(LabError) as info:
        adapter.check_version(version)
    message = str(info.value)
    assert "fakeredis>=2.40,<2.41" in message and version in message and "\n" not in message


def test_the_installed_fakeredis_is_supported():
    import fakeredis

    adapter.check_version(fakeredis.__version__)
    assert isinstance(fake_client(TwinServer()), redis.Redis)
