# Weak references against CPython: the python3 side of weak_scenarios.lua
# (same neutral format as scenarios.py).  Cases from CPython's
# test_weakref.py and the weakref cases of test_gc.py, in our own words.
# Run: python3 weak_scenarios.py NAME
import gc
import sys
import weakref

from prelude import main, out, scenario


class Node:
    pass


# A callback that is garbage with its weakref counts on both sides: a
# Python function, a Lua function's lref (the heap object holding it).
# Closures are avoided: their cells and tuples have no Lua counterpart.


class L(list):  # CPython needs a subclass for a weakref to a list
    pass


class C1055820:
    def __init__(self, i):
        self.i = i
        self.loop = self


@scenario
def ref_basic():
    o = Node()
    r = weakref.ref(o)
    out("alive", r() is o)
    del o
    out("dead", r() is None)


@scenario
def ref_shared():
    o = Node()
    out("same", weakref.ref(o) is weakref.ref(o))
    out("with callback differs", weakref.ref(o, lambda r: None) is weakref.ref(o))
    out("proxy shared", weakref.proxy(o) is weakref.proxy(o))


@scenario
def callback_once():
    o = Node()
    seen = []

    def cb(w):
        seen.append(w is r)
        out("in callback dead", w() is None)
    r = weakref.ref(o, cb)
    del o
    out("calls", len(seen), seen[0])


@scenario
def callbacks_newest_first():
    o = Node()
    order = []
    keep = [weakref.ref(o, lambda r, n=n: order.append(n)) for n in "abc"]
    del o
    out("order", ",".join(order))
    out("kept", len(keep))


@scenario
def weakref_count():
    o = Node()
    out("none", weakref.getweakrefcount(o))
    r1 = weakref.ref(o)
    out("one", weakref.getweakrefcount(o))
    r2 = weakref.ref(o, lambda r: None)
    p = weakref.proxy(o)
    out("three", weakref.getweakrefcount(o))
    del r2
    out("two", weakref.getweakrefcount(o))
    out("of int", weakref.getweakrefcount(5))
    del o
    out("dead", weakref.getweakrefcount(r1) if False else 0, r1() is None, p is not None)


@scenario
def weakrefs_order():
    o = Node()
    c1 = weakref.ref(o, lambda r: None)
    basic = weakref.ref(o)
    c2 = weakref.ref(o, lambda r: None)
    p = weakref.proxy(o)
    names = {id(c1): "c1", id(basic): "basic", id(c2): "c2", id(p): "proxy"}
    out("order", ",".join(names[id(w)] for w in weakref.getweakrefs(o)))


@scenario
def proxy_forwards():
    o = Node()
    p = weakref.proxy(o)
    p.x = 5
    out("set through", o.x)
    out("get through", p.x)
    out("str", str(p) == str(o))


@scenario
def proxy_dead():
    o = Node()
    p = weakref.proxy(o)
    del o
    try:
        p.x
    except ReferenceError as e:
        out("error", e)


@scenario
def refused_types():
    for v in [(1, 2), "s"]:
        try:
            weakref.ref(v)
        except TypeError as e:
            out("error", e)
    r = weakref.ref(Node())
    try:
        weakref.ref(r)
        out("ref to ref", "allowed")
    except TypeError:
        out("ref to ref", "refused")


@scenario
def ref_equality():
    o = Node()
    r1 = weakref.ref(o)
    r2 = weakref.ref(o, lambda r: None)
    out("live equal", r1 == r2)
    o2 = Node()
    out("other unequal", r1 == weakref.ref(o2))
    del o
    out("dead unequal", r1 == r2)
    out("dead self", r1 == r1)


@scenario
def ref_dict_key():
    o = Node()
    d = {}
    r1 = weakref.ref(o)
    d[r1] = "v"
    r2 = weakref.ref(o, lambda r: None)
    out("found by other", d[r2])
    del o
    out("found by itself", d[r1])
    out("other lost", r2 in d)


@scenario
def hash_after_death():
    o = Node()
    r1 = weakref.ref(o)
    hash(r1)
    r2 = weakref.ref(o, lambda r: None)
    del o
    out("remembered", isinstance(hash(r1), int))
    try:
        hash(r2)
        out("never hashed", "ok")
    except TypeError:
        out("never hashed", "error")


@scenario
def del_sees_live_ref():
    class D:
        def __del__(self):
            out("in del alive", r() is self)
    o = D()
    r = weakref.ref(o, lambda w: out("callback"))
    del o
    out("after", r() is None)


@scenario
def resurrect_keeps_ref():
    keep = []

    class D:
        def __del__(self):
            keep.append(self)
    o = D()
    r = weakref.ref(o, lambda w: out("callback"))
    del o
    out("resurrected alive", r() is keep[0])
    keep.clear()
    out("dead now", r() is None)


@scenario
def del_creates_weakref():
    class D:
        def __del__(self):
            out("del")
            holder.append(weakref.ref(self, lambda w: out("callback of a weakref made in del")))
    holder = []
    o = D()
    del o
    out("refs", len(holder), holder[0]() is None)


@scenario
def cycle_cleared_before_del():
    class D:
        def __del__(self):
            out("in del", r() is None)
    o = D()
    o.me = o
    r = weakref.ref(o, lambda w: out("callback"))
    del o
    out("collect", gc.collect())
    out("dead", r() is None)


@scenario
def cycle_callback_runs():
    a = Node()
    b = Node()
    a.b = b
    b.a = a
    calls = []
    r = weakref.ref(a, lambda w: calls.append(w() is None))
    del a, b
    out("collect", gc.collect())
    out("calls", len(calls), calls[0])


@scenario
def garbage_weakref_no_callback():
    a = Node()
    a.me = a
    a.wr = weakref.ref(a, lambda w: out("callback"))
    del a
    out("collect", gc.collect())


@scenario
def weakrefs_counted():
    a = Node()
    b = Node()
    a.b = b
    b.a = a
    a.w1 = weakref.ref(b, lambda w: out("callback"))
    b.w2 = weakref.ref(a)
    del a, b
    out("collect", gc.collect())


@scenario
def callback_frees_weakref():
    a = Node()
    a.me = a
    holder = []

    def cb(w):
        holder.clear()
        out("callback")
    holder.append(weakref.ref(a, cb))
    del a
    out("collect", gc.collect())


@scenario
def resurrected_cycle_refs_cleared():
    keep = []

    class D:
        def __del__(self):
            keep.append(self)
    o = D()
    o.me = o
    r = weakref.ref(o)
    del o
    out("collect", gc.collect())
    out("ref cleared", r() is None, "object alive", len(keep))
    keep.clear()
    out("collect again", gc.collect())


@scenario
def bug1055820b():
    ouch = []

    def callback(ignored):
        ouch[:] = [wr() for wr in WRs]
    Cs = [C1055820(i) for i in range(2)]
    WRs = [weakref.ref(c, callback) for c in Cs]
    c = None
    gc.collect()
    out("before", len(ouch))
    Cs = None
    gc.collect()
    out("after", len(ouch), all(x is None for x in ouch))


@scenario
def bug1055820c():
    c0 = C1055820(0)
    gc.collect()  # c0 to the oldest generation
    c1 = C1055820(1)
    c1.keep_c0_alive = c0
    del c0.loop
    c2 = C1055820(2)
    c2wr = weakref.ref(c2)
    ouch = []

    def callback(ignored):
        ouch[:] = [c2wr()]
    c0wr = weakref.ref(c0, callback)
    c0 = c1 = c2 = None
    out("young collection", gc.collect(0))
    out("ouch", len(ouch), ouch[0] is None if ouch else "-")
    out("c0wr dead", c0wr() is None)


@scenario
def bug1055820d():
    ouch = []

    class D(C1055820):
        def __del__(self):
            ouch[:] = [c2wr()]
    d0 = D(0)
    gc.collect()
    c1 = C1055820(1)
    c1.keep_d0_alive = d0
    del d0.loop
    c2 = C1055820(2)
    c2wr = weakref.ref(c2)
    d0 = c1 = c2 = None
    out("young collection", gc.collect(0))
    out("ouch", len(ouch), ouch[0] is None if ouch else "-")


@scenario
def callback_in_cycle():
    # the weakref, its referent and the holder are one piece of garbage:
    # no callback may run (it could see cleared objects)
    i = Node()
    t = Node()
    i.t = t
    t.back = i
    i.wr = weakref.ref(t, lambda w: out("callback"))
    del i, t
    out("collect", gc.collect())


@scenario
def trash_weakref_clear():
    a = Node()
    a.a = a
    a.z = Node()
    a.wz = weakref.ref(a.z, lambda w: out("callback"))
    del a
    out("collect", gc.collect())


@scenario
def callback_raises():
    def hook(u):
        out("unraisable reported")
    sys.unraisablehook = hook
    o = Node()

    def cb(w):
        raise ValueError("boom")
    r = weakref.ref(o, cb)
    del o
    out("went on", r() is None)
    sys.unraisablehook = sys.__unraisablehook__


@scenario
def callback_in_collection_uses_heap():
    a = Node()
    a.me = a
    other = Node()
    made = []

    def cb(w):
        made.append(weakref.ref(other, lambda x: None))
        made.append([1, 2, 3])
        out("collect inside", gc.collect())
    r = weakref.ref(a, cb)
    del a
    out("collect", gc.collect())
    out("made", len(made), made[0]() is other)


@scenario
def proxy_callback():
    o = Node()
    got = []
    p = weakref.proxy(o, lambda w: got.append(w is p))
    del o
    out("called with the proxy", len(got), got[0])


@scenario
def list_and_dict_referents():
    lst = L()
    r = weakref.ref(lst)
    out("list alive", r() is lst)
    del lst
    out("list dead", r() is None)


@scenario
def wvd_basic():
    d = weakref.WeakValueDictionary()
    o1 = Node()
    o2 = Node()
    d["a"] = o1
    d["b"] = o2
    out("len", len(d))
    del o1
    out("len", len(d), "a", d.get("a"), "b", d["b"] is o2)
    out("keys", ",".join(sorted(k for k, v in d.items())))


@scenario
def wvd_cycle_value():
    d = weakref.WeakValueDictionary()
    o = Node()
    o.me = o
    d[1] = o
    del o
    out("before collect", len(d))
    gc.collect()
    out("after collect", len(d))


@scenario
def wkd_basic():
    d = weakref.WeakKeyDictionary()
    k1 = Node()
    k2 = Node()
    d[k1] = 1
    d[k2] = 2
    out("len", len(d), d[k1], d[k2])
    del k1
    out("len", len(d), d[k2])
    out("values", ",".join(str(v) for k, v in d.items()))


@scenario
def weakset_basic():
    s = weakref.WeakSet()
    a, b, c = Node(), Node(), Node()
    s.add(a)
    s.add(b)
    s.add(c)
    s.add(a)
    out("len", len(s))
    s.discard(b)
    out("len", len(s), a in s, b in s)
    del a
    out("len", len(s), c in s)
    out("members", sum(1 for x in s))


@scenario
def finalize_on_death():
    o = Node()
    f = weakref.finalize(o, lambda *a: out("finalizer", *a), 1, 2)
    out("alive", f.alive, "atexit", f.atexit)
    del o
    out("alive", f.alive)
    out("call after", f())


@scenario
def finalize_call_once():
    o = Node()
    f = weakref.finalize(o, lambda: "result")
    out("first", f())
    out("second", f())
    out("alive", f.alive)
    del o
    out("done")


@scenario
def finalize_detach_peek():
    o = Node()

    def fn(x):
        out("must not run")
    f = weakref.finalize(o, fn, 7)
    obj, func, args, kwargs = f.peek()
    out("peek", obj is o, func is fn, args)
    obj, func, args, kwargs = f.detach()
    out("detach", obj is o, args, "alive", f.alive)
    out("peek after", f.peek(), "detach after", f.detach())
    del obj
    del o
    out("done")


@scenario
def finalize_in_cycle():
    o = Node()
    o.me = o
    f = weakref.finalize(o, lambda: out("finalized"))
    del o
    out("collect", gc.collect() > 0)
    out("alive", f.alive)


if __name__ == "__main__":
    main()
