"""The text of INFO, rendered from the twin's keyspace like redis-server 7.0.15 lays it out.

Only fields the twin actually models carry live values; the rest are fixed, plausible values
so that tools parsing INFO (redis-py's `info()`, redis-cli, dashboards) work. Nothing here
depends on the host (no pids, paths or wall-clock times), so fake-mode output is reproducible.
"""
from __future__ import annotations

from typing import Any

from .config import format_memory_human
from .keyspace import Keyspace
from .lrulfu import lru_clock

REDIS_VERSION = "7.0.15"
DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "cluster", "keyspace")
ALL_SECTIONS = DEFAULT_SECTIONS


def _server(ks: Keyspace, now: float, started: float, port: int) -> list[str]:
    uptime = max(0, int(now - started))
    return [
        f"redis_version:{REDIS_VERSION}", "redis_git_sha1:00000000", "redis_git_dirty:0",
        "redis_build_id:0", "redis_mode:standalone", "os:entropy-lab twin", "arch_bits:64",
        "monotonic_clock:lab clock", "multiplexing_api:fakeredis", "atomicvar_api:c11-builtin",
        "gcc_version:0.0.0", "process_id:1", "process_supervised:no",
        "run_id:0000000000000000000000000000000000000000", f"tcp_port:{port}",
        f"server_time_usec:{int(now * 1_000_000)}", f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}", f"hz:{ks.config.hz}", f"configured_hz:{ks.config.hz}",
        f"lru_clock:{lru_clock(now)}", "executable:entropy-lab-twin", "config_file:",
        "io_threads_active:0", "entropy_lab_twin:1",
    ]


def _clients(ks: Keyspace) -> list[str]:
    return [f"connected_clients:{ks.clients}", "cluster_connections:0", "maxclients:10000",
            "client_recent_max_input_buffer:20480", "client_recent_max_output_buffer:0",
            "blocked_clients:0", "tracking_clients:0", "clients_in_timeout_table:0"]


def _memory(ks: Keyspace) -> list[str]:
    used = ks.note_peak()
    peak = ks.peak
    startup = ks.startup_bytes
    clients = ks.clients * ks.client_bytes
    keys = sum(len(db.keys) for db in ks.dbs)
    overhead = startup + clients + ks.tables + 32 * keys  # dict entries, as Redis counts them
    dataset = max(0, used - overhead)
    net = max(1, used - startup)
    rss = used + 12 * 1024 * 1024
    cfg = ks.config
    return [
        f"used_memory:{used}", f"used_memory_human:{format_memory_human(used)}",
        f"used_memory_rss:{rss}", f"used_memory_rss_human:{format_memory_human(rss)}",
        f"used_memory_peak:{peak}", f"used_memory_peak_human:{format_memory_human(peak)}",
        f"used_memory_peak_perc:{used * 100 / peak:.2f}%", f"used_memory_overhead:{overhead}",
        f"used_memory_startup:{startup}", f"used_memory_dataset:{dataset}",
        f"used_memory_dataset_perc:{dataset * 100 / net:.2f}%",
        f"allocator_allocated:{used}", f"allocator_active:{used}", f"allocator_resident:{rss}",
        "total_system_memory:0", "total_system_memory_human:0B",
        "used_memory_lua:31744", "used_memory_lua_human:31.00K", "used_memory_scripts:0",
        "used_memory_scripts_human:0B", "number_of_cached_scripts:0",
        f"maxmemory:{cfg.maxmemory}", f"maxmemory_human:{format_memory_human(cfg.maxmemory)}",
        f"maxmemory_policy:{cfg.policy}", "allocator_frag_ratio:1.00", "allocator_frag_bytes:0",
        f"mem_fragmentation_ratio:{rss / used:.2f}", f"mem_fragmentation_bytes:{rss - used}",
        "mem_not_counted_for_evict:0", "mem_replication_backlog:0", "mem_clients_slaves:0",
        f"mem_clients_normal:{clients}", "mem_aof_buffer:0", "mem_allocator:jemalloc-5.3.0",
        "active_defrag_running:0", "lazyfree_pending_objects:0", "lazyfreed_objects:0",
    ]


def _persistence() -> list[str]:
    return ["loading:0", "async_loading:0", "rdb_changes_since_last_save:0",
            "rdb_bgsave_in_progress:0", "rdb_last_bgsave_status:ok", "aof_enabled:0",
            "aof_rewrite_in_progress:0"]


def _stats(ks: Keyspace) -> list[str]:
    s = ks.stats
    return [
        f"total_connections_received:{s.total_connections_received}",
        f"total_commands_processed:{s.total_commands_processed}",
        "instantaneous_ops_per_sec:0", "total_net_input_bytes:0", "total_net_output_bytes:0",
        "rejected_connections:0", "sync_full:0", "sync_partial_ok:0", "sync_partial_err:0",
        f"expired_keys:{s.expired_keys}", f"expired_stale_perc:{s.expired_stale_perc:.2f}",
        f"expired_time_cap_reached_count:{s.expired_time_cap_reached_count}",
        "expire_cycle_cpu_milliseconds:0", f"evicted_keys:{s.evicted_keys}",
        "evicted_clients:0", "total_eviction_exceeded_time:0", "current_eviction_exceeded_time:0",
        f"keyspace_hits:{s.keyspace_hits}", f"keyspace_misses:{s.keyspace_misses}",
        "pubsub_channels:0", "pubsub_patterns:0", "latest_fork_usec:0", "total_forks:0",
    ]


def _replication() -> list[str]:
    return ["role:master", "connected_slaves:0", "master_failover_state:no-failover",
            "master_replid:0000000000000000000000000000000000000000", "master_repl_offset:0",
            "repl_backlog_active:0"]


def _cpu() -> list[str]:
    return ["used_cpu_sys:0.000000", "used_cpu_user:0.000000",
            "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000"]


def _keyspace(ks: Keyspace, now: float) -> list[str]:
    return [f"db{db.id}:keys={len(db.keys)},expires={len(db.vkeys)},avg_ttl={ks.avg_ttl_ms(db.id, now)}"
            for db in ks.dbs if db.keys]


def render_info(ks: Keyspace, now: float, sections: list[str], started: float = 0.0,
                port: int = 6379, extra: dict[str, Any] | None = None) -> str:
    """INFO [section ...]: 'default', 'all', 'everything' or section names (any case).

    `extra` (the served twin): {"default": [...], "all": [...] section orders, "makers": {name:
    callable returning lines}, "stats": callable returning lines appended to the stats section}."""
    default, every = DEFAULT_SECTIONS, ALL_SECTIONS
    if extra:
        default, every = extra["default"], extra["all"]
    wanted: list[str] = []
    for name in [s.lower() for s in sections] or ["default"]:
        if name == "default":
            wanted += list(default)
        elif name in ("all", "everything"):
            wanted += list(every)
        elif name in every:
            wanted.append(name)
    if extra:
        order = {name: i for i, name in enumerate(every)}
        wanted = sorted(dict.fromkeys(wanted), key=order.__getitem__)
    makers = {
        "server": lambda: _server(ks, now, started, port), "clients": lambda: _clients(ks),
        "memory": lambda: _memory(ks), "persistence": _persistence, "stats": lambda: _stats(ks),
        "replication": _replication, "cpu": _cpu, "cluster": lambda: ["cluster_enabled:0"],
        "keyspace": lambda: _keyspace(ks, now),
    }
    if extra:
        makers.update(extra["makers"])
        stats_lines = makers["stats"]
        makers["stats"] = lambda: stats_lines() + extra["stats"]()
    parts = []
    for name in dict.fromkeys(wanted):
        lines = makers[name]()
        parts.append("# " + name.capitalize() + "\r\n" + "".join(line + "\r\n" for line in lines))
    return "\r\n".join(parts)
