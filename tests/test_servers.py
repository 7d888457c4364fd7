"""Private servers never outlive the process that started them."""
import os
import signal
import subprocess
import sys
import time

import pytest

from entropy_lab import backends
from tests.conftest import need_redis_server

STARTER = """
import sys, time
import entropy_lab as lab
from entropy_lab.backends import owner_of
r = lab.connect("server")
print(owner_of(r).server.pid, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):  # gone, or reaped between the two calls
        return False


def owner_of(folder: str) -> str | None:
    """The owner.pid of a server's working folder; None once it is gone (any process may sweep it)."""
    try:
        with open(f"{folder}/owner.pid") as owner:
            return owner.read()
    except OSError:
        return None


@pytest.mark.redis_server
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_killed_kernel_leaves_no_redis_server():
    need_redis_server()
    starter = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    server_pid = int(starter.stdout.readline())
    assert alive(server_pid)
    starter.send_signal(signal.SIGKILL)  # what a kernel restart does
    starter.wait()
    deadline = time.monotonic() + 5
    while alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(server_pid)
    # its working folder is swept by the next process that starts a server
    from entropy_lab.servers import RedisServer, WORKDIR_PREFIX
    import glob, tempfile
    with RedisServer.start():
        leftovers = [d for d in glob.glob(f"{tempfile.gettempdir()}/{WORKDIR_PREFIX}*")
                     if owner_of(d) == str(starter.pid)]
    assert leftovers == []


@pytest.mark.redis_server
def test_clean_exit_stops_the_server():
    need_redis_server()
    script = STARTER.replace("time.sleep(60)", "")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    pid = int(result.stdout.split()[0])
    time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}") or not alive(pid)


@pytest.mark.redis_server
def test_a_port_taken_before_redis_binds_it_is_retried_on_another(monkeypatch):
    import socket

    from entropy_lab import servers

    need_redis_server()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()  # answers nothing, like a port another program grabbed first
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    real_free_port = servers.free_port
    monkeypatch.setattr(servers, "free_port", lambda: next(ports, None) or real_free_port())
    try:
        with servers.RedisServer.start() as server:
            assert server.port != taken and server.client().ping()
    finally:
        squatter.close()


@pytest.mark.redis_server
def test_a_server_that_refuses_its_config_says_why():
    from entropy_lab.errors import LabError
    from entropy_lab.servers import RedisServer

    need_redis_server()
    with pytest.raises(LabError, match="must be one of the following: volatile-lru"):
        RedisServer.start({"maxmemory-policy": "allkeys-lur"})


THREAD_STARTER = """
import threading, time
import entropy_lab as lab
from entropy_lab.backends import owner_of
box = {}
worker = threading.Thread(target=lambda: box.update(r=lab.connect("server")))
worker.start()
worker.join()  # the thread that started the server is gone
time.sleep(0.5)
print(owner_of(box["r"]).server.pid, box["r"].ping(), flush=True)
time.sleep(60)
"""


@pytest.mark.redis_server
def test_a_server_started_from_a_worker_thread_outlives_the_thread():
    """Linux's parent-death signal follows the THREAD that forked, not the process."""
    import threading

    import entropy_lab as lab

    need_redis_server()
    box = {}
    worker = threading.Thread(target=lambda: box.update(r=lab.connect("server")))
    worker.start()
    worker.join()
    time.sleep(0.3)
    try:
        assert box["r"].ping()
        assert box["r"].set("k", "v") and box["r"].get("k") == "v"
    finally:
        lab.close(box["r"])
    assert not backends.owner_of(box["r"]).server.running


@pytest.mark.redis_server
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_a_server_started_from_a_worker_thread_still_dies_with_its_process():
    need_redis_server()
    starter = subprocess.Popen([sys.executable, "-c", THREAD_STARTER], stdout=subprocess.PIPE, text=True)
    pid, answered = starter.stdout.readline().split()
    assert answered == "True" and alive(int(pid))
    starter.send_signal(signal.SIGKILL)
    starter.wait()
    deadline = time.monotonic() + 5
    while alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(int(pid))


@pytest.mark.redis_server
def test_a_chosen_port_that_is_taken_is_one_sentence():
    import socket

    from entropy_lab.errors import LabError
    from entropy_lab.servers import RedisServer

    need_redis_server()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        with pytest.raises(LabError, match=f"Port {squatter.getsockname()[1]} is taken"):
            RedisServer.start(port=squatter.getsockname()[1])


@pytest.mark.redis_server
def test_a_server_that_stops_answering_fails_a_call_once_within_its_timeout():
    """A stopped (SIGSTOP) server: the lab's clients give up after their timeout, without
    redis-py's default three retries with backoff (which took 14.6 s for a 1 s timeout)."""
    import redis

    from entropy_lab.backends.live import LiveBackend
    from entropy_lab.servers import RedisServer

    need_redis_server()
    server = RedisServer.start()
    try:
        sandbox = server.client(socket_timeout=0.5)
        live = LiveBackend(f"redis://127.0.0.1:{server.port}/0").client(socket_timeout=0.5)
        for client in (sandbox, live):
            client.ping()
        os.kill(server.process.pid, signal.SIGSTOP)
        for client in (sandbox, live):
            started = time.monotonic()
            with pytest.raises(redis.TimeoutError):
                client.get("entropy-lab:k")
            assert time.monotonic() - started < 1.5
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()
