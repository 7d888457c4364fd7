"""Driving `redis-cli --cluster`: where the binary is, and its failures as one LabError sentence."""
from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

from ..errors import LabError
from ..servers import require_redis_server


def require_redis_cli() -> str:
    path = shutil.which("redis-cli")
    if path is None:
        require_redis_server()  # the same install hint: both come in one package
        raise LabError("This needs `redis-cli` on PATH (it ships with redis-server): install the redis package.")
    return path


def cli_argv(*args: str) -> list[str]:
    return [require_redis_cli(), "--cluster", *args]


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check_cli_output(args: Sequence[str], returncode: int, output: str) -> None:
    """Raise a LabError with redis-cli's own error line when it failed."""
    lines = [ANSI.sub("", line).strip() for line in output.splitlines()]
    errors = [line for line in lines if line.startswith(("***", "[ERR]")) or line.startswith("ERR ")
              or "replied with error" in line]
    if returncode != 0 or errors:
        detail = (errors or [line for line in lines if line] or ["no output"])[-1]
        raise LabError(f"redis-cli --cluster {args[0]} failed: {detail}")
