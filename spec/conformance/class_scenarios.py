# Classes as heap objects against CPython: the python3 side of
# class_scenarios.lua (same neutral format as scenarios.py).  Class-level
# state (counters, registries), attributes set after creation, and classes
# in cycles, with their instances and with themselves.
# Run: python3 class_scenarios.py NAME
import gc
import weakref

from prelude import main, out, scenario


@scenario
def counter_in_init():
    class Counter:
        count = 0

        def __init__(self, name):
            self.name = name
            Counter.count = Counter.count + 1

    a, b, c = Counter("a"), Counter("b"), Counter("c")
    out("count", Counter.count, "seen by an instance", a.count)
    a.count = 100
    out("shadowed", a.count, "others", b.count, "class", Counter.count)
    del a.count
    out("unshadowed", a.count)
    del a, b, c
    out("collect", gc.collect())


@scenario
def registry_list():
    class Plugin:
        def __init__(self, name):
            self.name = name
            Plugin.registry.append(self)

    Plugin.registry = []
    for n in ("x", "y", "z"):
        Plugin(n)
    out("registered", len(Plugin.registry), ",".join(p.name for p in Plugin.registry))
    r = weakref.ref(Plugin.registry[0])
    out("collect", gc.collect(), "alive", r() is not None)
    Plugin.registry.clear()
    out("after clear", r() is None)


@scenario
def methods_after_creation():
    class Late:
        def __init__(self, n):
            self.n = n

    o = Late(2)
    out("has double", hasattr(o, "double"))
    Late.double = lambda self: self.n * 2
    out("double", o.double())
    Late.double = lambda self: self.n * 20
    out("replaced", o.double())
    del Late.double
    out("deleted", hasattr(o, "double"), hasattr(Late, "double"))


@scenario
def class_self_cycle():
    class A:
        pass

    A.a = A
    r = weakref.ref(A)
    del A
    out("alive before", r() is not None)
    out("collect", gc.collect())
    out("dead", r() is None)
    out("collect again", gc.collect())


@scenario
def instance_class_cycle_with_del():
    ran = []

    class A:
        def __del__(self):
            ran.append(self.tag)

    A.inst = A()
    A.inst.tag = "i"
    rc, ri = weakref.ref(A), weakref.ref(A.inst)
    del A
    out("collected", gc.collect() > 0)
    out("ran", ",".join(ran))
    out("dead", rc() is None, ri() is None)
    out("collect again", gc.collect(), "ran", len(ran))


@scenario
def class_kept_by_its_instance():
    class Kept:
        def hello(self):
            return "hi"

    Kept.me = Kept
    o = Kept()
    r = weakref.ref(Kept)
    del Kept
    out("collect", gc.collect(), "class alive", r() is not None)
    out("method", o.hello(), "type", type(o).__name__)
    del o
    out("collected", gc.collect() > 0, "class dead", r() is None)


@scenario
def del_set_after_creation():
    class D:
        pass

    D()
    out("without __del__")
    D.__del__ = lambda self: out("late __del__")
    D()
    del D.__del__
    D()
    out("deleted __del__")


@scenario
def del_sets_class_attribute():
    class Tally:
        dead = 0

        def __del__(self):
            Tally.dead = Tally.dead + 1
            Tally.last = self.tag

    for i in range(3):
        a, b = Tally(), Tally()
        a.tag, b.tag = i, -i
        a.b, b.a = b, a
    del a, b
    out("collect", gc.collect(), "dead", Tally.dead)


@scenario
def del_deletes_class_del():
    ran = []

    class Once:
        def __del__(self):
            ran.append(1)
            del Once.__del__

    a, b = Once(), Once()
    a.b, b.a = b, a
    del a, b
    out("collect", gc.collect(), "ran", len(ran))


@scenario
def resurrected_instance_keeps_class():
    keep = []

    class Phoenix:
        def greet(self):
            return "again"

        def __del__(self):
            keep.append(self)

    Phoenix.inst = Phoenix()
    r = weakref.ref(Phoenix)
    del Phoenix
    gc.collect()
    out("kept", len(keep), keep[0].greet(), type(keep[0]).__name__, "class alive", r() is not None)
    keep.clear()
    gc.collect()
    out("class dead", r() is None)


if __name__ == "__main__":
    main()
