# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Watch a cache decay
#
# A cache is a copy, and copies drift. The moment the
# [source of truth](../docs/glossary.md#source-of-truth) changes, every cached copy of the old
# value is wrong, and nothing in a plain cache notices. In this series we call that drift
# [*entropy*](../docs/glossary.md#entropy): left alone, a cache's disorder only grows.
#
# The series is built on an article, *Fighting Entropy: Applying the Second Law of
# Thermodynamics to Distributed Caching* (June 2025), which we call [**the article**](../docs/glossary.md#the-article) from here on.
# It names the disorder (stale data, wasted memory, fragile complexity) and the defences (TTLs,
# invalidation, bounded memory with eviction, consistent hashing, monitoring), and before its
# defences it says: "While you can't eliminate entropy, you can actively manage and contain it." Each
# notebook takes one defence, measures it, and says so where Redis behaves differently from
# what the article claims.
#
# This notebook builds a cache with no defences at all, runs a minute of traffic through it,
# and **measures** the disorder as it grows. The rest of the series fights it.
#
# ## What you'll learn
#
# - How a [cache-aside](../docs/glossary.md#cache-aside) cache drifts away from its source of
#   truth when nothing fights it.
# - Three numbers that make disorder visible: the
#   [**stale-read fraction**](../docs/glossary.md#stale-read), the
#   [**staleness age**](../docs/glossary.md#stale-read) (how long a served copy has been wrong)
#   and the **share of cached bytes that are stale**.
# - Why a perfect [hit ratio](../docs/glossary.md#hit-ratio) can hide a cache that is mostly wrong.
# - Which notebook in the series defends against which symptom.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | Python functions and loops | Necessary | |
# | Redis `GET` and `SET` | Helpful | Each is explained where it is used |
# | The cache-aside pattern | Helpful | Built from scratch below |
#
# **Time to learn:** 45 minutes (estimated by `tools/learning_time.py` from the words to read, the
# code cells to run and the exercises). No server to install: the lab runs on an embedded fake
# Redis.

# %% [markdown]
# ## Set up
#
# `lab.connect()` gives a normal redis-py client. With nothing configured it talks to an embedded
# fake Redis: [fakeredis](https://github.com/cunla/fakeredis-py), a Python imitation of Redis that
# runs inside this notebook, plus [**the twin**](../docs/glossary.md#the-twin), this lab's model of
# how Redis 7.0 accounts for memory, expires keys and evicts them (fakeredis alone has no memory
# accounting, no eviction and only lazy expiry; [docs/twin.md](../docs/twin.md) has the details). This notebook needs only `GET` and
# `SET`; later ones lean on the twin. Set `ENTROPY_LAB_REDIS_URL=redis://host:6379/0` before
# starting Jupyter and the same cells run against your own server. The banner says which one you
# are on.

# %%
import entropy_lab as lab

r = lab.connect()
lab.banner(r)

# %% [markdown]
# Every key this notebook writes lives under one prefix, so it never touches anything else on a
# real server. `ns.reset()` removes this notebook's keys and only those, and returns how many it
# removed (none yet on a fresh start).

# %%
ns = lab.namespace(r, "00")
ns.reset()

# %%
ns.key("item", 42)

# %% [markdown]
# On a server the lab did not start (your own Redis, or a workshop's shared one) the prefix also
# carries your learner id, `entropy-lab:<you>:00:item:42`, so learners never touch each other's
# keys; the banner shows the id.
#
# ## One stale read, by hand
#
# The source of truth is a tiny in-process store of **versioned records**: every write bumps the
# version and remembers when it happened. Start with one item, written at time 0.

# %%
from entropy_lab.truth import SourceOfTruth, decode, encode

truth = SourceOfTruth()
truth.write("item:42", "price=10", at=0.0)  # returns the new record, version 1

# %% [markdown]
# A cache-aside read asks the cache first. On a miss it reads the truth and stores a copy, with
# the version it came from so we can check it later. The first read misses and fills the cache:

# %%
key = ns.key("item:42")
if r.get(key) is None:
    r.set(key, encode(truth.read("item:42")))
r.get(key)

# %% [markdown]
# Now the price changes at t = 3 s. The write goes to the source of truth only: nobody tells the
# cache. Look at what each side says:

# %%
truth.write("item:42", "price=12", at=3.0)
cached_version, cached_value = decode(r.get(key))
cached_value, truth.peek("item:42").value

# %% [markdown]
# The cache still answers `price=10`. It will keep answering that forever: nothing expires it,
# nothing deletes it. The **staleness age** is how long the served copy has been wrong. At
# t = 10 s it is:

# %%
10.0 - truth.stale_since("item:42", cached_version)

# %% [markdown]
# ## A minute in the life of an undefended cache
#
# One stale key is an anecdote. Let's measure a workload: 200 items, 100 requests per second for
# 60 seconds, each request a write to the source of truth with probability 10% (the rest are
# reads). Some items are far more popular than others (a
# [Zipf](../docs/glossary.md#zipf-distribution)-like skew), as in most real traffic. The stream is
# seeded, so you get the same requests every time. The cell counts requests and writes:

# %%
from entropy_lab.decay import request_stream, run_decay

stream = request_stream(n_keys=200, seconds=60, rate=100, write_share=0.1, seed=7)
writes = sum(req.op == "write" for req in stream)
len(stream), writes

# %% [markdown]
# `run_decay` replays the stream through the cache: reads go cache-aside, writes update the truth
# only. Every 5 seconds of stream time it records what the reads saw and scans the cache to see
# how much of it is stale. Time here is the stream's own clock, so the numbers are identical on
# the fake and on a real Redis.

# %%
ns.reset()
run, truth = run_decay(r, ns, stream, window=5)

# %%
lab.table(
    ["t (s)", "reads", "hit ratio", "stale reads", "mean age (s)", "max age (s)", "stale bytes"],
    [[s.t, s.reads, s.hit_ratio, s.stale_fraction, s.mean_age, s.max_age, s.stale_bytes_share]
     for s in run.snapshots],
)

# %% tags=["verify"] jupyter={"source_hidden": true}
snaps = run.snapshots
rising = lambda name: all(a <= b for a, b in zip(run.column(name), run.column(name)[1:]))
assert rising("mean_age") and rising("max_age") and rising("stale_bytes_share")
dips = [b.t for a, b in zip(snaps, snaps[1:]) if b.stale_fraction < a.stale_fraction]
assert dips == [40, 60] and all(a.stale_fraction - b.stale_fraction < 0.01 for a, b in zip(snaps, snaps[1:]))
assert round(snaps[0].hit_ratio, 2) == 0.74 and snaps[-1].hit_ratio == 1.0
assert round(snaps[0].stale_fraction, 2) == 0.38 and round(snaps[-1].stale_fraction, 2) == 0.87
assert snaps[-1].max_age > 0.95 * snaps[-1].t

# %% [markdown]
# Read the table top to bottom. The hit ratio rises from 74% to 100% as the cache warms. The
# staleness ages and the stale-bytes share rise in every row. The stale-read fraction rises
# too, from 38% to 87%, with two dips of under a point (at 40 s and at 60 s): each window's reads
# are a new sample of the stream, so a window can be a little luckier than the one before.

# %% [markdown]
# ## Disorder, climbing
#
# Look for two things: both lines climb (the stale-bytes line in every window, the stale-read
# line with small dips), and neither levels off at a safe value.

# %%
from entropy_lab import plots

t = run.column("t")
fig, ax = plots.new_figure("An undefended cache drifts from the truth", "stream time (s)", "share (%)")
ax.plot(t, [100 * s.stale_fraction for s in run.snapshots], marker="o", color=plots.COLORS["stale"],
        label="reads that returned a stale value")
ax.plot(t, [100 * v for v in run.column("stale_bytes_share")], marker="s", color=plots.COLORS["load"],
        label="cached bytes that are stale")
ax.set_ylim(0, 100)
ax.legend(loc="lower right")
plots.show(fig)

# %% [markdown]
# Staleness age tells the other half of the story: not just *how often* a read is wrong, but *how
# wrong*. With no defence, the oldest stale copy served is almost as old as the run itself.

# %%
fig, ax = plots.new_figure("Stale copies only get older", "stream time (s)", "age of stale reads (s)")
ax.plot(t, run.column("max_age"), marker="^", color=plots.COLORS["stale"], label="oldest stale read")
ax.plot(t, run.column("mean_age"), marker="o", color=plots.COLORS["load"], label="mean stale read")
ax.plot(t, t, linestyle="--", color=plots.COLORS["neutral"], label="age of the run")
ax.legend(loc="upper left")
plots.show(fig)

# %% [markdown]
# ## The hit ratio hides it
#
# The number most cache dashboards show first is the hit ratio. Compare it with the stale-read
# fraction in the last window of the run:

# %%
first, last = run.snapshots[0], run.snapshots[-1]
print(f"last 5 s: hit ratio {last.hit_ratio:.1%}, stale reads {last.stale_fraction:.1%}")
print(f"first 5 s: hit ratio {first.hit_ratio:.1%}, stale reads {first.stale_fraction:.1%}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert last.hit_ratio > 0.99 and first.stale_fraction < 0.5 < 0.8 < last.stale_fraction

# %% [markdown]
# By the end every read is a hit, and most of those hits are wrong. A cache with no defence
# looks healthiest exactly when it is most disordered. The source of truth served one read per
# item, the first miss, and none after that, however often the item changed. Compare its reads
# with the number of items:

# %%
truth.reads, len(truth)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert truth.reads == len(truth) == 200 == sum(1 for _ in ns.scan())
assert round(snaps[0].stale_bytes_share, 2) == 0.18 and round(snaps[-1].stale_bytes_share, 2) == 0.61

# %% [markdown]
# Why does it only get worse? A cached copy becomes stale the first time its key is written, and
# stays stale because nothing ever removes it. The popular keys are written most often, so they go
# stale first, and they are also the ones read most often.

# %% [markdown]
# ## 🧪 Exercise: measure the stale share yourself (⭐)
#
# Write `stale_key_share(r, ns, truth)`: the share of keys *in the cache* whose copy is out of
# date, between 0 and 1. Walk the cache with `ns.scan()` (SCAN, never KEYS), read each copy with
# `r.get`, and use `decode` and `truth.stale_since(name, version)`. An empty cache (no key under
# the namespace) has no stale keys: return `0.0` for it.
#
# <details><summary>Hint</summary>
#
# `ns.name(full_key)` turns `entropy-lab:00:item:7` back into `item:7`. A copy is stale when
# `truth.stale_since(name, version)` is not `None`. Count keys, not bytes.
# </details>

# %% tags=["exercise"]
def stale_key_share(r, ns, truth):
    """Share of cached keys whose copy is older than the source of truth."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def stale_key_share(r, ns, truth):
    """Share of cached keys whose copy is older than the source of truth."""
    stale = total = 0
    for full_key in ns.scan():
        version, _ = decode(r.get(full_key))
        total += 1
        stale += truth.stale_since(ns.name(full_key), version) is not None
    return stale / total if total else 0.0


# %% [markdown]
# The check runs your function on three caches it builds itself: a small example with a known
# answer, a random one you have not seen, and an empty one. Each also holds keys that are not this
# cache's business: another application's keys on the same server, and records of the source of
# truth that were never cached.

# %%
from entropy_lab.checks import check_stale_key_share

check_stale_key_share(stale_key_share)

# %% [markdown]
# Once it passes, this cell runs your function on the cache from the experiment and sets it
# next to the stale *bytes* share of the last row of the table.

# %%
if check_stale_key_share(stale_key_share):
    print(f"{stale_key_share(r, ns, truth):.1%} of cached keys are stale; "
          f"{run.snapshots[-1].stale_bytes_share:.1%} of cached bytes are stale")

# %% [markdown]
# On this cache the two shares come out within a point of each other. That is no law: a record's
# size here comes from a hash of its name, so it has nothing to do with how often the record is
# written. In a real system big records (a product page, a feed) may change more or less often
# than small ones, and then the two numbers part ways. The key share tells you how many answers
# are wrong; the bytes share tells you how much memory holds wrong data.

# %% [markdown]
# ## A map of the series
#
# Each symptom you just measured has a defence, and each defence has its own notebook.
#
# | Symptom | What you saw here | Defence | Notebook |
# |---|---|---|---|
# | Stale copies live forever | the staleness age grew with the run | Time-to-live, jitter, early recomputation | 01 Time-to-live |
# | A write is not seen by the cache | the stale-read fraction climbed to 87% | Invalidation: delete, pub/sub, streams, versioned writes | 02 Invalidation |
# | The cache grows without bound | every item ever read stayed cached (200 of 200) | `maxmemory` and eviction policies | 03 Eviction |
# | Adding a cache node reshuffles everything | not shown here (one server) | Consistent hashing, Redis Cluster | 04 Sharding |
# | Disorder nobody sees | a 100% hit ratio over mostly stale reads | INFO, interval metrics, alerts | 05 Monitoring |
# | You cannot have it all | not shown here | An entropy budget | 06 Entropy budget |

# %% [markdown]
# ## Check your understanding
#
# Three questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("00")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed for the next notebook, and nothing checks it: compare what you find with
# a neighbour, or bring it to the discussion.
#
# 1. **Change the write rate.** Build the stream again with `write_share=0.02`, then `0.3`, and rerun
#    the decay cells. Before you run: will the last window's stale-read fraction grow in proportion to
#    the write share? After: why not? (Think about what happens to a copy that is already stale when
#    its item is written again.)
# 2. **Change the skew.** `request_stream(..., skew=0.5)` spreads reads more evenly (the hottest item
#    still gets several times the average); `skew=1.5` puts most of them on a few items. Which goes
#    stale in fewer seconds, as a share of reads: the skewed workload or the flatter one? Which items
#    carry the stale reads in each?
# 3. **Reads or bytes?** The stale share of reads and the stale share of cached bytes told different
#    stories above. Find a skew (try 0.5 and 2.0) where they differ most, and explain why. Hint: a
#    read counts where traffic goes, a byte counts every cached item, and `value_size` gives each
#    item a size from a hash of its name, unrelated to how popular it is.
# 4. **On a real server.** If you have a Redis you own, set `ENTROPY_LAB_REDIS_URL` (see the README),
#    restart the kernel and run the notebook again. Which numbers change, and which cannot?

# %% [markdown]
# ## Summary
#
# | Symptom | Defence | Knob | Cost |
# |---|---|---|---|
# | Stale reads that grow with every write | none yet (this notebook measures) | none | none, until a user sees the wrong price |
# | Stale copies that never age out | none yet | none | unbounded staleness age |
# | A hit ratio that looks perfect | measure staleness, not only hits | what you monitor | a scan of the cache, or versions in values |
#
# - Without a defence, disorder only grows: here the stale-read fraction climbed from 38% of reads
#   in the first five seconds to 87% in the last five, and the stale share of cached bytes from
#   18% to 61%.
# - The hit ratio went *up* at the same time, to 100%. A healthy-looking cache can be mostly wrong.
# - Disorder is measurable: stale-read fraction, staleness age, stale bytes.
#
# ## What's next
#
# [01 Time-to-live](01_time_to_live.ipynb): the first line of defence. A TTL puts an upper bound on
# staleness age, at a price in misses and load on the source. You will measure that price.
#
# Before you go, clean up this notebook's keys. `ns.reset()` deletes them and returns how many:
# the 200 items the experiment cached. On the embedded fake they would vanish with the kernel
# anyway; on a real server, this leaves it as you found it.

# %%
ns.reset()
