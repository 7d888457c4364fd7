# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Monitoring: see entropy early
#
# Every kind of cache entropy you met in this series leaves a trace in the numbers Redis keeps
# about itself, usually minutes before a user notices. Memory creeps up.
# [Evictions](../docs/glossary.md#eviction) start. The [hit ratio](../docs/glossary.md#hit-ratio)
# sags. Misses arrive all at once. A request gets slow. Writes are refused. This notebook teaches you
# to read those numbers, turn them into a dashboard, and write alert rules that fire on trouble and
# stay quiet when all is well.
#
# ## What you'll learn
#
# - What the fields of `INFO memory` and `INFO stats` mean, and which ones mislead (RSS, the two
#   fragmentation ratios, counters since start, error counters).
# - Why a hit ratio must be computed over an **interval** (from the difference of two snapshots),
#   never from the counters since start.
# - How to sample INFO into a time series and draw a dashboard from it, static or live.
# - Why a healthy cache's memory rises at first: expired keys that Redis has not reclaimed yet.
# - The dashboard signatures of six kinds of entropy: memory creep, an eviction storm, a shifted
#   hot set, a stampede after synchronised expiry, a latency spike, and refused writes.
# - How to write alert rules as code, prove they fire on trouble and stay quiet on a healthy run,
#   and what windows a real server needs.
# - How to look inside a keyspace with SCAN, without blocking the server.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | [01 Time-to-live](01_time_to_live.ipynb) | Helpful | TTLs and jitter |
# | [03 Eviction](03_eviction.ipynb) | Helpful | `maxmemory` and policies |
# | The cache-aside pattern | Necessary | Built in [00](00_watch_a_cache_decay.ipynb) |
#
# **Time to learn:** 110 minutes (estimated by `tools/learning_time.py` from the words to read, the
# code cells to run and the exercises). No server to install: the lab runs on an embedded fake
# Redis, the lab's [twin](../docs/glossary.md#the-twin) of Redis 7.0.

# %% [markdown]
# ## Set up

# %%
import numpy as np

import entropy_lab as lab
from entropy_lab import monitoring as mon

r = lab.connect()
lab.banner(r)
ns = lab.namespace(r, "05")
ns.reset()
FAKE = lab.backend_of(r) == "fake"

# %% [markdown]
# ## Read INFO field by field
#
# `INFO` is Redis's own report on itself. Give the server something to report first: 300 keys of
# 1 KB, a third of them without a TTL, then a few hundred reads, some of keys that do not exist.

# %%
for i in range(300):
    r.set(ns.key("page", i), "p" * 1000, px=None if i % 3 == 0 else 60_000)
for i in range(400):
    r.get(ns.key("page", i))  # keys 300-399 do not exist: 100 misses

# %% [markdown]
# `mon.snapshot(r)` reads one INFO and keeps the fields that matter, stamped with the lab clock.
# `mon.explain` lays them out with what each one means. In fake mode a last column says what the
# twin models; on a real server it is left out, because every value is measured.

# %%
before = mon.snapshot(r)
mon.explain(before, ["used_memory", "used_memory_peak", "used_memory_rss", "mem_fragmentation_ratio",
                     "allocator_frag_ratio", "maxmemory", "maxmemory_policy"], fake=FAKE)

# %% [markdown]
# Read it top to bottom:
#
# - **`used_memory`** is what Redis allocated through its allocator,
#   [jemalloc](../docs/glossary.md#jemalloc-size-class): keys, values, the hash tables that index them, and
#   client buffers. This is the number [`maxmemory`](../docs/glossary.md#maxmemory) is compared with.
# - **`used_memory_rss`** is the process's [RSS](../docs/glossary.md#rss) (resident set size): the
#   RAM the operating system holds for Redis right now. It is usually larger than `used_memory`:
#   the allocator keeps freed pages, and the process has a baseline of its own (code, libraries).
#   But RSS counts only pages that are in RAM. When the machine runs short and the OS moves some of
#   Redis's pages out to [swap](../docs/glossary.md#swap), RSS drops *below* `used_memory`.
# - **`mem_fragmentation_ratio`** is RSS divided by `used_memory` (the
#   [fragmentation ratio](../docs/glossary.md#mem_fragmentation_ratio)). Read its low end first:
#   **below 1 means part of Redis is swapped out**, every access to those pages waits for the
#   disk, and that is the most urgent reading of the field. Well above 1.5 on a big, busy server
#   means RAM is lost in holes. On a nearly empty server, like this one, it mostly counts the
#   process's own baseline, not holes.
# - **`allocator_frag_ratio`** is jemalloc's own view: bytes in the pages it holds active over
#   bytes actually allocated. It leaves the process baseline out, so it shows holes alone.
# - **`maxmemory`** 0 means "no limit": the server grows until the machine runs out. The
#   **policy** decides what happens at the limit ([03 Eviction](03_eviction.ipynb)).
#
# The twin does not model RSS or fragmentation (it reports `used_memory` plus a fixed 12 MiB, and an
# allocator ratio of 1.00), so here are both ratios measured on a real Redis 7.0. Look at how far
# apart they are on the fresh server, and which one moves when half of the keys are deleted:

# %%
mon.fragmentation_table()

# %% [markdown]
# On the fresh server `mem_fragmentation_ratio` reads 13.8 (another fresh 7.0.15 gave 6.5: it
# depends on the machine; Redis divides by `used_memory` as of its last cron tick, so on a tiny
# server the ratio can differ from the two fields' quotient by 10%) while the allocator holds almost no holes (1.08): 11 MiB of process
# baseline over 1 MiB of data. With 36 MiB of data the two ratios read 1.32 and 1.01. Deleting every
# other key frees half the data but not the pages it lived on: RSS stays at 47 MiB, and now
# `allocator_frag_ratio` (1.84) says the holes are real. So: below 1, look for swapping; on a small
# server, read `allocator_frag_ratio`; on a big one, a rising `allocator_frag_ratio` is the cue to
# look at active defragmentation (`activedefrag`, where the build supports it) or a restart.
#
# Now the stats section, the counters:

# %%
mon.explain(before, ["keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys",
                     "total_commands_processed", "instantaneous_ops_per_sec", "connected_clients"], fake=FAKE)

# %% [markdown]
# Every counter here (all but `connected_clients`, a current value, and `instantaneous_ops_per_sec`)
# counts **since the server started** (or since `CONFIG RESETSTAT`). That is the
# trap: a server that has been up for a month answers with a month's average. And they count the
# whole server: on a shared one (a workshop's Redis), your reads are mixed with everyone else's. `keyspace_hits` and
# `keyspace_misses` ([keyspace hits and misses](../docs/glossary.md#keyspace-hits-and-misses)) count
# lookups of keys by read commands, found or not. Redis's own `instantaneous_ops_per_sec` is a short
# moving average; the twin does not model it, so this lab computes ops/s from the difference of
# `total_commands_processed` between two snapshots.
#
# The article also lists **error rates** ("OOM, connection issues") among the metrics to watch.
# Redis counts those too:

# %%
mon.explain(before, ["total_error_replies", "errorstat_OOM", "rejected_connections"], fake=FAKE)

# %% [markdown]
# `total_error_replies` counts every error reply for any reason, harmless ones included: on a fresh
# Redis 7.0.15, each redis-py 8.1 connection added 3 `ERR` replies (its connection handshake tries
# commands 7.0 does not know). So watch the specific counter: `errorstat_OOM` counts the writes
# refused because memory was full ([OOM](../docs/glossary.md#oom-error)), and `rejected_connections`
# the clients turned away at `maxclients`. The twin refuses writes with a real OOM error, but keeps
# no error counters; later in this notebook the workload counts the refusals it receives itself.

# %% [markdown]
# ## Hit ratio: since start hides, an interval tells
#
# Give the server a long, healthy history: 4,000 reads of keys that exist. Then break it: for the
# next interval, 100 reads miss and 20 hit. Watch both ways of computing the hit ratio.

# %%
pipe = r.pipeline(transaction=False)
for i in range(4000):
    pipe.get(ns.key("page", i % 300))
pipe.execute()
before = mon.snapshot(r)

# %%
for i in range(120):
    r.get(ns.key("page", 1000 + i if i < 100 else i))
lab.sleep(0.5)
after = mon.snapshot(r)

# %%
since_start = mon.since_start_hit_ratio(after)
interval = mon.interval_hit_ratio(before, after)
print(f"since start: {since_start:.1%}   this interval: {interval:.1%}")

# %% tags=["verify"] jupyter={"source_hidden": true}
# INFO counts the whole server: on a room's shared Redis other learners' reads land in the interval too.
reads = lambda snap: snap["keyspace_hits"] + snap["keyspace_misses"]
assert reads(after) - reads(before) != 120 or interval < 0.3 < since_start

# %% [markdown]
# The interval saw one read in six hit. The since-start ratio still says the cache is fine,
# because the long history outweighs the bad interval.
#
# > **The article says:** "A healthy `keyspace_hits` vs `keyspace_misses` ratio (often 90%+ hits)
# > indicates an efficient cache." **What Redis does:** both counters count since the server
# > started, so their ratio is an average over the server's whole life: here it reads 95.6% while
# > the last interval hit 16.7%. A hit ratio says something only over an interval, from the
# > difference of two snapshots.
# A dashboard that shows
# `keyspace_hits / (keyspace_hits + keyspace_misses)` straight from INFO would barely move. Always
# difference two snapshots: `mon.rates(before, after)` does it for every counter, per second:

# %%
{name: round(value, 1) for name, value in mon.rates(before, after).items()}

# %% [markdown]
# ## 🧪 Exercise: the hit ratio of an interval (⭐)
#
# Write `my_interval_hit_ratio(before, after)`: the hit ratio of the lookups made *between* two
# snapshots (dicts with `keyspace_hits` and `keyspace_misses`). When no lookup happened in the
# interval, return `None`: an idle interval has no hit ratio (not 0, not 1). An interval where every
# lookup missed has a hit ratio of 0. Return the exact value (round only when you print it). The
# check tries your function on an example of its own (150 hits and 50 misses after a history of
# 90,000 hits and 10,000 misses: 0.75), on an idle interval and on intervals it draws at random.
#
# <details><summary>Hint</summary>
#
# `hits = after["keyspace_hits"] - before["keyspace_hits"]`, the same for misses, then
# `hits / (hits + misses)` unless that sum is 0.
# </details>

# %% tags=["exercise"]
def my_interval_hit_ratio(before, after):
    """Hit ratio of the lookups between two INFO snapshots, or None if there were none."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def my_interval_hit_ratio(before, after):
    """Hit ratio of the lookups between two INFO snapshots, or None if there were none."""
    hits = after["keyspace_hits"] - before["keyspace_hits"]
    misses = after["keyspace_misses"] - before["keyspace_misses"]
    return hits / (hits + misses) if hits + misses else None


# %%
from entropy_lab.checks import check_interval_hit_ratio

check_interval_hit_ratio(my_interval_hit_ratio)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert check_interval_hit_ratio(my_interval_hit_ratio)

# %% [markdown]
# ## A sampler: INFO at a fixed interval
#
# One interval is a number; a dashboard needs a series. `mon.run` drives a workload and a sampler
# in lockstep: one tick of traffic, wait for the end of the interval, take a snapshot, and store
# the differences as a row. Each row is a plain dict; `Series.column(name)` gives a numpy array.
#
# The workload is the [cache-aside](../docs/glossary.md#cache-aside) pattern from
# [00](00_watch_a_cache_decay.ipynb): 60 reads per tick of 300 catalog items, popular items far more
# often (a [Zipf](../docs/glossary.md#zipf-distribution) skew); a miss reads the source
# and caches the item for 1 s +/- 50% (jitter), so between 0.5 and 1.5 s. Each tick also stores 6
# session keys of 5 KB that live 0.5 s. The cache starts warm: a cache warmer stored every item at
# the start. Every experiment runs in a [sandbox](../docs/glossary.md#sandbox), a fresh server the
# lab owns, with a 4 MiB `maxmemory` and `allkeys-lru`, so it can reconfigure it freely.
#
# A run lasts 3 s, twice the longest TTL: long enough for every item to expire at least once and
# for the cache to settle.

# %%
SANDBOX = dict(maxmemory="4mb", maxmemory_policy="allkeys-lru")
TICKS = 30  # of mon.INTERVAL = 0.1 s each: 3 s of traffic per run
healthy = mon.Workload()
runs, keyspaces = {}, {}


def observe(workload, name, sample_keys=False):
    """Run `workload` in a fresh sandbox; optionally keep a SCAN sample of its keys at the end."""
    with lab.sandbox(**SANDBOX) as sb:
        runs[name] = mon.run(sb, workload, ticks=TICKS, name=name)
        if sample_keys:  # used in the keyspace section at the end
            keyspaces[name] = mon.sample_keyspace(sb, sample=2000)
    return runs[name]


# %% [markdown]
# In fake mode time is virtual, so 3 s of traffic takes well under a second and the series is the
# same on every run. On a real server `mon.run` really waits out each 0.1 s interval.
#
# The healthy run, with every fifth sample shown. In fake mode the latency column says `(model)`:
# it is computed, not timed (more on that below).

# %%
observe(healthy, "healthy", sample_keys=True).table(every=5)

# %% [markdown]
# ## The dashboard
#
# Six panels, the six questions to ask of a cache: is it hitting (hit ratio)? Is it growing
# (memory)? Is it throwing data away to make room (evictions/s)? Is
# data timing out (expirations/s)? How much load reaches the source of truth (misses/s)? Is it fast
# (latency)? Healthy means every line stays within a band you can explain. Here the hit ratio
# starts at 1 because the cache was warmed, falls from about 0.7 s as the first items expire (the rarely
# read ones are not fetched again), and after 1.5 s, when every item has expired once, it swings
# between about 0.6 and 0.9 without a trend; misses and expirations level off with it. Memory
# rises for the first 0.7 s, then moves within about a quarter of a MiB as expired keys pile up and
# are reclaimed (see below). No evictions, a flat latency.

# %%
mon.plot_dashboard(runs["healthy"], "A healthy cache", backend=lab.backend_of(r))

# %% [markdown]
# About the latency panel: on a real server it is the time each request took, measured by the
# client. The embedded fake runs inside this Python process, so its timings would measure Python,
# not Redis, and change on every run. In fake mode the panel shows a **modelled** latency instead:
# a round trip plus a cost per byte moved and per key scanned, roughly calibrated on a real Redis 7.
# The model's terms:

# %%
print(f"latency model (fake mode only): round trip {mon.MODEL_BASE_MS} ms, {mon.MODEL_MS_PER_MB} ms per MB "
      f"moved, {mon.MODEL_MS_PER_KEY_SCANNED * 1e6:.0f} ns per key scanned")

# %% [markdown]
# ### Why memory rises at first: expired keys not reclaimed yet
#
# The first half second is simple: 6 sessions arrive per tick and each lives 0.5 s, so the live
# sessions grow to about 30 and stay there. But memory keeps rising after 0.5 s, while keys are
# already expiring. Compare, for the first samples, the keys Redis holds (`keys`, from INFO's keyspace
# section) with the keys whose TTL has not run out (`unexpired_keys`, counted by the workload itself
# from the TTLs it set):

# %%
mon.Series(runs["healthy"][:10]).table(["t", "keys", "unexpired_keys", "used_memory_mib", "expired_per_s"])

# %% [markdown]
# From 0.5 s on, Redis holds more keys than are alive: the difference is keys whose TTL has passed
# but that Redis has not reclaimed yet, and they still take memory. Redis deletes an expired key
# in two ways: when someone reads it (lazy expiry), or when its
# [active expiry](../docs/glossary.md#active-expiry) cycle finds it. That cycle runs 10 times a
# second, samples 20 keys that have a TTL, deletes the expired ones, and samples again only while
# more than 10% of a sample had expired. From 0.5 s on, about one key in ten expires per cycle
# (30 of the 300 items, whose TTLs are spread from 0.5 to 1.5 s, plus 6 sessions), so a sample of
# 20 holds about two expired keys: 10%, not more than 10%, and the cycle stops after reclaiming
# just those. Expired keys pile up faster than it clears them (71 at 0.7 s). When a sample finds
# more than 10%, the cycle repeats and clears more (keys drop from 339 to 306 at 0.8 s).
#
# A real Redis 7.0 shows the same kind of lag, but a smaller one. In four runs of this workload on
# Redis 7.0.15 it held 41 to 47 such keys at 0.7 s and 11 to 72 at 0.8 s, and after the first
# second at most a quarter of its keys were expired but not yet reclaimed; the twin holds 14-44%.
# The twin overstates the backlog: it does not model everything Redis does to find expired keys
# (its limits are listed in [the twin's notes](../docs/twin.md)). In the creep exercise below,
# this warm-up is what your alert must not page on.

# %% [markdown]
# ## Watch it live
#
# The same dashboard can redraw itself while a workload runs. In fake mode no thread starts: the
# kernel runs one tick whenever it is idle, so it works in a browser kernel too. Against a real
# server the run gets a background thread, because each tick really waits out its interval.
# `mon.LiveDashboard` runs the workload on its own sandbox, samples it after each tick, and redraws
# the figure every two seconds and at the end; **Start** and **Stop** control it. This one runs the
# hot-set shift you will meet below, for 15 ticks, and starts itself. Press Start to run it again.
# (The figure you see here is not part of the stored notebook: it is drawn live.) In fake mode the
# ticks are virtual and `pace=0` runs them flat out, so it ends in a second or two; `pace=0.2` (real
# seconds per tick) with `max_ticks=None` lets you watch it redraw until you press Stop.

# %% tags=["nbval-ignore-output"]
dash = mon.LiveDashboard(healthy.but(shift_at=8), SANDBOX, max_ticks=15, pace=0)
dash.start()
dash

# %% [markdown]
# Stopping leaves nothing behind: `join()` runs (or waits for) the ticks left, the sandbox closes,
# and no dashboard thread is left running. (Pressing Stop calls `dash.stop()`, which does the same.)

# %%
dash.join()
print(f"{len(dash.series)} samples, dashboard threads still running: {mon.dashboard_threads()}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert not dash.running and mon.dashboard_threads() == []

# %% [markdown]
# ## Six signatures of entropy, made on purpose
#
# Each run below changes **one knob** of the healthy workload and shows the panels where the damage
# appears first, with the healthy run in grey behind it.
#
# ### 1. Memory creep: keys with no TTL
#
# A new feature stores sessions and forgets the TTL. Nothing fails. Nothing is evicted (yet).

# %%
observe(healthy.but(session_ttl=None), "creep", sample_keys=True)
mon.plot_dashboard(runs["creep"], "Memory creep: sessions stored without a TTL", ["memory", "hit_ratio"],
                   baseline=runs["healthy"])

# %% [markdown]
# Memory climbs in a straight line while the hit ratio looks just like the healthy run's (in fake
# mode it is identical, sample for sample). Creep is invisible to anyone who watches only the hit
# ratio, and it ends in evictions or, under `noeviction`, in refused writes (signature 6). How far apart were the two runs at the end?

# %%
grew = runs["creep"][-1]["used_memory_mib"] - runs["healthy"][-1]["used_memory_mib"]
print(f"creep used {grew:.2f} MiB more than the healthy run after {runs['creep'][-1]['t']:.1f} s")
gap = abs(np.nanmean(runs["creep"].column("hit_ratio")) - np.nanmean(runs["healthy"].column("hit_ratio")))
print(f"mean hit ratio: creep and healthy differ by {gap:.3f}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert grew > 0.3 and gap < (0.05 if FAKE else 0.1)  # live: expiry and sampling follow a loaded wall clock

# %% [markdown]
# ### 2. An eviction storm: the working set outgrows memory
#
# From tick 3 (the fourth sample) a release starts caching ten times as many items, each 24 KB. The
# cache fills, then `allkeys-lru` evicts to make room, and the items it evicts are read again soon
# after.

# %%
observe(healthy.but(grow_at=3), "storm")
mon.plot_dashboard(runs["storm"], "Eviction storm: the working set outgrows memory",
                   ["memory", "evictions", "hit_ratio"], baseline=runs["healthy"])

# %% [markdown]
# Memory rises to the limit and stays there: at the limit, a flat memory line is not good news.
# The hit ratio drops at once (the new items were never cached), evictions start when memory meets
# `maxmemory`, and from then on the hit ratio stays low because much of what is evicted is asked for
# again.

# %%
storm = runs["storm"]
print(f"peak evictions {storm.column('evicted_per_s').max():.0f} keys/s, "
      f"memory {storm.column('used_memory_mib').max():.2f} MiB of a 4 MiB limit")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert storm.column("evicted_per_s").max() > 100 and runs["healthy"].column("evicted_per_s").max() == 0

# %% [markdown]
# ### 3. Hit-ratio decay: the hot set moves
#
# At tick 8 the popular items change (a new season, a news event): what users want now was never
# cached.

# %%
observe(healthy.but(shift_at=8), "shift")
mon.plot_dashboard(runs["shift"], "The hot set moves", ["hit_ratio", "memory"],
                   baseline=runs["healthy"])

# %% [markdown]
# The hit ratio falls off a cliff and climbs back as the new hot items get cached (every miss is a
# read from the source of truth). Memory rises too, for about a second: the old hot set stays
# cached, unread, until its TTL runs out. Without a TTL it would stay forever.

# %%
shift = runs["shift"]
if len(shift) <= 8:
    print("The hot set moves at tick 8: make TICKS larger than 8 to see it.")
else:
    print(f"hit ratio just after the shift {shift[8]['hit_ratio']:.2f}, lowest in the healthy run "
          f"{runs['healthy'].column('hit_ratio').min():.2f}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert shift[8]["hit_ratio"] < 0.5 < runs["healthy"].column("hit_ratio").min()

# %% [markdown]
# ### 4. A stampede: every key expires at the same moment
#
# The cache warmer filled every item at once and gave each the same TTL, with no jitter. 1 s
# later they all expire together, and the next reads all miss at once and hit the source together:
# a [cache stampede](../docs/glossary.md#stampede).

# %%
observe(healthy.but(ttl_jitter=0.0), "stampede")
mon.plot_dashboard(runs["stampede"], "Stampede: synchronised expiry", ["expirations", "misses"],
                   baseline=runs["healthy"])

# %% [markdown]
# One tall spike of expirations, then a wall of misses: the load on the source jumps from nothing to
# its peak in one interval. The healthy run expires as many keys, spread out by the jitter.

# %%
stampede = runs["stampede"]
print(f"peak expirations: stampede {stampede.column('expired_per_s').max():.0f}/s, "
      f"healthy {runs['healthy'].column('expired_per_s').max():.0f}/s")

# %% tags=["verify"] jupyter={"source_hidden": true}
# a real server shares the machine: its timing is noisier
assert stampede.column("expired_per_s").max() > (3 if FAKE else 2) * runs["healthy"].column("expired_per_s").max()

# %% [markdown]
# ### 5. A latency spike: a big key read whole
#
# For three ticks someone caches the whole product feed in one hash of 10,000 products, and pages read
# it whole (`HGETALL`) twice per tick; an admin script also runs `KEYS` to look for something. Then
# the change is rolled back and the hash deleted. On a real server, [`SLOWLOG`](../docs/glossary.md#slowlog)
# records commands that ran long *inside* Redis; the sandbox logs anything over 1 ms.

# %%
def run_then_read_slowlog(sb):
    with_slowlog = mon.slowlog_entries(sb) is not None
    if with_slowlog:
        sb.config_set("slowlog-log-slower-than", 1000)  # a sandbox: changing its config is fine
    runs["latency"] = mon.run(sb, healthy.but(incident=(8, 9, 10)), ticks=TICKS, name="latency")
    return mon.slowlog_entries(sb)


with lab.sandbox(**SANDBOX) as sb:
    slowlog = run_then_read_slowlog(sb)
mon.plot_dashboard(runs["latency"], "Latency spike: a big hash read whole", ["latency", "memory"],
                   baseline=runs["healthy"], backend=lab.backend_of(r))

# %% [markdown]
# The [p99](../docs/glossary.md#percentile-p50-p99) jumps while the median does not move: an average
# would hide this spike, percentiles show it. Memory jumps by the size of the big hash and drops when it is deleted: on Redis 7 these 10,000
# fields take about a megabyte (the twin sizes hashes the way Redis 7 encodes them).

# %%
incident = runs["latency"].column("used_memory_mib")
if len(incident) <= 8:
    print("The incident starts at tick 8: make TICKS larger than 8 to see it.")
else:
    print(f"memory jump during the incident: {incident[8:11].max() - incident[7]:.2f} MiB")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert 0.5 < incident[8:11].max() - incident[7] < 2.0

# %% [markdown]
# What did the server log?

# %%
if slowlog is None:
    print("This server has no SLOWLOG: fakeredis does not implement it, so fake mode shows only the "
          "client-side (modelled) latency above.")
else:
    print(f"SLOWLOG: {len(slowlog)} commands over 1 ms inside Redis, e.g. {slowlog[:3]}")

# %% [markdown]
# On a real server, look for `HGETALL` of the feed in the log: Redis walks 10,000 fields inside its one
# thread while every other client waits. Measured on Redis 7.0.15 in our runs, one such
# `HGETALL` took 1.5 to 6.5 ms inside Redis and 27 to 56 ms at the client, which also receives and
# parses the 10,000 fields: SLOWLOG times only the work inside Redis, and only the client sees the
# rest. Deleting the
# big hash can show up too (`UNLINK` frees it in the background instead).
#
# The spike here is the big hash, not `KEYS`: in these runs `KEYS` walks a few hundred keys, which
# is quick. But `KEYS` walks the whole keyspace in one command, so its cost grows with it: on the
# same server, `KEYS` over 300,000 keys took about 70 ms inside Redis (SLOWLOG), and every other
# client waited that long.

# %%
latency = runs["latency"]
print(f"p99 {mon.latency_note(r)} during the incident {latency.column('latency_p99_ms').max():.1f} ms, "
      f"healthy {np.median(runs['healthy'].column('latency_p99_ms')):.2f} ms (median of the run)")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert latency.column("latency_p99_ms").max() > 10 * np.median(runs["healthy"].column("latency_p99_ms"))

# %% [markdown]
# ### 6. Refused writes: creep under `noeviction`
#
# The creep from signature 1 again, on a server configured the other way: `noeviction` and a limit
# of 1500 KB. Nothing is evicted; once memory reaches the limit, Redis refuses every write that could
# grow memory with an OOM error. The app survives (in cache-aside a failed cache write only means the
# next read misses again), so nobody notices unless someone counts the errors. The workload counts
# the refusals it receives; watch memory, the errors and the hit ratio:

# %%
with lab.sandbox(maxmemory="1500kb", maxmemory_policy="noeviction") as sb:
    runs["oom"] = mon.run(sb, healthy.but(session_ttl=None), ticks=TICKS, name="oom")
    errors_in_info = mon.snapshot(sb)
mon.plot_dashboard(runs["oom"], "Creep under noeviction: writes refused", ["memory", "errors", "hit_ratio"],
                   baseline=runs["healthy"])

# %% [markdown]
# Memory climbs to the limit and stays flat there, as in the storm, but with no evictions: the
# refusals take their place. What did the server itself count?

# %%
if errors_in_info["total_error_replies"] is None:
    print("The twin keeps no error counters (no total_error_replies, no errorstats): the errors/s panel "
          f"counts the {runs['oom'].errors} OOM replies the client received.")
else:
    print(f"INFO: errorstat_OOM {errors_in_info['errorstat_OOM']}, total_error_replies "
          f"{errors_in_info['total_error_replies']} (the client counted {runs['oom'].errors} OOM replies)")

# %% tags=["verify"] jupyter={"source_hidden": true}
oom = runs["oom"]
assert oom.column("errors_per_s").max() > 0 and oom.column("evicted_per_s").max() == 0
assert runs["healthy"].column("errors_per_s").max() == 0
assert FAKE or errors_in_info["errorstat_OOM"] == runs["oom"].errors > 0

# %% [markdown]
# On a real server, difference `errorstat_OOM` between two snapshots like any other counter: a
# rate above zero means writes are being lost.
#
# ## Alert rules as code
#
# An alert is a rule over the sampled series. Two kinds cover most needs:
#
# - `mon.Threshold(name, metric, above=... or below=..., for_=n)`: the value is out of bounds for
#   `n` samples in a row (`for_` keeps one noisy sample from paging anyone).
# - `mon.RateOfChange(name, metric, above=..., window=w, for_=n)`: the value changes faster than a
#   rate per second, measured over the last `w` samples.
#
# - `mon.Spike(name, metric, factor=k, baseline=n)`: a threshold relative to the recent past, the
#   value is more than `k` times its median over the last `n` samples. Use it for latency, whose
#   normal level depends on the machine: a fixed "p99 over 10 ms" pages you on a busy laptop and
#   sleeps through trouble on a fast server.
#
# Here is a first set, one rule per kind of trouble you have seen (metrics are the series' columns):

# %%
RULES = [
    mon.Threshold("hit ratio low", "hit_ratio", below=0.6, for_=2),
    mon.Threshold("evicting", "evicted_per_s", above=100, for_=2),
    mon.Threshold("expiry burst", "expired_per_s", above=1500),
    mon.Spike("p99 spike", "latency_p99_ms", factor=10, baseline=10, for_=2),
    mon.Threshold("writes refused", "errors_per_s", above=0),
]
mon.alert_matrix(runs, RULES)

# %% [markdown]
# Each row is a run, each column a rule, each cell when the rule first fired. The healthy row is
# quiet. The storm trips the hit ratio and, soon after, the eviction rule; the shift trips the hit
# ratio; the stampede trips the expiry burst and then the hit ratio, as the wall of misses arrives;
# the latency incident trips the p99 spike; the refused writes trip their own rule. (Against a
# real Redis on a busy laptop the healthy row can show a p99 spike too: that is the machine's
# scheduling noise reaching the latency, a reminder to page on latency only when it lasts.)
#
# And the creep row is empty. Memory creep raises no alarm here, which is exactly how it reaches
# production.
#
# **These thresholds are sized for this toy.** The runs last 3 s, sampled every 0.1 s, with TTLs of
# a second; 100 evictions/s or a slope measured over 2 s mean something only at that scale. Carry
# the reasoning over, not the numbers: on a real server sample every 10 to 60 s (each INFO is a
# command the server must answer), measure rates over several samples, and make every window longer
# than the slowest normal cycle of that cache. For memory that cycle is the longest TTL: a healthy
# cache reaches its steady size about one longest TTL after a restart or a deploy, so with TTLs of
# an hour, a creep rule must look over more than an hour. Set levels from that server's own healthy
# history (evictions as a share of writes, say), not from a blog post.

# %% tags=["verify"] jupyter={"source_hidden": true}
quiet = mon.fired(RULES, runs["healthy"])
assert (quiet == set()) if FAKE else (quiet <= {"p99 spike"})
assert mon.fired(RULES, runs["creep"]) <= (set() if FAKE else {"p99 spike"})  # real latency is noisy
assert {"evicting"} <= mon.fired(RULES, runs["storm"]) and "expiry burst" in mon.fired(RULES, runs["stampede"])
assert "hit ratio low" in mon.fired(RULES, runs["shift"])
assert "p99 spike" in mon.fired(RULES, runs["latency"]) or not FAKE  # live p99 depends on the machine's load

# %% [markdown]
# The dashboard can shade when a rule fired. Here is the storm with its firings:

# %%
firings = mon.evaluate(RULES, runs["storm"])
mon.plot_dashboard(runs["storm"], "The storm, with its alerts shaded", ["evictions", "hit_ratio"],
                   firings=firings)
mon.firing_table(firings)

# %% [markdown]
# ## 🧪 Exercise: an alert for memory creep (⭐⭐)
#
# Write `my_rule`: a rule that **fires on the creep run and stays quiet on the healthy run**.
# The check also tries it on two runs you have not seen: a busier healthy cache (three times the
# items, four times bigger, so a bigger footprint) that must stay quiet, and a slower leak (half the
# bytes per second, starting with a deploy at 1 s) that must fire. A rule that only memorises these
# two runs will not pass.
#
# The obvious first try, "memory is rising", pages you on the healthy run too:

# %%
naive = mon.RateOfChange("memory rising", "used_memory_mib", above=0.05)
{name: sorted(mon.fired([naive], runs[name])) for name in ("healthy", "creep")}

# %% [markdown]
# Look back at the healthy run: its memory also rises for 0.7 s, while the live sessions build up
# and then expired ones wait to be reclaimed, and afterwards it moves up and down as items expire
# and are fetched again. Creep is a rise that does not stop. And a fixed level ("memory above
# 1.5 MiB") is no answer: it measures how big the cache is, not whether it leaks.
#
# <details><summary>Hint</summary>
#
# Use `mon.RateOfChange` on `used_memory_mib` and ask for the rise to last. Measure the slope over a
# `window` longer than the longest TTL (1.5 s is 15 samples; take 20), so that the ups and downs of
# expiry average out, and require it for a few samples in a row (`for_`). Pick `above` between the
# healthy run's slope over such a window and the creep's (you can print `rule.slopes(series)`).
# </details>

# %% tags=["exercise"]
my_rule = ...  # your rule here, e.g. mon.RateOfChange("memory creep", "used_memory_mib", ...)

# %% tags=["solution"] jupyter={"source_hidden": true}
my_rule = mon.RateOfChange("memory creep", "used_memory_mib", above=0.1, window=20, for_=3)

# %%
from entropy_lab.checks import check_memory_creep_alert

check_memory_creep_alert(my_rule, runs)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert check_memory_creep_alert(my_rule, runs)

# %% [markdown]
# With your rule added, every signature now raises at least one alert and the healthy run none.
# (Your rule may also fire on the storm, whose memory really does climb, and on the refused-writes
# run, which is the same leak under `noeviction`: both are worth knowing about.)

# %%
if check_memory_creep_alert(my_rule, runs):
    display(mon.alert_matrix(runs, RULES + [my_rule]))
else:
    print("Run this again once check_memory_creep_alert passes.")

# %% tags=["verify"] jupyter={"source_hidden": true}
if check_memory_creep_alert(my_rule, runs):  # live p99 depends on the machine's load: latency may stay quiet
    troubled = [name for name in runs if name != "healthy" and (FAKE or name != "latency")]
    assert all(mon.fired(RULES + [my_rule], runs[name]) for name in troubled)

# %% [markdown]
# ## What is in the keyspace? Sampling with SCAN
#
# An alert says *that* memory creeps; the keyspace says *what* creeps. Never answer that with `KEYS *`:
# it walks every key in one command (70 ms over 300,000 keys on a real Redis, above), and a
# production keyspace is often far bigger. `mon.sample_keyspace` walks the keyspace with
# [`SCAN`](../docs/glossary.md#scan) (100 keys per
# call) and asks each sampled key for its TTL and `MEMORY USAGE` in one pipeline per batch, so the
# server answers many small commands and every other client keeps being served. It works the way
# `redis-cli --bigkeys` and `--memkeys` do (SCAN, then small queries per key), but stops at a sample
# and reads the TTLs too.
#
# The healthy and the creep runs kept such a sample of their keys at the end (`sample_keys=True`):

# %%
ks_healthy, ks_creep = keyspaces["healthy"], keyspaces["creep"]
lab.table(["run", "keys", "sampled", "SCAN calls", "share without TTL", "bytes without TTL"],
          [[name, ks.total_keys, ks.sampled, ks.batches, ks.no_ttl_share, ks.bytes_without_ttl()]
           for name, ks in (("healthy", ks_healthy), ("creep", ks_creep))])

# %% [markdown]
# In the healthy cache every key has a TTL; in the creep run about 60% of the sampled keys have
# none, and they hold most of the bytes. (DBSIZE counts more keys than SCAN returned: it still counts keys
# whose TTL has passed but that Redis has not reclaimed yet. SCAN skips those, and reclaims them.)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert ks_healthy.no_ttl_share == 0 and ks_creep.no_ttl_share > 0.3
assert ks_creep.bytes_without_ttl() > 0.5 * sum(ks_creep.sizes.values())
assert all(ks.total_keys >= ks.sampled for ks in (ks_healthy, ks_creep))

# %% [markdown]
# Which keys are they? Group the sample by the first part of the key name, biggest first:

# %%
ks_creep.by_prefix(ns)

# %% [markdown]
# The `session` keys: many, none with a TTL, most of the bytes. That is the line of code to fix.
# The biggest single keys (what `redis-cli --memkeys` reports) are sessions too:

# %%
ks_creep.biggest_table(top=3, ns=ns)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(ns.name(key).startswith("session:") for key, _, _ in ks_creep.biggest(3))

# %% [markdown]
# The TTLs that remain tell you when the memory will come back. In the healthy run they run from 0
# up to 1.5 s (1 s + 50%), most of them under 0.5 s (sessions live 0.5 s, and an item's TTL shrinks
# as it ages), with no spike where many keys expire at once (the jitter at work).

# %%
from entropy_lab import plots

fig, ax = plots.new_figure("TTL left on the sampled keys (healthy run)", "TTL left (s)", "keys")
ax.hist(ks_healthy.ttls_s, bins=30, color=plots.COLORS["truth"])
plots.show(fig)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert 0 <= ks_healthy.ttls_s.min() and ks_healthy.ttls_s.max() <= 1.0 * 1.5
assert not FAKE or (ks_healthy.ttls_s < 0.5).mean() > 0.5  # the prose: most under 0.5 s

# %% [markdown]
# On a real server with millions of keys, sample a few thousand, not all: the shares converge fast,
# and a `SCAN` that runs for minutes is its own load.

# %% [markdown]
# ## Check your understanding
#
# Four questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("05")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed for the next notebook, and nothing checks it.
#
# 1. **Tighter windows.** Shorten the `window` and `for_` of the creep rule you wrote, one step at a
#    time. At what setting does it first fire on the healthy run's warm-up? Does shortening always
#    make it noisier? Write the rule you would page on.
# 2. **A relative rule for the stampede.** The `expiry burst` rule above uses a fixed number of
#    expirations per second, which fits only this cache's size. Try a `mon.Spike` or
#    `mon.RateOfChange` on `expired_per_s` and check it with `mon.alert_matrix`. If it fires on
#    runs with no stampede, look at their first ticks (`runs["healthy"]`): why? How low can the
#    fixed threshold go before the healthy run trips it?
# 3. **How big a sample?** In a sandbox (`with lab.sandbox() as sb:`), write a few thousand keys, a
#    known share of them without a TTL, and call `mon.sample_keyspace(sb, sample=n)` for n = 25, 50,
#    100 and 300. How close is each to the true share? (SCAN walks keys in hash order, unrelated to
#    when they were written, so the first n keys it returns are close to a random sample: on a real
#    Redis and on the embedded fake alike.)
# 4. **Your own server.** If you own a Redis, read its `INFO` twice a minute apart with
#    `mon.snapshot` and compute the interval hit ratio with `mon.interval_hit_ratio`. How far is it
#    from the since-start figure?

# %% [markdown]
# ## Summary
#
# | Symptom on the dashboard | Entropy behind it | Defence | Knob | Cost |
# |---|---|---|---|---|
# | Memory rises in a straight line, hit ratio unchanged | Keys with no TTL (creep) | A TTL on every cache write; a rate-of-change alert on memory | `EX`/`PX`, alert `window` and `for_` | misses when keys expire |
# | Evictions/s up, memory flat at the limit, misses up | Working set outgrew `maxmemory` | More memory, or cache less (smaller values, fewer items) | `maxmemory`, policy | RAM, or hit ratio |
# | Hit ratio cliff, then slow recovery | The hot set moved | Warm the new hot set; LFU keeps hot keys ([03](03_eviction.ipynb)) | policy, warming | load while it recovers |
# | Spike of expirations, wall of misses | Synchronised expiry (stampede) | TTL jitter, early recomputation ([01](01_time_to_live.ipynb)) | jitter share | slightly shorter average TTL |
# | p99 up, median flat | Big keys, `KEYS`, other O(N) commands | Split big values; `SCAN` instead of `KEYS`; watch SLOWLOG | `slowlog-log-slower-than` | a refactor |
# | Memory flat at the limit, OOM errors, no evictions | Creep or growth under `noeviction` | Find the leak (SCAN sample); alert on `errorstat_OOM` | `maxmemory-policy`, TTLs | lost writes |
# | Memory rises for a while after a start | Expired keys not reclaimed yet (active expiry lag) | Nothing: alert windows longer than the longest TTL | `window`, `for_` | slower alerts |
# | `mem_fragmentation_ratio` below 1 | Redis swapped out | More RAM, or a lower `maxmemory` | `maxmemory` | RAM |
# | "Hit ratio is 95%" while it is falling | Counters since start | Interval ratios from two snapshots | sampling interval | a sampler |
#
# - INFO counters count since start: difference two snapshots for any rate or ratio.
# - Each kind of entropy has its own signature; memory creep is the quiet one, and needs its own rule.
# - An alert rule is code you can test: it must fire on each known trouble and stay quiet on a
#   healthy run. `for_` and `window` separate a real trend from a warm-up or a noisy sample.
# - Thresholds and windows scale with the cache: make windows longer than the longest TTL and set
#   levels from the server's own healthy history.
# - Fake mode models memory, expiry, eviction, OOM refusals and the keyspace counters; it does not
#   model RSS, fragmentation, `instantaneous_ops_per_sec`, the error counters or SLOWLOG, and its
#   latency is a model. A real server shows them all.
#
# ## What's next
#
# [06 Entropy budget](06_entropy_budget.ipynb): you can now measure every kind of disorder. Next you
# decide how much of each you can afford: staleness, memory, misses and load traded against each
# other in one budget.
#
# Before you go, clean up this notebook's keys:

# %%
ns.reset()
