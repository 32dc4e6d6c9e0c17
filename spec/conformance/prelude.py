# What every python3 side of the conformance suites starts and ends with:
# the neutral output format, the scenario registry, and the entry point.
# A suite does `from prelude import ...` (python puts the script's folder
# on sys.path); run a suite as: python3 SUITE.py NAME | --list
import gc
import sys

sys.stdout.reconfigure(line_buffering=True)


def fmt(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def out(*parts):
    print(" ".join(fmt(p) for p in parts), flush=True)


S = {}


def scenario(fn):
    S[fn.__name__] = fn
    return fn


def main(skip=None):
    """Run the scenario named on the command line, after a collection with
    automatic collection off; skip(name) may return why it cannot run."""
    if len(sys.argv) > 1 and sys.argv[1] == "--list":
        print("\n".join(S))
        sys.exit(0)
    name = sys.argv[1]
    reason = skip(name) if skip else None
    if reason:
        print("SKIP " + reason)
        sys.exit(0)
    gc.collect()
    gc.disable()
    S[name]()
