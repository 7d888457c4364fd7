"""Self-checks for notebook 00 (watch a cache decay)."""
from __future__ import annotations

from .. import backends
from ..namespaces import namespace
from ..truth import SourceOfTruth, encode
from . import Verdict, verdict


def _scripted_state():
    """A cache of 4 items, 2 of them stale (64 B and 256 B), plus a foreign key."""
    client = backends.scratch_client()
    ns, truth = namespace(client, "check00"), SourceOfTruth()
    for key, size in [("a", 64), ("b", 256), ("c", 512), ("d", 1024)]:
        client.set(ns.key(key), encode(truth.write(key, "x" * size, 0.0)))
    truth.write("a", "y" * 64, 1.0)
    truth.write("b", "y" * 256, 2.0)
    truth.write("e", "never cached", 3.0)  # not cached: not part of the cache's disorder
    client.set("someone-else:a", "not ours")
    return client, ns, truth


def check_stale_key_share(fn) -> Verdict:
    """`fn(r, ns, truth)` must return the share of cached keys that are stale (0..1)."""
    client, ns, truth = _scripted_state()
    try:
        got = fn(client, ns, truth)
    except Exception as exc:  # the learner's code: report, do not crash
        return verdict(False, f"your function raised {type(exc).__name__}: {exc}",
                       "run it on the real cache first and read the error.")
    if got is None:
        return verdict(False, "your function returned None.", "finish it with `return stale / total`.")
    if abs(got - 2 / 4) < 1e-9:
        return verdict(True, "2 of the 4 cached keys are stale: 0.5, exactly right.")
    if abs(got - 2 / 5) < 1e-9:
        return verdict(False, f"got {got:.2f}: you counted the foreign key or an uncached key.",
                       "scan only `ns.scan()` and count keys that are in the cache.")
    if abs(got - (64 + 256) / (64 + 256 + 512 + 1024)) < 0.02:
        return verdict(False, f"got {got:.3f}: that is the share of stale BYTES.",
                       "count keys, not bytes (each stale key counts 1).")
    return verdict(False, f"got {got!r}, expected 0.5 (2 stale of 4 cached keys).",
                   "a key is stale when truth.stale_since(name, cached_version) is not None.")
