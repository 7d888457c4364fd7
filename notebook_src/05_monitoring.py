# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Monitoring: see entropy early
#
# Every kind of cache entropy you met in this series leaves a trace in the numbers Redis keeps
# about itself, usually minutes before a user notices. Memory creeps up. Evictions start. The hit
# ratio sags. Misses arrive all at once. A request gets slow. This notebook teaches you to read
# those numbers, turn them into a dashboard, and write alert rules that fire on trouble and stay
# quiet when all is well.
#
# ## What you'll learn
#
# - What the fields of `INFO memory` and `INFO stats` mean, and which ones mislead.
# - Why a hit ratio must be computed over an **interval** (from the difference of two snapshots),
#   never from the counters since start.
# - How to sample INFO into a time series and draw a dashboard from it, static or live.
# - The dashboard signatures of five kinds of entropy: memory creep, an eviction storm, a shifted
#   hot set, a stampede after synchronised expiry, and a latency spike.
# - How to write alert rules as code, and prove they fire on trouble and stay quiet on a healthy run.
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
# **Time to learn:** 40 minutes. No server to install: the lab runs on an embedded fake Redis.

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
# `mon.explain` lays them out with what each one means. The last column says what the embedded
# fake (the lab's *twin* of Redis 7) models; on a real server, ignore it.

# %%
before = mon.snapshot(r)
mon.explain(before, ["used_memory", "used_memory_peak", "used_memory_rss", "mem_fragmentation_ratio",
                     "maxmemory", "maxmemory_policy"], fake=lab.backend_of(r) == "fake")

# %% [markdown]
# Read it top to bottom:
#
# - **`used_memory`** is what Redis allocated: keys, values, the hash tables that index them,
#   and client buffers. This is the number `maxmemory` is compared with.
# - **`used_memory_rss`** is what the operating system gave the process. It is larger, because
#   an allocator keeps freed pages around and the process has a baseline of its own.
# - **`mem_fragmentation_ratio`** is RSS divided by `used_memory`. On a big, busy server a value
#   above about 1.5 means RAM is wasted in holes between allocations. On a nearly empty server,
#   like this one, the ratio is meaningless: a few MiB of process baseline over 1 MiB of data
#   gives a "terrible" ratio that is no problem at all. The twin does not model RSS (it reports
#   `used_memory` plus a fixed 12 MiB), so in fake mode read only `used_memory` and its peak.
# - **`maxmemory`** 0 means "no limit": the server grows until the machine runs out. The
#   **policy** decides what happens at the limit ([03 Eviction](03_eviction.ipynb)).
#
# Now the stats section, the counters:

# %%
mon.explain(before, ["keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys",
                     "total_commands_processed", "instantaneous_ops_per_sec", "connected_clients"],
            fake=lab.backend_of(r) == "fake")

# %% [markdown]
# Every counter here counts **since the server started** (or since `CONFIG RESETSTAT`). That is the
# trap: a server that has been up for a month answers with a month's average. Redis's own
# `instantaneous_ops_per_sec` is a short moving average; the twin does not model it, so this lab
# computes ops/s from the difference of `total_commands_processed` between two snapshots.

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
assert interval < 0.3 < since_start

# %% [markdown]
# The interval saw one read in six hit. The since-start ratio still says the cache is fine,
# because the long history outweighs the bad interval. A dashboard that shows
# `keyspace_hits / (keyspace_hits + keyspace_misses)` straight from INFO would barely move. Always
# difference two snapshots: `mon.rates(before, after)` does it for every counter, per second:

# %%
{name: round(value, 1) for name, value in mon.rates(before, after).items()}

# %% [markdown]
# ## 🧪 Exercise: the hit ratio of an interval (⭐)
#
# Write `my_interval_hit_ratio(before, after)`: the hit ratio of the lookups made *between* two
# snapshots (dicts with `keyspace_hits` and `keyspace_misses`). When no lookup happened in the
# interval, return `None`: an idle interval has no hit ratio (not 0, not 1).
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
# The workload is the cache-aside pattern from [00](00_watch_a_cache_decay.ipynb): 60 reads per
# tick of 300 catalog items, popular items far more often (a Zipf skew); a miss reads the source
# and caches the item for 1.5 s +/- 50% (jitter). Each tick also stores 6 session keys of 5 KB that
# live 0.5 s. The cache starts warm. Every experiment runs in a **sandbox**, a fresh server the
# lab owns, with a 4 MiB `maxmemory` and `allkeys-lru`, so it can reconfigure it freely.

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
# In fake mode time is virtual, so 2 s of traffic takes well under a second and the series is the
# same on every run. On a real server `mon.run` really waits out each 0.1 s interval.
#
# The healthy run, with every fifth sample shown:

# %%
observe(healthy, "healthy", sample_keys=True).table(every=5)

# %% [markdown]
# ## The dashboard
#
# Six panels, the six questions to ask of a cache: is it hitting (hit ratio)? Is it growing
# (memory)? Is it throwing data away to make room (evictions/s)? Is data timing out (expirations/s)?
# How much load reaches the source of truth (misses/s)? Is it fast (latency)? Healthy means every
# line stays within a band you can explain. Here the hit ratio starts at 1 because the cache was
# warmed, then drifts down towards 0.8 as items expire and the rarely read ones are not fetched
# again; misses and expirations rise with it. Memory rises for about a second while the first
# sessions fill up, then levels off. No evictions, a flat latency.

# %%
mon.plot_dashboard(runs["healthy"], "A healthy cache", backend=lab.backend_of(r))

# %% [markdown]
# About the latency panel: on a real server it is the time each request took, measured by the
# client. The embedded fake runs inside this Python process, so its timings would measure Python,
# not Redis, and change on every run. In fake mode the panel shows a **modelled** latency instead:
# a round trip plus a cost per byte moved and per key scanned, roughly calibrated on a real Redis 7.
# The model's terms:

# %%
print(f"round trip {mon.MODEL_BASE_MS} ms, {mon.MODEL_MS_PER_MB} ms per MB moved, "
      f"{mon.MODEL_MS_PER_KEY_SCANNED * 1e6:.0f} ns per key scanned")

# %% [markdown]
# ## Watch it live
#
# The same dashboard can redraw itself while a workload runs in a background thread.
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
# Stopping leaves nothing behind: `join()` waits for the run to end, the thread closes its sandbox,
# and no dashboard thread is left running. (Pressing Stop calls `dash.stop()`, which does the same.)

# %%
dash.join()
print(f"{len(dash.series)} samples, dashboard threads still running: {mon.dashboard_threads()}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert not dash.running and mon.dashboard_threads() == []

# %% [markdown]
# ## Five signatures of entropy, made on purpose
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
# mode it is identical, sample for sample). Creep is invisible to anyone who watches only the hit ratio, and it ends in
# evictions or, under `noeviction`, in refused writes. How far apart were the two runs at the end?

# %%
grew = runs["creep"][-1]["used_memory_mib"] - runs["healthy"][-1]["used_memory_mib"]
print(f"creep used {grew:.2f} MiB more than the healthy run after {runs['creep'][-1]['t']:.1f} s")
gap = abs(np.nanmean(runs["creep"].column("hit_ratio")) - np.nanmean(runs["healthy"].column("hit_ratio")))
print(f"mean hit ratio: creep and healthy differ by {gap:.3f}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert grew > 0.3 and gap < 0.05

# %% [markdown]
# ### 2. An eviction storm: the working set outgrows memory
#
# At the third tick a release starts caching ten times as many items, each 24 KB. The cache fills,
# then `allkeys-lru` evicts to make room, and the items it evicts are read again soon after.

# %%
observe(healthy.but(grow_at=3), "storm")
mon.plot_dashboard(runs["storm"], "Eviction storm: the working set outgrows memory",
                   ["memory", "evictions", "hit_ratio"], baseline=runs["healthy"])

# %% [markdown]
# Memory rises to the limit and stays there: at the limit, a flat memory line is not good news.
# Evictions start when memory meets `maxmemory`, and the hit ratio stays low because much of what
# is evicted is asked for again.

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
# read from the source of truth). Memory rises too:
# the old hot set stays cached, unread, until its TTL runs out. Without a TTL it would stay forever.

# %%
shift = runs["shift"]
print(f"hit ratio just after the shift {shift[8]['hit_ratio']:.2f}, lowest in the healthy run "
      f"{runs['healthy'].column('hit_ratio').min():.2f}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert shift[8]["hit_ratio"] < 0.5 < runs["healthy"].column("hit_ratio").min()

# %% [markdown]
# ### 4. A stampede: every key expires at the same moment
#
# The cache warmer filled every item at once and gave each the same TTL, with no jitter. 1.5 s
# later they all expire together, and the next reads all miss at once and hit the source together.

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
# ### 5. A latency spike: a big key and a KEYS command
#
# For three ticks someone caches the whole product feed in one hash of 10,000 products, and pages read
# it whole (`HGETALL`) twice per tick; an admin script runs `KEYS` to look for something. Then the
# change is rolled back and the hash deleted. On a real server, `SLOWLOG` records commands that ran
# long *inside* Redis; the sandbox logs anything over 1 ms.

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
# The p99 jumps while the median does not move: an average would hide this spike, percentiles show
# it. Memory jumps by the size of the big hash and drops when it is deleted: on Redis 7 these 10,000
# fields take about a megabyte (the twin sizes hashes the way Redis 7 encodes them).

# %%
incident = runs["latency"].column("used_memory_mib")
jump = incident[8:11].max() - incident[7]
print(f"memory jump during the incident: {jump:.2f} MiB")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert 0.5 < jump < 2.0

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
# thread while every other client waits. Deleting the big hash can show up too (`UNLINK` frees it in
# the background instead). `KEYS` over a few hundred keys is quick; over millions it would top the
# log. SLOWLOG times only the work inside Redis: moving and parsing a big reply is extra, and only the
# client sees it.

# %%
latency = runs["latency"]
print(f"p99 during the incident {latency.column('latency_p99_ms').max():.1f} ms, "
      f"healthy {np.median(runs['healthy'].column('latency_p99_ms')):.2f} ms (median of the run)")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert latency.column("latency_p99_ms").max() > 10 * np.median(runs["healthy"].column("latency_p99_ms"))

# %% [markdown]
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
]
mon.alert_matrix(runs, RULES)

# %% [markdown]
# Each row is a run, each column a rule, each cell when the rule first fired. The healthy row is
# quiet. The storm trips the eviction rule and, soon after, the hit ratio; the shift trips the hit
# ratio; the stampede trips the expiry burst; the latency incident trips the p99 spike. (Against a
# real Redis on a busy laptop the healthy row can show a p99 spike too: that is the machine's
# scheduling noise reaching the latency, a reminder to page on latency only when it lasts.)
#
# And the creep row is empty. Memory creep raises no alarm here, which is exactly how it reaches
# production.

# %% tags=["verify"] jupyter={"source_hidden": true}
quiet = mon.fired(RULES, runs["healthy"])
assert (quiet == set()) if FAKE else (quiet <= {"p99 spike"})
assert mon.fired(RULES, runs["creep"]) == set()
assert {"evicting"} <= mon.fired(RULES, runs["storm"]) and "expiry burst" in mon.fired(RULES, runs["stampede"])
assert "hit ratio low" in mon.fired(RULES, runs["shift"]) and "p99 spike" in mon.fired(RULES, runs["latency"])

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
#
# The obvious first try, "memory is rising", pages you on the healthy run too:

# %%
naive = mon.RateOfChange("memory rising", "used_memory_mib", above=0.05)
{name: sorted(mon.fired([naive], runs[name])) for name in ("healthy", "creep")}

# %% [markdown]
# Look back at the healthy dashboard: its memory also rises for about a second while the first
# sessions fill up, then levels off. Creep is a rise that does not stop.
#
# <details><summary>Hint</summary>
#
# Use `mon.RateOfChange` on `used_memory_mib` and ask for the rise to last: measure the slope over a
# longer `window` (say 10 samples, 1 s) and require it for more samples in a row than the healthy
# warm-up lasts (`for_`).
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
# (Your rule may also fire on the storm, whose memory really does climb, and on the hot-set shift:
# there the old hot set sits in memory, unread, until its TTL ends. That is waste worth knowing about.)

# %%
if check_memory_creep_alert(my_rule, runs):
    display(mon.alert_matrix(runs, RULES + [my_rule]))
else:
    print("Run this again once check_memory_creep_alert passes.")

# %% tags=["verify"] jupyter={"source_hidden": true}
if check_memory_creep_alert(my_rule, runs):
    assert all(mon.fired(RULES + [my_rule], series) for name, series in runs.items() if name != "healthy")

# %% [markdown]
# ## What is in the keyspace? Sampling with SCAN
#
# An alert says *that* memory creeps; the keyspace says *what* creeps. Never answer that with `KEYS *`:
# you just saw it stall a server. `mon.sample_keyspace` walks the keyspace with `SCAN` (100 keys per
# call) and asks each sampled key for its TTL and `MEMORY USAGE` in one pipeline per batch, so the
# server answers many small commands and every other client keeps being served. It is what
# `redis-cli --bigkeys` and `--memkeys` do.
#
# The healthy and the creep runs kept such a sample of their keys at the end (`sample_keys=True`):

# %%
ks_healthy, ks_creep = keyspaces["healthy"], keyspaces["creep"]
lab.table(["run", "keys", "sampled", "SCAN calls", "share without TTL", "bytes without TTL"],
          [[name, ks.total_keys, ks.sampled, ks.batches, ks.no_ttl_share, ks.bytes_without_ttl()]
           for name, ks in (("healthy", ks_healthy), ("creep", ks_creep))])

# %% [markdown]
# In the healthy cache every key has a TTL; in the creep run about half of the keys have none, and
# they hold most of the bytes. (DBSIZE counts more keys than SCAN returned: it still counts keys
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
# The TTLs that remain tell you when the memory will come back. In the healthy run they spread
# evenly up to 1.5 s + 50%: no cliff where everything expires at once (the jitter at work).

# %%
from entropy_lab import plots

fig, ax = plots.new_figure("TTL left on the sampled keys (healthy run)", "TTL left (s)", "keys")
ax.hist(ks_healthy.ttls_s, bins=30, color=plots.COLORS["truth"])
plots.show(fig)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert 0 <= ks_healthy.ttls_s.min() and ks_healthy.ttls_s.max() <= 1.0 * 1.5

# %% [markdown]
# On a real server with millions of keys, sample a few thousand, not all: the shares converge fast,
# and a `SCAN` that runs for minutes is its own load.
#
# ## Summary
#
# | Symptom on the dashboard | Entropy behind it | Defence | Knob | Cost |
# |---|---|---|---|---|
# | Memory rises in a straight line, hit ratio unchanged | Keys with no TTL (creep) | A TTL on every cache write; a rate-of-change alert on memory | `EX`/`PX`, alert `window` and `for_` | misses when keys expire |
# | Evictions/s up, memory flat at the limit, misses up | Working set outgrew `maxmemory` | More memory, or cache less (smaller values, fewer items) | `maxmemory`, policy | RAM, or hit ratio |
# | Hit ratio cliff, then slow recovery | The hot set moved | Warm the new hot set; LFU keeps hot keys ([03](03_eviction.ipynb)) | policy, warming | load while it recovers |
# | Spike of expirations, wall of misses | Synchronised expiry (stampede) | TTL jitter, early recomputation ([01](01_time_to_live.ipynb)) | jitter share | slightly shorter average TTL |
# | p99 up, median flat | Big keys, `KEYS`, other O(N) commands | Split big values; `SCAN` instead of `KEYS`; watch SLOWLOG | `slowlog-log-slower-than` | a refactor |
# | "Hit ratio is 95%" while it is falling | Counters since start | Interval ratios from two snapshots | sampling interval | a sampler |
#
# - INFO counters count since start: difference two snapshots for any rate or ratio.
# - Each kind of entropy has its own signature; memory creep is the quiet one, and needs its own rule.
# - An alert rule is code you can test: it must fire on each known trouble and stay quiet on a
#   healthy run. `for_` and `window` separate a real trend from a warm-up or a noisy sample.
# - Fake mode models memory, expiry, eviction and the counters; it does not model RSS, fragmentation,
#   `instantaneous_ops_per_sec` or SLOWLOG, and its latency is a model. A real server shows them all.
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
