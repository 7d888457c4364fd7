"""`python -m entropy_lab doctor`: is this machine ready for the workshop?

Each line is a check with a fix; the exit code is non-zero when a check fails.
"""
from __future__ import annotations

import importlib.metadata as metadata
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

import redis

from . import backends
from .errors import LabError
from .learners import learner_id, learner_prefix
from .runtime import in_browser
from .servers import INSTALL_HINTS, redis_server_path
from .workshop_server import probe

PACKAGES = ("redis", "fakeredis", "jupyterlab", "ipywidgets", "matplotlib", "numpy")


@dataclass
class Check:
    ok: bool
    what: str
    fix: str = ""
    optional: bool = False

    def line(self) -> str:
        mark = "ok  " if self.ok else ("note" if self.optional else "FAIL")
        return f"[{mark}] {self.what}" + ("" if self.ok else f"\n       fix: {self.fix}")


def check_python() -> Check:
    version = platform.python_version()
    return Check(sys.version_info >= (3, 11), f"Python {version}", "install Python 3.11 or newer")


def check_packages(names: tuple[str, ...] = PACKAGES) -> list[Check]:
    checks = []
    for name in names:
        try:
            checks.append(Check(True, f"{name} {metadata.version(name)}"))
        except metadata.PackageNotFoundError:
            checks.append(Check(False, f"{name} is not installed", "pip install -e .  (from the repo folder)"))
    return checks


def check_backend() -> list[Check]:
    try:
        name = backends.chosen_backend()
    except LabError as exc:
        return [Check(False, "backend choice", str(exc))]
    checks = [Check(True, f"backend the notebooks will use: {name}")]
    if name == "live":
        try:
            client = backends.connect("live")
            checks.append(Check(True, f"Redis answers at {backends.mask_password(backends.redis_url())} "
                                      f"(version {backends.server_version(client)})"))
        except LabError as exc:
            checks.append(Check(False, "the Redis URL answers", str(exc)))
            return checks
        try:
            checks += check_permissions(client)
        finally:
            client.close()
    return checks


def check_permissions(client: redis.Redis) -> list[Check]:
    """What this URL may do on a shared server: one permitted and a few forbidden commands."""
    learner = learner_id(client)
    prefix = learner_prefix(learner)
    checks = [Check(True, f"learner id: {learner} (your keys and channels: {prefix}*)")]
    try:
        permitted, forbidden = probe(client, prefix)
    except redis.RedisError as exc:
        return checks + [Check(False, "trying what this URL may do", f"the server stopped answering ({exc})")]
    checks.append(Check(permitted.allowed, f"may write, read and delete its own keys ({permitted.what})",
                        f"this URL's user may not use {prefix}*: if ENTROPY_LAB_LEARNER is set, unset it "
                        "(the lab takes the learner id from the URL's user name), or ask for a new URL"))
    refused = [p.what for p in forbidden if not p.allowed]
    allowed = [p.what for p in forbidden if p.allowed]
    if not allowed:
        checks.append(Check(True, "a shared-server user: tried and refused, as it should be: " + ", ".join(refused)
                            + " (lessons that reconfigure Redis use private sandboxes)"))
    else:
        checks.append(Check(False, "this URL may also " + ", ".join(allowed)
                            + ": it is an admin or owner login, fine on your own Redis; the lab still touches "
                            f"only {prefix}*", "on a shared workshop server, ask for your learner URL", optional=True))
    return checks


def check_redis_server() -> Check:
    path = redis_server_path()
    if path is None:
        return Check(False, "redis-server on PATH (needed for private servers, sandboxes and the cluster lesson)",
                     INSTALL_HINTS, optional=True)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout.split()
    shown = next((part[2:] for part in version if part.startswith("v=")), "?")
    return Check(True, f"redis-server {shown} on PATH")


def check_widgets() -> Check:
    try:
        version = metadata.version("jupyterlab_widgets")
    except metadata.PackageNotFoundError:
        return Check(False, "JupyterLab widget extension", "pip install ipywidgets  (brings jupyterlab_widgets)")
    return Check(True, f"JupyterLab widget extension (jupyterlab_widgets {version})")


def check_jupyter() -> Check:
    found = shutil.which("jupyter-lab") or shutil.which("jupyter")
    return Check(found is not None, "jupyter lab command on PATH",
                 "pip install -e .  and make sure pip's bin folder is on PATH")


def run() -> int:
    """Print the checklist; return 0 when nothing required failed."""
    if in_browser():
        checks = [check_python(), *check_packages(tuple(n for n in PACKAGES if n != "jupyterlab")),
                  Check(True, "a browser kernel (JupyterLite): the lessons run on the embedded fake Redis; "
                              "live and private servers need a local Jupyter or Binder")]
    else:
        checks = [check_python(), *check_packages(), check_jupyter(), check_widgets(), *check_backend(),
                  check_redis_server()]
    print("Entropy Lab doctor")
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok and not c.optional]
    print("All set." if not failed else f"{len(failed)} check(s) failed: see the fixes above.")
    return 1 if failed else 0
