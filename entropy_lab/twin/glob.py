"""Redis glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS) without catastrophic
backtracking.

fakeredis turns `a*a*a*b` into the regex `^a.*a.*a.*b\\Z`, which Python's backtracking engine
needs exponential time to reject on a long key (12 stars: 29 s). Every piece between two stars
matches a fixed number of characters, so the first (leftmost) place a piece matches is always
the best one: the regex below commits to it with an atomic group, `^a(?>.*?a)(?>.*?a).*b\\Z`,
and the match is linear per piece. Same syntax and results as fakeredis's `compile_pattern`
(escapes, `?`, `[...]`, `[^...]`, ranges), only the search differs.
"""
from __future__ import annotations

import functools
import re

from .fakeredis_adapter import use_glob_matcher


def _pieces(pattern: str) -> list[str | None]:
    """The pattern as regex pieces for single characters, with None for each `*`."""
    out: list[str | None] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "?":
            out.append(".")
        elif c == "*":
            if not out or out[-1] is not None:  # `**` is one star
                out.append(None)
        elif c == "\\":
            if i == n:
                i -= 1
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            parts = ["["]
            if i < n and pattern[i] == "^":
                i += 1
                parts.append("^")
            start_len = len(parts)
            while i < n:
                if pattern[i] == "\\" and i + 1 < n:
                    i += 1
                    parts.append(re.escape(pattern[i]))
                elif pattern[i] == "]":
                    i += 1
                    break
                elif i + 2 < n and pattern[i + 1] == "-":
                    lo, hi = pattern[i], pattern[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    parts.append(re.escape(lo) + "-" + re.escape(hi))
                    i += 2
                else:
                    parts.append(re.escape(pattern[i]))
                i += 1
            if len(parts) == start_len:
                out.append("(?:$.)" if parts[-1] == "[" else ".")  # [] never matches, [^] any
            else:
                out.append("".join(parts) + "]")
        else:
            out.append(re.escape(c))
    return out


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern_bytes: bytes) -> re.Pattern:
    pieces = _pieces(pattern_bytes.decode("latin-1"))
    segments: list[str] = [""]
    for piece in pieces:
        if piece is None:
            segments.append("")
        else:
            segments[-1] += piece
    if len(segments) == 1:
        regex = "^" + segments[0] + "\\Z"
    else:
        middle = "".join(f"(?>.*?{seg})" for seg in segments[1:-1] if seg)
        regex = "^" + segments[0] + middle + ".*" + segments[-1] + "\\Z"
    return re.compile(regex.encode("latin-1"), flags=re.DOTALL)


def install() -> None:
    """Use this matcher wherever fakeredis compiles a glob (same results, no blow-up)."""
    use_glob_matcher(compile_pattern)
