# The CPython peer: WORKLOADS.md's shapes, one JSON line per process.
#   python3 w_python.py W1..W5 list|inst [plain|lat|nogc] [N]
import gc
import json
import sys
import time

W, KIND = sys.argv[1], sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else "plain"
N = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
FANOUT = 1000
now = time.perf_counter_ns


class Node:
    pass


out = {"system": "cpython%d.%d.%d" % sys.version_info[:3], "workload": W, "kind": KIND, "mode": MODE, "N": N}


def w1():
    gc.collect()
    gc.disable()
    b0 = now()
    if KIND == "list":
        for _ in range(N // 2):
            a = [None]; b = [a]; a[0] = b
    else:
        for _ in range(N // 2):
            a = Node(); b = Node(); a.other = b; b.other = a
    del a, b
    t0 = now(); n = gc.collect(); t1 = now()
    out.update(build_ms=(t0 - b0) / 1e6, collect_ms=(t1 - t0) / 1e6, ns_per_obj=(t1 - t0) / N, collected=n)


def build_w2():
    root = []
    for _ in range(FANOUT):
        p = []
        if KIND == "list":
            for _ in range(FANOUT):
                p.append([p])
        else:
            for _ in range(FANOUT):
                c = Node(); c.parent = p; p.append(c)
        root.append(p)
    return root


def w2():
    gc.collect()
    gc.disable()
    b0 = now()
    root = build_w2()
    t = now(); gc.collect(); first = now() - t
    s = []
    for _ in range(3):
        t = now(); gc.collect(); s.append(now() - t)
    steady = sorted(s)[1]
    out.update(build_ms=(t - b0) / 1e6, first_ms=first / 1e6, ns_per_obj_first=first / 1001001,
               steady_ms=steady / 1e6, ns_per_obj=steady / 1001001, tracked_total=len(gc.get_objects()))
    return root


def churn():
    stats = {"gc": 0, "max": 0, "start": 0, "coll": [0, 0, 0]}

    def cb(phase, info):
        if phase == "start":
            stats["start"] = now()
        else:
            d = now() - stats["start"]
            stats["gc"] += d
            if d > stats["max"]:
                stats["max"] = d
            stats["coll"][info["generation"]] += 1

    gc.callbacks.append(cb)
    if MODE == "nogc":
        gc.disable()
    else:
        gc.enable()
    lat = MODE == "lat"
    max_iter = over1 = over10 = 0
    t0 = now()
    if KIND == "list":
        if lat:
            for _ in range(N):
                s = now()
                a = [None]; b = [a]; c = [b]; a[0] = c
                d = now() - s
                if d > max_iter: max_iter = d
                if d > 1_000_000: over1 += 1
                if d > 10_000_000: over10 += 1
        else:
            for _ in range(N):
                a = [None]; b = [a]; c = [b]; a[0] = c
    else:
        if lat:
            for _ in range(N):
                s = now()
                a = Node(); b = Node(); c = Node(); a.next = b; b.next = c; c.next = a
                d = now() - s
                if d > max_iter: max_iter = d
                if d > 1_000_000: over1 += 1
                if d > 10_000_000: over10 += 1
        else:
            for _ in range(N):
                a = Node(); b = Node(); c = Node(); a.next = b; b.next = c; c.next = a
    total = now() - t0
    gc.callbacks.remove(cb)
    out.update(total_ms=total / 1e6, ns_per_iter=total / N, gc_ms=stats["gc"] / 1e6, gc_share=stats["gc"] / total,
               max_gc_pause_ms=stats["max"] / 1e6, collections=stats["coll"])
    if lat:
        out.update(max_iter_ms=max_iter / 1e6, iters_over_1ms=over1, iters_over_10ms=over10)


def w5():
    gc.collect()
    gc.disable()
    h = None
    if KIND == "list":
        for _ in range(N):
            h = [h]
    else:
        for _ in range(N):
            x = Node(); x.next = h; h = x
        del x
    t = now(); gc.collect(); live = now() - t
    t = now(); del h; drop = now() - t
    out.update(collect_live_ms=live / 1e6, drop_ms=drop / 1e6, ns_per_obj=drop / N, ok=True)


if W == "W1":
    w1()
elif W == "W2":
    w2()
elif W == "W3":
    gc.collect()
    churn()
elif W == "W4":
    gc.collect(); gc.disable()
    root = build_w2()
    gc.collect()
    churn()
elif W == "W5":
    w5()
print(json.dumps(out))
