"""One Redis for the whole room: an ACL user per learner, allowed only their own keys.

`python -m entropy_lab workshop-server --learners 40` starts a private redis-server (or, with
`--url`, configures a server the instructor owns), creates users `learner01` ... `learner40`,
each with a generated password and the rules of `acl_rules`, and writes one URL per learner
to a file. A learner sets ENTROPY_LAB_REDIS_URL to their line's URL; the lab reads the learner
id from the URL's user name, so their keys live under `entropy-lab:learner07:*`.

What a learner may do (Redis 7.0 ACL rules, see `acl_rules`):
- keys `~entropy-lab:<learner>:*` and pub/sub channels `&entropy-lab:<learner>:*` (plus
  `__redis__:invalidate`, the channel CLIENT TRACKING redirects to);
- every command in `+@all` minus `-@dangerous` (FLUSHALL, FLUSHDB, CONFIG, KEYS, DEBUG,
  SHUTDOWN, MONITOR, ACL SETUSER/LIST..., CLIENT KILL/LIST, SORT, SWAPDB, MIGRATE...), with INFO
  added back (the monitoring lesson reads it) and SELECT, RANDOMKEY, SCRIPT FLUSH/KILL and
  FUNCTION taken away (they reach other learners' databases, key names or scripts).
Not filtered by ACLs (Redis 7.0 behaviour): SCAN and DBSIZE see the whole keyspace (a learner
sees other learners' key NAMES in SCAN without MATCH, never their values), and INFO's counters
(hits, misses, evictions, expired keys, memory) are server-wide, summed over the room.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import redis

from .errors import LabError
from .namespaces import ROOT, learner_prefix, validate_learner
from .servers import fail_fast

DEFAULT_FILE = "workshop-learners.txt"
ADMIN_FILE_SUFFIX = ".admin"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# Taken away after +@all -@dangerous: they reach beyond one learner's keys.
_EXTRA_DENIED = ("-select", "-randomkey", "-swapdb", "-script|flush", "-script|kill", "-function",
                 "-pubsub|channels", "-pubsub|shardchannels")


def acl_rules(learner: str, password: str) -> list[str]:
    """The ACL SETUSER rules of one learner (after `reset`: nothing is allowed unless listed)."""
    prefix = learner_prefix(learner)
    if not password or any(c.isspace() for c in password):
        raise LabError("A learner password is a non-empty word without spaces.")
    return ["reset", "on", f">{password}", f"~{prefix}*", f"&{prefix}*", "&__redis__:invalidate",
            "+@all", "-@dangerous", "+info", *_EXTRA_DENIED]


def learner_names(count: int, names: list[str] | None = None, stem: str = "learner") -> list[str]:
    """`names` (validated, no duplicates) or learner01..learnerNN."""
    if names:
        chosen = [validate_learner(n.strip(), "a learner name") for n in names if n.strip()]
        if "default" in chosen:
            raise LabError("'default' is Redis's own admin user, not a learner name: choose another.")
        if len(set(chosen)) != len(chosen):
            raise LabError("Two learners have the same name: every learner needs their own.")
        return chosen
    if not 1 <= count <= 999:
        raise LabError(f"--learners {count}: choose between 1 and 999 learners.")
    width = max(2, len(str(count)))
    return [validate_learner(f"{stem}{i:0{width}d}", "a learner name") for i in range(1, count + 1)]


def new_password() -> str:
    """A generated password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


@dataclass
class Seat:
    learner: str
    url: str


def learner_url(learner: str, password: str, host: str, port: int, db: int = 0, scheme: str = "redis") -> str:
    host_part = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{learner}:{password}@{host_part}:{port}/{db}"


def create_learners(admin: redis.Redis, learners: list[str], host: str, port: int, db: int = 0,
                    scheme: str = "redis") -> list[Seat]:
    """ACL SETUSER each learner (an existing user of that name is replaced); their URLs."""
    seats = []
    for learner in learners:
        password = new_password()
        try:
            admin.execute_command("ACL", "SETUSER", learner, *acl_rules(learner, password))
        except redis.ResponseError as exc:  # e.g. Redis 6 does not know FUNCTION or shard channels
            raise LabError(f"The server refused the rules of {learner!r} ({exc}): the workshop server needs "
                           "Redis 7.0 or newer.") from None
        seats.append(Seat(learner, learner_url(learner, password, host, port, db, scheme)))
    return seats


def remove_learners(admin: redis.Redis, learners: list[str]) -> int:
    """ACL DELUSER the learners (their keys stay: the instructor decides about data)."""
    return int(admin.execute_command("ACL", "DELUSER", *learners)) if learners else 0


def write_seats(path: str, seats: list[Seat], where: str) -> None:
    """One `learner URL` line per learner, readable only by the instructor (mode 0600)."""
    lines = [f"# Entropy Lab workshop: one line per learner ({len(seats)}). Give each learner ONE line.",
             f"# Server: {where}",
             "# A learner runs:  export ENTROPY_LAB_REDIS_URL='<their URL>'   then   python -m entropy_lab doctor",
             "# (or, in a notebook before lab.connect():  %env ENTROPY_LAB_REDIS_URL=<their URL>)"]
    lines += [f"{seat.learner} {seat.url}" for seat in seats]
    _write_private(path, "\n".join(lines) + "\n")


def _check_out(path: str) -> None:
    """--out must name a file in an existing folder: checked before a server starts or users change."""
    if os.path.isdir(path):
        raise LabError(f"--out {path} is a folder: give a file name, e.g. {os.path.join(path, 'room.txt')}.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LabError(f"--out: there is no folder {folder} to write {os.path.basename(path)} in.")


def _write_private(path: str, text: str) -> None:
    """Write `text` to `path`, readable and writable by this user only (an old file's mode too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def read_seats(path: str) -> list[Seat]:
    """The seats of a file written by `write_seats`."""
    with open(path) as handle:
        return [Seat(*line.split(None, 1)) for line in (raw.strip() for raw in handle)
                if line and not line.startswith("#")]


# ------------------------------------------------------------------ what a URL may do

@dataclass
class Probe:
    what: str
    allowed: bool
    detail: str = ""


def _try(what: str, call: Any) -> Probe:
    try:
        call()
    except redis.exceptions.NoPermissionError as exc:
        return Probe(what, False, str(exc).split(":")[0])
    except redis.ResponseError as exc:  # refused for another reason (syntax): the ACL let it through
        return Probe(what, True, str(exc)[:60])
    return Probe(what, True)


def probe(client: redis.Redis, prefix: str) -> tuple[Probe, list[Probe]]:
    """What this client may do: one permitted round trip under `prefix` (SET, GET, UNLINK), and
    commands a workshop user must NOT be able to run, tried so that nothing changes even where
    they are allowed: GET of a key outside the prefix, FLUSHALL and CONFIG SET with an invalid
    argument (refused by syntax, after the ACL check)."""
    key = f"{prefix}doctor:{secrets.token_hex(4)}"

    def round_trip() -> None:
        client.set(key, "1", px=10_000)
        if client.get(key) != "1":
            raise redis.ResponseError("the value written did not come back")
        client.unlink(key)

    permitted = _try(f"SET/GET/UNLINK under {prefix}*", round_trip)
    outside = f"{ROOT}-doctor-probe:{secrets.token_hex(4)}"
    forbidden = [
        _try("read keys outside your prefix", lambda: client.get(outside)),
        _try("run FLUSHALL", lambda: client.execute_command("FLUSHALL", "ENTROPY-LAB-NOT-AN-OPTION")),
        _try("run CONFIG SET", lambda: client.execute_command("CONFIG", "SET", "entropy-lab-not-an-option", "1")),
    ]
    return permitted, forbidden


# ------------------------------------------------------------------ command line

def _default_host(bind: str) -> str:
    addresses = bind.split()
    specific = [a for a in addresses if a not in ("0.0.0.0", "*", "::", "-::*") and a not in LOOPBACK]
    if specific:
        return specific[0]
    if all(a in LOOPBACK for a in addresses):
        return "127.0.0.1"
    return socket.gethostname()


def _admin_from_url(url: str) -> redis.Redis:
    from .backends import mask_password
    from .backends.live import connection_problem
    try:
        admin = redis.Redis.from_url(url, decode_responses=True, **fail_fast(connect=3, reply=10))
        admin.ping()
        admin.execute_command("ACL", "WHOAMI")
        admin.execute_command("ACL", "USERS")
    except redis.exceptions.NoPermissionError:
        raise LabError(f"The user in {mask_password(url)} may not manage ACL users: use an admin URL.") from None
    except (ValueError, redis.RedisError, OSError) as exc:
        raise LabError(connection_problem(exc, url, "--url", "or leave --url out to start a private server.")) from None
    return admin


def _warn_open_default_user(admin: redis.Redis) -> str | None:
    try:
        info = admin.execute_command("ACL", "GETUSER", "default")
    except redis.RedisError:
        return None
    fields = dict(zip(info[::2], info[1::2])) if isinstance(info, list) else info
    flags = fields.get("flags", [])
    if "on" in flags and "nopass" in flags:
        return ("WARNING: this server's 'default' user needs no password, so anyone who reaches it bypasses "
                "the learners' ACLs. Set one: ACL SETUSER default >SOME-PASSWORD (and update your own URL).")
    return None


@dataclass
class Room:
    """A private workshop server, its learners' seats and the instructor's admin URL."""
    server: Any
    seats: list[Seat]
    admin_url: str
    bind: str
    host: str

    def stop(self) -> None:
        self.server.stop()


def start_private(learners: list[str], port: int | None = None, bind: str = "127.0.0.1",
                  host: str | None = None, maxmemory: str = "") -> Room:
    """Start a private redis-server for the room (dies with this process), protect the
    'default' user with a generated admin password, and create one ACL user per learner."""
    from .servers import RedisServer

    if not any(a in bind.split() for a in ("127.0.0.1", "0.0.0.0", "*")):
        bind += " 127.0.0.1"  # the lab checks that its own server is up over loopback
    config = {"maxmemory": maxmemory} if maxmemory else {}
    # protected-mode (the default) refuses other machines until the default user has a password
    server = RedisServer.start(config, port=port, bind=bind)
    admin_password = new_password()
    setup = server.client()
    setup.execute_command("ACL", "SETUSER", "default", "on", "resetpass", f">{admin_password}")
    setup.close()
    admin = server.client(password=admin_password)
    host = host or _default_host(bind)
    seats = create_learners(admin, learners, host, server.port)
    admin.close()
    return Room(server, seats, learner_url("default", admin_password, host, server.port), bind, host)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m entropy_lab workshop-server",
        description="One Redis for the room: an ACL user per learner, allowed only their own keys.")
    parser.add_argument("--learners", type=int, default=20, help="how many learner users (default 20)")
    parser.add_argument("--names", help="comma-separated learner names instead of learner01..NN")
    parser.add_argument("--out", default=DEFAULT_FILE, help=f"file for the learners' URLs (default {DEFAULT_FILE})")
    parser.add_argument("--url", help="configure this server you own (an admin URL) instead of starting one")
    parser.add_argument("--remove", action="store_true", help="with --url: delete the learner users again")
    parser.add_argument("--port", type=int, help="port of the private server (default: a free one)")
    parser.add_argument("--bind", default="127.0.0.1",
                        help="where the private server listens; '0.0.0.0' for the room's network (default loopback)")
    parser.add_argument("--host", help="host name or IP the learners' URLs use (default: from --bind)")
    parser.add_argument("--maxmemory", default="", help="memory limit of the private server, e.g. 1gb (default none)")
    return parser


def main(argv: list[str] | None = None, wait: bool = True) -> int:
    from .backends import mask_password

    args = build_parser().parse_args(argv)
    try:
        _check_out(args.out)
        learners = learner_names(args.learners, args.names.split(",") if args.names else None)
        if args.url:
            admin = _admin_from_url(args.url)
            kwargs = admin.connection_pool.connection_kwargs
            where = f"your server at {mask_password(args.url)}"
            if args.remove:
                removed = remove_learners(admin, learners)
                print(f"Removed {removed} learner user(s) from {where}; their keys were left alone.")
                return 0
            host = args.host or kwargs.get("host", "127.0.0.1")
            seats = create_learners(admin, learners, host, int(kwargs.get("port", 6379)), int(kwargs.get("db", 0)),
                                    "rediss" if args.url.startswith("rediss:") else "redis")
            write_seats(args.out, seats, where)
            print(f"Configured {where}: created {len(seats)} ACL users ({learners[0]} ... {learners[-1]}); "
                  "an existing user of the same name was replaced; nothing else changed.")
            warning = _warn_open_default_user(admin)
            if warning:
                print(warning)
            print(f"One URL per learner: {os.path.abspath(args.out)}  (remove the users later with --remove)")
            return 0
        room = start_private(learners, port=args.port, bind=args.bind, host=args.host, maxmemory=args.maxmemory)
        server, seats, bind, host = room.server, room.seats, room.bind, room.host
        where = f"a private redis-server on port {server.port}, listening on {bind}"
        write_seats(args.out, seats, where)
        admin_path = args.out + ADMIN_FILE_SUFFIX
        _write_private(admin_path, room.admin_url + "\n")
    except LabError as exc:
        print(f"workshop-server: {exc}", file=sys.stderr)
        return 2
    print(f"Started {where} with {len(seats)} learner users ({learners[0]} ... {learners[-1]}).")
    print(f"One URL per learner: {os.path.abspath(args.out)}")
    print(f"Your admin URL (keep it to yourself): {os.path.abspath(admin_path)}")
    if host not in LOOPBACK and args.host is None:
        print(f"Note: the URLs use the host name {host!r}; pass --host <this machine's IP> if learners cannot resolve it.")
    if not wait:
        return 0
    print("Press Ctrl-C to stop the server (it also stops when this process ends).", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"] and server.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    server.stop()
    print("Server stopped.")
    return 0
