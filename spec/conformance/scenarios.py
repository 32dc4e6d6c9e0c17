# The CPython side of the conformance suite: each scenario prints what it
# observes, one fact per line, in the neutral format both sides share
# (booleans lower-case, None as None).  Run: python3 scenarios.py NAME
# The pygc side is scenarios.lua, scenario for scenario.
import gc
import sys

from prelude import fmt, main, out, scenario


def tname(o):
    return type(o).__name__


def garbage_types():
    return ",".join(sorted(tname(o) for o in gc.garbage)) or "-"


def clear_garbage():
    for o in gc.garbage:
        if isinstance(o, list):
            o.clear()
        elif isinstance(o, dict):
            o.clear()
        elif hasattr(o, "__dict__"):
            o.__dict__.clear()
    del gc.garbage[:]


try:
    from _testcapi import with_tp_del
except ImportError:  # Debian splits _testcapi into libpython3.11-testsuite
    with_tp_del = None

class Node:
    pass


# ---- cycles ---------------------------------------------------------------


@scenario
def self_list():
    l = []
    l.append(l)
    del l
    out("collect", gc.collect())
    out("collect again", gc.collect())


@scenario
def list_pair():
    a, b = [], []
    a.append(b)
    b.append(a)
    del a, b
    out("collect", gc.collect())


@scenario
def self_dict():
    d = {}
    d["me"] = d
    del d
    out("collect", gc.collect())


@scenario
def dict_list_cycle():
    d = {}
    l = [d]
    d["l"] = l
    del d, l
    out("collect", gc.collect())


@scenario
def instance_self():
    a = Node()
    a.me = a
    del a
    out("collect", gc.collect())


@scenario
def tuple_list_cycle():
    l = []
    t = (l,)
    l.append(t)
    del l, t
    out("collect", gc.collect())


@scenario
def ring_of_three():
    a, b, c = Node(), Node(), Node()
    a.next, b.next, c.next = b, c, a
    del a, b, c
    out("collect", gc.collect())


@scenario
def two_cycles():
    for _ in range(2):
        a, b = Node(), Node()
        a.o, b.o = b, a
    del a, b
    out("collect", gc.collect())


@scenario
def reachable_cycle_survives():
    keep = []
    a = Node()
    a.me = a
    keep.append(a)
    del a
    out("collect", gc.collect())
    keep.clear()
    out("collect after drop", gc.collect())


@scenario
def cycle_holding_live_object():
    live = Node()
    live.name = "live"
    a = Node()
    a.me = a
    a.live = live
    del a
    out("collect", gc.collect())
    out("live name", live.name)


@scenario
def big_cycle():
    first = Node()
    cur = first
    for _ in range(999):
        n = Node()
        cur.next = n
        cur = n
    cur.next = first
    del first, cur, n
    out("collect", gc.collect())


@scenario
def refcount_frees_acyclic():
    a = Node()
    a.child = Node()
    del a
    out("collect", gc.collect())


# ---- finalizers -----------------------------------------------------------

log = []


class Fin:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        log.append(self.name)


@scenario
def finalizer_in_self_cycle():
    a = Fin("a")
    a.me = a
    del a
    out("log before", ",".join(log) or "-")
    out("collect", gc.collect())
    out("log after", ",".join(log))


@scenario
def finalizers_in_pair():
    a, b = Fin("a"), Fin("b")
    a.o, b.o = b, a
    del a, b
    out("collect", gc.collect())
    out("finalized", ",".join(sorted(log)))


@scenario
def finalizer_on_refcount_death():
    a = Fin("a")
    del a
    out("log", ",".join(log))
    out("collect", gc.collect())


@scenario
def finalizer_runs_once_after_resurrection():
    saved = []

    class R:
        def __del__(self):
            log.append("del")
            saved.append(self)

    a = R()
    a.me = a
    del a
    out("collect", gc.collect())
    out("calls", len(log), "saved", len(saved))
    out("is_finalized", gc.is_finalized(saved[0]))
    saved.clear()
    out("collect again", gc.collect())
    out("calls", len(log))


@scenario
def resurrection_keeps_attributes():
    saved = []

    class R:
        def __del__(self):
            saved.append(self)

    a = R()
    a.me = a
    a.value = 42
    del a
    gc.collect()
    out("value", saved[0].value, "self ref intact", saved[0].me is saved[0])


@scenario
def resurrect_other_object():
    saved = []

    class R:
        def __del__(self):
            if hasattr(self, "partner"):
                saved.append(self.partner)
            log.append("del")

    a, b = R(), Node()
    a.partner = b
    b.back = a
    del a, b
    out("collect", gc.collect())
    out("saved", len(saved), tname(saved[0]), "finalizer calls", len(log))
    saved.clear()
    out("collect again", gc.collect())
    out("finalizer calls", len(log))


@scenario
def resurrection_repeated():
    calls = []

    class Phoenix:
        def __del__(self):
            calls.append(1)
            if len(calls) < 3:  # each death makes a new cyclic successor
                n = Phoenix()
                n.me = n

    a = Phoenix()
    a.me = a
    del a
    for i in range(4):
        out("collect", i, gc.collect(), "calls", len(calls))


@scenario
def is_finalized_flag():
    saved = []

    class R:
        def __del__(self):
            saved.append(self)

    a = R()
    out("before", gc.is_finalized(a))
    a.me = a
    del a
    gc.collect()
    out("after", gc.is_finalized(saved[0]))
    out("atomic", gc.is_finalized(3))


@scenario
def finalizer_raises():
    reports = []
    sys.unraisablehook = lambda u: reports.append(str(u.exc_value))

    class Bad:
        def __del__(self):
            raise RuntimeError("boom")

    a = Bad()
    a.me = a
    del a
    out("collect", gc.collect())
    out("reports", len(reports), reports[0])


@scenario
def finalizer_calls_collect():
    inner = []

    class C:
        def __del__(self):
            inner.append(gc.collect())

    a = C()
    a.me = a
    del a
    out("collect", gc.collect())
    out("inner", inner[0])


@scenario
def finalizer_creates_cycle():
    class C:
        def __del__(self):
            l = []
            l.append(l)

    a = C()
    a.me = a
    del a
    out("collect", gc.collect())
    out("collect again", gc.collect())


@scenario
def finalizer_deep_chain():
    count = [0]

    class C:
        def __del__(self):
            count[0] += 1

    head = None
    for _ in range(20000):
        n = C()
        n.next = head
        head = n
    del head, n
    out("finalized", count[0])


@scenario
def finalizer_sees_cleared_partner_not():
    seen = []

    class C:
        def __del__(self):
            seen.append(hasattr(self.other, "other"))

    a, b = C(), C()
    a.other, b.other = b, a
    del a, b
    gc.collect()
    out("partners intact during finalization", ",".join(fmt(s) for s in seen))


# ---- legacy finalizers (tp_del) --------------------------------------------

if with_tp_del:

    @with_tp_del
    class Legacy:
        def __tp_del__(self):
            log.append("legacy del")

else:
    Legacy = None


@scenario
def legacy_self_cycle():
    a = Legacy()
    a.me = a
    del a
    out("collect", gc.collect())
    out("garbage", garbage_types())
    out("log", ",".join(log) or "-")
    st = gc.get_stats()[2]
    out("uncollectable counted", st["uncollectable"] >= 1)
    clear_garbage()
    out("collect after clearing", gc.collect())


@scenario
def legacy_reaches_list():
    a = Legacy()
    l = [a]
    a.l = l
    del a, l
    out("collect", gc.collect())
    out("garbage", garbage_types())
    clear_garbage()


@scenario
def legacy_beside_collectable():
    a = Legacy()
    a.me = a
    b = Node()
    b.me = b
    del a, b
    out("collect", gc.collect())
    out("garbage", garbage_types())
    clear_garbage()


@scenario
def legacy_refcount_death():
    a = Legacy()
    del a
    out("log", ",".join(log))


@scenario
def legacy_saveall():
    gc.set_debug(gc.DEBUG_SAVEALL)
    a = Legacy()
    l = [a]
    a.l = l
    del a, l
    out("collect", gc.collect())
    gc.set_debug(0)
    out("garbage", garbage_types())
    clear_garbage()


# ---- DEBUG_SAVEALL and debug output -----------------------------------------


@scenario
def saveall_keeps_cycles():
    gc.set_debug(gc.DEBUG_SAVEALL)
    a, b = [], {}
    a.append(b)
    b["a"] = a
    del a, b
    out("collect", gc.collect())
    gc.set_debug(0)
    out("garbage", garbage_types())
    clear_garbage()
    out("collect after clearing", gc.collect())


@scenario
def saveall_runs_finalizers():
    gc.set_debug(gc.DEBUG_SAVEALL)
    a = Fin("a")
    a.me = a
    del a
    out("collect", gc.collect())
    gc.set_debug(0)
    out("log", ",".join(log))
    out("garbage", garbage_types())
    clear_garbage()


@scenario
def debug_collectable_lines():
    gc.set_debug(gc.DEBUG_COLLECTABLE)
    l = []
    l.append(l)
    del l
    gc.collect()
    gc.set_debug(0)


@scenario
def debug_stats_lines():
    gc.set_debug(gc.DEBUG_STATS)
    l = []
    l.append(l)
    del l
    gc.collect(1)
    gc.set_debug(0)


@scenario
def debug_uncollectable_lines():
    gc.set_debug(gc.DEBUG_UNCOLLECTABLE | gc.DEBUG_COLLECTABLE)
    a = Legacy()
    a.me = a
    b = []
    b.append(b)
    del a, b
    gc.collect()
    gc.set_debug(0)
    clear_garbage()


@scenario
def debug_leak_flags():
    out("flags", gc.DEBUG_STATS, gc.DEBUG_COLLECTABLE, gc.DEBUG_UNCOLLECTABLE, gc.DEBUG_SAVEALL, gc.DEBUG_LEAK)
    gc.set_debug(gc.DEBUG_LEAK)
    out("get_debug", gc.get_debug())
    gc.set_debug(0)


# ---- callbacks ---------------------------------------------------------------


@scenario
def callback_phases():
    seen = []
    cb = lambda phase, info: seen.append((phase, info["generation"], info["collected"], info["uncollectable"]))
    gc.callbacks.append(cb)
    l = []
    l.append(l)
    del l
    gc.collect(1)
    gc.callbacks.remove(cb)
    for s in seen:
        out(*s)


@scenario
def callback_counts_match_collect():
    seen = []
    cb = lambda phase, info: seen.append(info["collected"])
    gc.callbacks.append(cb)
    for _ in range(3):
        a = Node()
        a.me = a
    del a
    n = gc.collect()
    gc.callbacks.remove(cb)
    out("collect", n, "stop info", seen[-1])


@scenario
def callback_raises():
    reports = []
    sys.unraisablehook = lambda u: reports.append(str(u.exc_value))

    def bad(phase, info):
        raise ValueError("cb " + phase)

    gc.callbacks.append(bad)
    l = []
    l.append(l)
    del l
    out("collect", gc.collect())
    gc.callbacks.remove(bad)
    out("reports", ",".join(reports))


@scenario
def callback_calls_collect():
    inner = []
    cb = lambda phase, info: inner.append(gc.collect())
    gc.callbacks.append(cb)
    gc.collect()
    gc.callbacks.remove(cb)
    out("inner", ",".join(str(i) for i in inner))


@scenario
def callback_removes_itself():
    calls = []

    def first(phase, info):
        calls.append("first " + phase)
        if phase == "start":
            gc.callbacks.remove(first)

    def second(phase, info):
        calls.append("second " + phase)

    gc.callbacks.extend([first, second])
    gc.collect()
    gc.callbacks.remove(second)
    out("calls", ",".join(calls))


@scenario
def callback_automatic_generation():
    gens = []
    cb = lambda phase, info: phase == "start" and gens.append(info["generation"])
    gc.set_threshold(100, 10, 10)
    gc.enable()
    gc.callbacks.append(cb)
    keep = []
    for _ in range(150):
        keep.append([])
    gc.callbacks.remove(cb)
    gc.disable()
    out("first automatic generation", gens[0], "collections", len(gens))


# ---- freeze ---------------------------------------------------------------


@scenario
def freeze_ignores_frozen():
    a = []
    a.append(a)
    gc.freeze()
    out("freeze count positive", gc.get_freeze_count() > 0)
    del a
    out("collect while frozen", gc.collect())
    gc.unfreeze()
    out("freeze count after unfreeze", gc.get_freeze_count())
    out("collect after unfreeze", gc.collect())


@scenario
def freeze_new_objects_collectable():
    gc.freeze()
    a = []
    a.append(a)
    del a
    out("collect", gc.collect())
    gc.unfreeze()


# ---- thresholds and automatic collection -----------------------------------


@scenario
def threshold_defaults():
    out("threshold", *gc.get_threshold())


@scenario
def threshold_roundtrip():
    gc.set_threshold(123)
    out("threshold", *gc.get_threshold())
    gc.set_threshold(5, 6, 7)
    out("threshold", *gc.get_threshold())


def gen_collections():
    return [s["collections"] for s in gc.get_stats()]


@scenario
def threshold_zero_disables():
    gc.set_threshold(0)
    gc.enable()
    before = gen_collections()
    keep = [[] for _ in range(2000)]
    after = gen_collections()
    gc.disable()
    out("gen0 collections", after[0] - before[0])


@scenario
def automatic_gen0():
    gc.set_threshold(100, 1000, 1000)
    gc.collect()
    gc.enable()
    before = gen_collections()
    keep = []
    for _ in range(1050):
        keep.append([])
    after = gen_collections()
    gc.disable()
    out("gen0", after[0] - before[0], "gen1", after[1] - before[1])


@scenario
def automatic_gen1():
    gc.set_threshold(100, 3, 1000)
    gc.collect()
    gc.enable()
    before = gen_collections()
    keep = []
    for _ in range(1050):
        keep.append([])
    after = gen_collections()
    gc.disable()
    out("gen0", after[0] - before[0], "gen1", after[1] - before[1], "gen2", after[2] - before[2])


@scenario
def disabled_no_automatic():
    gc.set_threshold(100)
    before = gen_collections()
    keep = [[] for _ in range(1000)]
    out("collections", sum(gen_collections()) - sum(before), "isenabled", gc.isenabled())


@scenario
def automatic_collects_garbage():
    gc.set_threshold(100)
    gc.enable()
    count = [0]

    class C:
        def __del__(self):
            count[0] += 1

    for _ in range(500):
        a = C()
        a.me = a
    del a
    gc.disable()
    out("finalized by automatic collections at least 300", count[0] >= 300)


@scenario
def collect_resets_counts():
    gc.collect()
    c = gc.get_count()
    out("counts after full collection", c[1], c[2])
    gc.collect(0)
    out("gen1 count after collect(0)", gc.get_count()[1])


@scenario
def stats_per_generation():
    before = gc.get_stats()
    gc.collect(0)
    gc.collect(1)
    gc.collect(1)
    gc.collect(2)
    after = gc.get_stats()
    out("collections", *[after[g]["collections"] - before[g]["collections"] for g in range(3)])
    out("fields", ",".join(sorted(after[0].keys())))


@scenario
def invalid_generation():
    for g in (3, -1):
        try:
            gc.collect(g)
            out("no error")
        except ValueError as e:
            out("error", str(e))


# ---- tracking --------------------------------------------------------------


@scenario
def tracked_atomic_and_containers():
    out("int", gc.is_tracked(1), "float", gc.is_tracked(1.5), "str", gc.is_tracked("a"), "None", gc.is_tracked(None))
    out("list", gc.is_tracked([]), "instance", gc.is_tracked(Node()))


@scenario
def tracked_dicts():
    out("empty", gc.is_tracked({}))
    out("with container", gc.is_tracked({"a": []}))
    out("with atomic", gc.is_tracked({"a": 1}))


@scenario
def tracked_tuples():
    t = tuple([1, 2.5, "a"])  # built at run time: constants are never tracked
    out("new atomic tuple", gc.is_tracked(t))
    gc.collect()
    out("after collection", gc.is_tracked(t))
    t2 = tuple([[]])
    gc.collect()
    out("tuple with list", gc.is_tracked(t2))
    out("empty tuple", gc.is_tracked(()))


@scenario
def tracked_nested_tuples():
    inner = tuple([1, 2])
    outer = tuple([inner, 3])
    gc.collect()
    out("inner", gc.is_tracked(inner), "outer", gc.is_tracked(outer))


# ---- introspection ---------------------------------------------------------


@scenario
def referrers_by_type():
    target = []
    a = [target]
    d = {"k": target}
    n = Node()
    n.t = target
    out("referrers", ",".join(sorted(tname(r) for r in gc.get_referrers(target) if r is not sys._getframe().f_locals)))


@scenario
def referents_of_list():
    inner = []
    l = [1, "a", inner]
    r = gc.get_referents(l)
    out("referents", ",".join(sorted(tname(x) for x in r)), "inner found", any(x is inner for x in r))


@scenario
def referents_of_dict():
    d = {(1,): "v", 2: []}
    out("referents", ",".join(sorted(tname(x) for x in gc.get_referents(d))))


@scenario
def referents_of_str_keyed_dict():
    d = {"k": 2}
    out("referents", ",".join(sorted(str(x) for x in gc.get_referents(d))))


@scenario
def get_objects_generations():
    gc.collect()
    l = []
    out("in gen0", any(o is l for o in gc.get_objects(0)))
    gc.collect(0)
    out("in gen1", any(o is l for o in gc.get_objects(1)), "in gen0", any(o is l for o in gc.get_objects(0)))
    gc.collect(1)
    out("in gen2", any(o is l for o in gc.get_objects(2)))


@scenario
def collect_generation_scope():
    gc.collect()
    a = []
    a.append(a)
    gc.collect(0)
    del a
    out("collect(0)", gc.collect(0), "collect(1)", gc.collect(1))


# ---- trashcan and reentrancy -------------------------------------------------


@scenario
def deep_list_release():
    head = []
    cur = head
    for _ in range(100000):
        n = []
        cur.append(n)
        cur = n
    del cur, n
    out("collect with deep chain", gc.collect())
    del head
    out("released", True)


@scenario
def deep_instance_release():
    head = None
    for _ in range(100000):
        n = Node()
        n.next = head
        head = n
    del n
    del head
    out("released", True)


@scenario
def deep_cycle_collect():
    first = []
    cur = first
    for _ in range(100000):
        n = []
        cur.append(n)
        cur = n
    cur.append(first)
    del first, cur, n
    out("collect", gc.collect())


@scenario
def reentrant_collect_in_callback_and_finalizer():
    inner = []
    cb = lambda phase, info: inner.append(gc.collect(0))
    gc.callbacks.append(cb)

    class C:
        def __del__(self):
            inner.append(gc.collect(2))

    a = C()
    a.me = a
    del a
    out("collect", gc.collect())
    gc.callbacks.remove(cb)
    out("inner", ",".join(str(i) for i in inner))


# ---- PEP 442 shapes, after the cases of CPython's test_finalization ---------
# Each finalizer records its name and whether its object (and its neighbours)
# still looked intact when it ran; some then resurrect their object into a
# reachable list, others break their own references.  The order of the
# finalizers of one collection is unspecified: the record prints sorted.

try:
    from _testcapi import without_gc
except ImportError:
    without_gc = None

ran = []     # one name per finalizer run
broken = []  # names whose finalizer found an invariant broken
keep = []    # the reachable container resurrectors store into


def ran_line(label="finalized"):
    out(label, ",".join(sorted(ran)) or "-", "broken", ",".join(sorted(broken)) or "-")


class Probe:
    kind = "plain"  # "keep": resurrect into keep; "cut": break own references

    def __init__(self, name):
        self.name = name

    def sound(self):
        return isinstance(self.name, str)

    def cut(self):
        pass

    def __del__(self):
        ran.append(self.name)
        if not self.sound():
            broken.append(self.name)
        if self.kind == "keep":
            keep.append(self)
        elif self.kind == "cut":
            self.cut()


class ProbeKeep(Probe):
    kind = "keep"


class Looped(Probe):
    def __init__(self, name):
        super().__init__(name)
        self.ref = self

    def sound(self):
        return super().sound() and self.ref is self

    def cut(self):
        self.ref = None


class LoopedKeep(Looped):
    kind = "keep"


class LoopedCut(Looped):
    kind = "cut"


class Chained(Probe):
    def link(self, left):
        self.gone = False
        self.left = left
        left.right = self

    def sound(self):
        if self.gone:
            return self.left is None and self.right is None
        left, right = self.left, self.right
        ok = (left.right is None) if left.gone else (left.right is self)
        return ok and ((right.left is None) if right.gone else (right.left is self))

    def cut(self):
        self.gone = True
        self.left = None
        self.right = None


class ChainedKeep(Chained):
    kind = "keep"


class ChainedCut(Chained):
    kind = "cut"


CHAINED = {"plain": Chained, "keep": ChainedKeep, "cut": ChainedCut}


def chain_scenario(kinds):
    # a ring: node i linked to node i-1, the first to the last
    nodes = [CHAINED[k]("n%d%s" % (i, k[0])) for i, k in enumerate(kinds)]
    for i in range(len(nodes)):
        nodes[i].link(nodes[i - 1])
    del nodes
    out("collect", gc.collect())
    ran_line()
    out("resurrected", len(keep))
    keep.clear()
    out("collect again", gc.collect())
    ran_line("finalized after")
    out("collect a third time", gc.collect())


@scenario
def pep442_acyclic_refcount():
    a = Probe("a")
    del a
    ran_line("finalized on del")
    out("collect", gc.collect())
    ran_line()


@scenario
def pep442_acyclic_resurrect():
    a = ProbeKeep("a")
    del a
    ran_line("finalized on del")
    out("kept", len(keep), keep[0].name, "is_finalized", gc.is_finalized(keep[0]))
    out("collect", gc.collect())
    keep.clear()
    out("collect after dropping", gc.collect())
    ran_line("finalized after")


class UntrackedBase:
    __slots__ = ()
    resurrects = False

    def __del__(self):
        ran.append("u")
        if self.resurrects:
            keep.append(self)


if without_gc:

    @without_gc
    class Untracked(UntrackedBase):
        __slots__ = ()

    @without_gc
    class UntrackedKeeper(UntrackedBase):
        __slots__ = ()
        resurrects = True


@scenario
def nongc_finalizer_on_del():
    a = Untracked()
    del a
    ran_line("finalized on del")
    out("collect", gc.collect())
    ran_line("finalized after collect")


@scenario
def nongc_finalizer_resurrects():
    a = UntrackedKeeper()
    del a
    out("kept", len(keep), "finalizer runs", len(ran))
    out("collect", gc.collect())
    keep.clear()
    out("collect after dropping", gc.collect())
    out("finalizer runs", len(ran))
    keep.clear()


@scenario
def pep442_self_cycle():
    a = Looped("a")
    del a
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())
    ran_line("finalized after")


@scenario
def pep442_self_cycle_resurrect():
    a = LoopedKeep("a")
    del a
    out("collect", gc.collect())
    ran_line()
    out("kept", len(keep), "intact", keep[0].ref is keep[0], "is_finalized", gc.is_finalized(keep[0]))
    keep.clear()
    out("collect again", gc.collect())
    ran_line("finalized after")
    out("collect a third time", gc.collect())


@scenario
def pep442_self_cycle_suicide():
    a = LoopedCut("a")
    del a
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())
    ran_line("finalized after")


class Deleter(Looped):
    def __del__(self):
        ran.append(self.name)
        del self.ref
        if hasattr(self, "ref"):
            broken.append(self.name)


@scenario
def pep442_self_cycle_deletes_attribute():
    a = Deleter("a")
    del a
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())


@scenario
def pep442_chain_plain():
    chain_scenario(["plain"] * 3)


@scenario
def pep442_chain_resurrect():
    chain_scenario(["keep"] * 3)


@scenario
def pep442_chain_suicide():
    chain_scenario(["cut"] * 3)


@scenario
def pep442_chain_suicide_alternating():
    chain_scenario(["cut", "plain"] * 2)


@scenario
def pep442_chain_suicide_halves():
    chain_scenario(["cut"] * 2 + ["plain"] * 2)


@scenario
def pep442_chain_resurrect_alternating():
    chain_scenario(["keep", "plain"] * 2)


@scenario
def pep442_chain_resurrect_mixed():
    chain_scenario(["keep", "plain", "cut"] * 2)


@scenario
def pep442_chain_resurrect_blocks():
    chain_scenario(["keep"] * 2 + ["plain"] * 2 + ["cut"] * 2)


class Partner:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        ran.append(self.name + " sees " + self.partner.name)


@scenario
def pep442_partner_reads_name():
    a, b = Partner("a"), Partner("b")
    a.partner, b.partner = b, a
    del a, b
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())


class Walker:
    def __del__(self):
        n, hops = self.next, 1
        while n is not self:
            hops += 1
            n = n.next
        ran.append("%s:%d" % (self.name, hops))


@scenario
def pep442_reads_around_ring():
    nodes = [Walker() for _ in range(5)]
    for i, n in enumerate(nodes):
        n.name = "w%d" % i
        n.next = nodes[(i + 1) % 5]
    del nodes, n
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())


class Saver:
    def __del__(self):
        ran.append("saver")
        keep.append(self.partner)


@scenario
def pep442_resurrect_partner():
    a, b = Saver(), Node()
    a.partner, b.back = b, a
    b.name = "b"
    del a, b
    out("collect", gc.collect())
    out("kept", keep[0].name, "reaches saver", gc.is_finalized(keep[0].back))
    keep.clear()
    out("collect again", gc.collect())
    ran_line("finalized after")
    out("collect a third time", gc.collect())


@scenario
def pep442_kept_then_read():
    a = LoopedKeep("a")
    del a
    counts = []
    for _ in range(3):
        counts.append(gc.collect())
        counts.append(keep[0].ref.ref.name)
    out("collects while kept", ",".join(str(c) for c in counts))
    ran_line()
    keep.clear()
    out("collect after dropping", gc.collect())
    ran_line("finalized after")


class Cutter:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        ran.append(self.name)
        p = self.partner
        if p is not None and p.partner is not None and p.partner is not self:
            broken.append(self.name)
        self.partner = None


@scenario
def pep442_suicidal_pair():
    a, b = Cutter("a"), Cutter("b")
    a.partner, b.partner = b, a
    del a, b
    out("collect", gc.collect())
    ran_line()
    out("collect again", gc.collect())


class Peek(Probe):
    def __del__(self):
        # the partner's flag depends on the (unspecified) order: only the
        # number of finalizers that saw it set is fixed
        ran.append(self.name + " " + fmt(gc.is_finalized(self)))
        if gc.is_finalized(self.other) and self.other.name:
            keep.append(self.other.name)


@scenario
def pep442_is_finalized_inside():
    a, b = Peek("a"), Peek("b")
    a.other, b.other = b, a
    del a, b
    out("collect", gc.collect())
    ran_line()
    out("saw the partner finalized", len(keep))
    out("collect again", gc.collect())


if with_tp_del:

    @with_tp_del
    class TpDel:
        def __init__(self, name, resurrect=False):
            self.name = name
            self.resurrect = resurrect

        def __tp_del__(self):
            ran.append(self.name)
            if self.resurrect:
                keep.append(self)


@scenario
def legacy_tpdel_refcount():
    a = TpDel("a")
    del a
    ran_line("finalized on del")
    out("collect", gc.collect())
    out("garbage", garbage_types())


@scenario
def legacy_tpdel_refcount_resurrect():
    a = TpDel("a", True)
    del a
    out("kept", len(keep))
    ran_line("finalized on del")
    keep.clear()
    out("collect", gc.collect())
    out("finalizer runs", len(ran))
    keep.clear()


@scenario
def legacy_tpdel_self_cycle_then_broken():
    a = TpDel("a")
    a.ref = a
    del a
    out("collect", gc.collect())
    ran_line()
    out("garbage", garbage_types(), "intact", gc.garbage[0].ref is gc.garbage[0])
    gc.garbage[0].ref = None
    del gc.garbage[:]
    ran_line("finalized after breaking")
    out("collect after breaking", gc.collect())


def skip(name):
    if (name.startswith("legacy") or name == "debug_uncollectable_lines") and Legacy is None:
        return "_testcapi.with_tp_del is not available"
    if name.startswith("nongc") and without_gc is None:
        return "_testcapi.without_gc is not available"
    return None


if __name__ == "__main__":
    main(skip)
