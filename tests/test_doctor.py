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
