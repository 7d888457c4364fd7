# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Shard a cache without reshuffling it
#
# One cache node is never enough for long, so you split the keys across several: that is
# *sharding*. The split has its own kind of entropy. Pick the node with `hash(key) % N`, add one
# node, and almost every key suddenly lives somewhere else: the cache is full of copies nobody
# will find, and every read is a miss until it warms again.
#
# The article this series is built from gives sharding one paragraph and no code: "When cache nodes
# are added or removed, consistent hashing minimizes the number of keys that need to be remapped
# and moved." This notebook **measures** that claim: the reshuffle without it, four schemes that
# move only what must move, and a Redis Cluster growing from three masters to four while a client
# watches.
#
# ## What you'll learn
#
# - Why modulo sharding moves about N/(N+1) of the keys when a node joins, measured.
# - Four [consistent hashing](../docs/glossary.md#consistent-hashing) schemes, each a few lines: a **hash ring**
#   with [virtual nodes](../docs/glossary.md#virtual-node), [**jump consistent hash**](../docs/glossary.md#jump-hash),
#   [**rendezvous** hashing](../docs/glossary.md#rendezvous-hashing) and Redis Cluster's
#   **16,384 [hash slots](../docs/glossary.md#hash-slot)**.
# - How many virtual nodes keep a ring's load even (the 1/sqrt(k) rule, and the busiest node),
#   and what a lookup costs.
# - What a client sees while Redis Cluster reshards ([`MOVED`](../docs/glossary.md#moved), [`ASK`](../docs/glossary.md#ask)), and
#   why it sees no misses.
# - Why `MGET` across slots fails in a cluster ([`CROSSSLOT`](../docs/glossary.md#crossslot)), how
#   [`{hash tags}`](../docs/glossary.md#hash-tag) fix it, and the hot shard they can create.
#
# ## What you need
#
# | Concept | Importance | Notes |
# |---|---|---|
# | Python functions, lists and dicts | Necessary | |
# | [00 Watch a cache decay](00_watch_a_cache_decay.ipynb) | Helpful | the idea of measuring disorder |
# | Redis `GET`, `SET`, `MGET` | Helpful | Each is explained where it is used |
# | A `redis-server` binary | Optional | For the real cluster; without one the same steps run on a simulated cluster |
#
# **Time to learn:** 105 minutes, 110 with the optional deep dives (estimated by
# `tools/learning_time.py` from the words to read, the code cells to run and the exercises).

# %% [markdown]
# ## Set up
#
# The banner says which backend you are on. The first half of this notebook is pure Python
# (hashing needs no server); the second half starts a Redis Cluster of its own.

# %%
import entropy_lab as lab
from entropy_lab import plots, sharding

r = lab.connect()
lab.banner(r)

# %% [markdown]
# ## The obvious way: hash mod N
#
# A client with N cache nodes hashes the key and takes the remainder. The hash must be *stable*:
# Python's built-in `hash()` of a string changes every time an interpreter starts, so two app
# servers would disagree about where a key lives. The lab uses BLAKE2b from `hashlib`, which
# gives the same 64-bit number everywhere:

# %%
sharding.stable_hash("user:42")

# %% [markdown]
# Take 20,000 seeded keys and three nodes named A, B and C. Modulo spreads them evenly. (Change
# the seed or the number of nodes here, and everything below follows.)

# %%
keys = sharding.sample_keys(20_000, seed=4)
nodes = sharding.node_names(3)
new_node = sharding.node_names(len(nodes) + 1)[-1]
modulo = sharding.Modulo(nodes)
sharding.load(modulo, keys)

# %% [markdown]
# Traffic grows and you add a fourth node. Count the keys whose node changed. On a cache, each
# of them is a miss on its next read, and a read on your database:

# %%
moved = sharding.moved_fraction(modulo, modulo.with_node_added(new_node), keys)
n = len(nodes)
print(f"mod {n} -> mod {n + 1} moved {moved:.1%} of the keys; the new node's fair share is {1 / (n + 1):.0%}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert n == 3 and 0.72 < moved < 0.78

# %% [markdown]
# Three keys in four moved, when one in four would have been enough. A key stays put only when
# `h % 3 == h % 4`, which holds for 3 of every 12 hash values: with N nodes, 1/(N+1) of the keys
# stay and **N/(N+1) move**. The bigger the cluster, the worse the reshuffle.
#
# ## Four ways to move only what must move
#
# The ideal is to move exactly the new node's share, 1/(N+1), and only *to* the new node.
#
# ### A hash ring with virtual nodes
#
# Consistent hashing (Karger et al., 1997), in the form most implementations use. Picture the
# 2^64 hash values as a circle. Each node hashes its name `k` times
# (`"A#0"`, `"A#1"`, ...) and owns a point for each: its **virtual nodes**. A key belongs to the
# first point clockwise from its own hash. A new node only takes the arcs just before its points.

# %%
ring = sharding.HashRing(nodes, vnodes=100)
ring.node_for("user:42"), sharding.moved_fraction(ring, ring.with_node_added(new_node), keys)

# %% [markdown]
# ### Jump consistent hash
#
# Lamping and Veach (Google, 2014) need no ring at all. Seed a random generator with the key and
# let the key "jump" forward through bucket numbers; the last jump that lands below N is its
# bucket. Going from N to N+1 buckets, a key moves only if its next jump lands exactly on the new
# bucket, which happens with probability 1/(N+1). No memory, nearly perfect balance; the catch is
# that nodes are *numbers*. You will write it yourself in the first exercise.

# %%
jumping = sharding.JumpHash(nodes)
sharding.moved_fraction(jumping, jumping.with_node_added(new_node), keys)

# %% [markdown]
# ### Rendezvous hashing
#
# Highest random weight (Thaler and Ravishankar, 1996; journal version 1998): every node scores the key with
# `stable_hash(key, salt=node)`, and the highest score wins. A new node wins a key only where it
# beats all the others, and a node that leaves gives up only its own keys.

# %%
hrw = sharding.Rendezvous(nodes)
hrw.score("user:42", "A"), sharding.moved_fraction(hrw, hrw.with_node_added(new_node), keys)

# %% [markdown]
# ### Redis Cluster's hash slots
#
# Redis Cluster hashes every key with CRC16 into one of **16,384 slots**, and each master owns a
# set of slots. If the key has a `{hash tag}`, only the text between the braces is hashed. The
# lab's `key_slot` agrees with redis-py's own function on every key:

# %%
import redis.crc

sum(sharding.key_slot(k) == redis.crc.key_slot(k.encode()) for k in keys)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(sharding.key_slot(k) == redis.crc.key_slot(k.encode()) for k in keys)

# %% [markdown]
# All 20,000 agree. Now three keys: look for the two that share a slot.

# %%
sharding.key_slot("user:42"), sharding.key_slot("{user:42}:cart"), sharding.key_slot("user:42:cart")

# %% [markdown]
# `user:42` and `{user:42}:cart` share a slot; `user:42:cart` lands elsewhere. `SlotMap` splits the
# slots between masters the way `redis-cli --cluster create` does:

# %%
slots = sharding.SlotMap.create(nodes)
slots.ranges()

# %% [markdown]
# Adding master D and rebalancing (as `redis-cli --cluster rebalance` does) hands D the lowest
# 1,365 or so slots of each master, 4,096 in all:

# %%
slots_after = slots.with_node_added(new_node)
slots_after.ranges(), sharding.moved_fraction(slots, slots_after, keys)

# %% [markdown]
# ## Measured: keys moved when a node joins
#
# Now every scheme, growing from N to N+1 nodes for N = 2 to 10 (on 3,000 of the keys, to keep it
# quick). `moved_on_growth` builds each scheme with N nodes, adds one, and measures the share moved.

# %%
schemes = {"modulo": sharding.Modulo, "ring (100 vnodes)": sharding.HashRing, "jump": sharding.JumpHash,
           "rendezvous": sharding.Rendezvous, "Redis slots": sharding.SlotMap.create}
sizes, sample = range(2, 11), keys[:3000]
moved_by = {name: sharding.moved_on_growth(make, sizes, sample) for name, make in schemes.items()}

# %% [markdown]
# Look for two families: modulo climbing towards 100%, and the four others hugging the ideal
# 1/(N+1).

# %%
fig, ax = plots.new_figure("Only modulo reshuffles the cache", "nodes before adding one (N)", "keys moved (%)")
for name, moved in moved_by.items():
    ax.plot(sizes, [100 * m for m in moved], marker="o", label=name)
ax.plot(sizes, [100 / (n + 1) for n in sizes], "k--", label="ideal 1/(N+1)")
ax.plot(sizes, [100 * n / (n + 1) for n in sizes], "k:", label="N/(N+1)")
ax.set_ylim(0, 100)
ax.legend(ncols=2, fontsize=8)
plots.show(fig)

# %% [markdown]
# To put a number on "hugging": the largest gap, in percentage points, between each scheme and its
# curve (N/(N+1) for modulo, 1/(N+1) for the others). Look for every gap under 3.5 points.

# %%
curve = {name: [n / (n + 1) if name == "modulo" else 1 / (n + 1) for n in sizes] for name in moved_by}
{name: round(100 * max(abs(m - e) for m, e in zip(moved, curve[name])), 1) for name, moved in moved_by.items()}

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(abs(m - e) < 0.035 for name, moved in moved_by.items() for m, e in zip(moved, curve[name]))

# %% [markdown]
# Removing a node is the other half. Take B out of four nodes: B's keys must move, and ideally
# nothing else. Compare the keys moved with B's share of the keys before. Watch jump hash:

# %%
rows = []
for name, make in schemes.items():
    before = make(sharding.node_names(4))
    b_share = sharding.load(before, sample)["B"] / len(sample)
    rows.append([name, b_share, sharding.moved_fraction(before, before.with_node_removed("B"), sample)])
lab.table(["scheme", "B's share of the keys", "keys moved when B leaves"], rows)

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(moved == share for name, share, moved in rows if name not in ("modulo", "jump"))
assert rows[1][1] > 0.25 and 0.6 < rows[2][2] < 0.72  # the ring's B, and jump's renumbering

# %% [markdown]
# Ring, rendezvous and slots move B's keys and nothing else. (This ring's B owned more than a
# quarter: uneven arcs, the subject of the balance section below.) Modulo reshuffles again. Jump
# hash numbers its buckets, so removing B renumbers C and D, and about two thirds of the keys
# move. Use jump hash where shards are numbered and only grow or shrink at the end (for example,
# when each number is a replicated group).

# %% [markdown]
# ## 🧪 Exercise 1: write jump consistent hash (⭐⭐)
#
# Write `jump(key, num_buckets)` for a 64-bit integer `key`. Start with `b = -1` and `j = 0`.
# While `j < num_buckets`: set `b = j`, step the generator
# `key = (key * 2862933555777941757 + 1) % 2**64`, and jump:
# `j = int((b + 1) * (2**31 / ((key >> 33) + 1)))`. Return `b`.
#
# The check runs your function on 1,000 keys (half of them drawn at random on every run) with every
# bucket count from 1 to 65 and a few large random ones. It checks that you get the paper's
# buckets, that every count spreads the keys evenly, and that growing N to N+1 buckets moves about
# 1/(N+1) of the keys, all to the new bucket. `jump(key, 1)` must return 0.
#
# <details><summary>Hint</summary>
#
# Python integers never overflow, so keep `key` to 64 bits yourself on every step (`% 2**64` or
# `& 0xFFFFFFFFFFFFFFFF`); without it the loop never ends. `2**31 / ...` must be a float division
# (`/`, not `//`).
# </details>

# %% tags=["exercise"]
def jump(key, num_buckets):
    """The bucket (0..num_buckets-1) of a 64-bit integer key."""
    ...  # your code here


# %% tags=["solution"] jupyter={"source_hidden": true}
def jump(key, num_buckets):
    """The bucket (0..num_buckets-1) of a 64-bit integer key."""
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * 2862933555777941757 + 1) % 2**64
        j = int((b + 1) * (2**31 / ((key >> 33) + 1)))
    return b


# %% [markdown]
# Run the check. A function that only works for 10 and 11 buckets fails it:

# %%
from entropy_lab.checks import check_jump_hash

check_jump_hash(jump)

# %% [markdown]
# ## Balance: how many virtual nodes?
#
# Moving little is half the job; the other half is an even load. With one point per node the
# arcs of a ring are very uneven. Two numbers describe it, both computed from each node's exact
# share of the hash space:
#
# - the [**coefficient of variation**](../docs/glossary.md#coefficient-of-variation) (CV) of the
#   shares: their standard deviation over their mean, 0 for perfectly even. Each node's share is a
#   sum of k random arcs, so theory predicts a CV of about 1/sqrt(k).
# - the **busiest node's share over the mean** (max/mean): the number that pages an operator,
#   because the busiest node runs out of memory or CPU first.
#
# One ring is one draw of random arcs, so both numbers are averaged over five rings whose nodes
# have different names (`sharding.ring_balance` and `sharding.ring_busiest`, 10 nodes here):

# %%
vnodes = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
spread = [sharding.ring_balance(10, k) for k in vnodes]
busiest = [sharding.ring_busiest(10, k) for k in vnodes]

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(0.6 < s * k ** 0.5 < 1.3 for s, k in zip(spread, vnodes))
assert all(b - 1 > s for b, s in zip(busiest, spread))

# %% [markdown]
# On log-log axes, 1/sqrt(k) is a straight line. Look for the measured CV sitting on it (every
# tenfold increase in virtual nodes divides it by about 3.2), and for the busiest node running
# well above the CV line: the busiest of 10 nodes sits about one and a half to two and a half
# standard deviations above the mean.

# %%
fig, ax = plots.new_figure("More virtual nodes, evener load (10 nodes, mean of 5 rings)",
                           "virtual nodes per node (k)", "load above even (%)")
ax.loglog(vnodes, [100 * s for s in spread], marker="o", color=plots.COLORS["truth"], label="CV of the shares")
ax.loglog(vnodes, [100 * (b - 1) for b in busiest], marker="s", color=plots.COLORS["stale"],
          label="busiest node over the mean, minus 1")
ax.loglog(vnodes, [100 / k ** 0.5 for k in vnodes], "k--", label="theory for the CV: 1/sqrt(k)")
ax.legend()
plots.show(fig)

# %% [markdown]
# The other schemes need no tuning. Now count real keys: 20,000 on 10 nodes. Even a perfect scheme
# shows a CV of *key counts* of about sqrt(9/20,000) = 2.1%, from sampling alone. Jump, rendezvous
# and slots sit at that floor; the rings sit above it, because their arcs are uneven. The ring
# rows are ONE ring each (nodes A to J), not the five-ring average of the figure, so they can land
# above or below it:

# %%
ten = sharding.node_names(10)
candidates = [sharding.HashRing(ten, vnodes=10), sharding.HashRing(ten, vnodes=100), sharding.JumpHash(ten),
              sharding.Rendezvous(ten), sharding.SlotMap.create(ten)]
loads = {sharding.describe_scheme(s): sharding.load(s, keys).values() for s in candidates}
lab.table(["scheme (one layout, nodes A-J)", "CV of keys per node", "busiest node / mean"],
          [[name, sharding.coefficient_of_variation(v), sharding.max_over_mean(v)] for name, v in loads.items()])

# %% tags=["verify"] jupyter={"source_hidden": true}
assert all(sharding.coefficient_of_variation(v) < 0.03 for name, v in loads.items() if "ring" not in name)
arcs = candidates[1].shares().values()  # the prose below quotes these three numbers
assert round(sharding.coefficient_of_variation(arcs), 3) == 0.069 and round(sharding.max_over_mean(arcs), 3) == 1.155
assert round(spread[vnodes.index(100)], 3) == 0.098

# %% [markdown]
# Careful with the 100-point ring's row: its key counts happen to look evener than its arcs are. The
# arcs themselves (`ring.shares()`, every hash value counted) have a CV of 6.9% and give the
# busiest node 1.155 times the mean; the figure's 9.8% at k = 100 is the typical value. One draw of
# keys can flatter one ring; judge a scheme by its shares, or by many rings.

# %% [markdown]
# ## 🧪 Exercise 2: choose the number of virtual nodes (⭐⭐)
#
# Your cache grows to **20 nodes** on a ring. Your on-call rule: the busiest node may carry at most
# **15% more** than the average, `sharding.ring_busiest(20, k) <= 1.15` (the mean over five rings,
# as in the figure). Choose the number of virtual nodes `k` per node that meets the rule with as
# few ring points as you can: each point costs memory in every client and a step in every lookup.
# More than about twice the smallest count that works is rejected as wasteful.
#
# <details><summary>Hint</summary>
#
# The figure is for 10 nodes, and its theory line is for the CV, not for the busiest node: with
# 20 nodes the busiest sits further above the mean. Start from a rough guess, then measure
# `sharding.ring_busiest(20, k)` for a range of k (a loop or a list comprehension) and take the
# first k that meets the rule. The curve is not smooth: look at its neighbours too.
# </details>

# %% tags=["exercise"]
vnodes_choice = ...  # your number here

# %% tags=["solution"] jupyter={"source_hidden": true}
vnodes_choice = next(k for k in range(10, 1001, 10) if sharding.ring_busiest(20, k) <= 1.15)
vnodes_choice

# %% [markdown]
# The check measures 20-node rings with your number:

# %%
from entropy_lab.checks import check_vnodes_for_balance

check_vnodes_for_balance(vnodes_choice)

# %% [markdown]
# ## What a lookup costs
#
# Speed in seconds depends on your machine; the work per lookup does not. For 10 and 100 nodes:
# how many times the key is hashed, the steps after hashing (ring: binary-search comparisons;
# jump: turns of its loop, averaged; rendezvous: one score per node) and the routing entries held
# in memory.

# %%
rows = []
for n in (10, 100):
    names = sharding.node_names(n)
    for s in (sharding.Modulo(names), sharding.HashRing(names, vnodes=100), sharding.JumpHash(names),
              sharding.Rendezvous(names), sharding.SlotMap.create(names)):
        cost = sharding.lookup_cost(s, sample)
        rows.append([n, sharding.describe_scheme(s), cost["hashes"], cost["steps"], cost["entries"]])
lab.table(["nodes", "scheme", "hashes", "steps", "entries in memory"], rows)

# %% [markdown]
# Rendezvous is the only one whose work grows in proportion to the number of nodes: 100 hashes per
# lookup at 100 nodes (the ring's search grows too, but only like log2 of its points). Timing
# confirms it. Seconds differ from run to run and machine to machine, so this cell prints only the
# robust claim; look at `speed` for your machine's numbers, or run
# `python benchmarks/sharding_lookup.py` for a fuller table.

# %%
hundred = sharding.node_names(100)
speed = {sharding.describe_scheme(s): sharding.lookups_per_second(s, keys[:500])
         for s in (sharding.Modulo(hundred), sharding.HashRing(hundred, vnodes=100), sharding.JumpHash(hundred),
                   sharding.Rendezvous(hundred), sharding.SlotMap.create(hundred))}
slowest_other = min(v for name, v in speed.items() if name != "rendezvous")
if speed["rendezvous"] * 5 < slowest_other:
    print("At 100 nodes, rendezvous is more than 5 times slower than every other scheme.")
else:
    print(f"Rendezvous was only {slowest_other / speed['rendezvous']:.1f} times slower this time: "
          "a busy machine blurs timings, so run the cell again.")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert speed["rendezvous"] * 2 < slowest_other  # wall-clock timings: a loaded machine blurs the usual 5x and more

# %% [markdown]
# ## Redis Cluster, for real
#
# Redis Cluster keeps the slot map on the servers: every master knows the whole map, a client
# routes with its own copy, and a master that gets a key it does not own tells the client where
# to go. `start_cluster` starts a cluster
# of its own: with a `redis-server` binary and a non-fake backend, three real `redis-server
# --cluster-enabled yes` processes on free loopback ports, joined with
# `redis-cli --cluster create`. In fake mode (how the stored outputs of this notebook were made)
# it runs the same steps on a **simulated cluster**: one embedded fake Redis per master, each
# behind a model of a cluster node that answers `MOVED`, `ASK` and `CROSSSLOT` as Redis 7.0 does.
# Every cluster output below says which one produced it. To see the real thing, start Jupyter
# with `ENTROPY_LAB_BACKEND=server`.

# %%
from entropy_lab.cluster import start_cluster

cluster = start_cluster(masters=3)
source = "simulated cluster" if cluster.simulated else "real Redis Cluster"
rc = cluster.client()
cluster.slot_map().ranges()

# %% [markdown]
# `rc` is redis-py's `RedisCluster` client (a look-alike in the simulation). Like every cluster
# client, it keeps its own copy of the slot map. Load 10,000 cache entries; `mset_nonatomic` groups
# the keys by slot and sends each group to its master:

# %%
cached = keys[:10_000]
rc.mset_nonatomic({key: f"profile of {key}" for key in cached})
cluster.keys_per_node()

# %% [markdown]
# Now add master D: `redis-cli --cluster add-node`, then
# `redis-cli --cluster rebalance --cluster-use-empty-masters`, which moves slots to D one at a time
# (keys included, with `MIGRATE`). While it runs, a second client keeps reading 1,000 of the keys
# routed with the **old** slot map, and counts the answers. On a real cluster this takes about 5 s
# on an idle machine (much longer on a busy one).

# %%
old_map = cluster.slot_map()
report = cluster.add_master(probe_keys=cached[:1000])
print(f"{report.slots_moved:,} slots and {report.keys_moved:,} keys "
      f"({report.keys_moved / len(cached):.1%}) moved to {report.new_node} ({source})")
if not cluster.simulated:
    print(f"the rebalance took {report.seconds:.1f} s")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert report.slots_moved == 4096 and 0.23 < report.keys_moved / len(cached) < 0.27

# %% [markdown]
# A quarter of the keys, as the slot map predicted. Each master now holds about 2,500:

# %%
per_node = cluster.keys_per_node()
per_node

# %% tags=["verify"] jupyter={"source_hidden": true}
assert sum(per_node.values()) == len(cached) and all(2300 < n < 2700 for n in per_node.values())

# %% [markdown]
# What did the client with the old map see? A master that no longer owns a slot answers
# `MOVED <slot> <address>`. A master in the middle of migrating a slot answers `ASK` for the keys
# it has already handed over. Look for `MOVED` rising in step with the slots moved:

# %%
done = [p.slots_moved for p in report.progress]
fig, ax = plots.new_figure(f"A client with the old slot map, during the rebalance ({source})",
                           f"slots moved to {report.new_node} so far",
                           "replies to its reads (%)")
ax.plot(done, [100 * p.share("MOVED") for p in report.progress], marker="o", color=plots.COLORS["stale"],
        label="MOVED: the slot lives on another master")
ax.plot(done, [100 * p.share("ASK") for p in report.progress], marker="x", color=plots.COLORS["load"],
        label="ASK: the slot is migrating, this key already left")
ax.axhline(100 * report.keys_moved / len(cached), color=plots.COLORS["neutral"], linestyle="--",
           label="share of keys that moved")
ax.legend(loc="upper left")
plots.show(fig)

# %% [markdown]
# Count the `ASK` replies, and check the last round against the two slot maps: `MOVED` should
# answer exactly the probe keys whose slot changed owner.

# %%
asks = sum(p.counts["ASK"] for p in report.progress)
final, new_map = report.progress[-1], cluster.slot_map()
changed = sum(new_map.node_for(k) != old_map.node_for(k) for k in cached[:1000])
print(f"ASK replies: {asks}; MOVED at the end: {final.counts['MOVED']} of 1,000 reads; "
      f"probe keys whose slot changed owner: {changed}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert final.counts["MOVED"] == changed

# %% [markdown]
# By the end, exactly the moved keys get `MOVED`. `ASK` is rare: a read gets it only for a key of
# the one slot being migrated at that instant, and only after that key has left. Each probe round
# here is a thousand reads spread over 965 slots, so a round rarely hits the migrating slot.
# (The simulation has no clock: it reads once every 256 slots, halfway through migrating one. On a
# real cluster, what a read catches is a matter of timing.)
#
# ### Optional deep dive: catch an `ASK`
#
# Migrate one slot by hand, the way `redis-cli` does: the new master marks it IMPORTING, then the
# owner marks it MIGRATING, and the keys move with `MIGRATE`. Stop after moving ONE of its keys. Pick a slot of
# master A that holds two cached keys:

# %%
by_slot = {}
for key in cached:
    by_slot.setdefault(sharding.key_slot(key), []).append(key)
owners = cluster.slot_map().owners
slot, (gone, stays) = next((s, ks[:2]) for s, ks in sorted(by_slot.items()) if len(ks) >= 2 and owners[s] == "A")
cluster.begin_migration(slot, report.new_node, [gone])
slot, gone, stays

# %% [markdown]
# Now read both keys from A, and both together, with a plain client. Look for A serving the key it
# still holds, `ASK` (with the new master's address) for the key that left, and `TRYAGAIN` for an
# `MGET` of the two: A holds one of them, and Redis 7.0.15 refuses to split the command.

# %%
from redis.exceptions import ResponseError

a = cluster.node_client("A")
for asked in ([stays], [gone], [stays, gone]):
    try:
        print(f"MGET {' '.join(asked)}: {a.mget(asked)}")
    except ResponseError as exc:
        print(f"MGET {' '.join(asked)}: {type(exc).__name__} {exc}")
print(f"({source})")

# %% [markdown]
# A client that gets `ASK` sends `ASKING` and then the command to the new master, for this one
# command only, and keeps its slot map (the slot still belongs to A). Then finish the migration:
# the slot changes owner, and A answers `MOVED` from now on.

# %%
print("asking the new master:", cluster.ask(report.new_node, gone))
cluster.end_migration(slot)
try:
    a.get(stays)
except ResponseError as exc:
    print(f"after the migration, A answers {type(exc).__name__} {exc} ({source})")

# %% [markdown]
# ### Back to the whole cache
#
# A real client follows these redirections: `RedisCluster` retries at the address in the reply and
# updates its own slot map. `rc` still holds the map from before the rebalance. Unlike a
# memcached-style client-side ring, where a moved key is simply a miss, **nothing is missed**:

# %%
values = rc.mget_nonatomic(cached)
found = sum(v is not None for v in values)
print(f"{found:,} of {len(cached):,} keys read back after the rebalance ({source})")
if cluster.simulated:
    print(f"on the way, the client followed {rc.redirections['MOVED']:,} MOVED replies and reloaded its slot map")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert found == len(cached)

# %% [markdown]
# Compare the first read of every key right after adding a node. With client-side sharding the
# nodes do not hand keys over, so every moved key is a miss; Redis Cluster migrates them:

# %%
lab.table(["sharding", "hit ratio of the first reads after adding a node", "source"], [
    ["client-side, modulo", sharding.first_read_hit_ratio(modulo, modulo.with_node_added(new_node), cached),
     "model: keys that kept their node"],
    ["client-side, ring", sharding.first_read_hit_ratio(ring, ring.with_node_added(new_node), cached),
     "model: keys that kept their node"],
    ["Redis Cluster (keys migrated)", found / len(cached), f"read back from the {source}"],
])

# %% [markdown]
# The price moved elsewhere: the rebalance copies a quarter of the data across the network, and
# clients pay redirections until they reload their slot map.
#
# ## Multi-key commands and hash tags
#
# In a cluster, `MGET` reads several keys in one round trip only when they share one **hash
# slot**. Sharing a master is not enough: Redis answers
# [`CROSSSLOT`](../docs/glossary.md#crossslot). Take two cached keys that both live on master A,
# in two different slots, and send `MGET` straight to A (a plain client, no cluster routing).
# Look for the server's `CROSSSLOT` error, `ClusterCrossSlotError` in redis-py:

# %%
current = cluster.slot_map()
on_a = [k for k in cached if current.node_for(k) == "A"]
pair = [on_a[0], next(k for k in on_a if sharding.key_slot(k) != sharding.key_slot(on_a[0]))]
pair, [sharding.key_slot(k) for k in pair]

# %% [markdown]
# Two slots, one master. Send one `MGET` for both straight to A:

# %%
from redis.exceptions import RedisClusterException

try:
    cluster.node_client("A").mget(pair)
except ResponseError as exc:
    print(f"{type(exc).__name__}: {exc} ({source})")

# %% [markdown]
# The cluster client refuses keys from different slots before sending anything:

# %%
try:
    rc.mget(["user:42:name", "user:42:email"])
except RedisClusterException as exc:
    print(f"{type(exc).__name__}: {exc}")

# %% [markdown]
# A hash tag puts related keys in the same slot on purpose: only `user:42` is hashed in
# `{user:42}:name`, so one `MSET` and one `MGET` serve the whole record.

# %%
rc.mset({"{user:42}:name": "Ada", "{user:42}:email": "ada@example.com"})
rc.mget(["{user:42}:name", "{user:42}:email"])

# %% [markdown]
# The risk: every key of a tag lands in ONE slot, and a slot is the smallest unit Redis Cluster can
# place on a master: a big tag cannot be spread. Tag keys by
# tenant, give one tenant a sixth of the data (a Zipf spread of 200 tenants), and that tenant's
# master carries it all. Here are 20,000 keys placed with the cluster's current slot map, first
# plain and then tagged by tenant:

# %%
import random

rng = random.Random(42)
tenants = rng.choices(range(200), weights=[1 / (t + 1) for t in range(200)], k=20_000)
plain = [f"tenant:{t}:item:{i}" for i, t in enumerate(tenants)]
tagged = [f"{{tenant:{t}}}:item:{i}" for i, t in enumerate(tenants)]
slot_map = cluster.slot_map()
load_plain, load_tagged = sharding.load(slot_map, plain), sharding.load(slot_map, tagged)
f"tenant 0 owns {tenants.count(0) / len(tenants):.1%} of the keys"

# %% tags=["verify"] jupyter={"source_hidden": true}
assert abs(tenants.count(0) / len(tenants) - 1 / 6) < 0.02  # the biggest tenant: about a sixth

# %% [markdown]
# Keys per master, plain next to tagged. Look for the master that holds tenant 0:

# %%
fig, ax = plots.new_figure("One big hash tag makes a hot shard", "master", "keys")
x = range(len(slot_map.nodes))
ax.bar([i - 0.2 for i in x], list(load_plain.values()), width=0.4, color=plots.COLORS["truth"], label="plain keys")
ax.bar([i + 0.2 for i in x], list(load_tagged.values()), width=0.4, color=plots.COLORS["stale"],
       label="tagged {tenant:N}")
ax.set_xticks(list(x), slot_map.nodes)
ax.legend()
plots.show(fig)

# %% [markdown]
# In numbers, the busiest master against the average:

# %%
hot, home = sharding.max_over_mean(load_tagged.values()), slot_map.node_for("{tenant:0}")
busiest_master = max(load_tagged, key=load_tagged.get)
print(f"busiest master / mean: plain {sharding.max_over_mean(load_plain.values()):.2f}, tagged {hot:.2f}")
print(f"tenant 0 lives on {home}; the busiest master with tags is {busiest_master}")

# %% tags=["verify"] jupyter={"source_hidden": true}
assert hot > 1.2 > sharding.max_over_mean(load_plain.values()) and busiest_master == home

# %% [markdown]
# Tag only what must be read or written together (one user's record, one cart), never a whole
# tenant or a whole feature.
#
# ## Clean up
#
# `stop()` ends every redis-server the cluster started and deletes their folders, `nodes.conf`
# included. (It would also happen when the kernel exits.)

# %%
rc.close()
cluster.stop()
cluster.running

# %% [markdown]
# ## Check your understanding
#
# Four questions on what this notebook measured. Pick an answer and press **Check**: a
# wrong answer asks you to try again (the second wrong try shows the answer), a right one says
# why it is right. Where widgets do not render, the questions read as text below; their
# answers are in `workshop/quizzes.json`.

# %%
from entropy_lab import quiz
quiz.show("04")

# %% [markdown]
# ## Going further (if you finish early)
#
# Nothing below is needed for the next notebook, and nothing checks it.
#
# 1. **Which node leaves?** Repeat the "B leaves" cell, removing the last node instead
#    (`with_node_removed("D")`). Which scheme's cost depends on which node leaves, and why? Then build
#    a `SlotMap.create` with one node fewer and compare its `moved_fraction` with
#    `with_node_removed`: why is rebuilding the map not the same as removing a node?
# 2. **A bigger machine.** A node with twice the memory should get twice the keys. List it twice on
#    a ring under two names (say `"node-a"` and `"node-a-2"`) and add the two loads from
#    `sharding.load`. Does its share double? What happens to its keys when it leaves?
# 3. **How many virtual nodes for 50 nodes?** Repeat the search for the smallest `k` with
#    `sharding.ring_busiest(50, k) <= 1.15`. Does the answer grow with the number of nodes?
# 4. **A hot tag.** In the hash-tag cell, give one tenant half of all keys. What does the busiest
#    master carry now, and how would you split that tenant?

# %% [markdown]
# ## Summary
#
# | Symptom | Defence | Knob | Cost |
# |---|---|---|---|
# | Adding a node turns most of the cache into misses | consistent hashing: ring, jump, rendezvous or slots | the scheme | a ring's memory; rendezvous hashes N times; jump only grows at the end |
# | One node carries more load than the others | virtual nodes on the ring | k per node (spread about 1/sqrt(k)) | N x k points in every client, a log2(N k) search |
# | Clients ask the wrong master after resharding | `MOVED`/`ASK` redirections, client slot-map refresh | a cluster-aware client (`RedisCluster`) | an extra round trip per stale slot until the map is reloaded |
# | The data has to move | `redis-cli --cluster rebalance` migrates keys, no misses | `--cluster-use-empty-masters`, `--cluster-pipeline` | seconds of migration traffic |
# | `MGET`/`MSET` fail across slots | `{hash tags}` | the tagged part of the key | a hot shard if one tag is big |
#
# - Modulo moved about N/(N+1) of the keys on every resize; the consistent schemes moved about
#   1/(N+1), the minimum.
# - A ring needs hundreds of virtual nodes per node for a load spread (CV) under 5%, and the
#   busiest node sits well above the CV: measure it, it is what pages you.
# - Growing a 3-master Redis Cluster to 4 moved 4,096 slots and about a quarter of the keys, and a
#   cluster client with the old slot map read every key back by following `MOVED` (stored outputs:
#   the simulated cluster; CI runs the same cells on a real one).
#
# ## What's next
#
# [05 Monitoring](05_monitoring.ipynb): you cannot defend against what you do not see. Read
# `INFO`, turn counters into rates, and alert on hit ratio, evictions and expirations before your
# users notice.

# %%
lab.close(r)
