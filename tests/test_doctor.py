import subprocess
import sys


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
