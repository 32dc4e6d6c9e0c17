#!/usr/bin/env python3
"""Side-by-side benchmark runner (make bench / make bench-quick).

Runs every (system, workload, kind, mode) config of shared/bench/WORKLOADS.md
as a fresh process, R repetitions interleaved (rep 1 of every config, then
rep 2, ...), records each child's peak RSS (wait4), and prints one table per
workload: median [min-max] per cell, and pygc's ratio to each peer measured
in the same run.  Raw records go to build/bench/results.jsonl.

  python3 bench/run.py [--reps R] [--n N] [--quick]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA_CPATH = "%s/build/?.so;%s/?.so;;" % (ROOT, ROOT)

SYSTEMS = {
    "pygc-c": lambda w, k, m, n: [os.path.join(ROOT, "build/w_pygc"), w, k, m, str(n)],
    "pygc-c-inc": lambda w, k, m, n: ["env", "PYGC_COLLECTOR=incremental", os.path.join(ROOT, "build/w_pygc"), w, k, m, str(n)],
    "pygc-lua": lambda w, k, m, n: ["lua5.4", os.path.join(ROOT, "bench/w_pygc.lua"), w, k, m, str(n)],
    "cpython": lambda w, k, m, n: [sys.executable, os.path.join(ROOT, "bench/w_python.py"), w, k, m, str(n)],
    "lua5.4-inc": lambda w, k, m, n: ["lua5.4", os.path.join(ROOT, "bench/w_lua.lua"), w, k, m, str(n), "inc"],
    "lua5.4-gen": lambda w, k, m, n: ["lua5.4", os.path.join(ROOT, "bench/w_lua.lua"), w, k, m, str(n), "gen"],
}

# (workload, mode) -> headline field and unit
HEAD = {
    ("W1", "plain"): ("ns_per_obj", "ns/obj (one full collection freeing N objects in 2-cycles)"),
    ("W2", "plain"): ("ns_per_obj", "ns/obj (steady full collection of 1,001,001 live containers)"),
    ("W3", "plain"): ("ns_per_iter", "ns/iter (churn: a 3-object ring dropped per iteration, auto GC)"),
    ("W3", "lat"): ("max_iter_ms", "max single-iteration ms (W3, clock read around each iteration)"),
    ("W4", "plain"): ("ns_per_iter", "ns/iter (W3 beside 1,001,001 live old containers)"),
    ("W4", "lat"): ("max_iter_ms", "max single-iteration ms (W4)"),
    ("W5", "plain"): ("ns_per_obj", "ns/obj (drop the head of an N-deep chain)"),
}


def run_one(cmd):
    """One process; its peak RSS from /usr/bin/time (a child's own figure:
    wait4's would include the pages of this runner it was forked from)."""
    env = dict(os.environ, LUA_CPATH=LUA_CPATH)
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB %M"] + cmd, capture_output=True, env=env, cwd=ROOT)
    out, err = p.stdout.decode(), p.stderr.decode()
    line = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        rec = json.loads(line)
    except ValueError:
        rec = {"error": (err or line)[-300:]}
    rss = [l for l in err.splitlines() if l.startswith("MAXRSS_KB ")]
    rec["rss_mb"] = int(rss[-1].split()[1]) / 1024.0 if rss else 0.0
    rec["rc"] = p.returncode
    return rec


def fmt(vals):
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return "%.3g" % med if med < 10 else "%.1f" % med
    return ("%.3g [%.3g-%.3g]" if med < 10 else "%.1f [%.1f-%.1f]") % (med, min(vals), max(vals))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--quick", action="store_true", help="small N, one rep: a smoke that every driver runs")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.n = 1, 20000
    configs = []
    for w in ("W1", "W2", "W3", "W4", "W5"):
        modes = ["plain", "lat"] if w in ("W3", "W4") else ["plain"]
        for k in ("list", "inst"):
            for m in modes:
                for s in SYSTEMS:
                    configs.append((s, w, k, m))
    os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
    raw = open(os.path.join(ROOT, "build/bench/results.jsonl"), "w")
    results = {}
    failures = 0
    t0 = time.time()
    for rep in range(args.reps):
        for cfg in configs:
            s, w, k, m = cfg
            rec = run_one(SYSTEMS[s](w, k, m, args.n))
            rec.update(sys_label=s, rep=rep)
            raw.write(json.dumps(rec) + "\n")
            raw.flush()
            if rec.get("rc") != 0 or "error" in rec:
                failures += 1
                print("FAILED %s %s %s %s: %s" % (s, w, k, m, rec.get("error", rec.get("rc"))), file=sys.stderr)
                continue
            results.setdefault(cfg, []).append(rec)
    elapsed = time.time() - t0

    print("# pygc side-by-side benchmarks")
    print()
    print("machine: %s, %d CPUs, %s; python %s; N = %d; %d repetitions interleaved; %.0f s"
          % (platform.machine(), os.cpu_count(), platform.platform(), platform.python_version(), args.n, args.reps, elapsed))
    try:
        print("load average at end: %.2f" % os.getloadavg()[0])
    except OSError:
        pass
    print()
    for (w, m), (field, label) in HEAD.items():
        print("## %s %s: %s" % (w, m, label))
        print()
        print("| kind | " + " | ".join(SYSTEMS) + " | pygc-c / cpython | pygc-c-inc / pygc-c | pygc-lua / lua5.4-inc |")
        print("|---|" + "---|" * (len(SYSTEMS) + 3))
        for k in ("list", "inst"):
            cells, meds = [], {}
            for s in SYSTEMS:
                vals = [r[field] for r in results.get((s, w, k, m), []) if field in r]
                rss = [r["rss_mb"] for r in results.get((s, w, k, m), [])]
                cells.append("%s (RSS %s MB)" % (fmt(vals), fmt(rss)) if vals else "n/a")
                if vals:
                    meds[s] = statistics.median(vals)

            def ratio(a, b):
                return "%.2f" % (meds[a] / meds[b]) if a in meds and b in meds and meds[b] else "-"

            print("| %s | %s | %s | %s | %s |" % (k, " | ".join(cells), ratio("pygc-c", "cpython"),
                                                ratio("pygc-c-inc", "pygc-c"), ratio("pygc-lua", "lua5.4-inc")))
        print()
    # W4/W3 for pygc-c and the longest pause
    print("## W4/W3 (young collections beside a big old heap)")
    print()
    print("| system | kind | W3 ns/iter | W4 ns/iter | W4/W3 | W3 max pause ms | W4 max pause ms |")
    print("|---|---|---|---|---|---|---|")
    for s in ("pygc-c", "pygc-c-inc", "pygc-lua", "cpython"):
        for k in ("list", "inst"):
            w3 = [r["ns_per_iter"] for r in results.get((s, "W3", k, "plain"), [])]
            w4 = [r["ns_per_iter"] for r in results.get((s, "W4", k, "plain"), [])]
            p3 = [r.get("max_gc_pause_ms", 0) for r in results.get((s, "W3", k, "plain"), [])]
            p4 = [r.get("max_gc_pause_ms", 0) for r in results.get((s, "W4", k, "plain"), [])]
            if w3 and w4:
                print("| %s | %s | %s | %s | %.2f | %s | %s |" % (s, k, fmt(w3), fmt(w4),
                      statistics.median(w4) / statistics.median(w3), fmt(p3), fmt(p4)))
    print()
    # the incremental collector's targets
    w2 = {k: statistics.median([r["steady_ms"] for r in results.get(("pygc-c", "W2", k, "plain"), [])] or [0]) for k in ("list", "inst")}
    print("## Incremental collector: longest pause beside a 1M-object old heap (W4 lat) vs the generational full-collection pause (W2)")
    print()
    print("| kind | generational full collection ms (W2) | incremental W4 longest GC pause ms | ratio (target <= 0.10) | incremental W4 longest iteration ms |")
    print("|---|---|---|---|---|")
    for k in ("list", "inst"):
        p = [r.get("max_gc_pause_ms", 0) for r in results.get(("pygc-c-inc", "W4", k, "plain"), [])]
        it = [r.get("max_iter_ms", 0) for r in results.get(("pygc-c-inc", "W4", k, "lat"), [])]
        if p and w2[k]:
            print("| %s | %.1f | %s | %.3f | %s |" % (k, w2[k], fmt(p), statistics.median(p) / w2[k], fmt(it)))
    print()
    # memory-pressure workloads, both collectors
    pres = {}
    for rep in range(args.reps):
        for wl in ("P1", "P2", "P3"):
            for col in ("generational", "incremental"):
                rec = run_one([os.path.join(ROOT, "build/w_pressure"), wl, col, "0.02" if args.quick else "1"])
                raw.write(json.dumps(rec) + "\n")
                if rec.get("rc") != 0 or "error" in rec:
                    failures += 1
                    continue
                pres.setdefault((wl, col), []).append(rec)
    names = {"P1": "per-request cycles (HTTP client)", "P2": "temporary class graphs (migration)", "P3": "long linked-list churn"}
    print("## Memory-pressure workloads (bench/w_pressure.c), generational vs incremental")
    print()
    print("Pauses in wall time, and in the collecting thread's CPU time (which a neighbour on a shared machine")
    print("does not lengthen). The pause target: the longest incremental pause (CPU) <= 1/10 of the longest")
    print("generational full collection (CPU) of the same workload.")
    print()
    print("| workload | collector | peak heap MB | peak RSS MB | total ms | max GC pause ms | max pause CPU ms | longest full CPU ms | pauses > 1 ms | peak ratio inc/gen (target <= 1.25) | max pause inc / full gen (target <= 0.1) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for wl in ("P1", "P2", "P3"):
        for col in ("generational", "incremental"):
            rs = pres.get((wl, col), [])
            if not rs:
                continue
            ratio = pause_ratio = ""
            gen = pres.get((wl, "generational"))
            if col == "incremental" and gen:
                ratio = "%.2f" % (statistics.median([r["peak_heap_mb"] for r in rs]) /
                                  statistics.median([r["peak_heap_mb"] for r in gen]))
                full = statistics.median([r.get("max_full_cpu_ms", 0) for r in gen])
                if full > 0:
                    pause_ratio = "%.3f" % (statistics.median([r.get("max_gc_pause_cpu_ms", 0) for r in rs]) / full)
            print("| %s %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (wl, names[wl], col, fmt([r["peak_heap_mb"] for r in rs]),
                  fmt([r["rss_mb"] for r in rs]), fmt([r["total_ms"] for r in rs]), fmt([r["max_gc_pause_ms"] for r in rs]),
                  fmt([r.get("max_gc_pause_cpu_ms", 0) for r in rs]), fmt([r.get("max_full_cpu_ms", 0) for r in rs]),
                  fmt([r["pauses_over_1ms"] for r in rs]), ratio, pause_ratio))
    print()
    print("%d runs failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
