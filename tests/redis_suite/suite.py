"""Glue for running Redis 7.0's own TCL test suite against an external server (real or twin).

Nothing of Redis's source is committed: `fetch()` downloads Debian's source package of redis
(7.0.15, which holds upstream's `tests/` and `runtest`) into a cache directory outside the
repository, with a private sources list and private package lists so the system's apt state is
untouched. `prepare()` makes a runner copy with three changes for external-server runs:
- `r function flush` at each server start is wrapped in `catch` (the twin has no FUNCTION);
- `external:skip` is removed from unit/maxmemory and unit/info, so those units run at all;
- src/redis-server and src/redis-cli link to the installed binaries (some helpers call them).

Usage from a shell (what .ci/run does):
    python tests/redis_suite/suite.py fetch
    python tests/redis_suite/suite.py run --target twin   # or real, fakeredis
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

VERSION = "7.0.15"
UNITS = ("unit/expire", "unit/maxmemory", "unit/info", "unit/pubsub", "unit/type/string",
         "unit/type/incr", "unit/keyspace", "unit/info-command", "unit/scan")
UNIT_TIMEOUT = 120  # seconds per unit, a hang fails the unit instead of the whole run
EXTERNAL_SKIP_REMOVED = ("unit/maxmemory", "unit/info")

SOURCES = """\
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
"""


def cache_dir() -> str:
    base = os.environ.get("ENTROPY_LAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "entropy-lab")
    return os.path.join(base, f"redis-{VERSION}-tests")


def source_dir() -> str:
    return os.path.join(cache_dir(), f"redis-{VERSION}")


def runner_dir() -> str:
    return os.path.join(cache_dir(), "runner")


def have_source() -> bool:
    return os.path.isfile(os.path.join(source_dir(), "tests", "test_helper.tcl"))


def fetch() -> str:
    """Download and unpack the source package once (idempotent). Returns the source dir."""
    if have_source():
        return source_dir()
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        sources = os.path.join(tmp, "sources.list")
        with open(sources, "w") as f:
            f.write(SOURCES)
        lists = os.path.join(tmp, "lists")
        os.makedirs(os.path.join(lists, "partial"))
        opts = ["-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
                "-o", f"Dir::State::Lists={lists}", "-o", "APT::Sandbox::User=root"]
        subprocess.run(["apt-get", *opts, "update", "-qq"], check=True, cwd=tmp)
        subprocess.run(["apt-get", *opts, "source", "--download-only", f"redis={_debian_version(opts, tmp)}"],
                       check=True, cwd=tmp, stdout=subprocess.DEVNULL)
        tarball = glob.glob(os.path.join(tmp, f"redis_{VERSION}.orig.tar.gz"))
        if not tarball:
            raise RuntimeError(f"the source package has no redis_{VERSION}.orig.tar.gz")
        subprocess.run(["tar", "xzf", tarball[0], "-C", tmp], check=True)
        shutil.rmtree(source_dir(), ignore_errors=True)
        os.rename(os.path.join(tmp, f"redis-{VERSION}"), source_dir())
    return source_dir()


def _debian_version(opts: list[str], cwd: str) -> str:
    out = subprocess.run(["apt-cache", *opts, "showsrc", "redis"], capture_output=True, text=True,
                         cwd=cwd).stdout
    versions = re.findall(r"^Version: (\S+)$", out, re.M)
    matching = [v for v in versions if f":{VERSION}-" in v or v.startswith(f"{VERSION}-")]
    if not matching:
        raise RuntimeError(f"no redis {VERSION} source package in the Debian archive (found {versions})")
    return matching[-1]


def prepare() -> str:
    """A patched runner copy of the source's tests (rebuilt when missing)."""
    src = fetch() if not have_source() else source_dir()
    dst = runner_dir()
    stamp = os.path.join(dst, ".prepared")
    if os.path.exists(stamp):
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(os.path.join(dst, "src"))
    shutil.copytree(os.path.join(src, "tests"), os.path.join(dst, "tests"))
    shutil.copy(os.path.join(src, "runtest"), dst)
    for binary in ("redis-server", "redis-cli", "redis-benchmark"):
        path = shutil.which(binary)
        if path:
            os.symlink(path, os.path.join(dst, "src", binary))
    server_tcl = os.path.join(dst, "tests", "support", "server.tcl")
    _replace(server_tcl, "    r function flush\n", "    catch {r function flush}\n")
    for unit in EXTERNAL_SKIP_REMOVED:
        path = os.path.join(dst, "tests", unit + ".tcl")
        with open(path) as f:
            text = f.read()
        text = text.replace(' "external:skip"', "").replace(" external:skip", "")
        with open(path, "w") as f:
            f.write(text)
    open(stamp, "w").close()
    return dst


def _replace(path: str, old: str, new: str) -> None:
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise RuntimeError(f"{path} no longer contains {old!r}")
    with open(path, "w") as f:
        f.write(text.replace(old, new))


@dataclass
class UnitResult:
    unit: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0
    output: str = ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"^\[(ok|err|exception)\]: (.*?)(?: \(\d+ ms\))?(?: in tests/.*)?$")


def run_unit(unit: str, port: int, timeout: float = UNIT_TIMEOUT, host: str = "127.0.0.1") -> UnitResult:
    """Run one unit against host:port; a unit that exceeds `timeout` is killed (timed_out)."""
    tclsh = shutil.which("tclsh")
    if tclsh is None:
        raise RuntimeError("tclsh is not installed (apt-get install tcl)")
    root = prepare()
    result = UnitResult(unit)
    argv = [tclsh, "tests/test_helper.tcl", "--host", host, "--port", str(port), "--singledb",
            "--durable", "--clients", "1", "--single", unit, "--timeout", str(int(timeout))]
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        result.timed_out = True
    result.seconds = time.monotonic() - start
    result.output = out
    for line in _ANSI.sub("", out).splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        (result.passed if m.group(1) == "ok" else result.failed).append(m.group(2).strip())
    return result


def _serve_target(target: str):
    """(port, stop) for a fresh server of the given kind."""
    if target == "real":
        sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
        from entropy_lab.servers import RedisServer
        server = RedisServer.start(config={"enable-debug-command": "yes"})
        return server.port, server.stop
    if target == "twin":
        sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
        from entropy_lab.twin import serve
        server = serve.start(port=0)
        return server.port, lambda: (server.shutdown(), server.server_close())
    if target == "fakeredis":
        import threading

        from fakeredis import TcpFakeServer
        server = TcpFakeServer(("127.0.0.1", 0), server_version=(7, 0))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server.server_address[1], lambda: (server.shutdown(), server.server_close())
    raise ValueError(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch")
    run = sub.add_parser("run")
    run.add_argument("--target", choices=("real", "twin", "fakeredis"), default="twin")
    run.add_argument("--unit", action="append")
    run.add_argument("--verbose", action="store_true")
    run.add_argument("--timeout", type=float, default=UNIT_TIMEOUT, help="seconds per unit")
    args = parser.parse_args(argv)
    if args.cmd == "fetch":
        print(fetch())
        return 0
    print(f"{'unit':22} passed failed  seconds")
    for unit in args.unit or UNITS:
        port, stop = _serve_target(args.target)
        try:
            res = run_unit(unit, port, timeout=args.timeout)
        finally:
            stop()
        print(f"{unit:22} {len(res.passed):6} {len(res.failed):6} {res.seconds:8.1f}"
              + ("  TIMEOUT" if res.timed_out else ""), flush=True)
        if args.verbose:
            for name in res.failed:
                print(f"    FAIL {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
