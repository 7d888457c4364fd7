# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Time-to-live, the first line of defence
#
# In notebook 00 a stale copy lived forever: nothing ever removed it. The oldest and simplest
# defence is to give every copy an expiry date, a **[time-to-live](../docs/glossary.md#ttl)** (TTL). When it runs out, the
# next read misses and fetches a fresh copy. A TTL puts an upper bound on how long a copy can be
# wrong. It has a price, paid in misses and in load on the source of truth, and it brings a new
# failure of its own: copies made together expire together.
#
# This notebook measures all three, so you can choose a TTL and defend the choice with numbers.
#
# ## What you'll learn
#
# - How to build a TTL cache you can test without waiting, and why the usual toy version leaks.
# - Redis's expiry rules, by running them: which commands set a TTL, which keep it, which
#   silently remove it, and what `-1` and `-2` mean.
# - Why an expired key can still count in `DBSIZE` and memory ([lazy](../docs/glossary.md#lazy-expiry) and
#   [active expiry](../docs/glossary.md#active-expiry)).
# - The TTL trade-off, measured: [stale reads](../docs/glossary.md#stale-read) against [hit ratio](../docs/glossary.md#hit-ratio) and
#   load on the source of truth.
# - The **[stampede](../docs/glossary.md#stampede)** when many copies expire at once, and three defences: TTL
#   [jitter](../docs/glossary.md#jitter), probabilistic early recomputation ([XFetch](../docs/glossary.md#xfetch)) and a per-key lock
#   (single flight). What each one costs.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | [00 Watch a cache decay](00_watch_a_cache_decay.ipynb) | Necessary | [Cache-aside](../docs/glossary.md#cache-aside), the source of truth, stale reads |
# | Redis `GET`, `SET`, `DEL` | Helpful | Each expiry command is explained where it is used |
# | Logarithms and probability | Helpful | Only for the XFetch formula |
#
# **Time to learn:** 105 minutes (estimated by `tools/learning_time.py` from the words to read, the
# code cells to run and the exercises). No server to install: the lab runs on an embedded fake
# Redis.

# %% [markdown]
# ## Set up
#
# The same start as notebook 00: a client, a banner that says which Redis you are on, and a
# namespace so that every key this notebook writes can be cleaned up afterwards.

# %%
import entropy_lab as lab
from entropy_lab import plots, ttl

r = lab.connect()
lab.banner(r)

# %% [markdown]
# Clear this notebook's keys first, in case an earlier run stopped halfway (it prints how many).

# %%
ns = lab.namespace(r, "01")
ns.reset()

# %% [markdown]
# ## A TTL cache you can test without waiting
#
# The article this series starts from shows a toy TTL cache: a dictionary of `(value, expiry)`
# pairs, `time.time()` to check the expiry, a `print` on every call, and a demo that calls
# `time.sleep(3)` twice to show a hit and then an expiry. It works, and it has three problems:
# testing it takes real seconds, it prints instead of telling its caller what happened, and an
# expired entry leaves memory only if somebody reads it again.
#
# > **The article says:** its demo prints `'user:1': 'Alice' (Expires in 2s)` right after the
# > `set`, then `(Expires in 0s)` after `time.sleep(3)`, then `Cache miss for 'user:1'` after
# > `Key 'user:1' expired. Removing.` **What its code does:** run as printed, it shows
# > `(Expires in 4s)` and then `(Expires in 1s)` (`int()` rounds the 4.99 s and 1.99 s left down),
# > and no `Cache miss` line: `get` returns `None` right after removing the expired entry.
#
# `ttl.TTLCache` is the same idea done properly. Its clock is passed in, so a test can move time
# forward instantly, and every `get` returns a `Lookup` that says what happened. Replay the
# article's scenario: store a user with a 5 s TTL, read at 3 s, read again at 6 s.

# %%
from entropy_lab.clock import VirtualClock

clock = VirtualClock()
cache = ttl.TTLCache(ttl=5, clock=clock)
cache.set("user:1", "Alice")
cache

# %% [markdown]
# The clock moves only when told to. Advance it 3 s and read, then 3 s more and read again:

# %%
clock.advance(3)
at_3 = cache.get("user:1")
clock.advance(3)
at_6 = cache.get("user:1")
at_3, at_6

# %% [markdown]
# At 3 s the read is a hit with `ttl_left=2.0`. At 6 s the entry is 1 s past its deadline
# (`overdue=1.0`): the lookup says `expired` and removes it. The toy never uses a negative number
# as a code, and that matters in a moment: Redis's `TTL` command does. No real second went by,
# and a test can check the result exactly (this notebook's hidden `verify` cells do that for CI).

# %% tags=["verify"] jupyter={"source_hidden": true}
assert (at_3.status, at_3.ttl_left, at_6.status, at_6.ttl_left, at_6.overdue) == ("hit", 2, "expired", None, 1)

# %% [markdown]
# Now the leak. Expiry here is **[lazy](../docs/glossary.md#lazy-expiry)**: an entry is checked only when it is read. Store a
# thousand sessions, let them all expire, and count what the cache still holds:

# %%
for i in range(1000):
    cache.set(f"session:{i}", "token")
clock.advance(10)
len(cache)

# %% [markdown]
# All 1,000 are dead and all 1,000 are still in memory. A key nobody asks for again is never
# reclaimed. `sweep()` is **[active expiry](../docs/glossary.md#active-expiry)**: it walks the entries and removes the expired ones.

# %%
cache.sweep(), len(cache)

# %% [markdown]
# Redis does both, lazily on every read and actively in the background, as you will see below.
# First, the same scenario on Redis. `SET ... PX` takes the TTL in milliseconds; the times are
# scaled down to 500 ms so that it is quick on a real server too (on the embedded fake,
# `lab.sleep` moves a virtual clock and returns at once).

# %%
user = ns.key("user:1")
r.set(user, "Alice", px=500)
lab.sleep(0.3)
r.get(user), r.ttl(user)

# %% [markdown]
# Another 300 ms takes it past its deadline:

# %%
lab.sleep(0.3)
r.get(user), r.ttl(user)

# %% [markdown]
# At 300 ms the value is there (`TTL` rounds the 200 ms left to 0 s); at 600 ms it is gone and
# `TTL` says `-2`: no such key.

# %% tags=["verify"] jupyter={"source_hidden": true}
assert r.get(user) is None and r.ttl(user) == -2

# %% [markdown]
# ## Redis expiry rules, by running them
#
# Every Redis key can carry a deadline. The rules for setting, keeping and losing it are short,
# and one of them catches almost everybody. Rather than list them, run them: `ttl.run_commands`
# sends each command, written with `k` standing for a key in this notebook's namespace, and shows
# the reply and the key's `TTL` right after.
#
# ### Setting a TTL, and reading it back

# %%
k = ns.key("k")
ttl.run_commands(r, k, ["SET k v EX 100", "SET k v PX 2000", "PTTL k", "SET k v", "TTL k", "DEL k", "TTL k"])

# %% [markdown]
# Read the last column from top to bottom:
#
# - `EX` takes seconds and `PX` milliseconds; `TTL` answers in seconds, `PTTL` in milliseconds.
# - **`-1` means the key exists with no TTL. `-2` means there is no key.**
# - The fourth line is the trap: a plain `SET` on a key that had a TTL **removes the TTL**.
#   One code path that refreshes a value with a bare `SET` turns an expiring copy into an
#   immortal one, and you are back to notebook 00 for that key.
#
# ### Keeping a TTL

# %%
keep = ttl.run_commands(r, k, ["SET k 10 EX 100", "INCR k", "APPEND k 0", "SET k 7 KEEPTTL", "SET k 7"])
keep

# %% tags=["verify"] jupyter={"source_hidden": true}
assert [row[2] for row in keep.rows] == ["100", "100", "100", "100", "-1"]

# %% [markdown]
# Commands that *modify* a value in place (`INCR`, `APPEND` and their kin) keep its TTL. A `SET`
# *replaces* the value and drops the TTL, unless you say `KEEPTTL`.
#
# ### Changing a TTL, on conditions
#
# `EXPIRE` (seconds) and `PEXPIRE` (milliseconds) set a new TTL on an existing key. Since Redis 7
# they take a condition: `NX` only if the key has no TTL, `XX` only if it has one, `GT` only if
# the new TTL is longer, `LT` only if it is shorter. `PERSIST` removes the TTL. A reply of 0 means
# "not done".

# %%
conditional = ttl.run_commands(r, k, ["SET k v EX 100", "EXPIRE k 50 NX", "EXPIRE k 50 GT", "EXPIRE k 50 LT",
                                      "EXPIRE k 300 XX", "PERSIST k", "EXPIRE k 300 XX", "EXPIRE k 60 NX"])
conditional

# %% tags=["verify"] jupyter={"source_hidden": true}
assert [row[1] for row in conditional.rows[1:]] == ["(integer) 0", "(integer) 0", "(integer) 1", "(integer) 1",
                                                    "(integer) 1", "(integer) 0", "(integer) 1"]

# %% [markdown]
# `GT` and `LT` matter when several writers touch the same key: `EXPIRE k 300 GT` can only
# lengthen a copy's life, never cut it short. (A key with no TTL counts as one that never
# expires, so `GT` never applies to it and `LT` always does.)
#
# ### A warning about SETEX and PSETEX on the embedded fake
#
# `SETEX k 10 v` and `PSETEX k 1500 v` are older spellings of `SET ... EX` and `SET ... PX`. The
# embedded fake (fakeredis) rounds their deadline down to a whole second, so a short `PSETEX` can
# vanish at once. Compare the two spellings on the backend you are using:

# %%
r.psetex(ns.key("p"), 1500, "v")
r.set(ns.key("q"), "v", px=1500)
p, q = r.pttl(ns.key("p")), r.pttl(ns.key("q"))
print(f"PSETEX 1500 ms -> PTTL {p} ms; SET PX 1500 -> PTTL {q} ms"
      + (f"  (PSETEX lost {q - p} ms)" if p < q - 10 else "  (the same)"))

# %% [markdown]
# On a real Redis both show about 1500 ms. That is why this series always writes `SET ... PX`
# (or `PEXPIRE`): it behaves the same everywhere.

# %% [markdown]
# ## Lazy and active expiry: expired is not the same as gone
#
# A read never returns an expired value: Redis checks the deadline of any key a command touches,
# and deletes it there and then (**lazy** expiry, like the toy above). Keys nobody touches are
# found by an **active** cycle that runs in the background (`hz` times a second, 10 by default):
# it samples keys that have a TTL and deletes the expired ones, within a CPU budget. Until one of
# the two happens, an expired key still counts in `DBSIZE` and still holds memory.
#
# To watch it you need a server of your own: on a shared server `DBSIZE` counts everybody's keys.
# `lab.sandbox()` gives one (the twin in fake mode, a private `redis-server` otherwise). Write
# 2,000 keys that share one deadline, about 1 s from now; then, without reading them, sample `DBSIZE`,
# the `expired_keys` counter from `INFO stats` and `used_memory` from `INFO memory`. One key is
# read on purpose, 1 ms after the deadline.

# %%
with lab.sandbox() as box:
    box_ns, box_backend = lab.namespace(box, "01"), lab.backend_of(box)
    hz = int(box.config_get("hz")["hz"])
    empty = ttl.expiry_sample(box, t_ms=-1000)
    deadline = ttl.fill_expiring(box, box_ns, n=2000, px=1020)
    at_deadline = ttl.watch_expiry(box, deadline, [1])[0]
    lazy_read = box.get(box_ns.key("dying", 0))
    timeline = [at_deadline] + ttl.watch_expiry(box, deadline, [2, 50, 100, 150, 200, 300, 500, 1000])

# %% [markdown]
# The samples, from 1 ms to 1 s after the shared deadline:

# %%
lab.table(["ms after the deadline", "DBSIZE", "expired_keys", "used_memory (bytes)"],
          [[s.t_ms, s.dbsize, s.expired_keys, s.used_memory] for s in timeline])

# %% [markdown]
# What to look for, row by row:
#
# - 1 ms after the deadline every key is expired, yet `DBSIZE` still counts them all and
#   `used_memory` still holds them.
# - The `GET` of one key returned nothing and was counted in `expired_keys` at once: that key
#   was reclaimed lazily, by the read.
# - The rest go when the active cycle next runs: a step, not a slope. A few may linger a little
#   longer: when the table of keys with a TTL is under 1% full (most of its slots empty after a
#   mass expiry), Redis 7.0's active cycle skips it until the table has been resized.
#
# Every key is always in exactly one of two places, still counted by `DBSIZE` or already counted
# by `expired_keys`; on every server that holds, whatever the timing:

# %%
held = (at_deadline.used_memory - empty.used_memory) / 1024
freed = (at_deadline.used_memory - timeline[-1].used_memory) / 1024
print(f"at the deadline: {at_deadline.dbsize} keys held, {held:.0f} KiB; a second later: "
      f"{timeline[-1].dbsize} keys, {freed:.0f} KiB freed; the GET saw {lazy_read!r}; hz {hz}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert lazy_read is None and all(s.dbsize + s.expired_keys == 2000 for s in timeline) and hz == 10
assert timeline[-1].dbsize < 100
if box_backend == "fake":
    assert at_deadline.dbsize == 2000 and timeline[1].expired_keys == 1 and held > 200 and freed > 0.5 * held

# %% [markdown]
# On the twin the cycle's timing is the model's; on a real server the step comes wherever the
# cycle happens to run (its phase is not yours to choose), so the rows in between differ from
# run to run. The two facts above do not. Memory is noisier still on a real server: `used_memory`
# also moves with client buffers and the allocator, so only the twin's memory numbers are
# asserted here. On the twin, `used_memory` comes from its memory model (jemalloc's size classes),
# not from a measurement; a real Redis 7.0.15 held about 335 KiB here, not 282, partly in client
# buffers. The picture, on the backend you ran:

# %%
fig, ax = plots.new_figure("Expired keys linger until Redis reclaims them", "ms after the shared deadline",
                           "keys still counted by DBSIZE")
ax.step([s.t_ms for s in timeline], [s.dbsize for s in timeline], where="post", marker="o",
        color=plots.COLORS["stale"])
ax.set_xlim(0, 1050)
ax.set_ylim(0, 2200)
plots.show(fig)

# %% [markdown]
# For monitoring this means: `expired_keys` in `INFO stats` counts keys reclaimed either way, and
# a keyspace whose keys mostly have a TTL can hold a share of dead keys at any moment. Memory
# used is not memory needed.

# %% [markdown]
# ## The trade-off, measured
#
# A TTL bounds how long a copy can be wrong. A shorter TTL means fresher reads, more misses and
# more load on the source of truth. How much of each? Measure it on a workload:
#
# - a catalogue of 100 items, read 100 times a second for 5 minutes, some items far more popular
#   than others (Zipf-skewed, as in notebook 00);
# - each item's price changes at random, on average once every 1,000 s (about 17 minutes),
#   however popular it is.

# %%
stream = ttl.catalogue_stream(n_keys=100, seconds=300, read_rate=100, change_every=1000, seed=1)
reads = sum(req.op == "read" for req in stream)
reads, len(stream) - reads

# %% tags=["verify"] jupyter={"source_hidden": true}
assert (reads, len(stream) - reads) == (30_000, 31)

# %% [markdown]
# Thirty thousand reads and 31 price changes: about one change per thousand reads, a common
# shape for read-heavy data. `ttl.ttl_sweep` replays the stream through a cache-aside cache once
# per TTL. Writes go to the source of truth only, so the TTL is the only defence.
#
# Every copy is a Redis key written with a TTL (`SET ... PXAT`, the absolute form of `PX`). Five
# minutes of traffic replay in well under a second, so who expires the copies depends on the clock:
#
# - On the embedded fake the clock is virtual: the replay moves it along the stream, and Redis
#   itself drops the expired copies.
# - On a real server the wall clock cannot be moved, so the copies' TTLs (`SET ... PX`, with a
#   minute of slack) have not run out yet when they are read. There each copy also carries its
#   deadline inside its value, and a copy past it counts as missing, exactly as Redis treats an
#   expired key: a model. Redis never drops a copy before that deadline, so the numbers come out
#   identical on both (a test checks it), and a stopped run leaves only keys that expire.
#
# The replay also batches: one `MGET` reads the keys a 100-second slice needs, one pipeline stores
# the copies it made. Inside a slice the deadline in the value decides, just as a `GET` at that
# instant would (a unit test checks that batching gives the same answer as one command per request).

# %%
TTLS = [1, 2, 5, 10, 15, 20, 30, 60, 120]
sweep = ttl.ttl_sweep(r, ns, stream, TTLS)
lab.table(["TTL (s)", "hit ratio", "stale reads", "source reads/s", "oldest stale read (s)"],
          [[x.ttl, f"{x.hit_ratio:.1%}", f"{x.stale_fraction:.2%}", x.source_load, x.max_age] for x in sweep])

# %% [markdown]
# Who expired the copies on the backend you ran, and how many expired copies Redis itself had
# already dropped when a slice read them back (on a real server: none, since the TTLs have not
# run out yet):

# %%
print(f"expired by: {sweep[0].expired_by}; expired copies Redis had already dropped when a slice "
      f"read them back, all TTLs together: {sum(x.redis_expired for x in sweep)}")

# %% [markdown]
# First, the promise a TTL keeps: no stale read is older than the TTL. Compare the last column
# with the first:

# %%
print("every stale read younger than its TTL:", all(x.max_age < x.ttl for x in sweep))

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(x.max_age < x.ttl for x in sweep)

# %% [markdown]
# Now the trade-off, end to end:

# %%
short, long = sweep[0], sweep[-1]
for x in (short, long):
    print(f"TTL {x.ttl:>3} s: hit ratio {x.hit_ratio:.1%}, stale reads {x.stale_fraction:.2%}, "
          f"{x.source_load:.1f} source reads/s")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert short.stale_fraction < 0.001 < 0.05 < long.stale_fraction and short.source_load > 30 * long.source_load
assert all(x.hit_ratio > 0.95 for x in sweep if x.ttl >= 30) and round(1 / long.stale_fraction) == 14

# %% [markdown]
# Going from 1 s to 120 s takes the source's load down more than thirtyfold and lifts the hit
# ratio, and it multiplies the stale reads. Popular advice says "pick a TTL that keeps the hit
# ratio high". Every TTL from 30 s up has a hit ratio above 95% here, and the longest one serves
# a stale price on one read in fourteen. The hit ratio alone cannot choose a TTL; you need to
# measure staleness next to it.

# %% [markdown]
# ### The operating point
#
# Suppose your targets are **stale reads under 1%** and **hit ratio above 90%**. The shaded band
# in the figure is the TTLs that meet both; the purple point is the operating point, a TTL of 10 s
# (or the swept TTL nearest to it, if you changed `TTLS`).

# %%
point = min(sweep, key=lambda x: abs(x.ttl - 10))
print(f"TTL {point.ttl} s: hit ratio {point.hit_ratio:.1%}, stale reads {point.stale_fraction:.2%}, "
      f"{point.source_load:.1f} source reads/s; TTLs meeting both targets: {ttl.feasible_ttls(sweep)}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert point.ttl == 10 and point.stale_fraction < 0.01 and point.hit_ratio > 0.90 and ttl.feasible_ttls(sweep) == [10, 15]

# %% [markdown]
# In the figure, the dashed lines are the two targets and the numbers are the operating point's values.

# %%
plots.show(ttl.plot_tradeoff(sweep, at=point.ttl))

# %% [markdown]
# Move the operating point yourself with the slider. Watch all three panels at once: every step
# to the right buys hits and relief for the source with staleness.

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

widgets.interact(lambda ttl_s: plots.show(ttl.plot_tradeoff(sweep, at=ttl_s)),
                 ttl_s=widgets.SelectionSlider(options=TTLS, value=point.ttl, description="TTL (s)"));

# %% [markdown]
# ## 🧪 Exercise: choose a TTL for a bigger catalogue (⭐⭐)
#
# A second shop has **250 items** (not 100), read 100 times a second in all, with the same
# popularity skew; each item's price changes on average once every **1,200 s** (20 minutes).
# Your targets are the same: **stale reads under 1%** and a **hit ratio above 90%**. Find a TTL
# that meets both on this workload and set `my_ttl` to it, in seconds. The band you found above
# belongs to the first catalogue: it is not this one's, and the good TTLs here sit in a narrow
# band you will only find by measuring.
#
# <details><summary>Hint</summary>
#
# Replay `exercise_stream` through the cache for a handful of TTLs with
# `ttl.ttl_sweep(r, ns, exercise_stream, [...])` and tabulate hit ratio and stale reads, as above.
# With 2.5 times as many items, each copy is read less often: which target does that make harder
# to reach, and in which direction does it push the TTL? Sweep coarsely first, then narrow down.
# </details>

# %%
exercise_stream = ttl.catalogue_stream(n_keys=250, seconds=300, read_rate=100, change_every=1200, seed=4)

# %% [markdown]
# Your turn: measure on `exercise_stream`, then set `my_ttl`.

# %% tags=["exercise"]
my_ttl = ...  # seconds

# %% tags=["solution"] jupyter={"source_hidden": true}
candidates = ttl.ttl_sweep(r, ns, exercise_stream, [15, 20, 25, 30])
feasible = ttl.feasible_ttls(candidates)
my_ttl = feasible[len(feasible) // 2]
feasible, my_ttl

# %%
from entropy_lab.checks import check_ttl_choice

check_ttl_choice(my_ttl)

# %% [markdown]
# ### After you answer: the two catalogues on one grid
#
# Run this once your check passes: it shows the answer. Both workloads, the same TTLs, the same
# targets:

# %%
GRID = [10, 15, 20, 30]
second = ttl.ttl_sweep(r, ns, exercise_stream, GRID)
first = [x for x in sweep if x.ttl in GRID]
lab.table(["TTL (s)", "hit ratio: first", "hit ratio: bigger", "stale reads: first", "stale reads: bigger"],
          [[a.ttl, f"{a.hit_ratio:.1%}", f"{b.hit_ratio:.1%}", f"{a.stale_fraction:.2%}", f"{b.stale_fraction:.2%}"]
           for a, b in zip(first, second)])

# %%
print(f"meeting both targets on this grid: first catalogue {ttl.feasible_ttls(first)}, "
      f"bigger catalogue {ttl.feasible_ttls(second)}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert ttl.feasible_ttls(first) == [10, 15] and ttl.feasible_ttls(second) == [20]
assert all(b.hit_ratio < a.hit_ratio for a, b in zip(first, second))

# %% [markdown]
# Each copy in the bigger catalogue is read less often, so at every TTL its hit ratio is lower and
# the 90% target needs a longer TTL: the bottom of the band moves up. Its prices change a little
# less often per item, so its stale reads stay under 1% a little longer. Measured on a 1 s grid
# while writing this notebook, the first catalogue's band runs from 8 to 16 s and the bigger
# one's from 19 to 27 s: their main bands do not overlap. (The edges are ragged: stale reads hinge
# on which popular item changed when, so 18 and 19 s also pass on the first, 33 s on the second;
# only 19 s, at the ragged edge of both, passes on both.)
#
# A good TTL belongs to a workload; measure it on yours. And the faster the data changes, the
# lower the top of the band, until no TTL meets both targets. Then you need the next notebook's
# tool: telling the cache when the data changes.

# %% [markdown]
# ## Copies made together expire together: the stampede
#
# A TTL has a side effect, the **[stampede](../docs/glossary.md#stampede)** (also called a thundering
# herd). Copies cached at the same moment, after a deploy, a restart, a cache flush or a warm-up
# script, all get the same deadline and all expire in the same instant. Every
# reader in the next second misses, and the source of truth takes the whole load at once.
#
# It is worse for popular keys. Fetching a value from the source takes time; until the first
# miss's fetch lands, every other reader of that key misses too and starts its own fetch (the
# **[dog-pile](../docs/glossary.md#stampede)**).
#
# The experiment: 200 items warmed into the cache at t = 0 with a 15 s TTL, then 200 reads per
# second (Zipf-skewed), and a source read that takes 200 ms. The warm-up itself is not counted.
# As in the sweep, every copy is a Redis key with a TTL; the 200 ms source read is modelled (the
# replay does not sleep), so every time in these results is stream time.

# %%
workload = ttl.StampedeWorkload(n_keys=200, read_rate=200, seconds=45, ttl=15, recompute=0.2)
none = ttl.run_stampede(r, ns, workload)
busiest = none.source_per_second.index(none.peak)
wave2 = round(2 * workload.ttl)
second_wave = max(none.source_per_second[wave2:wave2 + 5], default=0)
print(f"no defence: peak {none.peak} source reads/s at t = {busiest} s, {second_wave} at the second wave; "
      f"{none.source_reads} source reads in {workload.seconds} s (simulated, stream time); "
      f"copies expired by {none.expired_by}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert (busiest, none.peak) == (15, 109) and sum(none.source_per_second[:15]) == 0 and second_wave < none.peak / 2

# %% [markdown]
# Look for the spike at 15 s (the dotted red lines mark multiples of the TTL) and a smaller wave
# at 30 s: the refills after the first wave happened when each key was next read, so they are a
# little spread out, and the second wave is lower. Synchronisation fades on its own, slowly.

# %%
plots.show(ttl.plot_stampede([none], ttl=workload.ttl))

# %% [markdown]
# ## 🧪 Exercise: spread the deadlines with jitter (⭐)
#
# The first defence is **[jitter](../docs/glossary.md#jitter)**: give each copy a slightly different TTL, so that copies made
# together expire over a window instead of in one instant. Write `jittered(base, rng)`: it
# returns the TTL for one copy, in seconds: `base` stretched or shrunk at random, for **any**
# base (a 4 s TTL and a 60 s TTL both need jitter), always positive, never more than 50% away from
# `base`, and on average close to `base` (jitter spreads deadlines; it should not quietly make
# every copy shorter or longer).
# The check calls your function with several bases, then replays two stampedes with it (the one
# above, with a 15 s TTL, and another with a 30 s TTL) and passes when the peak load comes down
# to **at most half** of the undefended peak in both.
#
# <details><summary>Hint</summary>
#
# Use the random generator you are given, not the `random` module, so that runs repeat:
# `rng.uniform(a, b)` draws a float between `a` and `b`. Multiply `base` by a factor a little
# below or above 1. How wide? Try ±5% and ±20% and compare.
# </details>

# %% tags=["exercise"]
def jittered(base, rng):
    """A TTL near `base` seconds, different for every copy."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def jittered(base, rng):
    """A TTL near `base` seconds, different for every copy."""
    return base * rng.uniform(0.8, 1.2)


# %% [markdown]
# The check first tries your function on its own at bases of 4, 15 and 60 s and one it draws at
# random (is it a positive number, does it vary, does the same seed give the same TTLs, does it
# follow the base), then replays the two stampedes with it:

# %%
from entropy_lab.checks import check_jitter

check_jitter(jittered)

# %% [markdown]
# ### After you answer: jitter on the stampede
#
# The comparison below uses the lab's own `ttl.jittered_ttl` (±20%), so it does not depend on
# your version.

# %%
jitter = ttl.run_stampede(r, ns, workload, name="jitter ±20%", ttl_fn=ttl.jittered_ttl)
print(f"jitter ±20%: peak {jitter.peak} source reads/s (no defence: {none.peak})")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert jitter.peak <= none.peak / 2

# %% [markdown]
# ## Refresh a little early: XFetch
#
# Jitter spreads the expiries of *different* keys. It does nothing for the dog-pile on one hot
# key. **Probabilistic early recomputation** (XFetch; Vattani, Chierichetti and Lowenstein,
# VLDB 2015) does. Store next to each value how long it took to compute, `delta`. Every reader
# that finds a fresh copy also draws a random number in (0, 1] and recomputes the value *early* if
#
# $$-\,\delta \cdot \beta \cdot \ln(\mathrm{rand}) \;\geq\; \text{time left before expiry}$$
#
# The chance of that is $e^{-\text{left}/(\delta\beta)}$: negligible while the deadline is far,
# high just before it. $\beta$ is the knob: above 1 readers refresh earlier (more early source
# reads), below 1 later; $\beta = 1$ is the paper's default. With $\beta = 1$ and a 200 ms
# recompute:

# %%
import math

lab.table(["time left (s)", "chance a reader refreshes"],
          [[left, f"{math.exp(-left / 0.2):.1%}"] for left in (2.0, 1.0, 0.5, 0.2, 0.05)])

# %% [markdown]
# A hot key is read many times in its last second, so one of those reads almost surely refreshes
# it before it expires, while the others keep being served the cached copy. A key read once a
# minute is rarely refreshed early: it simply expires, as before. No coordination between readers
# is needed. `ttl.xfetch_should_refresh` is the test itself, one line.
#
# In the paper, the reader that wins the draw **recomputes the value itself and waits for it**,
# like a miss; only the other readers are served from the cache. That is what `xfetch_beta` runs:

# %%
xfetch = ttl.run_stampede(r, ns, workload, name="XFetch β=1 (paper)", xfetch_beta=1.0)
print(f"XFetch: peak {xfetch.peak} source reads/s, {xfetch.early_refreshes} early refreshes, "
      f"hit ratio {xfetch.hit_ratio:.2%} (no defence: {none.hit_ratio:.2%})")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert xfetch.peak < none.peak and xfetch.early_refreshes > 0

# %% [markdown]
# A common variant, **not in the paper**, serves the winning reader the cached copy at once and
# refreshes in the background (a thread or a job queue). The source sees exactly the same reads,
# since the draws are the same; only the reader who drew early stops waiting:

# %%
background = ttl.run_stampede(r, ns, workload, name="XFetch β=1 + background refresh",
                              xfetch_beta=1.0, background=True)
print(f"background refresh: hit ratio {background.hit_ratio:.2%}, the same {background.source_reads} source reads")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert background.source_per_second == xfetch.source_per_second
assert background.hits == xfetch.hits + xfetch.early_refreshes and background.hit_ratio > none.hit_ratio

# %% [markdown]
# The background version buys that hit ratio with machinery the paper does not need: a place to
# run refreshes, and a way to stop two of them running for the same key.

# %% [markdown]
# ## One reader fetches, the others wait: a lock per key
#
# The other cure for the dog-pile is a **single flight**: on a
# miss, a reader tries to take a per-key lock with `SET lock:k holder NX PX 30000`. `NX` makes it succeed for exactly one reader;
# that reader reads the source and stores the value, then deletes the lock. The others wait and
# re-read the cache every 50 ms. `PX` is the safety net: a holder that crashes cannot keep the lock
# forever. (In production, delete the lock only if you still hold it: store a random token and
# compare it in a Lua script before `DEL`.) In this simulation the locks are real Redis keys; the
# waiting is in stream time.

# %%
lock = ttl.run_stampede(r, ns, workload, name="lock (SET NX PX)", lock=True)
both = ttl.run_stampede(r, ns, workload, name="jitter + lock", ttl_fn=ttl.jittered_ttl, lock=True)
print(f"lock: peak {lock.peak} source reads/s, {lock.lock_waits} reads waited, "
      f"the longest {lock.max_wait * 1000:.0f} ms (modelled: stream time)")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert lock.peak < none.peak and lock.lock_waits > 0 and lock.max_wait <= workload.recompute + 0.05

# %% [markdown]
# ## The defences, side by side
#
# Each panel shows one defence in amber over the undefended run in grey; its title gives the peak.
# (The background-refresh variant has the same source reads as the paper's XFetch, so it gets no
# panel of its own.)

# %%
plots.show(ttl.plot_stampede([jitter, xfetch, lock, both], baseline=none, ttl=workload.ttl))

# %% [markdown]
# The same runs in numbers, with what each defence cost:

# %%
runs = [none, jitter, xfetch, background, lock, both]
lab.table(["defence", "peak source reads/s", "source reads in all", "hit ratio", "early refreshes",
           "reads that waited for a lock", "longest lock wait (ms, model)"],
          [[x.name, x.peak, x.source_reads, f"{x.hit_ratio:.2%}", x.early_refreshes, x.lock_waits,
            round(x.max_wait * 1000)] for x in runs])

# %% [markdown]
# What the table shows (the hit ratio counts reads served from the cache at once; a miss, a
# paper-XFetch early refresh and a lock wait all wait for the source):
#
# - **Jitter** cuts the peak the most, because the big wave is *many keys* expiring together.
#   Its cost: some copies live longer than the base TTL (here up to 20% longer), so the staleness
#   bound grows with it.
# - **XFetch** and the **lock** each remove the dog-pile on hot keys, but not the wave of cold
#   keys expiring together. XFetch costs a few early source reads, and in the paper's form each
#   early refresh makes one reader wait a recompute, so its hit ratio stays close to the
#   undefended one; only the background variant, outside the paper, turns those reads into hits.
#   The lock costs waiting: readers that find the lock taken are delayed by up to one recompute
#   (plus one retry interval).
# - They attack different causes, so they add up: jitter plus a lock has the lowest peak.
#
# Popular advice says "put a lock around the recomputation and the stampede is solved". The lock
# alone left most of the peak in place:

# %%
print(f"peak: no defence {none.peak}, lock {lock.peak}, jitter {jitter.peak}, jitter + lock {both.peak}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert both.peak < jitter.peak < xfetch.peak < lock.peak < none.peak and lock.peak > 0.6 * none.peak
assert background.hit_ratio == max(x.hit_ratio for x in runs) and jitter.max_wait == xfetch.max_wait == 0

# %% [markdown]
# ## Check your understanding
#
# Four questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("01")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed for the next notebook, and nothing checks it.
#
# 1. **Faster or slower changes.** Build the catalogue with `change_every=500` and then `2000`
#    (`ttl.catalogue_stream`), run `ttl.ttl_sweep` on the same TTL grid and print
#    `ttl.feasible_ttls(...)`. Predict first: when the data changes twice as often, does the band of
#    good TTLs move, shrink, or vanish?
# 2. **How much jitter is enough?** `ttl.run_stampede(r, ns, workload, name=..., ttl_fn=...)` takes any
#    function of `(base, rng)`. Try `lambda base, rng: ttl.jittered_ttl(base, rng, spread=0.05)` and
#    `spread=0.5`, and draw them with `ttl.plot_stampede`. What spread flattens the peak, and what does
#    a wide spread cost the keys that now expire early?
# 3. **Tune XFetch.** Rerun the XFetch stampede with `xfetch_beta=0.5`, `2` and `4`. Count the early
#    source reads against the peak: where does early recomputation start to cost more than it saves?
# 4. **A TTL that quietly disappears.** With `ttl.run_commands`, find three more commands that leave a
#    key with no TTL (`TTL` returns -1) and two that keep it. The Redis docs for `SET`, `GETSET`,
#    `RENAME` and `PERSIST` are a good start.

# %% [markdown]
# ## Summary
#
# | Symptom | Defence | Knob | Cost |
# |---|---|---|---|
# | Stale copies live forever | A TTL on every copy (`SET ... PX`; this notebook's replays write one on every copy) | the TTL | misses and load on the source, rising as the TTL shrinks |
# | A key that should expire never does | Always pass `EX`/`PX`, or `KEEPTTL`; check `TTL` for `-1` | which command writes | none: a code-review item |
# | Expired keys still hold memory | Redis's active expiry cycle | `hz`, `active-expire-effort` | CPU on the server |
# | Copies made together expire together | TTL jitter | the spread (e.g. ±20%) | copies live up to the spread longer |
# | Dog-pile on a hot key at expiry | XFetch early recomputation | β | a few early source reads, each one a reader who waits (unless refreshed in the background) |
# | Dog-pile on a hot key at expiry | A per-key lock (`SET NX PX`) | lock expiry, retry interval | readers wait up to one recompute |
#
# - A TTL bounds the staleness **age** of every read by the TTL itself. It does not bound the
#   stale-read **fraction**: that grows with the TTL and with how often the data changes.
# - Choose a TTL from two measurements, stale reads and hit ratio, never from the hit ratio alone.
# - A good TTL belongs to a workload: the two catalogues' bands barely touched (only 19 s passed
#   on both). Measure yours.
# - A plain `SET` removes a TTL. Expired keys are invisible at once but reclaimed later.
# - Synchronised expiry is a stampede waiting to happen: jitter spreads keys apart, XFetch or a
#   lock protects each hot key.
#
# ## What's next
#
# [02 Invalidation](02_invalidation.ipynb): a TTL makes every change wait up to one TTL before
# readers see it. Invalidation tells the cache at the moment of the write, and brings its own
# failure modes: lost messages and races.
#
# Before you go, clean up this notebook's keys:

# %%
ns.reset()
