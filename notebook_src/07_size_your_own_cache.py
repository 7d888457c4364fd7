# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Size your own cache
#
# The series so far answered questions about a cache we built. Your real question is about
# yours: **how much memory does it need, and which eviction policy?** Redis has no answer built
# in: `INFO` tells you today's hit ratio at today's `maxmemory`, not what you would get with half
# or twice as much.
#
# This notebook answers it from your own traffic. You capture what your application sends to
# Redis, replay it through the twin (the lab's model of Redis 7.0's memory accounting, sampled
# eviction and expiry, from [notebook 00](00_watch_a_cache_decay.ipynb)) at many cache sizes
# and under every policy, and read the smallest `maxmemory` that meets your hit-ratio target.
# Replaying a long trace at 20 sizes and 3 policies would take many minutes; a **miniature
# simulation** of a small, carefully chosen sample of your keys takes seconds.
#
# ## What you'll learn
#
# - How to capture a cache's traffic with `MONITOR`, what that costs the server, and why the lab
#   only captures from a server it started unless you say the server is yours.
# - What a **miss-ratio curve** is and how to read one: hit ratio against cache size, one curve
#   per eviction policy.
# - How spatial sampling makes the curves cheap (SHARDS, Waldspurger et al., FAST 2015; miniature
#   simulation, USENIX ATC 2017), and how far to trust them.
# - How to pick a `maxmemory` and a `maxmemory-policy` for a target hit ratio, from a notebook or
#   with one command: `python -m entropy_lab size capture.txt`.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | [03 Eviction](03_eviction.ipynb): `maxmemory`, the eight policies, approximated LRU | Necessary | |
# | [05 Monitoring](05_monitoring.ipynb): hit ratio from `INFO` | Helpful | |
#
# **Time to learn:** 50 minutes (estimated by `tools/learning_time.py` from the words to read, the
# code cells to run and the exercises).

# %% [markdown]
# ## Set up

# %%
import shutil
import tempfile
from pathlib import Path

import entropy_lab as lab
from entropy_lab import plots, workloads
from entropy_lab.capture import capture
from entropy_lab.sizing import plot, size_curves
from entropy_lab.traces import load, write_monitor

r = lab.connect()
lab.banner(r)

# %% [markdown]
# Captures are files; this notebook keeps them in a scratch folder it deletes at the end.

# %%
workdir = Path(tempfile.mkdtemp(prefix="entropy-lab-07-"))

# %% [markdown]
# ## Capture traffic, safely
#
# `redis-cli MONITOR` prints every command the server runs, one line each, with the time and
# the client: exactly the trace a sizing tool needs. It is also a load on the server. Every
# command is copied to every MONITOR client, so Redis does more work per command. We measured it
# with `benchmarks/monitor_cost.py`: a private Redis 7.0.15, `redis-benchmark` driving pipelined
# SETs and GETs as fast as the server goes (2 cores, quiet, so the MONITOR readers also compete for
# the CPU). With one MONITOR client the server ran 71-72% fewer SETs and 40-65% fewer GETs per
# second (three runs); with two, 70-79% and 44-60% fewer. A
# capture is not free: on a busy server it can take most of the headroom. And MONITOR shows
# **every** client's commands, values included
# (passwords in `AUTH` are redacted, your users' data is not).
#
# So the lab captures only from a server it started. On your own production server, capture a few
# minutes at a quiet hour, to a machine with disk to spare, and only if you are allowed to see that
# data. `capture(..., i_own_this_server=True)` is how you tell the lab the server is yours.
#
# Here the application is a seeded stream of 6,000 requests (reads of a Zipf catalogue, 10%
# writes), replayed cache-aside against a sandbox: a fake Redis in fake mode, a private
# `redis-server` otherwise.

# %%
app = workloads.write_stream(6_000, 2_000, alpha=1.0, write_ratio=0.1, seed=7)
with lab.sandbox() as server:
    first = capture(server, app, workdir / "first.txt", lab.namespace(server, "07"))
first

# %% [markdown]
# On a real server the lines come from `MONITOR` itself. The fake Redis has no `MONITOR`, so the
# lab's client writes the same lines for each command it sends, and the capture says so. A GET
# that missed is followed by the SET that filled the cache: that is why there are more commands
# than requests. The first lines:

# %%
print("\n".join(Path(first.path).read_text().splitlines()[:4]))

# %% [markdown]
# `load` reads a capture back: one request per command that reads or writes a key, the fill SETs
# included (other commands such as `PING` or `INFO` are skipped), with its time, its value size and
# any TTL. That is what the server saw, so it counts more requests than the application made.

# %%
loaded = load(first.path)
print(f"{len(loaded):,} requests over {loaded.keys_seen:,} keys")

# %% [markdown]
# ## A morning of traffic
#
# Six thousand requests are well under a second of a busy cache: too short to size anything. A
# real capture runs for minutes. For the rest of the notebook we use a longer one: 100,000
# requests over 10,000 keys, written in the same `MONITOR` format by `write_monitor` (a seeded
# model of a morning's traffic, compressed into 5 s at 20,000 requests a second; not a capture
# from a server: your own capture takes its place).

# %%
morning = workloads.write_stream(100_000, 10_000, alpha=1.0, write_ratio=0.1, seed=8)
write_monitor(workdir / "morning.txt", morning, rate=20_000)
trace = load(workdir / "morning.txt")
print(f"{len(trace):,} requests over {trace.keys_seen:,} keys, {trace.timestamps[-1]:.0f} s of traffic")

# %% [markdown]
# ## Miss-ratio curves
#
# A **miss-ratio curve** gives, for every cache size, the share of reads that would miss. We
# plot its mirror, the hit ratio, because that is what notebook 05 taught you to watch. One
# curve per policy: at each size, the twin replays the trace with that `maxmemory` and that
# `maxmemory-policy`, with Redis's sampled eviction and its 1 s LRU clock.
#
# The sizes are `maxmemory` values. Remember from notebook 03 that an empty Redis already uses
# about 1 MB, so the first megabyte holds no keys at all.

# %%
SIZES = ["1200kb", "1400kb", "1600kb", "1800kb", "2mb", "2500kb", "3mb"]
POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random"]
report = size_curves(trace, SIZES, POLICIES)
print(report.summary())

# %% [markdown]
# The summary says what was done: the rate of keys kept, how many requests that left, and an
# error estimate. Before we trust the numbers, read them.

# %%
report.table()

# %% [markdown]
# In the figure, look for three things: where each curve crosses your target, how much each
# extra megabyte buys (the curves flatten: the last keys added are the coldest), and whether the
# policies differ at the sizes you can afford.

# %%
plots.show(plot(report, target_hit_ratio=0.85, title="Morning traffic: hit ratio by maxmemory"))

# %% [markdown]
# ## How a sample of keys can stand for all of them
#
# Sampling requests at random would break a cache simulation: a key read 10 times would show up
# about once, and a cache never sees its second read. **Spatial** sampling keeps whole keys
# instead: a key is kept when a hash of it falls under the rate R, and then every request for it
# is kept. The kept keys see exactly the reuse they see in production, only a share R of the keys
# is kept. So a cache scaled to R times the size, fed the sample, behaves like the full cache fed
# everything: that is the miniature simulation.
#
# Two corrections make it accurate:
#
# - **Scale only what grows with keys.** A 64 MB `maxmemory` in a 10% sample becomes about
#   6.4 MB of keys, but the server's own megabyte (startup, client buffers) does not shrink.
# - **Hot keys.** One very popular key can carry several percent of all reads. Whether the hash
#   happens to keep it changes the sample's hit ratio. SHARDS' adjustment counts the reads a
#   sample has in excess (or lacks) against the rate's prediction as hits, which is what a hot
#   key's reads nearly all are. Not under a `volatile-*` policy: there a hot key with a TTL can be
#   shut out for good once keys without one fill the cache, and miss on every read. For those
#   curves the lab weighs the sample's hit ratio per stratum (TTL or not, and how popular) by
#   that stratum's share of all the trace's reads, which it counts exactly.
#
# The error estimate splits the sample in two halves by a second hash: each half is a sample at
# R/2, and half the gap between their curves estimates the error of the whole sample.
#
# Check it here against a full simulation of the same trace (every request, every key), for one
# policy:

# %%
exact = size_curves(trace, SIZES, ["allkeys-lru"], sample=None)
gaps = abs(exact.curves["allkeys-lru"].hit_ratios - report.curves["allkeys-lru"].hit_ratios)
print(f"sampled vs full, allkeys-lru: mean gap {gaps.mean():.3f}, worst {gaps.max():.3f} hit ratio")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert gaps.mean() < 0.02 and gaps.max() < 0.04, gaps

# %% [markdown]
# On this short trace the full simulation is still quick, and the default rate keeps most of the
# keys (the rate is chosen so that the smallest miniature cache holds about a thousand keys, and
# this trace's smallest cache holds barely more). The full simulation's cost grows with the trace;
# the sample's does not: `benchmarks/sizing.py` sizes a 10-million-request trace at 20 sizes and 3 policies
# and prints the sampled time beside an extrapolated full-simulation time (one size and policy,
# times 60): 14 s against about 10 minutes on a 2-core machine. One warning from the same
# benchmark: the miniature cache must hold enough keys (the default rate is chosen for that; the
# summary flags sizes where it holds under 50). Where a curve drops off a cliff (a
# `volatile-*` cache frozen by keys without TTLs), a few kilobytes decide the hit ratio: confirm a
# size there with `sample=None`, or better, with a test on a real Redis.

# %% [markdown]
# ## Choose a size
#
# `recommend` returns the smallest size of the grid that meets a target, and the policy that
# meets it there (on a tie, the higher hit ratio):

# %%
policy, size, hit = report.recommend(0.85)
print(f"maxmemory {size} with maxmemory-policy {policy}: {hit:.1%} of reads hit (model)")

# %% [markdown]
# The same, from a shell, on any capture (it prints the table, the recommendation, and saves the
# figure):
#
# ```bash
# python -m entropy_lab size morning.txt --target-hit-ratio 0.85
# ```
#
# Three things the curve does not tell you, and how to cover them:
#
# - **Memory headroom.** `maxmemory` caps what Redis counts as used memory; the process also
#   needs room for fragmentation and, if you persist, fork copy-on-write. Notebook 05 shows how to
#   read both.
# - **Tomorrow's traffic.** A curve is a photograph of one capture. Size with a capture of your
#   busiest hour, and redo it when traffic changes shape.
# - **Writes and TTLs.** The replay keeps them, so expiry frees memory as it would on your
#   server; an application that stops setting TTLs changes the curve.

# %% [markdown]
# ## 🧪 Exercise: size the evening traffic (⭐⭐)
#
# In the evening a batch job joins the morning's kind of reads: every 8,000 requests it reads
# 3,000 cold keys once each. `evening_trace()` gives that traffic (a `workloads.Trace`, ready for
# `size_curves`). Find the **smallest** `maxmemory` in `GRID` at which some policy reaches a
# **45%** hit ratio, and a policy that reaches it there. Set `evening_choice = (policy, size)`,
# with `size` written exactly as in `GRID`.
#
# <details><summary>Hint</summary>
#
# Measure: run `size_curves` on the evening trace with `GRID` and the three policies, then look
# for the first size where a curve crosses 0.45. Read the whole row: the policies are not equal
# on this traffic. Which one ignores keys read only once?
# </details>

# %%
from entropy_lab.checks.lesson07 import GRID, evening_trace

GRID

# %% tags=["exercise"]
evening_choice = ...  # (policy, size)

# %% tags=["solution"] jupyter={"source_hidden": true}
evening = size_curves(evening_trace(), GRID, POLICIES)
evening_choice = evening.recommend(0.45)[:2]
evening_choice

# %% [markdown]
# The check replays the evening traffic in full (no sampling) at every size of the grid:

# %%
from entropy_lab.checks import check_evening_size

check_evening_size(evening_choice)

# %% [markdown]
# ## Clean up

# %%
shutil.rmtree(workdir)
lab.close(r)

# %% [markdown]
# ## Check your understanding
#
# Three questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("07")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed, and nothing checks it.
#
# 1. **How small a sample?** Run `size_curves` on the morning trace with `sample=0.01`, `0.05` and
#    `0.2`, and compare each curve with the exact one (`sample=None`). Where does the stated error
#    stop covering the real gap? What does the summary say about the smallest sizes?
# 2. **Change the salt.** `salt=1`, `2`, `3` pick other samples of keys at the same rate. How far
#    apart are their curves? Compare that spread with the error the report states.
# 3. **All eight policies.** Add the `volatile-*` policies and `noeviction` to `POLICIES` for the
#    morning trace. Which curves coincide, and why? (Look at which of the trace's keys carry a
#    TTL.) Does `noeviction` beat LRU anywhere? Why can a cache that refuses writes look good on a
#    hit-ratio curve, and what does the application see instead?
# 4. **Your own traffic.** If you run a Redis you own in a test environment, capture a minute of
#    it with `redis-cli MONITOR > mine.txt` (never on a busy production server: the summary says
#    what it costs) and run `python -m entropy_lab size mine.txt`. Does your cache sit on the flat
#    part of its curve or on the slope?

# %% [markdown]
# ## Summary
#
# | Symptom | Defence | Knob | Cost |
# |---|---|---|---|
# | You do not know how much memory your cache needs | miss-ratio curves from a capture of your traffic | the sizes and policies you compare | a capture (`MONITOR` cost a busy server 40-72% of its throughput while it ran) |
# | Simulating a long trace at many sizes takes minutes | miniature simulation of a spatial sample of keys | the sample rate (auto: about a thousand keys in the smallest cache) | an error of about a point of hit ratio, estimated and printed |
# | The policies look alike on paper | one curve per policy on YOUR traffic | `maxmemory-policy` | none: the replay decides |
# | A curve tells you about one capture only | capture your busiest hour, resize when traffic changes | when you capture | a new capture |
#
# - One `MONITOR` client cut a private Redis's pipelined throughput by 40-72% (measured with
#   `benchmarks/monitor_cost.py`); the lab captures only from servers it started.
# - A sample of keys, with the cache scaled by the same rate, gave curves within about a point of
#   hit ratio of the full simulation here; on long traces the sample's cost stays flat while the
#   full simulation's grows (14 s against about 10 minutes for 10 million requests).
#
# ## What's next
#
# That is the end of the series. Run `python -m entropy_lab size` on a capture of your own cache,
# and bring the figure to the next capacity review. [docs/twin.md](../docs/twin.md) says what the
# twin models and how close it comes to a real Redis; the [errata](../docs/errata.md) list what
# the article the series started from gets wrong.
