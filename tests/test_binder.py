"""Binder: the configuration repo2docker sees, and the start script that gives the lab a real Redis.

- binder/requirements.txt is exactly what tools/sync_binder.py derives from requirements.txt.
- `repo2docker --no-build .` (no Docker needed) picks up apt.txt, runtime.txt, the requirements,
  postBuild (if any) and start.
- binder/start, run as a non-root user, leaves a Redis answering on loopback (no persistence,
  bounded memory), hands ENTROPY_LAB_REDIS_URL to the command it execs, and is quick.

Locally, a missing repo2docker or redis-server skips the test that needs it; with CI=true it fails.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
START = BINDER / "start"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NOBODY = 65534  # uid/gid of nobody/nogroup on Debian and Ubuntu


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where the tool must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)


def load_sync_binder():
    spec = importlib.util.spec_from_file_location("sync_binder", ROOT / "tools" / "sync_binder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- requirements: one source of truth

def test_binder_requirements_are_derived_from_requirements_txt():
    sync_binder = load_sync_binder()
    wanted = sync_binder.render(ROOT)
    current = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    assert current == wanted, (
        "binder/requirements.txt has drifted from requirements.txt: run `python tools/sync_binder.py` "
        "and commit the result")


def test_binder_requirements_install_the_lab_and_a_matching_notebook():
    lines = requirement_lines(BINDER / "requirements.txt")
    assert lines[0] == "-e .", "repo2docker does not install the repo when binder/ exists: `-e .` must come first"
    pins = {re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower(): line for line in lines[1:]}
    lab = re.fullmatch(r"jupyterlab==4\.(\d+)\.\d+", pins["jupyterlab"])
    assert lab, pins["jupyterlab"]
    minor = int(lab.group(1))
    # Binder's base image has notebook 7.4 (jupyterlab<4.5): without this pin the image builds but breaks.
    assert pins["notebook"] == f"notebook>=7.{minor},<7.{minor + 1}"
    assert "ipywidgets" in pins, "widgets need ipywidgets (it brings the jupyterlab_widgets extension)"
    test_only = load_sync_binder().names_in_test_extra(ROOT)
    assert not test_only & set(pins), f"test-only packages shipped to Binder: {test_only & set(pins)}"


def imported_modules() -> dict[str, set[str]]:
    """Top-level third-party modules imported by the notebooks and the package -> where."""
    import ast
    import json

    found: dict[str, set[str]] = {}

    def scan(source: str, where: str) -> None:
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "entropy_lab":
                    found.setdefault(top, set()).add(where)

    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                scan("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))),
                     notebook.name)
    for module in sorted((ROOT / "entropy_lab").rglob("*.py")):
        scan(module.read_text(encoding="utf-8"), str(module.relative_to(ROOT)))
    return found


def binder_closure() -> set[str]:
    """Every distribution Binder's requirements install (with their dependencies), by installed metadata."""
    import importlib.metadata as metadata
    import tomllib

    from packaging.requirements import Requirement

    sync_binder = load_sync_binder()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [Requirement(line) for line in requirement_lines(BINDER / "requirements.txt") if not line.startswith("-")]
    todo += [Requirement(spec) for spec in project.get("dependencies", [])]  # what `-e .` brings
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = sync_binder.normalize(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            dependency = Requirement(spec)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                todo.append(dependency)
    return seen


def test_everything_the_notebooks_import_is_installed_on_binder():
    import importlib.metadata as metadata

    normalize = load_sync_binder().normalize
    providers = metadata.packages_distributions()
    installed = binder_closure()
    missing = {}
    for module, where in sorted(imported_modules().items()):
        dists = {normalize(dist) for dist in providers.get(module, [])}
        if not dists & installed:
            missing[module] = sorted(where)
    assert not missing, (
        f"imported but not installed by binder/requirements.txt (add the package to the runtime part of "
        f"requirements.txt, then run tools/sync_binder.py): {missing}")


def test_runtime_txt_asks_for_a_supported_python():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime in ("python-3.11", "python-3.12"), runtime  # without it Binder gives 3.10


def test_apt_txt_installs_redis_server():
    assert "redis-server" in requirement_lines(BINDER / "apt.txt")


def test_start_is_executable_and_ends_with_exec():
    mode = START.stat().st_mode
    assert mode & stat.S_IXUSR and mode & stat.S_IXOTH, "binder/start must be executable (git mode 100755)"
    code = [line.strip() for line in START.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]
    assert code[-1] == 'exec "$@"', f"binder/start must end with exec \"$@\", ends with {code[-1]!r}"
    subprocess.run(["bash", "-n", str(START)], check=True)


# ---------------------------------------------------------------- repo2docker renders the Dockerfile

def test_repo2docker_picks_up_the_binder_folder():
    if importlib.util.find_spec("repo2docker") is None:
        skip_or_fail("jupyter-repo2docker is not installed (pip install jupyter-repo2docker)")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", str(ROOT)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    dockerfile, log = result.stdout, result.stderr
    print(f"repo2docker --no-build rendered {len(dockerfile.splitlines())} lines "
          f"in {time.monotonic() - started:.1f} s")

    version = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip().removeprefix("python-")
    assert f"conda environment for python={version}" in log, f"runtime.txt (Python {version}) was not picked up"

    apt_install = re.search(r"apt-get install --yes --no-install-recommends ([^&]*)&&", dockerfile)
    assert apt_install, "apt.txt was not picked up"
    for package in requirement_lines(BINDER / "apt.txt"):
        assert package in apt_install.group(1).split(), f"apt.txt package {package} is not installed"

    assert "src/binder/requirements.txt" in dockerfile
    assert re.search(r'pip install --no-cache-dir -r "binder/requirements.txt"', dockerfile), \
        "binder/requirements.txt is not pip-installed"

    post_build = BINDER / "postBuild"
    if post_build.exists():
        assert "binder/postBuild" in dockerfile, "binder/postBuild exists but is not run"
    else:
        assert "binder/postBuild" not in dockerfile

    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile, "binder/start is not the entrypoint"


# ---------------------------------------------------------------- binder/start, for real

@pytest.fixture
def open_dir():
    """A temporary folder a non-root user can read (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="entropy-lab-binder-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_start(folder: Path, child: list[str], port: int, path: str | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run a copy of binder/start (world-readable) as a non-root user; returns (result, seconds)."""
    script = folder / "start"
    shutil.copy(START, script)
    script.chmod(0o755)
    env = {key: value for key, value in os.environ.items()
           if key not in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "ENTROPY_LAB_BACKEND")}
    env["ENTROPY_LAB_REDIS_PORT"] = str(port)
    if path is not None:
        env["PATH"] = path
    command = ["/bin/bash", str(script), *child]
    if os.geteuid() == 0:  # as root (CI): drop to nobody, like Binder's notebook user
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run binder/start as a non-root user"
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *command]
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, cwd=folder)
    return result, time.monotonic() - started


def stop_redis(pid: int, port: int) -> None:
    """Stop the Redis binder/start launched, by pid, and remove its log."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
    Path(f"/tmp/entropy-lab-redis-{port}.log").unlink(missing_ok=True)


def owner_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


@pytest.fixture
def redis_server_binary():
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")


CHILD = ["/bin/sh", "-c", 'echo "url=$ENTROPY_LAB_REDIS_URL"; echo "uid=$(id -u)"']


def parse_child(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def test_start_runs_redis_as_non_root_and_hands_the_url_to_the_child(open_dir, redis_server_binary, monkeypatch):
    port = free_port()
    result, seconds = run_start(open_dir, CHILD, port)
    assert result.returncode == 0, result.stderr
    seen = parse_child(result.stdout)
    assert seen.get("url") == f"redis://127.0.0.1:{port}/0", (result.stdout, result.stderr)
    client = redis.Redis.from_url(seen["url"], decode_responses=True, socket_timeout=2)
    pid = int(client.info("server")["process_id"])
    try:
        print(f"binder/start took {seconds:.2f} s as uid {seen['uid']}; Redis pid {pid} on port {port}")
        assert client.ping()
        assert int(seen["uid"]) != 0 and owner_uid(pid) != 0, "start and Redis must work as a non-root user"
        config = client.config_get("*")
        assert config["save"] == "" and config["appendonly"] == "no", "Binder's Redis must keep nothing on disk"
        assert config["bind"] == "127.0.0.1"
        assert 64 * 2**20 <= int(config["maxmemory"]) <= 512 * 2**20, "maxmemory must fit a 1-2 GB Binder pod"
        assert seconds < 3, f"binder/start must be quick (took {seconds:.1f} s)"

        # The lab picks the URL up by itself: connect() with no argument talks to this Redis.
        import entropy_lab

        monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", seen["url"])
        monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
        lab = entropy_lab.connect()
        assert entropy_lab.backend_of(lab) == "live"
        assert int(lab.info("server")["process_id"]) == pid
        lab.close()
    finally:
        client.close()
        stop_redis(pid, port)
    assert not Path(f"/proc/{pid}").exists()


def test_start_moves_on_when_the_port_is_taken(open_dir, redis_server_binary):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result, _ = run_start(open_dir, CHILD, taken)
    assert result.returncode == 0, result.stderr
    url = parse_child(result.stdout).get("url", "")
    match = re.fullmatch(r"redis://127\.0\.0\.1:(\d+)/0", url)
    assert match and int(match.group(1)) != taken, (result.stdout, result.stderr)
    port = int(match.group(1))
    client = redis.Redis(port=port, socket_timeout=2)
    pid = int(client.info("server")["process_id"])
    try:
        assert client.ping()
    finally:
        client.close()
        stop_redis(pid, port)


def test_start_still_execs_without_redis_server(open_dir):
    empty = open_dir / "bin"
    empty.mkdir()
    result, seconds = run_start(open_dir, ["/bin/sh", "-c", 'echo "url=[$ENTROPY_LAB_REDIS_URL]"'],
                                free_port(), path=str(empty))
    assert result.returncode == 0, result.stderr
    assert "url=[]" in result.stdout, "without redis-server the lab must fall back to the fake (no URL)"
    assert "fake" in result.stderr
    assert seconds < 3


# ---------------------------------------------------------------- the README's launch link

def test_readme_binder_badge_opens_notebook_00():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", readme)
    if not links:
        pytest.skip("README.md has no launch-binder badge yet")
    from urllib.parse import parse_qs, unquote, urlsplit

    for link in links:
        query = parse_qs(urlsplit(link).query)
        target = unquote(query.get("urlpath", query.get("labpath", [""]))[0])
        notebook = target.removeprefix("lab/tree/")
        assert notebook.endswith(".ipynb") and (ROOT / notebook).exists(), f"{link} opens {target!r}, not a notebook"
        assert Path(notebook).name.startswith("00_"), f"the badge should open notebook 00, not {notebook}"
        assert notebook.startswith("workshop/learner/"), f"the badge must open the learner copy, not {notebook}"


def test_every_link_a_learner_is_given_opens_a_learner_copy():
    """The quick start and BEFORE.md open workshop/learner/ (no solutions); notebooks/ is for after."""
    for page in ("README.md", "workshop/BEFORE.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        opened = re.findall(r"jupyter lab (\S+\.ipynb)", text) + re.findall(r"lab/tree/(\S+?\.ipynb)", text)
        assert opened, f"{page} opens no notebook"
        assert all(p.startswith("workshop/learner/") for p in opened), f"{page} opens {opened}"
