# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump kill PID` against real process trees: every process of the tree ends, the
report says how, and /proc agrees."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TRACEDUMP, TARGETS, jq

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def proc_state(pid):
    """The state letter, or None when the pid is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def proctree(target, *args):
    t = target("proctree", *args)
    t.tree = list(map(int, t.ready_line.split()[1:6]))
    # Wait until every process sleeps (signal dispositions are set by then).
    for pid in t.tree:
        for _ in range(500):
            if proc_state(pid) == "S":
                break
            time.sleep(0.01)
    return t


def assert_all_gone(pids, report):
    """Each pid is a zombie or gone in /proc, and the report's state agrees with that or
    (a zombie reaped since) is one step behind it."""
    states = {p["id"]: p["state"] for p in report["processes"]}
    for pid in pids:
        now = proc_state(pid)
        assert now in ("Z", None), (pid, now)
        assert states[pid] in ("zombie", "reaped")
        if states[pid] == "reaped":
            assert now is None


def test_kill_tree_with_a_stubborn_child(td, target):
    """Child 1 ignores SIGTERM: everything else ends on SIGTERM, it needs SIGKILL after
    the timeout."""
    t = proctree(target, "stubborn")
    root, child1, grand1, child2, grand2 = t.tree
    def ignored(pid):
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("SigIgn:\t")[1].split()[0], 16) >> (signal.SIGTERM - 1) & 1

    assert ignored(child1) and not ignored(root) and not ignored(grand1)
    r = td("kill", root, "--timeout", "500ms")
    assert r.rc == 0, r
    rep = r.jq(".")
    assert rep["id"] == root and rep["signal_first"] == "SIGTERM" and rep["timeout"] == 0.5
    assert rep["all_gone"] is True
    # Listed by depth, then pid.
    assert r.jq("[.processes[].joined_by]") == ["root"] + ["parent"] * 4
    assert r.jq(".processes | map([.depth, .id])") == \
        sorted([[0, root], [1, child1], [1, child2], [2, grand1], [2, grand2]])
    assert r.jq(".processes | map({key: (.id | tostring), value: [.ppid, .depth, .name, "
                ".result, .signal]}) | from_entries") == {
        str(root): [os.getpid(), 0, "proctree", "terminated", "SIGTERM"],
        str(child1): [root, 1, "pt-child-1", "killed", "SIGKILL"],
        str(child2): [root, 1, "pt-child-2", "terminated", "SIGTERM"],
        str(grand1): [child1, 2, "pt-grand-1", "terminated", "SIGTERM"],
        str(grand2): [child2, 2, "pt-grand-2", "terminated", "SIGTERM"],
    }
    by_id = {p["id"]: p for p in rep["processes"]}
    assert sorted(by_id) == sorted(t.tree)
    assert by_id[child1]["ended_after"] >= 0.5  # SIGKILL only after the timeout
    assert all(by_id[p]["ended_after"] < by_id[child1]["ended_after"]
               for p in (root, child2, grand1, grand2))
    assert_all_gone(t.tree, rep)
    # The root is our child: it is a zombie until we reap it, and SIGTERM ended it.
    assert by_id[root]["state"] == "zombie"
    assert t.proc.wait(timeout=10) == -signal.SIGTERM
    assert proc_state(root) is None


def test_kill_without_pidfds(td, target):
    """The path for kernels without pidfd_open: kill() after a start-time check, and
    polling /proc. Same outcome."""
    t = proctree(target, "stubborn")
    r = td("kill", t.pid, "--timeout", "300ms",
           env=dict(os.environ, TRACEDUMP_NO_PIDFD="1"))
    assert r.rc == 0, r
    assert r.jq(".processes | map({key: (.id | tostring), value: .result}) | from_entries") \
        == {str(p): ("killed" if p == t.tree[1] else "terminated") for p in t.tree}
    assert_all_gone(t.tree, r.jq("."))
    assert t.proc.wait(timeout=10) == -signal.SIGTERM


def test_kill_tree_all_terminate(td, target):
    t = proctree(target)
    r = td("kill", t.pid)
    assert r.rc == 0, r
    assert r.jq("[.processes[].result] | unique") == ["terminated"]
    assert r.jq("[.processes[].id] | sort") == sorted(t.tree)
    # No timeout was needed: far less than the 5 s default.
    assert r.jq(".elapsed") < 4.5
    assert_all_gone(t.tree, r.jq("."))
    assert t.proc.wait(timeout=10) == -signal.SIGTERM


def test_kill_signal_first_and_zero_timeout(td, target):
    t = proctree(target, "stubborn")
    r = td("kill", t.pid, "--signal-first", "int", "--timeout", "0")
    assert r.rc == 0, r
    assert r.jq(".signal_first") == "SIGINT"
    # SIGINT is not ignored by child 1, so all end on it, or on the SIGKILL right after.
    assert set(r.jq("[.processes[].result] | unique")) <= {"terminated", "killed"}
    assert_all_gone(t.tree, r.jq("."))
    assert t.proc.wait(timeout=10) in (-signal.SIGINT, -signal.SIGKILL)


def test_kill_catches_children_forked_meanwhile(td):
    """A shell forking a sleeper every 5 ms: nothing of its session survives."""
    p = subprocess.Popen(["sh", "-c", "while :; do sleep 100 & sleep 0.005; done"],
                         start_new_session=True)
    try:
        time.sleep(0.3)
        r = td("kill", p.pid, "--timeout", "300ms")
        assert r.rc == 0, r
        assert r.jq(".processes | length") > 5
        assert r.jq(".all_gone") is True
        assert set(r.jq("[.processes[].joined_by] | unique")) <= {"root", "parent", "session"}
        assert r.jq(".processes[0] | [.id, .joined_by]") == [p.pid, "root"]
        time.sleep(0.1)
        alive = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.getsid(int(d)) == p.pid and proc_state(int(d)) not in ("Z", None):
                        alive.append(int(d))
                except ProcessLookupError:
                    pass
        assert alive == []
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def test_kill_zombie_is_already_gone(td):
    z = subprocess.Popen(["true"])
    try:
        for _ in range(500):
            if proc_state(z.pid) == "Z":
                break
            time.sleep(0.01)
        r = td("kill", z.pid)
        assert r.rc == 0, r
        assert r.jq(".processes | map([.id, .result, .signal, .state])") == \
            [[z.pid, "already_gone", None, "zombie"]]
    finally:
        z.wait()


@pytest.mark.parametrize("pid,why", [("1", "PID 1 (init) is never killed"),
                                     ("0", "tracedump does not kill itself"),
                                     ("2", "it is a kernel thread")])
def test_refusals(td, pid, why):
    r = td("kill", pid)
    assert r.rc == 4, r
    assert r.stdout == ""
    assert why in r.error()["error"] and r.error()["exit_code"] == 4


def test_refuses_its_own_tree(td):
    # tracedump runs under a shell: killing the shell's tree would kill tracedump.
    r = subprocess.run(["sh", "-c", f'{TRACEDUMP} kill $$; echo "rc=$?"'],
                       capture_output=True, text=True, timeout=30)
    assert "rc=4" in r.stdout, r
    assert "tracedump itself runs in that process tree" in jq(r.stderr.strip(), ".error")


@pytest.mark.parametrize("args,code", [
    (("kill", "abc"), 2),
    (("kill",), 2),
    (("kill", "--", "-5"), 2),
    (("kill", "123", "--timeout", "soon"), 2),
    (("kill", "123", "--timeout", "2h"), 2),
    (("kill", "123", "--signal-first", "NOPE"), 2),
    (("kill", "123", "--signal-first", "0"), 2),
    (("kill", "999999999"), 3),
])
def test_bad_input(td, args, code):
    r = td(*args)
    assert r.rc == code, r
    assert r.stdout == ""


def test_not_allowed(td, target):
    t = proctree(target)
    r = subprocess.run(NOBODY + [str(TRACEDUMP), "kill", str(t.pid)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 4, r
    assert r.stdout == ""
    assert "not allowed to signal process" in jq(r.stderr.strip(), ".error")
    assert all(proc_state(p) == "S" for p in t.tree)


def test_table(td, target):
    t = proctree(target)
    r = td("kill", t.pid, "--table")
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["PID", "PPID", "DEPTH", "NAME", "RESULT", "SIGNAL", "AFTER_S",
                                "STATE"]
    assert len(lines) == 6 and all("terminated" in l and "SIGTERM" in l for l in lines[1:])
    t.proc.wait(timeout=10)
    r = td("kill", "--help")
    assert r.rc == 0 and "--signal-first" in r.stdout and "Examples:" in r.stdout


def test_partly_denied_tree_is_reported(td):
    """As nobody: a root-owned shell whose child runs as nobody. The child is signalled,
    the shell is not; the report says so on stdout, the error goes to stderr, exit 4."""
    p = subprocess.Popen(["sh", "-c", " ".join(NOBODY) + " sleep 100 & read x"],
                         stdin=subprocess.PIPE, start_new_session=True)
    try:
        child = None
        for _ in range(500):
            kids = [int(d) for d in os.listdir("/proc") if d.isdigit()
                    and proc_state(int(d)) == "S"
                    and Path(f"/proc/{d}/stat").read_text().rsplit(") ", 1)[1].split()[1]
                    == str(p.pid) and Path(f"/proc/{d}/comm").read_text() == "sleep\n"]
            if kids:
                child = kids[0]
                break
            time.sleep(0.01)
        assert child, "the nobody child did not start"
        r = subprocess.run(NOBODY + [str(TRACEDUMP), "kill", str(p.pid), "--timeout", "0"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 4, r
        rep = jq(r.stdout, ".")
        by_id = {x["id"]: x for x in rep["processes"]}
        assert by_id[p.pid]["result"] == "denied" and by_id[p.pid]["signal"] is None
        assert by_id[child]["result"] in ("terminated", "killed")
        assert rep["all_gone"] is False
        assert "not allowed to signal 1 process of the tree" in jq(r.stderr.strip(), ".error")
        assert p.poll() is None  # the shell is still there
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
