"""Command line: `python -m entropy_lab doctor | serve [--port P] | size TRACE | workshop-server --learners N`."""
from __future__ import annotations

import sys

USAGE = "usage: python -m entropy_lab {doctor,serve,size,workshop-server} [options]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    # Each command imports only its own module: `doctor` must answer fast even where a heavy or
    # broken dependency of another command would fail at import.
    if command == "doctor":
        from .doctor import run
        return run()
    if command == "workshop-server":
        from .workshop_server import main as workshop_server
        return workshop_server(rest)
    if command == "size":
        from .size_cli import main as size
        return size(rest)
    if command == "serve":
        from .twin.serve import main as serve
        return serve(rest)
    print(f"unknown command {command!r}; {USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
