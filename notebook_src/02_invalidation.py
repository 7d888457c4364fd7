# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Invalidation: remove entropy on purpose
#
# A TTL (notebook 01) fights stale data by waiting: every copy dies after a while, fresh or not.
# Invalidation is the opposite move: when the data changes, you remove the copies **at once**.
# The popular advice is one line long: "delete the key when the data changes". This notebook shows
# why that line is harder than it sounds, in four ways it goes wrong, and fixes each one with a
# measurement.
#
# ## What you'll learn
#
# - The [cache-aside](../docs/glossary.md#cache-aside) read and write paths, and why a delete in
#   Redis does not reach the copies your app instances keep in their own memory (an
#   [L1 cache](../docs/glossary.md#l1-cache)).
# - How to build the popular [pub/sub](../docs/glossary.md#pubsub) invalidation pattern so it really works: messages that survive
#   keys with colons, prefix clears with [`SCAN`](../docs/glossary.md#scan) (never `KEYS`),
#   subscriber threads that stop cleanly.
# - Why pub/sub loses invalidations, and two defences: a TTL backstop and a log in a
#   [Redis Stream](../docs/glossary.md#stream) (and how durable that log really is).
# - The [cache-aside race](../docs/glossary.md#cache-aside-race) that writes an old value back right
#   after a delete, reproduced step by step, and closed with versioned writes.
# - What Redis can do for you: [keyspace notifications](../docs/glossary.md#keyspace-notifications)
#   and [client tracking](../docs/glossary.md#client-tracking) (`CLIENT TRACKING`).
# - What each strategy costs, measured side by side on the same traffic.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | [00 Watch a cache decay](00_watch_a_cache_decay.ipynb) | Necessary | The source of truth, stale reads, staleness age |
# | [01 Time-to-live](01_time_to_live.ipynb) | Helpful | A TTL as an upper bound on staleness |
# | Redis `DEL`, `PUBLISH`, `SUBSCRIBE` | Helpful | Each is explained where it is used |
# | Python threads | Helpful | The subscribers run on threads; the lab starts and stops them for you |
#
# **Time to learn:** 115 minutes (estimated by `tools/learning_time.py` from the words to read, the
# code cells to run and the exercises). No server to install: the lab runs on an embedded fake
# Redis.

# %% [markdown]
# ## Set up
#
# The same two lines as in every notebook: a client (the embedded fake unless you configured a
# server) and this notebook's own key prefix.

# %%
from itertools import accumulate

import entropy_lab as lab
from entropy_lab import invalidation as inv
from entropy_lab import plots
from entropy_lab.truth import SourceOfTruth

r = lab.connect()
lab.banner(r)
ns = lab.namespace(r, "02")
ns.reset()

# %% [markdown]
# ## 1. Delete on write
#
# ### The read path and the write path
#
# Real apps rarely have one cache. Each app instance (a web server, a worker) keeps a small
# dictionary in its own memory, the **L1**, in front of the shared Redis, which sits in front of
# the source of truth. `inv.Service` is one such instance. A read tries L1, then Redis, then the
# source, and fills both caches on the way back. Watch where each read is served from:

# %%
truth = SourceOfTruth()
truth.write("user:42", "name=Ada", at=lab.now())
api = inv.Service("api", r, ns, truth)
[api.read("user:42").source for _ in range(2)]

# %% [markdown]
# The first read went all the way to the source; the second never left the process. Now the user
# renames herself. The write path the popular advice recommends: update the source, then delete
# the cached copy in Redis (delete rather than overwrite: the next read refills it, and a delete
# can be repeated safely).

# %%
truth.write("user:42", "name=Ada Lovelace", at=lab.now())
r.unlink(ns.key("user:42"))
served = api.read("user:42")
served.source, served.value, served.stale

# %% [markdown]
# The Redis copy is gone, yet the read is stale: it came from `api`'s L1, which nobody told.
# Deleting in Redis only fixes Redis. Every instance that keeps its own copy must hear about the
# change too. That is what the rest of this notebook builds.
#
# ### `DEL` or `UNLINK`?
#
# Both remove keys and return how many they removed. The difference is where the memory is freed:
# `DEL` frees a big value (a hash with a million fields, say) inside the command, and Redis
# serves nobody else meanwhile; `UNLINK` takes the key out of the keyspace at once and frees the
# memory on a background thread. For a client the answer is the same:

# %%
r.set(ns.key("a"), "1"), r.set(ns.key("b"), "2")
r.delete(ns.key("a")), r.unlink(ns.key("b")), r.exists(ns.key("a"), ns.key("b"))

# %% [markdown]
# This lab uses `UNLINK` everywhere: deleting a big value then costs the server no longer than
# deleting a small one. (Since Redis 6 you can make `DEL` behave the same way with `lazyfree-lazy-user-del
# yes`, a server setting that is off by default.)

# %% [markdown]
# ## 2. Tell every instance: pub/sub invalidation
#
# The pattern from the article this series started from: a publisher sends a short text message on
# a Redis pub/sub channel for every change, and every subscriber acts on it. Three messages:
#
# | Message | Meaning | What an L1 does |
# |---|---|---|
# | `invalidate:<key>` | the key changed | drop the key |
# | `update:<key>` | the key changed and Redis already holds the new copy | reload it from Redis |
# | `refresh_all:<prefix>` | many keys changed | drop every key under the prefix |
#
# The last column is this notebook's reading of the pattern, not the article's code:
#
# > **The article says:** "a service updating the database can publish an invalidation message, and
# > other services (or cache nodes) can subscribe to this channel and invalidate their local caches."
# > **What its code does:** its subscriber keeps no local cache at all. It calls `r.delete(...)` on
# > the **shared** Redis key, so with N instances, N subscribers delete the same key.
#
# Watch three instances follow the article's code for one message. This runs in a sandbox (a server
# the lab owns), because the article's keys, like `user:42`, sit outside the lab's prefix:

# %%
with lab.sandbox() as s:
    s.set("user:42", "Old User Data")
    found = [s.delete("user:42") for instance in ["api", "worker", "cron"]]
found

# %% [markdown]
# The first delete found the key; the other two found nothing to do. The publisher could have
# deleted it once itself. Pub/sub earns its keep only when each instance holds a copy of its own,
# the L1 of section 1, so that is how this notebook uses it: the subscriber drops the instance's
# own copies, and the writer fixes Redis once.
#
# ### The article's parser silently skips most real keys
#
# > **The article says:** `parts = data.split(":")`, then `if len(parts) == 3:` rebuilds the key as
# > `f"{parts[1]}:{parts[2]}"`. **What it does:** it acts only on keys with exactly one colon. It
# > never raises; every other message is read, printed and ignored, and that copy stays stale.
#
# `inv.article_on_message` is the article's subscriber body, line for line (it takes the decoded
# text, and prints keys as the strings they already are). Feed it two of the article's own messages
# (`invalidate:user:42`, `refresh_all:news`) and three more, on a sandbox, and look at which keys it
# deleted and which it left behind:

# %%
with lab.sandbox() as s:
    keys = ["user:42", "user42", "tenant:7:user:42", "news:item:1", "product:9"]
    s.mset({key: "old" for key in keys})
    for text in ["invalidate:user:42", "invalidate:user42", "invalidate:tenant:7:user:42",
                 "refresh_all:news", "refresh_all:product"]:
        inv.article_on_message(s, text)
    left = sorted(key for key in keys if s.exists(key))

# %% [markdown]
# `invalidate:user42` and `invalidate:tenant:7:user:42` printed "Received" and nothing else: no
# error, no warning, no delete. `refresh_all:product` was "unrecognized", because the handler
# compares the whole message with the one prefix written into its code (`refresh_all:news`). What
# is still cached after five invalidations:

# %%
left

# %% tags=["verify"] jupyter={"source_hidden": true}
assert found == [1, 0, 0] and left == ["product:9", "tenant:7:user:42", "user42"]

# %% [markdown]
# Almost every real key has more than one colon (`entropy-lab:02:user:42`, `tenant:7:cart:{42}`),
# so the article's subscriber would skip most invalidations of a real system, quietly: a crash
# would at least have been noticed. The fix is small: the message kind never contains a colon, so split
# on the **first** colon only and keep everything after it.

# %%
messages = [inv.format_message("invalidate", ns.key("user:42")),
            inv.format_message("update", ns.key("product:{7}:price")),
            inv.format_message("refresh_all", ns.key("session:"))]
[inv.parse_message(text) for text in messages]

# %% [markdown]
# Here the prefix of `refresh_all` travels in the message, and the handler drops every L1 key that
# starts with it, for any prefix.
#
# ### Prefix clears: SCAN, never KEYS
#
# On the Redis side, `refresh_all` must find every key under a prefix. `KEYS prefix*` does it in
# one call, and that is the problem: Redis runs one command at a time, so while `KEYS` walks the
# **whole keyspace** (not just the keys that match) every other client waits. `SCAN` walks it in
# small batches, and other clients' commands run in between.
#
# To see the difference without touching anyone else's server, fill a sandbox (a server the lab
# owns) with 10,000 keys and list them both ways, timing each call:

# %%
with lab.sandbox() as big:
    for start in range(0, 10_000, 1_000):
        big.mset({f"app:user:{i}": "x" for i in range(start, start + 1_000)})
    listing = inv.keys_vs_scan(big, "app:user:*", count=500)

# %% [markdown]
# The shape of the work is the same on every backend and stable enough to check: one reply with
# every key, against many small batches.

# %%
print(f"KEYS returned {listing.keys_reply:,} keys in one reply")
print(f"SCAN returned {listing.scan_total:,} keys in {listing.scan_calls} batches of at most {listing.scan_largest_batch}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert listing.keys_reply == listing.scan_total == 10_000 and listing.scan_largest_batch <= 1_500

# %% [markdown]
# The timings depend on your machine and on the backend, so the next cell prints them only against
# a real Redis (`ENTROPY_LAB_BACKEND=server`; its output is not compared when the notebook is
# tested). The embedded fake is Python, many times slower than Redis, and its first `SCAN` call
# sorts the whole keyspace (a shortcut of the fake, not a property of Redis): its timings would
# mislead. On a real Redis each `SCAN` call does a small, bounded amount of work, so the longest call
# takes a fraction of the time of the one `KEYS` call. Both times include reading the reply.

# %% tags=["nbval-ignore-output"]
if lab.backend_of(r) == "fake":
    print("timed only against a real Redis: on the embedded fake the time is Python's, not Redis's")
else:
    print(f"KEYS: one call, {listing.keys_seconds * 1000:.1f} ms with no other command served")
    print(f"SCAN: {listing.scan_calls} calls, the longest {listing.scan_longest_call * 1000:.1f} ms")
    print(f"KEYS scaled to 50 million keys: about {listing.keys_seconds * 5_000:.0f} s in one call")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert lab.backend_of(r) == "fake" or listing.scan_longest_call < listing.keys_seconds

# %% [markdown]
# `KEYS` does work in proportion to the whole keyspace, in one call. With 10,000 keys that is merely
# rude; scale a real server's time to a 50-million-key production Redis (the last line of the
# timing cell) and every client of that server times out at once. `inv.clear_prefix` does the
# `refresh_all` clear the safe way: `SCAN MATCH prefix*` in batches, `UNLINK` each batch. It escapes
# glob characters in the prefix, so a key like `user:[vip]:1` cannot match more than you meant.
# On a server the lab did not start (your own Redis), it also refuses any prefix outside your own
# lab keys with one sentence: a `refresh_all:user:` there must never reach your application's
# `user:*` keys. Look for the five session keys gone and `user:7` left alone:

# %%
r.mset({ns.key("session", i): "token" for i in range(5)} | {ns.key("user:7"): "x"})
inv.clear_prefix(r, ns.key("session:")), sorted(ns.name(k) for k in ns.scan())

# %% [markdown]
# ### Instances, a publisher and subscribers
#
# Now the working version. Two instances, `api` and `worker`, share Redis and the source of truth;
# each has a `Subscriber` that applies messages to its L1 over its own connection. On a real
# server each subscriber reads on its own thread, as a service would. On the embedded fake every
# `PUBLISH` is delivered before it returns, so no thread is needed: the subscriber applies what has
# arrived when you wait for it (which is also how the lesson runs in a browser, where Python has no
# threads). The repr says which: `thread` or `pump`. `start()` waits until Redis has confirmed the subscription, so no message sent afterwards can slip
# past it. The channel name comes from `ns.private(...)`: on a server the lab did not start it
# carries your learner id and this kernel's own token, so nobody else's messages (not even your
# other kernel's) reach these subscribers, and `PUBLISH` counts only yours.

# %%
ns.reset()
truth = SourceOfTruth()
for name in ["user:42", "user:7", "product:1"]:
    truth.write(name, f"{name} v1", at=lab.now())
api, worker = inv.Service("api", r, ns, truth), inv.Service("worker", r, ns, truth)
channel = ns.private("channel", "invalidations")
subscribers = [inv.Subscriber(service, channel).start() for service in (api, worker)]
subscribers, inv.subscriber_threads()

# %% [markdown]
# Each instance reads all three keys, so every L1 holds a copy of each:

# %%
def l1_keys(service):
    return sorted(ns.name(key) for key in service.l1)

for service in (api, worker):
    for name in ["user:42", "user:7", "product:1"]:
        service.read(name)
{service.name: l1_keys(service) for service in (api, worker)}

# %% [markdown]
# The `Publisher` is the writer's side: it fixes Redis first (`UNLINK`, `SET`, or a SCAN + UNLINK
# prefix clear), then publishes the message. `PUBLISH` answers with the number of subscribers it
# was queued to (a subscriber that falls too far behind is disconnected and loses what was queued). On a real server delivery happens on the subscriber threads, so the cell waits (with a
# timeout) until each subscriber has applied every message before it looks at the L1s:

# %%
publisher = inv.Publisher(r, channel)
truth.write("user:42", "user:42 v2", at=lab.now())
heard = [publisher.invalidate(ns.key("user:42")),
         publisher.refresh_all(ns.key("product:"))]
delivered = [sub.wait_for(len(heard)) for sub in subscribers]
heard, {service.name: l1_keys(service) for service in (api, worker)}

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(delivered) and heard == [2, 2]

# %% [markdown]
# Both subscribers heard both messages, and both L1s dropped `user:42` and everything under
# `product:`. The next read of `user:42` goes back to the source and is fresh:

# %%
served = worker.read("user:42")
served.source, served.value, served.stale

# %% [markdown]
# Threads and connections are resources, and a notebook that leaks them slows down every cell after
# it. `stop()` stops the worker thread (if there is one), joins it and closes the subscriber's
# connection. Count the pub/sub threads left alive:

# %%
for sub in subscribers:
    sub.stop()
subscribers, inv.subscriber_threads()

# %% tags=["verify"] jupyter={"source_hidden": true}
assert inv.subscriber_threads() == 0

# %% [markdown]
# ## 🧪 Exercise: write the subscriber handler (⭐)
#
# Write `handle(l1, text, fetch)`: apply one message `text` to `l1` (a dict of key -> cached
# value). `fetch(key)` returns the shared Redis copy of a key, or `None` if Redis does not hold it.
#
# - `invalidate:<key>`: drop the key (it may not be there).
# - `update:<key>`: reload the key with `fetch`; if Redis does not hold it, drop it.
# - `refresh_all:<prefix>`: drop every key that starts with the prefix, character for character, for
#   any prefix (it ends with `:`, and that colon counts: `user:` covers `user:1:avatar`, not `users:7`).
#
# An `update` for a key your L1 does not hold may load it or ignore it: the check does not test that
# case. The check plays a scripted sequence of six messages (keys full of colons, two different
# prefixes), then a second sequence it draws at random each time you run it (keys with no colon,
# one colon or several, look-alike keys, glob characters in a prefix, random order), and compares
# your L1 with the expected one after every message. A ❌ names the message and, for the random
# sequence, the seed that replays it: `check_invalidation_handler(handle, seed=...)`.
#
# <details><summary>Hint</summary>
#
# `kind, _, target = text.partition(":")` splits on the first colon only. `l1.pop(key, None)` drops
# a key that may be missing. Build the list of keys to drop before deleting: a dict must not change
# size while you loop over it.
# </details>

# %% tags=["exercise"]
def handle(l1, text, fetch):
    """Apply one invalidation message to the L1 dict."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def handle(l1, text, fetch):
    """Apply one invalidation message to the L1 dict."""
    kind, _, target = text.partition(":")
    if kind == "invalidate":
        l1.pop(target, None)
    elif kind == "update":
        value = fetch(target)
        if value is None:
            l1.pop(target, None)
        else:
            l1[target] = value
    elif kind == "refresh_all":
        for key in [k for k in l1 if k.startswith(target)]:
            del l1[key]


# %% [markdown]
# The check plays its six scripted messages and a random sequence through your handler and compares
# the L1 after each one:

# %%
from entropy_lab.checks import check_invalidation_handler

check_invalidation_handler(handle)

# %% [markdown]
# Once it passes, your handler can run real instances: `inv.Service(..., handler=handle)`. This
# cell sends an `update` through a subscriber that uses it. Look for `source='l1'` with
# `version=2`: the next read never left the process, yet it is fresh, because your handler
# reloaded the new copy into L1:

# %%
if check_invalidation_handler(handle):
    mine = inv.Service("mine", r, ns, truth, handler=handle)
    mine.read("user:7")
    with inv.Subscriber(mine, channel) as sub:
        new = truth.write("user:7", "user:7 v2", at=lab.now())
        publisher.update(ns.key("user:7"), inv.encode_copy(new, lab.now()))
        sub.wait_for(1)
    served = mine.read("user:7")
    print(served)
else:
    print("This cell runs your handler on real instances once check_invalidation_handler(handle) passes.")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert served.source == "l1" and served.version == 2 and not served.stale

# %% [markdown]
# ## 3. Pub/sub is fire-and-forget
#
# Redis pub/sub keeps no messages. A subscriber that is not connected at the moment of `PUBLISH`
# never hears it, and nothing tells it later. Connections drop all the time: a deploy, a network
# blip, a Redis failover. redis-py even reconnects a pub/sub connection for you, silently, and the
# messages sent in between are simply gone.
#
# ### One lost invalidation, by hand
#
# Take the worker's subscriber off the air for a moment, change `user:42`, and bring it back:

# %%
worker_sub = inv.Subscriber(worker, channel).start()
worker.read("user:42")
worker_sub.stop()
truth.write("user:42", "user:42 v3", at=lab.now())
heard = publisher.invalidate(ns.key("user:42"))
worker_sub.start()
print("subscribers that heard the invalidation:", heard)

# %% [markdown]
# Nobody heard it. The worker is subscribed again, and its L1 still holds version 2. Wait an hour
# (instant on the fake's virtual clock; on a real server the cell waits half a second instead) and
# read again:

# %%
lab.sleep(3600 if lab.backend_of(r) == "fake" else 0.5)
served = worker.read("user:42")
worker_sub.stop()
print(f"source={served.source} version={served.version} stale={served.stale} age={served.age:,.1f} s")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert served.stale and served.source == "l1"

# %% [markdown]
# Stale, with an age that only grows: the copy will be wrong until the next write of `user:42`
# happens to send another message, or forever if that never comes.
#
# ### Measuring it on a workload
#
# One lost message is an anecdote. `inv.run_strategy` replays a seeded workload through two
# instances sharing one Redis: 50 items, 40 requests per second for 20 seconds, 10% of them writes,
# each request served by a randomly chosen instance. Every strategy faces the same three things:
#
# - **an outage**: from t = 6 s to t = 12 s the last instance hears no invalidations (with pub/sub
#   its subscriber connection is closed, losing whatever was still on its way, and reopened);
# - **slow fills**: a cache miss reads the source at once but writes the caches 0.25 s later, like a
#   slow query. Section 4 shows why that matters;
# - **a delivery delay**: each instance applies an invalidation 0.05 s after the write. This one is
#   a **model**, a fixed number, not a measurement: how long a real message takes depends on your
#   network and on how busy the subscriber is. A read of the old copy inside that window is stale
#   whatever the strategy, and the harness counts such reads separately ("in flight").
#
# Time in the harness is the stream's own clock (TTLs and delays too), so the numbers are the same
# on the fake and on a real Redis. The next cell holds the scenario's knobs: change the number of
# instances, the outage, the delivery delay or the seed later and run the notebook again. Run all six strategies once;
# the following sections look at them one by one.

# %%
scenario = inv.Scenario(services=2, outage=(6.0, 12.0), delivery_delay=0.05, seed=3)
print(f"{scenario.n_keys} items, {scenario.rate:.0f} requests/s for {scenario.seconds:.0f} s, "
      f"{scenario.write_share:.0%} writes, {scenario.services} instances; the last one cut off "
      f"{scenario.outage or 'never'}; fills {scenario.fill_delay} s late; "
      f"invalidations applied {scenario.delivery_delay} s after the write (model)")
outcomes = {o.strategy: o for o in inv.compare_strategies(r, ns, scenario=scenario)}
list(outcomes)

# %% [markdown]
# How many deliveries did pub/sub lose, and what did that do to the reads?

# %%
pubsub = outcomes["pub/sub"]
print(f"{pubsub.messages} messages published, {pubsub.lost} deliveries lost in the outage")
print(f"stale reads {pubsub.stale_fraction:.1%}, the oldest stale read {pubsub.worst_age:.1f} s old")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert pubsub.lost > 0 and pubsub.worst_age > scenario.outage_seconds

# %% [markdown]
# The oldest stale read is older than the outage itself: the outage ended, but the copies it left
# behind did not.
#
# ### Backstop 1: a TTL
#
# A TTL on every copy puts an upper bound on how long any stale copy can live, lost messages or not.
# In the harness, every copy (in L1 and in Redis) expires a fixed time after it was filled; L1
# inherits the age of the Redis copy it came from, otherwise the two TTLs would add up. Compare:

# %%
ttls = {s.name: s.ttl for s in inv.STRATEGIES}
print("TTL:", ttls["pub/sub + TTL"], "s")
with_ttl = outcomes["pub/sub + TTL"]
lab.table(["strategy", "stale reads", "worst age (s)", "source reads"],
          [[o.strategy, f"{o.stale_fraction:.1%}", f"{o.worst_age:.1f}", o.source_reads] for o in (pubsub, with_ttl)])

# %% [markdown]
# The worst stale read is now bounded by the TTL (plus the 0.25 s a slow fill takes), and the price
# is paid in misses: more reads reach the source of truth, because fresh copies expire too.

# %% tags=["verify"] jupyter={"source_hidden": true}
assert with_ttl.worst_age <= ttls["pub/sub + TTL"] + scenario.fill_delay < pubsub.worst_age
assert with_ttl.source_reads > pubsub.source_reads

# %% [markdown]
# ### Backstop 2: a log in a Redis Stream
#
# A Redis **Stream** keeps its entries. The publisher appends every message with `XADD`; each
# instance reads through its own [consumer group](../docs/glossary.md#consumer-group), whose
# position lives on the server. `XREADGROUP ... >` returns every entry the group has not seen yet,
# and `XACK` marks it done. An entry delivered but never acknowledged (the instance crashed mid-way)
# stays on the group's pending list, and the instance reads those first when it comes back
# (`XREADGROUP ... 0`, under the same consumer name; entries left by a consumer that never returns
# need `XAUTOCLAIM`). An instance that was away replays exactly what it missed.
#
# Here are those raw commands once, on a stream of their own. Look for the entry's fields coming
# back, one acknowledgement, and nothing left pending:

# %%
raw = ns.private("log", "raw")
r.unlink(raw)
r.xgroup_create(raw, "worker", id="$", mkstream=True)
entry_id = r.xadd(raw, {"m": "invalidate:" + ns.key("user:8")}, maxlen=10_000, approximate=True)

# %%
entries = r.xreadgroup("worker", "1", {raw: ">"}, count=10)[0][1]
acked = r.xack(raw, "worker", *[entry_id for entry_id, _ in entries])
[fields for _, fields in entries], acked, r.xpending(raw, "worker")["pending"]

# %% [markdown]
# (The entry ids are not printed: they are made of the server's clock.) `inv.InvalidationLog` and
# `inv.LogReader` wrap exactly these calls. Their names come from `ns.private(...)` too, so on a
# shared server every kernel has a log and consumer groups of its own: a group hands each entry to
# only ONE of its consumers, so two kernels sharing a group would each miss half the messages.
#
# The same lost-message scene as before, with a log:

# %%
log = inv.InvalidationLog(r, ns.private("log", "invalidations"))
reader = inv.LogReader(worker, log)
truth.write("user:8", "user:8 v1", at=lab.now())
worker.read("user:8")
truth.write("user:8", "user:8 v2", at=lab.now())
inv.Publisher(r, log=log).invalidate(ns.key("user:8"))
print("stale while away:", worker.read("user:8").stale)

# %% [markdown]
# The worker was not reading the log, so its copy is stale for now. When it comes back it catches
# up before serving:

# %%
print("entries replayed:", reader.catch_up(pending=True), "| still pending:", reader.pending())
served = worker.read("user:8")
print(f"after catching up: source={served.source} stale={served.stale}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert not served.stale

# %% [markdown]
# What it costs, compared with pub/sub, and what it does not promise:
#
# - **Memory**: entries stay until trimmed. The log keeps about `maxlen` entries (`XADD ... MAXLEN
#   ~`). An instance away for longer than the log covers cannot replay; it must drop its whole L1.
# - **Round trips**: each instance pays an `XREADGROUP` and an `XACK` per batch, where pub/sub
#   pushes for free.
# - **Durable only as far as Redis is.** Redis replicates asynchronously: an `XADD` the primary has
#   acknowledged is lost if the primary fails before a replica received it, and after the failover
#   nobody knows. A crash with no persistence loses the whole log (so does any restart); with RDB
#   snapshots only, a crash loses everything since the last snapshot; with `appendonly yes` and the
#   default `appendfsync everysec`, about the last second. (A clean `SHUTDOWN` saves or flushes
#   first when persistence is on.) `WAIT` narrows the failover window; it does not make Redis a
#   consensus log.
# - **Groups leak.** A group lives in the stream until someone runs `XGROUP DESTROY`. With one group
#   per instance and autoscaling, every instance that ever ran leaves its group (and its pending
#   entries) behind unless a shutdown hook or a janitor removes it. A brand-new instance has an
#   empty L1 and needs no history: create its group at `$`, the end of the log.
#
# In this run (one Redis, no failover, no restart) the stream lost nothing. Plot the stale reads as
# they add up over the run, for pub/sub, the stream, and the stream with versioned writes (section
# 4). Look at what happens when the outage (the grey band) ends:

# %%
stream, best = outcomes["stream"], outcomes["stream + versioned writes"]
fig, ax = plots.new_figure("After the outage, pub/sub keeps serving stale copies\n"
                           f"(simulated traffic; delivery delay {scenario.delivery_delay} s is a model)",
                           "stream time (s)", "stale reads so far (count)")
if scenario.outage:
    ax.axvspan(*scenario.outage, color=plots.COLORS["neutral"], alpha=0.15, label="last instance cut off")
for outcome, color in [(pubsub, "stale"), (stream, "truth"), (best, "cache")]:
    ax.step([t for t, _ in outcome.timeline], list(accumulate(s for _, s in outcome.timeline)),
            where="post", color=plots.COLORS[color], label=outcome.strategy)
ax.legend(loc="upper left")
plots.show(fig)

# %% [markdown]
# Until the outage ends, pub/sub and the stream are the same line (the red one is hidden under the
# blue): the cut-off instance cannot know, whichever way the messages travel. After it, the stream
# instance replays what it missed and its line flattens; the pub/sub instance keeps serving the
# copies it was never told about. The steps in the blue line outside the outage come from somewhere
# else (section 4); the green line, which also fixes that, is flat outside the outage but for reads
# that came within the modelled delivery delay of a write.

# %%
after = lambda o: [stale for t, stale in o.timeline if t >= scenario.outage_end]
late_pubsub, late_stream, late_best = sum(after(pubsub)), sum(after(stream)), sum(after(best))
print(f"stale reads after the outage: pub/sub {late_pubsub}, stream {late_stream}, "
      f"stream + versioned writes {late_best}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert stream.lost == 0 and late_best < late_stream < late_pubsub
assert all(t in best.in_flight for t, stale in best.timeline if stale and not scenario.in_outage(t))

# %% [markdown]
# Yet the stream still serves *some* stale reads after the outage, and its oldest stale read is
# older than the whole outage:

# %%
print(f"stream: oldest stale read {stream.worst_age:.1f} s, outage {scenario.outage_seconds:.0f} s")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert stream.worst_age > scenario.outage_seconds

# %% [markdown]
# Not lost messages: the stream lost none, and the delivery delay is 0.05 s. It is a race, and no
# message can fix it.

# %% [markdown]
# ## 4. The cache-aside race
#
# Two clients, one key, and an unlucky order of events:
#
# 1. a reader misses the cache and reads version 1 from the source;
# 2. a writer writes version 2 to the source and deletes the cached copy;
# 3. the reader, a little late, writes the version 1 it read into the cache.
#
# The cache now holds version 1, with no TTL to save it, and every later read is stale until the
# next write. Nothing here is slow or broken: a garbage-collection pause or a slow query between
# steps 1 and 3 is enough. Real races are hard to reproduce because they depend on timing.
# `inv.SlowReader` splits a read into its two halves, so you can place the writer exactly in
# between, with no sleeps and the same result every time:

# %%
ns.reset()
truth = SourceOfTruth()
truth.write("item:1", "price=10", at=0.0)
reader = inv.SlowReader(r, ns, truth, "item:1")
reader.start()                                                        # 1. miss, read version 1
inv.write_and_invalidate(r, ns, truth, "item:1", "price=12", at=1.0)  # 2. write v2, delete
reader.finish()                                                       # 3. fill version 1
inv.cached_state(r, ns, truth, "item:1")

# %% [markdown]
# There it is: the delete happened, and the cache is stale anyway. The invalidation message (if
# any) went out at step 2, before the bad copy existed, so no subscriber can help either.
#
# ### The fix: versioned writes
#
# Every record in the source of truth has a version. Make the cache refuse to go backwards:
#
# - the reader's fill becomes a [compare-and-set](../docs/glossary.md#compare-and-set): store the
#   copy unless the cache already holds a newer version;
# - the writer does not delete; it leaves a [tombstone](../docs/glossary.md#tombstone), a tiny
#   marker that says "version 2 exists". Readers treat a tombstone as a miss, and an old fill cannot overwrite it.
#
# `inv.versioned_fill` does the compare-and-set with `WATCH`/`MULTI`: `WATCH` the key, `GET` it,
# compare versions, then `MULTI` / `SET` / `EXEC`. If anyone modifies the key (a write, or its
# expiry) between the `WATCH` and the `EXEC`, Redis refuses the `EXEC` and the fill starts over. `inv.replay_race` replays the same
# three steps with the fill and the kind of invalidation you give it; first the plain ones again,
# then the versioned ones:

# %%
print(inv.replay_race(r, ns, fill=inv.plain_fill, versioned=False))
race = inv.replay_race(r, ns, fill=inv.versioned_fill, versioned=True)
print(race)

# %% [markdown]
# With versions, the late fill was refused and the tombstone stayed. The next reader sees the tombstone,
# reads version 2 from the source, and its fill (same version as the tombstone) is accepted:

# %%
reader = inv.SlowReader(r, ns, race.truth, "item:1", fill=inv.versioned_fill)
reader.start(), reader.finish()
inv.cached_state(r, ns, race.truth, "item:1")

# %% [markdown]
# The same compare-and-set fits in one Lua script, which Redis runs atomically in **one** round trip
# instead of three:

# %%
print(inv.VERSIONED_FILL_LUA.strip())

# %% [markdown]
# On a real Redis this cell replays the race with the Lua fill. The embedded fake has no Lua
# interpreter, so there it says so instead:

# %%
if lab.backend_of(r) == "fake":
    print("The embedded fake runs no Lua: the WATCH/MULTI version above does the same job.")
else:
    lua_race = inv.replay_race(r, ns, fill=inv.lua_versioned_fill(r), versioned=True)
    print(lua_race)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert lab.backend_of(r) == "fake" or (not lua_race.stored and "tombstone v2" in lua_race.state)

# %% [markdown]
# ### Measured: stale reads before and after
#
# The race needs a miss and a write of the same key within one slow fill, so it is rare per
# request, but a workload makes it happen. Run the harness on the same scenario without the outage,
# so the race (and the delivery delay) is all that is left, with plain fills and with versioned ones:

# %%
race_only = scenario.replace(outage=None)
plain, versioned = inv.compare_strategies(
    r, ns, [inv.Strategy("plain fills", "pubsub"), inv.Strategy("versioned fills", "pubsub", versioned=True)],
    scenario=race_only)
print(f"simulated traffic, no outage; delivery delay {race_only.delivery_delay} s (model)")
for o in (plain, versioned):
    print(f"{o.strategy:16} lost {o.lost}, stale reads {o.stale_reads:3} of {o.reads} "
          f"({len(o.in_flight)} in flight), oldest {o.worst_age:.2f} s")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert plain.lost == versioned.lost == 0 and plain.stale_reads > len(plain.in_flight)
assert versioned.stale_reads == len(versioned.in_flight) and versioned.worst_age < race_only.delivery_delay
assert plain.worst_age == outcomes["stream"].worst_age

# %% [markdown]
# Every invalidation arrived, and plain fills still served stale data. With versioned fills, the
# only stale reads left are the ones "in flight": L1 copies read in the modelled 0.05 s between a
# write and its delivery, none older than that delay. No fill can beat a message that has not
# arrived yet; only a shorter delivery time shrinks them. The oldest stale read with plain fills is
# exactly the stream's oldest one from section 3: that was the race, not the outage.
#
# ### Leases: the same idea at Facebook
#
# Facebook's memcache paper (Nishtala et al., *Scaling Memcache at Facebook*, NSDI 2013) fixed this
# race with [leases](../docs/glossary.md#lease): on a miss, memcached hands the reader a token; a
# delete of the key invalidates the token; a fill with an invalidated token is refused. A version
# number plays the token's role here. Leases also solve a second problem: the paper's memcached hands
# out at most one token per key every 10 seconds, so when a hot key is deleted, one reader refills
# it while the others wait briefly, instead of all of them hammering the database at once (a
# [thundering herd](../docs/glossary.md#stampede)). Tombstones
# have one cost of their own: they must live longer than your slowest fill, or the race reopens.

# %% [markdown]
# ## 🧪 Exercise: close the race with a versioned write (⭐⭐)
#
# Write `my_fill(r, key, copy)`: store `copy` (a string made by `inv.encode_copy`) at `key` unless
# Redis already holds a **newer** version (a copy or a tombstone). Return `True` if you stored it,
# `False` if you refused. `inv.version_of(text)` gives the version of a copy or tombstone (0 for
# `None`).
#
# The check tries five scripted cases and eight it draws at random (random versions, a key full of
# colons, random order), then lets a writer sneak in between your `GET` and your `SET`, once with a
# newer version and once with an older one: a check-then-set without `WATCH` fails the first, a fill
# that gives up on a conflict instead of starting over fails the second.
#
# <details><summary>Hint</summary>
#
# ```python
# with r.pipeline() as pipe:
#     pipe.watch(key)            # from here, pipe.get runs at once
#     ...                        # compare versions; refuse with pipe.unwatch(); return False
#     pipe.multi()               # from here, commands queue until execute()
#     pipe.set(key, copy)
#     pipe.execute()             # raises redis.WatchError if the key changed: start over
# ```
# </details>

# %% tags=["exercise"]
import redis


def my_fill(r, key, copy):
    """SET copy at key unless Redis holds a newer version; True if stored."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def my_fill(r, key, copy):
    """SET copy at key unless Redis holds a newer version; True if stored."""
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                if inv.version_of(pipe.get(key)) > inv.version_of(copy):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, copy)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


# %% [markdown]
# The check runs your fill on its thirteen cases, then lets two writers land between your `GET` and
# your `SET`:

# %%
from entropy_lab.checks import check_versioned_fill

check_versioned_fill(my_fill)

# %% [markdown]
# Once it passes, replay the race with your fill:

# %%
if check_versioned_fill(my_fill):
    print(inv.replay_race(r, ns, fill=my_fill, versioned=True))
else:
    print("This cell replays the race with your fill once check_versioned_fill(my_fill) passes.")

# %% [markdown]
# ## 5. Let Redis tell you: server-assisted invalidation
#
# ### Keyspace notifications
#
# Redis can publish an event whenever a key changes: `del`, `expire`, `expired` (a TTL ran out),
# `evicted` and many more. It is off by default, because it costs the server a publish per change.
# Turning it on is a configuration change (`notify-keyspace-events`), so the lab only does it on a
# sandbox, a server it owns. `Egx` means: key*event* channels, *g*eneric events (`del`, `expire`),
# e*x*pired events. Look for one event per change, and for the `expired` event that no client
# command caused:

# %%
def changes(s):
    s.set("user:1", "v"); s.delete("user:1")
    s.set("user:2", "v"); s.unlink("user:2")
    s.set("user:3", "v"); s.pexpire("user:3", 50)
    lab.sleep(0.2)
    s.get("user:3")


with lab.sandbox(notify_keyspace_events="Egx") as s:
    events = inv.keyspace_events(s, changes)
events

# %% tags=["verify"] jupyter={"source_hidden": true}
assert events == [("del", "user:1"), ("del", "user:2"), ("expire", "user:3"), ("expired", "user:3")]

# %% [markdown]
# `UNLINK` reports itself as `del`, and the TTL running out gives `expired`. Plain fakeredis would
# name events after commands (`unlink`, `pexpire`) and never send `expired`; the lab's embedded twin
# models Redis 7 here, so these events match a real server.
#
# Keyspace notifications are pub/sub underneath, so they are fire-and-forget too; and they only see
# changes to keys **in Redis**, not to your source of truth. They tell an L1 that Redis lost a key
# (expiry, eviction), not that the data changed.
#
# ### `CLIENT TRACKING`: Redis remembers who read what
#
# With `CLIENT TRACKING ON`, Redis remembers which keys a connection has read, and when one of them
# changes it sends that connection an invalidation, once, until the key is read again. In
# *redirect* mode the invalidations go to a separate pub/sub connection on the channel
# `__redis__:invalidate`. It works on Redis 6 and 7 with raw commands (redis-py's own client-side
# cache needs Redis 7.4 or newer, so the lab does not use it). The embedded fake has no
# `CLIENT TRACKING`; this cell runs it only against a real Redis:

# %%
if lab.backend_of(r) == "fake":
    print("The embedded fake has no CLIENT TRACKING. Run this notebook with ENTROPY_LAB_BACKEND=server "
          "(or your own Redis) to see it.")
else:
    pushed = inv.tracking_invalidations(r, ns.private("tracked"), writes=2)
    print("invalidations pushed for 2 writes:", pushed)
    ns.reset()

# %% tags=["verify"] jupyter={"source_hidden": true}
assert lab.backend_of(r) == "fake" or pushed == [[ns.private("tracked")]]

# %% [markdown]
# On a real server it prints one invalidation for two writes: after the first, the connection
# no longer holds a copy, so Redis stops tracking the key for it. Tracking is precise (only keys
# this connection read) and costs the server memory per tracked key. It shares pub/sub's weakness:
# if the redirect connection drops, the invalidations sent meanwhile are lost. Redis says only that
# the redirect broke (a `tracking-redir-broken` push, and only on a RESP3 connection), so a careful
# client flushes its whole L1 whenever it reconnects.

# %% [markdown]
# ## 6. The strategies, side by side
#
# Same traffic, same outage, same slow fills, same modelled delivery delay. "In flight" counts the
# stale reads served before the invalidation could arrive; "extra round trips" counts the Redis round
# trips each strategy makes beyond doing no invalidation at all (the misses it causes included);
# "source reads" is the load on the source of truth. The commands really ran on this notebook's
# backend; the traffic is simulated and the delivery delay is a model, and the table says so. Look
# for the row with the fewest stale reads, and for what it pays in round trips:

# %%
base = outcomes["no invalidation"]
print(f"simulated traffic; delivery delay {scenario.delivery_delay} s (model); commands run on: {lab.backend_of(r)}")
lab.table(
    ["strategy", "TTL (s)", "stale reads", "in flight", "worst age (s)", "messages", "lost",
     "extra round trips", "source reads"],
    [[o.strategy, f"{ttls[o.strategy] or 'none'}", f"{o.stale_fraction:.1%}", len(o.in_flight), f"{o.worst_age:.1f}",
      o.messages, o.lost, o.round_trips - base.round_trips, o.source_reads] for o in outcomes.values()],
)

# %% [markdown]
# Read it row by row:

# %%
ttl, ps, ps_ttl, st, vst = (outcomes[name] for name in
                            ["TTL only", "pub/sub", "pub/sub + TTL", "stream", "stream + versioned writes"])
print(f"versioned writes on a stream: {vst.stale_fraction:.1%} stale reads for "
      f"{vst.round_trips / base.round_trips:.1f}x the round trips of no invalidation")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert base.stale_fraction > ttl.stale_fraction > ps.stale_fraction > vst.stale_fraction
assert ps_ttl.worst_age < ps.worst_age and ttl.worst_age <= ttls["TTL only"] + scenario.fill_delay
assert st.lost == vst.lost == 0 < ps.lost
assert vst.stale_fraction == min(o.stale_fraction for o in outcomes.values())
assert vst.round_trips == max(o.round_trips for o in outcomes.values())
assert min(o.stale_reads for o in outcomes.values()) > 0  # no row is zero

# %% [markdown]
# - **TTL only** bounds the age and sends no messages, but a copy stays wrong for up to a whole TTL
#   after every write.
# - **pub/sub** cuts stale reads sharply, until a message is lost; then nothing bounds the age.
# - **pub/sub + TTL**: the TTL is the backstop that makes the worst case finite, at the price of
#   more misses.
# - **stream**: nothing lost, and the outage heals when the instance comes back, for extra round
#   trips and memory for the log. The race still gets through.
# - **stream + versioned writes**: the fewest stale reads; what remains happened while an instance
#   was cut off, or before a message could arrive, and could not know. It is the most expensive row
#   in round trips.
#
# No row is zero. The stale reads left in the best row were served by an instance that was cut off
# or that the message had not reached yet; only a TTL bounds how long the first kind can last, and
# only a faster delivery shrinks the second. In practice you combine them: versioned writes for the
# race, a durable log (or a full L1 flush on reconnect) for lost messages, and a TTL as the last
# line of defence.

# %% [markdown]
# ## Check your understanding
#
# Four questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("02")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed for the next notebook, and nothing checks it.
#
# 1. **A longer outage.** Change the scenario to `inv.Scenario(services=2, outage=(6.0, 18.0), ...)`
#    and rerun `inv.compare_strategies`. Which strategy's stale reads grow with the outage, and which
#    stay flat? What does the TTL backstop cap?
# 2. **A slower network.** Set `delivery_delay=0.5` (ten times today's). Which defence helps with the
#    reads that happen before the message arrives? Is there any?
# 3. **More instances.** `services=5`: count the messages and round trips per write in the
#    strategies table. Which cost grows with the number of instances?
# 4. **How long should a tombstone live?** Here tombstones carry no TTL: one stays until a reader
#    fills the new version over it, so an item that is written and never read again leaves a small
#    key behind for good. Give them a TTL in your head: what is the shortest one that still refuses
#    every late fill, in terms of the scenario's `fill_delay`? What does a reader see if a tombstone
#    expires before the late fill arrives?

# %% [markdown]
# ## Summary
#
# | Symptom | Defence | Knob | Cost |
# |---|---|---|---|
# | A delete in Redis leaves stale copies in each instance's memory | invalidation messages to every L1 | channel, message kinds | a subscriber per instance; messages per write |
# | The article's subscriber silently skips every key without exactly one colon | split on the first colon; prefix in the message | message format | none |
# | Reads between a write and its delivery are stale | nothing removes them; a faster delivery path shrinks them | delivery time | none |
# | `refresh_all` stalls the server | `SCAN` + `UNLINK` in batches, never `KEYS` | `COUNT` | more round trips, spread out |
# | A disconnected instance misses invalidations forever | a TTL backstop | TTL | more misses, more source load |
# | ... and you want it to catch up | a Redis Stream with a consumer group per instance | `MAXLEN` | log memory, `XREADGROUP`/`XACK` round trips; as durable as Redis (async replication, AOF); groups to clean up |
# | A late fill writes an old value back after a delete | versioned writes: compare-and-set and tombstones (or leases) | tombstone lifetime | 3 round trips with WATCH/MULTI, 1 with Lua |
# | You want Redis to say what changed | keyspace notifications, `CLIENT TRACKING` | `notify-keyspace-events`, tracking mode | server work per change; still fire-and-forget |
#
# - Deleting the key is the easy part. The hard parts are the copies you cannot reach, the messages
#   that get lost and the fills that arrive late.
# - Pub/sub lost deliveries in the outage and left stale copies behind long after it; in this run
#   (one Redis, no failover, no restart) a stream lost none; versioned writes removed every stale
#   read the race caused. Reads before a message arrives stay stale whatever you do.
# - Every defence costs something you can measure: misses, round trips, memory.
#
# ## What's next
#
# [03 Eviction](03_eviction.ipynb): a cache that is never invalidated and never expires only grows.
# Bounded memory and eviction policies decide which copies go when it is full, and you will measure
# which policy keeps the keys you need.
#
# Before you go, clean up this notebook's keys:

# %%
ns.reset()
