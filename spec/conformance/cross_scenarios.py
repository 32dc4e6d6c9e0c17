# The CPython side of the cross-heap scenarios: cycles that run through
# a function's closure, a bound method, a dict of callbacks, a default
# argument or a generator's frame -- what Lua builds with closures, tables
# and coroutines around pygc objects.  Same conventions as scenarios.py.
# Run: python3 cross_scenarios.py NAME
import gc
import weakref

from prelude import main, out, scenario


dels = []


class Node:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        dels.append(self.name)

    def hello(self):
        return "hello " + self.name


def dels_line():
    return ",".join(sorted(dels)) or "-"


@scenario
def closure_cell_cycle():
    def make():  # the cell outlives make(), as a closed Lua upvalue
        n = Node("n")
        n.greet = lambda: "hi " + n.name
        return n

    n = make()
    out("call", n.greet())
    w = weakref.ref(n)
    del n
    out("collect", gc.collect())
    out("dels", dels_line())
    out("alive", w() is not None)
    out("collect again", gc.collect())


@scenario
def bound_method_on_own_instance():
    a = Node("a")
    a.cb = a.hello
    out("call", a.cb())
    w = weakref.ref(a)
    del a
    out("collect", gc.collect())
    out("dels", dels_line())
    out("alive", w() is not None)


@scenario
def callbacks_dict_owner():
    def make():
        owner = Node("owner")
        owner.count = 0

        def click():
            owner.count += 1
            return owner.count

        owner.callbacks = {"click": click, "name": lambda: owner.name}
        return owner

    owner = make()
    out("click", owner.callbacks["click"](), owner.callbacks["click"]())
    out("name", owner.callbacks["name"]())
    w = weakref.ref(owner)
    del owner
    out("collect", gc.collect())
    out("dels", dels_line())
    out("alive", w() is not None)


@scenario
def lambda_default_argument():
    a = Node("a")
    a.get = lambda me=a: me.name
    out("call", a.get())
    w = weakref.ref(a)
    del a
    out("collect", gc.collect())
    out("dels", dels_line())
    out("alive", w() is not None)


@scenario
def generator_holding_owner():
    a = Node("a")

    def walk(owner):
        while True:
            yield owner.name

    a.it = walk(a)
    out("next", next(a.it))
    w = weakref.ref(a)
    del a
    out("collect", gc.collect())
    out("dels", dels_line())
    out("alive", w() is not None)


@scenario
def reachable_closure_cycle_survives():
    def make():
        n = Node("kept")
        n.greet = lambda: "hi " + n.name
        return n

    keep = [make()]
    out("collect", gc.collect())
    out("dels", dels_line())
    out("call", keep[0].greet())
    keep.clear()
    out("collect after drop", gc.collect())
    out("dels", dels_line())


@scenario
def finalizer_calls_its_callback():
    seen = []

    class Widget:
        def __del__(self):
            seen.append(self.on_close())

    def make():
        w = Widget()
        w.title = "main"
        w.on_close = lambda: "closing " + w.title

    make()
    out("collect", gc.collect())
    out("seen", ",".join(seen))


@scenario
def resurrection_through_closure():
    saved = []

    class Phoenix:
        def __del__(self):
            saved.append(self)

    def make():
        p = Phoenix()
        p.name = "phoenix"
        p.say = lambda: "I am " + p.name

    make()
    out("collect", gc.collect())
    out("saved", len(saved))
    out("call", saved[0].say())
    saved.clear()
    out("collect after drop", gc.collect())
    out("saved", len(saved))


@scenario
def two_owners_share_callbacks():
    def make():
        a, b = Node("a"), Node("b")
        a.peer_name = lambda: b.name
        b.peer_name = lambda: a.name
        out("calls", a.peer_name(), b.peer_name())

    make()
    out("collect", gc.collect())
    out("dels", dels_line())


if __name__ == "__main__":
    main()
