# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump stack PID` on live targets: the same frames as eu-stack -p, every thread let
go afterwards (even when interrupted), errors as documented."""
import os
import random
import shutil
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TRACEDUMP


def eu_stack(pid):
    """{tid: [function names]} from eu-stack -p (the peer, on libdwfl too)."""
    out = subprocess.run(["eu-stack", "-p", str(pid)], capture_output=True, text=True,
                         timeout=60).stdout
    stacks, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"TID (\d+):", line)
        if m:
            cur = stacks.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"#\d+\s+0x[0-9a-f]+\s*(\S*)", line)
        if m and cur is not None:
            cur.append(m.group(1) or None)
    return stacks


def not_held(pid):
    """Every thread runs again: no tracer, none in a tracing stop."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        assert re.search(r"^TracerPid:\s+0$", status, re.M), status
        assert "(tracing stop)" not in status and "(stopped)" not in status, status


def ours(r):
    return {t["id"]: [f["function"] for f in t["frames"]] for t in r.jq(".threads")}


@pytest.mark.parametrize("name", ["deadlock", "deadlock-nodebug", "deadlock-stripped"])
def test_same_frames_as_eu_stack(td, target, name):
    t = target(name)
    # The main thread may still be leaving printf() just after "ready": compare again
    # until both tools see the same settled stacks.
    for _ in range(20):
        r = td("stack", t.pid)
        assert r.rc == 0, r
        peer = eu_stack(t.pid)
        mine = ours(r)
        if mine == peer:
            break
        time.sleep(0.1)
    assert set(mine) == set(peer)
    for tid, names in peer.items():
        assert mine[tid] == names, (tid, mine[tid], names)
    not_held(t.pid)
    if name == "deadlock-stripped":
        frames = r.jq('[.threads[].frames[] | select(.module | endswith("deadlock-stripped"))]')
        assert frames and all(f["function"] is None and f["module_offset"] for f in frames)
    else:
        for fn in ("take_b_after_a", "take_a_after_b"):
            th = r.jq(f'[.threads[] | select(any(.frames[]; .function == "{fn}"))]')
            assert len(th) == 1
            names = [f["function"] or "" for f in th[0]["frames"]]
            assert any("pthread_mutex_lock" in n for n in names), names
            assert th[0]["name"] in ("locker-ab", "locker-ba")


def test_200_threads_grouped_and_released(td, target):
    t = target("manythreads", 200)
    r = td("stack", t.pid)
    assert r.rc == 0, r
    assert r.jq(".thread_count") == 201
    g = r.jq(".groups[0]")
    assert g["count"] == 200 and g["top_function"]
    assert "idle_worker_wait" in [f["function"] for f in g["frames"]]
    assert r.jq(".pause_ms") > 0 and r.jq(".pause_ms") < r.jq(".duration_ms")
    assert r.jq(".threads[0].is_main_thread") is True
    not_held(t.pid)
    table = td("stack", t.pid, "--table")
    assert table.rc == 0 and "200 threads with this stack" in table.stdout
    assert re.search(r"^paused\s+[0-9.]+ ms$", table.stdout, re.M)
    # Frames agree with eu-stack for a sample of the threads.
    peer = eu_stack(t.pid)
    mine = ours(r)
    for tid in random.sample(sorted(peer), 20):
        assert mine[tid] == peer[tid]


def test_interrupted_stack_lets_every_thread_go(target):
    t = target("manythreads", 1000)
    for i in range(12):
        p = subprocess.Popen([str(TRACEDUMP), "stack", str(t.pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(random.uniform(0, 0.05) * (i % 4))
        p.send_signal(signal.SIGINT if i % 2 else signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        # Before tracedump set its handlers (or after it restored them) the signal
        # simply ends it; in between it ends the pause early, exit 1.
        assert p.returncode in (0, 1, -signal.SIGINT, -signal.SIGTERM), err
        if p.returncode == 1:
            assert "interrupted" in err, err
        not_held(t.pid)
    # SIGKILL too: the kernel detaches the seized threads.
    p = subprocess.Popen([str(TRACEDUMP), "stack", str(t.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.01)
    p.kill()
    p.wait(timeout=30)
    time.sleep(0.2)
    not_held(t.pid)
    assert t.alive()


def test_errors(td, target):
    r = td("stack", "abc")
    assert r.rc == 2 and "invalid PID" in r.error()["error"]
    r = td("stack", 2)  # kthreadd
    assert r.rc == 2 and "kernel thread" in r.error()["error"]
    r = td("stack", 4194304 + 7)
    assert r.rc == 3 and "not found" in r.error()["error"]
    t = target("deadlock")
    tid = max(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    r = td("stack", tid)
    assert r.rc == 3 and f"thread of process {t.pid}" in r.error()["error"]
    # Already traced by a debugger: exit 6, the debugger's hold is untouched.
    gdb = subprocess.Popen(["gdb", "-nx", "-q", "-batch", "-p", str(t.pid), "-ex",
                            "shell sleep 3"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            if re.search(r"^TracerPid:\s+[1-9]", Path(f"/proc/{t.pid}/status").read_text(),
                         re.M):
                break
            time.sleep(0.05)
        r = td("stack", t.pid)
        assert r.rc == 6 and "already traced" in r.error()["error"], r
    finally:
        gdb.wait(timeout=30)
    r = td("stack", t.pid)
    assert r.rc == 0, r
    not_held(t.pid)
    # Not root: ptrace refused.
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        str(TRACEDUMP), "stack", str(t.pid)], capture_output=True, text=True)
    assert r.returncode == 4, r
    assert td("stack", "--help").rc == 0


def test_zombie_leader(td, target):
    """The main thread called pthread_exit(): its maps and mem are gone, the worker runs."""
    t = target("zombieleader")
    deadline = time.time() + 10
    while "Z (zombie)" not in Path(f"/proc/{t.pid}/status").read_text():
        assert time.time() < deadline
        time.sleep(0.01)
    r = td("stack", t.pid)
    assert r.rc == 0, r
    # The zombie leader has nothing to unwind and is left out; the worker is there.
    assert r.jq(".thread_count") == 1
    assert "zombie_worker_wait" in r.jq("[.threads[0].frames[].function]")
    assert r.jq(".process.id") == t.pid
    not_held(t.pid)


def test_files_as_the_process_sees_them(td, tmp_path):
    """In a mount namespace of its own the process's /tmp/.../app is another file than the
    host's: stack reads it through /proc/PID/root (the host's is stripped, same build-id)."""
    from conftest import TARGETS
    host = tmp_path / "app"
    inside = tmp_path / "inside"
    shutil.copy(TARGETS / "deadlock-stripped", host)
    shutil.copy(TARGETS / "deadlock-nodebug", inside)
    p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          f"mount --bind {inside} {host} && exec {host}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("ready"), p.stderr.read()
        r = td("stack", p.pid)
        assert r.rc == 0, r
        names = r.jq("[.threads[].frames[].function]")
        assert "take_b_after_a" in names and "take_a_after_b" in names
        assert r.jq(f'[.modules[] | select(.path == "{host}")] | length') == 1
        not_held(p.pid)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def test_stopped_process_stays_stopped(td, target):
    """A process stopped by SIGSTOP is unwound and left stopped, then SIGCONT resumes it."""
    t = target("deadlock")
    os.kill(t.pid, signal.SIGSTOP)
    tasks = list(Path(f"/proc/{t.pid}/task").iterdir())
    deadline = time.time() + 10
    while not all("T (stopped)" in (d / "status").read_text() for d in tasks):
        assert time.time() < deadline
        time.sleep(0.01)
    r = td("stack", t.pid, timeout=30)
    assert r.rc == 0, r
    assert "take_b_after_a" in r.jq("[.threads[].frames[].function]")
    for d in tasks:
        status = (d / "status").read_text()
        assert "T (stopped)" in status and re.search(r"^TracerPid:\s+0$", status, re.M)
    os.kill(t.pid, signal.SIGCONT)
    deadline = time.time() + 10
    while not all("S (sleeping)" in (d / "status").read_text() for d in tasks):
        assert time.time() < deadline
        time.sleep(0.01)


def test_cpp_names_demangled(td, target):
    t = target("thrower")
    r = td("stack", t.pid)
    assert r.rc == 0, r
    f = r.jq('[.threads[].frames[] | select(.mangled == "_ZL7throwerPv")][0]')
    assert f["function"] == "thrower(void*)"
    # C names have no mangled form.
    assert r.jq('[.threads[].frames[] | select(.function == "main") | .mangled]') == [None]
    table = td("stack", t.pid, "--table").stdout
    assert "thrower(void*)+0x" in table
    not_held(t.pid)


def test_executable_replaced_on_disk(td, tmp_path):
    """The file at the executable's path was replaced (an upgrade) by a stripped build with
    the same build-id: stack reads the mapped file itself, so the names are still there."""
    from conftest import TARGETS
    exe = tmp_path / "app"
    shutil.copy(TARGETS / "deadlock-nodebug", exe)
    p = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("ready")
        shutil.copy(TARGETS / "deadlock-stripped", tmp_path / "new")
        os.rename(tmp_path / "new", exe)
        r = td("stack", p.pid)
        assert r.rc == 0, r
        names = r.jq("[.threads[].frames[].function]")
        assert "take_b_after_a" in names and "take_a_after_b" in names
        # eu-stack opens the file by its name: the stripped one.
        assert not any("take_b_after_a" in n for t in eu_stack(p.pid).values() for n in t if n)
        not_held(p.pid)
    finally:
        p.kill()
        p.wait()
