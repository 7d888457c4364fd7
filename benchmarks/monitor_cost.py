"""What does capturing with MONITOR cost a Redis server? Prints a table.

    python benchmarks/monitor_cost.py [--requests 200000]

A private redis-server on loopback; redis-benchmark (C, pipelined, 4 clients) drives SET and GET
as fast as the server goes, first alone, then with one and with two `redis-cli MONITOR` clients
reading everything (to /dev/null). The server, not a Python client, is the bottleneck here, so the
drop is mostly the server's cost of feeding MONITOR; on a machine with few cores the redis-cli
readers also take CPU from the server (on 2 cores, two readers cost no more than one). Run it on a
quiet machine, three times.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time

from entropy_lab.servers import RedisServer
from entropy_lab.tables import Table


def throughput(port: int, requests: int) -> dict[str, float]:
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get", "-n",
                          str(requests), "-P", "16", "-c", "4", "-d", "100", "-r", "100000", "-q"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(SET|GET): ([\d.]+) requests per second", out)}


def main(argv: list[str]) -> int:
    requests = int(argv[argv.index("--requests") + 1]) if "--requests" in argv else 200_000
    rows = []
    with RedisServer.start() as server:
        base = None
        for monitors in (0, 1, 2):
            readers = [subprocess.Popen(["redis-cli", "-p", str(server.port), "monitor"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(monitors)]
            time.sleep(0.3)
            try:
                rates = throughput(server.port, requests)
            finally:
                for reader in readers:
                    reader.terminate()
                    reader.wait(timeout=10)
            base = base or rates
            rows.append([f"{monitors} MONITOR client{'s' if monitors != 1 else ''}",
                         f"{rates['SET']:,.0f}", f"{rates['GET']:,.0f}",
                         f"{1 - rates['SET'] / base['SET']:.0%}", f"{1 - rates['GET'] / base['GET']:.0%}"])
    print(Table(["capture", "SET ops/s", "GET ops/s", "SET drop", "GET drop"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
