import subprocess
import sys

import pytest


def run_doctor(env):
    return subprocess.run([sys.executable, "-m", "entropy_lab", "doctor"], capture_output=True, text=True,
                          env=env, timeout=30)


def test_doctor_passes_in_fake_mode(monkeypatch):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "ENTROPY_LAB_BACKEND")}
    result = run_doctor(env)
    assert result.returncode == 0, result.stdout
    assert "backend the notebooks will use: fake" in result.stdout


def test_doctor_fails_with_a_fix_for_a_dead_url():
    import os
    env = dict(os.environ, ENTROPY_LAB_REDIS_URL="redis://:pw@127.0.0.1:1/0")
    env.pop("ENTROPY_LAB_BACKEND", None)
    result = run_doctor(env)
    assert result.returncode == 1
    assert "fix:" in result.stdout and "pw@" not in result.stdout


def test_doctor_on_a_workshop_url_says_what_the_learner_may_do():
    import os

    from entropy_lab import workshop_server as ws
    from tests.conftest import need_redis_server

    need_redis_server()
    room = ws.start_private(["ada"])
    try:
        env = dict(os.environ, ENTROPY_LAB_REDIS_URL=room.seats[0].url)
        env.pop("ENTROPY_LAB_BACKEND", None)
        env.pop("ENTROPY_LAB_LEARNER", None)
        result = run_doctor(env)
        assert result.returncode == 0, result.stdout
        assert "learner id: ada (your keys and channels: entropy-lab:ada:*)" in result.stdout
        assert "[ok  ] may write, read and delete its own keys" in result.stdout
        assert "refused, as it should be: read keys outside your prefix, run FLUSHALL, run CONFIG SET" in result.stdout
        password = room.seats[0].url.split(":")[2].split("@")[0]
        assert password not in result.stdout

        env["ENTROPY_LAB_LEARNER"] = "bob"  # not this URL's user: every key would be refused
        result = run_doctor(env)
        assert result.returncode == 1 and "unset it" in result.stdout

        env = dict(env, ENTROPY_LAB_REDIS_URL=room.admin_url)
        env.pop("ENTROPY_LAB_LEARNER")
        result = run_doctor(env)
        assert result.returncode == 0 and "[note] this URL may also" in result.stdout
    finally:
        room.stop()


def test_in_a_browser_kernel_the_doctor_and_connect_say_what_works(monkeypatch, capsys):
    """JupyterLite's kernel (sys.platform emscripten): fake works, live and server get one sentence."""
    import sys

    import entropy_lab as lab
    from entropy_lab import doctor
    from entropy_lab.errors import LabError

    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.delenv("ENTROPY_LAB_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_BACKEND", "fake")
    assert doctor.run() == 0
    out = capsys.readouterr().out
    assert "browser kernel" in out and "redis-server" not in out and "jupyterlab" not in out
    for backend in ("live", "server"):
        with pytest.raises(LabError, match="needs a local Jupyter or Binder") as info:
            lab.connect(backend)
        assert "\n" not in str(info.value)
    client = lab.connect("fake")
    assert client.ping()
    lab.close(client)
