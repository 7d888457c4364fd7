"""INFO commandstats, errorstats and latencystats and total_error_replies, as the served twin
counts them (fake mode has no wire errors or command timings to count)."""
from __future__ import annotations


class ServedStats:
    """INFO commandstats / errorstats / latencystats and total_error_replies (served twin only)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.commands: dict[str, list[float]] = {}  # name -> [calls, usec, rejected, failed]
        self.latency: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.total_errors = 0

    def _row(self, name: str) -> list[float]:
        return self.commands.setdefault(name, [0, 0.0, 0, 0])

    def call(self, name: str, seconds: float, failed: bool, tracking: bool) -> None:
        row = self._row(name)
        row[0] += 1
        row[1] += seconds * 1e6
        if failed:
            row[3] += 1
        if tracking:
            samples = self.latency.setdefault(name, [])
            if len(samples) < 10_000:
                samples.append(seconds * 1e6)

    def rejected(self, name: str) -> None:
        self._row(name)[2] += 1

    def error(self, message: str) -> None:
        code = message.split(" ", 1)[0] if message else "ERR"
        if not code.isupper():
            code = "ERR"
        self.errors[code] = self.errors.get(code, 0) + 1
        self.total_errors += 1

    def commandstats(self) -> list[str]:
        return [f"cmdstat_{name}:calls={int(c)},usec={int(u)},usec_per_call={u / c if c else 0:.2f},"
                f"rejected_calls={int(r)},failed_calls={int(f)}"
                for name, (c, u, r, f) in sorted(self.commands.items())]

    def errorstats(self) -> list[str]:
        return [f"errorstat_{code}:count={n}" for code, n in sorted(self.errors.items())]

    def latencystats(self, percentiles: list[float]) -> list[str]:
        lines = []
        for name, samples in sorted(self.latency.items()):
            if not samples:
                continue
            ordered = sorted(samples)
            parts = []
            for p in percentiles:
                index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
                parts.append(f"p{format_percentile(p)}={ordered[index]:.3f}")
            lines.append(f"latency_percentiles_usec_{name}:" + ",".join(parts))
        return lines


def format_percentile(p: float) -> str:
    text = f"{p:f}".rstrip("0").rstrip(".")
    return text or "0"

