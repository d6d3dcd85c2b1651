"""The figures of bench/voice.py: each step of a ramp, the bare loopback, the targets, the report.

Pure functions of what the clients noted and the CPU metered: no I/O but printing.
"""

from __future__ import annotations

import argparse
import os
from statistics import median
from typing import Any

from bench import harness as h
from bench.voice_clients import CLICK_LIMIT_S

TARGET_CALLS = {"opus": 12, "pcmu": 25}  # the issue: concurrent bridged calls per core, by the advisers' codec
TARGET_ADDED_P95_MS = 60.0
Out = dict[str, Any]


def click_latencies(sent: list[float], heard: list[float]) -> tuple[list[float], int]:
    """Each click sent, matched with the first click heard after it (within ``CLICK_LIMIT_S``): (seconds each
    took, clicks lost)."""
    heard, took, lost, j = sorted(heard), [], 0, 0
    for s in sorted(sent):
        while j < len(heard) and heard[j] < s:
            j += 1
        if j < len(heard) and heard[j] - s < CLICK_LIMIT_S:
            took.append(heard[j] - s)
            j += 1
        else:
            lost += 1
    return took, lost


def punctual(ends: list[Out], calls: int, expected: int) -> Out:
    """Frames of one direction over every call: on time (received, not late, of those due), lateness."""
    due = calls * expected
    on_time = sum(min(e["expected"], e["received"] - e["late"]) for e in ends)
    lateness = [x / 1000 for e in ends for x in e["lateness_ms"]]
    return dict(
        on_time_pct=round(on_time / due * 100, 2) if due else None,
        late=sum(e["late"] for e in ends),
        missing=max(0, due - sum(e["received"] for e in ends)),
        lateness_p50_ms=h.pct(lateness, 50),
        lateness_p99_ms=h.pct(lateness, 99),
    )


def sending(ends: list[Out], calls: int, expected: int) -> float | None:
    """The share (%) of the frames the clients were due to send themselves that they sent on time."""
    due = calls * expected
    on_time = sum(min(e["sending"]["expected"], e["sending"]["received"] - e["sending"]["late"]) for e in ends)
    return round(on_time / due * 100, 2) if due else None


def limited_by(s: Out, a: Any) -> str:
    """Why a step did not count: the node's CPU, the clients (too busy to send on time themselves), the whole
    machine (busy on every core: the node waited for a core), or the node (late with a core to spare)."""
    if s["node_cores"] >= 0.95:  # a core, less the clock ticks /proc can miss in a window
        return "node CPU"
    if min(s["clients_sent_on_time_pct"] or 0, 100) < a.on_time:
        return "clients"
    if s["machine_cores"] >= 0.95 * (os.cpu_count() or 1):
        return "machine"
    return "node"


def latency(pairs: list[tuple[Out, Out]], less_s: float) -> Out:
    """Clicks from each pair's sender (first) to its receiver (second), p50/p95, raw and less ``less_s``."""
    took: list[float] = []
    lost = 0
    for sender, receiver in pairs:
        t, n = click_latencies(sender["sent"], receiver["heard"])
        took, lost = took + t, lost + n
    added = [t - less_s for t in took]
    return dict(
        p50_ms=h.pct(took, 50),
        p95_ms=h.pct(took, 95),
        added_p50_ms=h.pct(added, 50),
        added_p95_ms=h.pct(added, 95),
        clicks=len(took),
        lost=lost,
    )


def step_figures(cids: list[str], stats: Out, cpu: dict[str, float], seconds: float, bare: Out, a: Any) -> Out:
    """One step of a ramp: the node's CPU, both directions' punctuality, the clicks' latency. The step counts
    when at least ``--on-time`` % of the frames due in each direction came on time and the node used less
    than one core."""
    callers, advisers = stats["callers"], stats["advisers"]
    blank = dict(expected=0, received=0, late=0, lateness_ms=[], sent=[], heard=[])
    blank["sending"] = dict(expected=0, received=0, late=0)
    to_callers = [callers.get(c, blank) for c in cids]
    to_advisers = [advisers.get(c, blank) for c in cids]
    expected = round(seconds / 0.02)
    n, node = len(cids), cpu["server"] / seconds
    s: Out = dict(calls=n, seconds=round(seconds, 2), node_cores=round(node, 3))
    s |= dict(cpu_per_call_pct=round(node / n * 100, 2), calls_per_core=round(n / node, 1) if node else None)
    for name in ("loop", "redis", "postgres", "clients", "machine"):
        s[f"{name}_cores"] = round(cpu[name] / seconds, 3)
    s |= {f"caller_{k}": v for k, v in punctual(to_callers, n, expected).items()}
    s |= {f"adviser_{k}": v for k, v in punctual(to_advisers, n, expected).items()}
    s["clients_sent_on_time_pct"] = min(sending(to_callers, n, expected) or 0, sending(to_advisers, n, expected) or 0)
    rates = [e["received"] / seconds for e in to_advisers]
    s["adviser_packets_per_s_mean"] = round(sum(rates) / n, 1)
    s["adviser_packets_per_s_min"] = round(min(rates), 1)
    less = (bare["latency_p50_ms"] or 0) / 1000
    s |= {f"in_{k}": v for k, v in latency(list(zip(to_callers, to_advisers, strict=True)), less).items()}
    s |= {f"out_{k}": v for k, v in latency(list(zip(to_advisers, to_callers, strict=True)), less).items()}
    s["added_in_p95_ms"], s["added_out_p95_ms"] = s["in_added_p95_ms"], s["out_added_p95_ms"]
    on_time = min(s["caller_on_time_pct"] or 0, s["adviser_on_time_pct"] or 0)
    s["ok"] = on_time >= a.on_time and node < 1.0
    s["limited_by"] = None if s["ok"] else limited_by(s, a)
    return s


def bare_figures(stats: Out, cpu: dict[str, float], seconds: float, a: argparse.Namespace) -> Out:
    """The bare loopback streams: CPU a stream, punctuality, click latency (sender's track to receiver's); and
    the node's CPU meanwhile, with no call (its own background work)."""
    streams = stats["loopbacks"]
    took = [t for e in streams for t in click_latencies(e["sent"], e["heard"])[0]]
    f: Out = dict(streams=len(streams), cpu_per_stream_pct=round(cpu["bare"] / seconds / max(1, len(streams)) * 100, 2))
    f["node_idle_cores"] = round(cpu["server"] / seconds, 3)
    f |= punctual(streams, len(streams), round(seconds / 0.02))
    f |= dict(latency_p50_ms=h.pct(took, 50), latency_p95_ms=h.pct(took, 95), clicks=len(took))
    f["latency_median_s"] = median(took) if took else None
    return f


def verdicts(out: Out, a: argparse.Namespace) -> Out:
    """Each codec's capacity (the most calls of a step that counted, every smaller step counting too), its
    figures at that step, and the targets."""
    f: Out = {}
    for codec, o in out.items():
        key, steps, bare = codec.lower(), o["steps"], o["bare"]
        passed = [s for s in steps if s["ok"]]
        top = passed[-1] if passed else (steps[0] if steps else None)
        f[f"{key}_capacity_calls"] = passed[-1]["calls"] if passed else 0
        f[f"{key}_ramp_ended_by"] = "max_calls" if not steps or steps[-1]["ok"] else steps[-1]["limited_by"]
        f |= {f"{key}_bare_{k}": v for k, v in bare.items() if k != "latency_median_s"}
        if top is not None:
            f |= {f"{key}_at_capacity_{k}": v for k, v in top.items()}
            ratio = top["cpu_per_call_pct"] / bare["cpu_per_stream_pct"] if bare["cpu_per_stream_pct"] else None
            f[f"{key}_cpu_ratio_call_to_bare_stream"] = round(ratio, 2) if ratio else None
        target = TARGET_CALLS.get(key)
        f[f"{key}_capacity_target"] = target
        f[f"{key}_capacity_target_met"] = target is not None and f[f"{key}_capacity_calls"] >= target
        worst = max((top or {}).get(k) or 1e9 for k in ("added_in_p95_ms", "added_out_p95_ms"))
        f[f"{key}_latency_target_met"] = worst <= TARGET_ADDED_P95_MS
        f[f"{key}_steps"] = steps
    return f


def problems_of(out: Out, logs: list[str]) -> list[str]:
    """What went wrong in the run (missing a target is not a problem of the run)."""
    problems = [f"{codec}: {p}" for codec, o in out.items() for p in o["problems"]] + logs
    for codec, o in out.items():
        bare = o["bare"]
        if (bare["on_time_pct"] or 0) < 95 or not bare["clicks"]:
            problems.append(f"{codec}: the bare loopback itself was not on time ({bare['on_time_pct']} %)")
        short = [s for s in o["steps"] if s["bridged"] < s["calls"]]
        problems += [f"{codec}: only {s['bridged']} of {s['calls']} calls bridged" for s in short]
    return problems


def print_report(f: Out, problems: list[str]) -> None:
    """The summary lines (each step was printed as it was measured; the JSON line is printed last)."""
    for codec in f["codecs"]:
        k = codec.lower()
        at = f"{k}_at_capacity_"
        print(
            f"{codec}: capacity {f[f'{k}_capacity_calls']} concurrent calls (ramp ended by {f[f'{k}_ramp_ended_by']}); "
            f"at that step the node used {f.get(at + 'node_cores')} cores, {f.get(at + 'cpu_per_call_pct')} % of a "
            f"core a call ({f.get(at + 'calls_per_core')} calls per core), "
            f"{f.get(k + '_cpu_ratio_call_to_bare_stream')} x a bare loopback stream "
            f"({f[k + '_bare_cpu_per_stream_pct']} %)"
        )
        print(
            f"  click latency caller -> adviser p50 {f.get(at + 'in_p50_ms')} / p95 {f.get(at + 'in_p95_ms')} ms, "
            f"adviser -> caller p50 {f.get(at + 'out_p50_ms')} / p95 {f.get(at + 'out_p95_ms')} ms; less the bare "
            f"loopback's p50 ({f[k + '_bare_latency_p50_ms']} ms): added p95 {f.get(at + 'added_in_p95_ms')} / "
            f"{f.get(at + 'added_out_p95_ms')} ms"
        )
        target = f[f"{k}_capacity_target"]
        met = "met" if f[f"{k}_capacity_target_met"] else "NOT met"
        lat = "met" if f[f"{k}_latency_target_met"] else "NOT met"
        print(f"  targets: >= {target} calls: {met}; added latency p95 <= {TARGET_ADDED_P95_MS:g} ms: {lat}")
    load = f"load average {f['load_avg_1m_before']} -> {f['load_avg_1m']}"
    print(f"contactd peak RSS {f['server_peak_rss_mb']} MB; {load}")
    for line in problems[:40]:
        print(f"PROBLEM: {line}")
