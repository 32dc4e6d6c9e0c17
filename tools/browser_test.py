#!/usr/bin/env python3
"""pygc.monitor's report in a real browser (part of `make test`).

Headless Chromium loads two reports from disk -- the one examples/leak_report.lua
writes, and one whose type names and title are full of HTML metacharacters --
and this checks the DOM it built: every section is there with its content,
the odd names arrived as text (not as elements), and the page made no network
request.  Requests are read from Chromium's net log: page loads carry the
page's origin as "initiator" ("null" for a file:// page), while the browser's
own background traffic says "not an origin".  A control page that does load
two http(s) URLs proves the detector sees them.

Ends with "N passed, N failed"; with no chromium it says so and counts nothing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.environ.get("LUA", "lua5.4")
PASSED = 0
FAILED = 0


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("   ok   " + name)
    else:
        FAILED += 1
        print("   FAIL " + name + (": " + detail if detail else ""))


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def all_text(self):
        return "".join(t for n in self.walk() for t in n.text)

    def find(self, tag=None, cls=None, id=None):
        out = []
        for n in self.walk():
            if tag and n.tag != tag:
                continue
            if cls and cls not in (n.attrs.get("class") or "").split():
                continue
            if id and n.attrs.get("id") != id:
                continue
            out.append(n)
        return out


VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def browse(chromium, path, work, name):
    """Load path in headless Chromium; return (dom text, page-initiated URLs)."""
    netlog = os.path.join(work, name + ".netlog.json")
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", "--disable-default-apps",
           "--user-data-dir=" + os.path.join(work, "profile-" + name),
           "--log-net-log=" + netlog, "--dump-dom", "file://" + os.path.abspath(path)]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
    except subprocess.TimeoutExpired:  # e.g. a script that got in and opened a dialog
        return "", ["(chromium timed out after 30 s)"]
    try:
        with open(netlog) as f:
            log = json.load(f)
    except (OSError, ValueError) as e:
        return r.stdout.decode("utf-8", "replace"), ["(no readable net log: %s)" % e]
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for e in log["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) in ("URL_REQUEST_START_JOB", "WEBSOCKET_SEND_REQUEST_HEADERS") and "url" in p:
            if p.get("initiator") != "not an origin" and p["url"].split(":", 1)[0] in ("http", "https", "ws", "wss"):
                urls.append(p["url"])
    return r.stdout.decode("utf-8", "replace"), urls


WEIRD = r'''
package.cpath = "./?.so;" .. package.cpath
package.path = "./binding/?.lua;" .. package.path
local gc = require "pygc"
local monitor = require "pygc.monitor"
local Weird = gc.class('<b id="injected">Weird & "odd"</b>')
monitor.start{ sample = 5 }
keep = gc.new_list()
for i = 1, 3000 do
  local a <close> = Weird{ i = i }
  local b <close> = gc.new_list{ a }
  a.b = b
  if i % 30 == 0 then keep[#keep + 1] = a end
end
monitor.report(arg[1], { title = '<script>alert(1)</script> & "title"' })
'''


def main():
    global FAILED
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    print("== browser: pygc.monitor's report in headless Chromium")
    if not chromium:
        print("   browser test skipped: chromium is not installed (tools/install-deps.sh installs Debian's chromium)")
        print("0 passed, 0 failed")
        return 0
    env = dict(os.environ, LUA_CPATH="./?.so;;", LUA_PATH="./binding/?.lua;./binding/?/init.lua;;")
    work = tempfile.mkdtemp(prefix="pygc-browser-")
    try:
        leak = os.path.join(work, "leak_report.html")
        r = subprocess.run([LUA, "examples/leak_report.lua", leak], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check("examples/leak_report.lua writes its report", r.returncode == 0 and os.path.exists(leak),
              r.stdout.decode()[-400:])
        weird = os.path.join(work, "weird.html")
        script = os.path.join(work, "weird.lua")
        with open(script, "w") as f:
            f.write(WEIRD)
        r = subprocess.run([LUA, script, weird], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check("a report with HTML metacharacters in its names is written", r.returncode == 0, r.stdout.decode()[-400:])
        if FAILED:
            return 1

        dom, urls = browse(chromium, leak, work, "leak")
        t = Tree()
        t.feed(dom)
        doc = t.root
        check("the page loads and has a body", len(doc.find("body")) == 1 and len(dom) > 1000, dom[:200])
        sections = {n.attrs["id"]: n for n in doc.find("section") if "id" in n.attrs}
        for sid in ("overview", "timeline", "growth", "chains", "pauses", "tracemalloc", "settings"):
            check("section #%s is rendered" % sid, sid in sections)
        if len(sections) < 7:
            return 1
        check("overview names the type that grew most", "Session" in sections["overview"].all_text())
        svgs = sections["timeline"].find("svg")
        check("timeline: two charts, each with a line and collection marks",
              len(svgs) == 2 and all(s.find("polyline") and len(s.find("rect")) > 10 for s in svgs), str(len(svgs)))
        rows = sections["growth"].find("tr")
        check("growth: Session is the first growing type, with a sparkline",
              len(rows) >= 2 and "Session" in rows[1].all_text() and rows[1].find("polyline"))
        roots = sections["chains"].find("span", cls="root")
        targets = sections["chains"].find("span", cls="target")
        check("chains: the first chain runs from _G.app.sessions to a <Session>",
              roots and roots[0].all_text() == "_G.app.sessions" and targets and targets[0].all_text() == "<Session>",
              roots and roots[0].all_text())
        check("pauses: a histogram and the longest pauses table",
              sections["pauses"].find("svg") and sections["pauses"].find("rect")
              and len(sections["pauses"].find("table", id="longest")[0].find("tr")) >= 2)
        check("tracemalloc: the top lines name the example's file",
              "examples/leak_report.lua:" in sections["tracemalloc"].all_text())
        st = sections["settings"].all_text()
        check("settings: thresholds, mode, debug flags, enabled",
              "700, 10, 10" in st and "generational" in st and "debug flags" in st and "enabled" in st, st[:200])
        check("no script, iframe, img, link or object element",
              not any(doc.find(tag) for tag in ("script", "iframe", "img", "link", "object", "embed")))
        check("the leak report made no network request", urls == [], ", ".join(urls[:5]))

        dom, urls = browse(chromium, weird, work, "weird")
        t = Tree()
        t.feed(dom)
        doc = t.root
        name = '<b id="injected">Weird & "odd"</b>'
        def text_of(**kw):
            found = doc.find(**kw)
            return found[0].all_text() if found else ""
        check("odd type names arrive as text, not as elements",
              not doc.find(id="injected") and name in text_of(id="growth") and name in text_of(id="chains"))
        check("an odd title arrives as text", not doc.find("script")
              and '<script>alert(1)</script> & "title"' in text_of(tag="title"))
        check("the odd report made no network request", urls == [], ", ".join(urls[:5]))

        control = os.path.join(work, "control.html")
        with open(control, "w") as f:
            f.write('<!DOCTYPE html><p>control</p><img src="http://127.0.0.1:9/x.png">'
                    '<link rel="stylesheet" href="https://127.0.0.1:9/a.css">')
        _, urls = browse(chromium, control, work, "control")
        check("the detector sees a control page's http and https requests",
              any(u.startswith("http://127.0.0.1:9/") for u in urls) and any(u.startswith("https://127.0.0.1:9/") for u in urls),
              ", ".join(urls))
    except Exception as e:  # a broken page must count as a failure, not end the run
        check("the browser checks ran to the end", False, repr(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
