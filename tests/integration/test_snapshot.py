# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump dump PID --snapshot`. Into a file, the pre-copy (userfaultfd write-protection
and PAGEMAP_SCAN rounds, two short freezes); into a stream (zstd, bundles) or with
TRACEDUMP_SNAPSHOT_FORK=1, a copy-on-write fork of the frozen target. The cores of both
pass the gdb checks of test_dump.py and hold the memory of the (last) freeze. Pre-copy:
a target that maps, unmaps, grows, splits and drops memory during the dump; tracedump
killed mid-copy leaves the target untracked and running. Fork: the target never sees the
fork (wait(), SIGCHLD, a blocked syscall's result); no process remains;
MADV_DONTFORK/WIPEONFORK regions are listed as absent; a target that cannot fork falls
back to the plain freeze and says why."""
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import TARGETS, TRACEDUMP, jq
from test_dump import (EXE, HEAP_PATTERN, MARKER, TRACER, assert_running_free,
                       check_backtraces, gdb, start)

SNAP = TARGETS / "snaptarget"
CHURN = TARGETS / "churntarget"
FORK_ENV = {**os.environ, "TRACEDUMP_SNAPSHOT_FORK": "1"}


def children(pid):
    """Every process whose parent is pid (all its threads' children files, and a scan
    of /proc for anything those miss)."""
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids |= {int(x) for x in (task / "children").read_text().split()}
        except FileNotFoundError:
            pass
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(d.name))
    return kids


def snapdump(td, pid, *args, method="fork"):
    """A --snapshot dump, by "fork" (TRACEDUMP_SNAPSHOT_FORK=1) or "precopy"."""
    r = td("dump", pid, "--snapshot", *args, env=FORK_ENV if method == "fork" else None)
    assert r.rc == 0, r
    # The copy was reaped: no warning about a zombie left behind.
    assert r.jq('.snapshot | has("warning")') is False, r.stdout[-1000:]
    if r.jq(".snapshot.used"):
        assert r.jq(".snapshot.method") == method, r.stdout[-1500:]
    return r


def untracked(pid):
    """The target holds no userfaultfd and no mapping is registered with one (smaps
    VmFlags "uw"): the pre-copy left nothing behind."""
    fds = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
    assert not [f for f in fds if "userfaultfd" in f], fds
    assert not re.search(r"^VmFlags:.* uw", Path(f"/proc/{pid}/smaps").read_text(), re.M)


class Stats:
    """The "stat REAPED WALL_NOW PLAIN SIGCHLD OK BAD" lines of snaptarget."""

    def __init__(self, t):
        self.last = None
        self.count = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(t.proc.stdout,), daemon=True).start()

    def _read(self, f):
        for line in f:
            if line.startswith("stat "):
                with self.cond:
                    self.last = dict(zip(("reaped", "wall_now", "plain", "sigchld", "ok",
                                          "bad"), map(int, line.split()[1:])))
                    self.count += 1
                    self.cond.notify_all()

    def fresh(self, lines=3, timeout=10):
        """The stats once `lines` more lines came (the target ran on meanwhile)."""
        with self.cond:
            goal = self.count + lines
            assert self.cond.wait_for(lambda: self.count >= goal, timeout), "no stats"
            return dict(self.last)


def start_snap(target, mode="normal"):
    t = target("snaptarget", mode)
    t.stats = Stats(t)
    t.stats.fresh(1)
    return t


@pytest.mark.parametrize("method", ["precopy", "fork"])
def test_default_core_from_snapshot_passes_the_gdb_checks(td, target, tmp_path, method):
    t = start(target, 4, 16)
    core = tmp_path / "t.core"
    r = snapdump(td, t.pid, "-o", core, method=method)
    res = r.jq()
    assert r.jq(".snapshot.used") is True, res
    assert res["threads"] == 5 and res["type"] == "default"
    assert res["unreadable_bytes"] <= 64 << 10  # [vvar]-like pages only, as without
    if method == "fork":
        assert r.jq(".snapshot | (.fork_ms > 0) and (.extra_bytes == .cow_bytes + "
                    ".page_table_bytes) and (.absent == [])") is True
    else:
        # Both freezes are in pause_ms; the heap was copied while the target ran.
        assert r.jq(".snapshot | (.freeze1_ms > 0) and (.freeze2_ms > 0) and "
                    "(.rounds >= 1) and (.precopy_bytes >= 16 * 1048576)") is True
        assert abs(r.jq(".pause_ms - .snapshot.freeze1_ms - .snapshot.freeze2_ms")) < 0.01
        assert "not tracked" in r.jq(".snapshot.limit")
        untracked(t.pid)
    assert r.jq(".pause_ms < .duration_ms") is True
    assert_running_free(t, t.ticks)
    assert children(t.pid) == set()
    out = gdb(core, "thread apply all bt", "print/x dump_marker", "print dump_text",
              "print/x heap_block[12345]", "print/x heap_block[2097151]",
              "print zero_block[4096*100]")
    check_backtraces(out, 4)
    assert f"$1 = {MARKER:#x}" in out
    assert '$2 = "tracedump-dump-marker"' in out
    assert f"$3 = {HEAP_PATTERN ^ 12345:#x}" in out
    assert f"$4 = {HEAP_PATTERN ^ 2097151:#x}" in out
    assert "$5 = 0 '\\000'" in out
    if method == "precopy":
        # Program headers at the end of the file, PT_LOADs out of file order: lldb
        # and eu-stack read it too.
        p = subprocess.run(["lldb", "--batch", "-o", "thread backtrace all", "-c", str(core),
                            str(EXE)], capture_output=True, text=True, timeout=120)
        assert p.stdout.count("dump_worker_level2") == 4, p.stdout[-3000:]
        p = subprocess.run(["eu-stack", "--core", str(core), "-e", str(EXE)],
                           capture_output=True, text=True, timeout=60)
        assert p.stdout.count("dump_worker_level2") == 4, p.stdout


@pytest.mark.parametrize("method", ["precopy", "fork"])
@pytest.mark.parametrize("kind", ["mini", "full"])
def test_mini_and_full_from_snapshot(td, target, tmp_path, kind, method):
    t = start(target, 3, 8)
    core = tmp_path / f"{kind}.core"
    r = snapdump(td, t.pid, "--type", kind, "-o", core, method=method)
    assert r.jq(".snapshot.used") is True
    out = gdb(core, "thread apply all bt", "info sharedlibrary", "print/x heap_block[7]")
    check_backtraces(out, 3)
    assert "libc.so.6" in out
    assert (f"{HEAP_PATTERN ^ 7:#x}" in out) == (kind == "full"), out[-2000:]
    p = subprocess.run(["eu-stack", "--core", str(core), "-e", str(EXE)],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.count("dump_worker_level2") == 3, p.stdout
    assert_running_free(t, t.ticks)


def read_u64(pid, addr):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return int.from_bytes(f.read(8), "little")


@pytest.mark.parametrize("method", ["precopy", "fork"])
def test_core_holds_the_memory_of_the_freeze(td, target, tmp_path, method):
    # A thread writes a, then b = a, forever; 32 MiB of data lie between them, read
    # while the target runs on. From the live process, b would be far ahead of a; a
    # pre-copied page that leaked through (not read again at freeze #2) would show an
    # a or b from before freeze #2, out of step with the other.
    t = start_snap(target)
    for i in range(3):
        core = tmp_path / f"c{i}.core"
        r = snapdump(td, t.pid, "-o", core, method=method)
        out = gdb(core, "print snap_counter.a", "print snap_counter.b",
                  "print/x (unsigned long)&snap_counter.a", exe=SNAP)
        m = re.findall(r"^\$\d+ = (\S+)", out, re.M)
        assert len(m) == 3, out[-2000:]
        a, b, addr = int(m[0]), int(m[1]), int(m[2], 16)
        live = read_u64(t.pid, addr)
        assert b in (a, a - 1), (a, b, out[-1000:])
        assert a > 0 and a < live, (a, live)  # the target ran on after the freeze
        assert r.jq(".snapshot.used") is True
        if method == "precopy":
            # The counter's page was written after the pre-copy read it: read again.
            assert r.jq(".snapshot.final_bytes + .snapshot.reread_bytes") >= 4096
        core.unlink()


def test_target_never_sees_the_fork(td, target, tmp_path):
    t = start_snap(target)
    before = t.stats.fresh()
    for i in range(6):
        snapdump(td, t.pid, "-o", tmp_path / "w.core", "--force")
        assert children(t.pid) == set(), "a process remains"
    after = t.stats.fresh(5)
    # No wait() returned the child, plain waitpid(-1) never saw one, no SIGCHLD; and
    # with the child gone, waitpid(-1, __WALL) says ECHILD again.
    assert after["reaped"] == 0 and after["plain"] == 0 and after["sigchld"] == 0, after
    assert after["wall_now"] == 0, after
    # The main thread, blocked in nanosleep/read/futex at each snapshot, got exactly
    # the results it would have had: no EINTR, no -ERESTART*, no lost pipe data.
    assert after["bad"] == 0, (after, t.proc.stderr)
    assert after["ok"] > before["ok"]
    st = Path(f"/proc/{t.pid}/status").read_text()
    assert re.search(r"TracerPid:\s+0\n", st)


def test_dontfork_and_wipeonfork_are_listed_absent(td, target, tmp_path):
    t = start_snap(target)
    core = tmp_path / "a.core"
    r = snapdump(td, t.pid, "-o", core)
    assert r.jq("[.snapshot.absent[].madvise] | sort") == ["MADV_DONTFORK", "MADV_WIPEONFORK"]
    assert r.jq("all(.snapshot.absent[]; (.start | test(\"^0x[0-9a-f]+$\")) and "
                "(.end | test(\"^0x[0-9a-f]+$\")))") is True
    out = gdb(core, "x/1xb dontfork_buf", "x/1xb wipe_buf", "print snap_counter.pad[5]",
              exe=SNAP)
    assert out.count("Cannot access memory") == 2, out[-2000:]
    assert "$1 = 90 'Z'" in out, out[-2000:]
    # Without --snapshot they are in the core.
    plain = tmp_path / "p.core"
    assert "snapshot" not in subprocess_json(td, t.pid, plain)
    out = gdb(plain, "x/1xb dontfork_buf", "x/1xb wipe_buf", exe=SNAP)
    assert ":\t0xab" in out and ":\t0xcd" in out, out[-2000:]


def subprocess_json(td, pid, core):
    r = td("dump", pid, "-o", core)
    assert r.rc == 0, r
    return r.jq()


@pytest.mark.parametrize("mode,reason", [
    ("seccomp", r"seccomp \(filter mode\)"),
    ("nproc", r"clone\(\) failed in the process: Resource temporarily unavailable"),
])
def test_fallback_to_plain_freeze(td, target, tmp_path, mode, reason):
    t = start_snap(target, mode)
    core = tmp_path / "f.core"
    r = snapdump(td, t.pid, "-o", core)
    assert r.jq(".snapshot.used") is False
    assert re.search(reason, r.jq(".snapshot.reason")), r.stdout
    out = gdb(core, "print snap_counter.a == snap_counter.b || "
              "snap_counter.a == snap_counter.b + 1", "x/1xb dontfork_buf", exe=SNAP)
    assert "$1 = 1" in out and ":\t0xab" in out, out[-2000:]
    after = t.stats.fresh()
    assert after["bad"] == 0 and after["reaped"] == 0 and after["sigchld"] == 0, after
    assert children(t.pid) == set()


@pytest.mark.parametrize("method", ["precopy", "fork"])
def test_thousand_threads(td, target, tmp_path, method):
    t = start(target, 1000, 1)
    core = tmp_path / "k.core"
    r = snapdump(td, t.pid, "-o", core, method=method)
    assert r.jq(".threads") == 1001 and r.jq(".snapshot.used") is True, r.stdout[:500]
    out = gdb(core, "info threads")
    assert len(re.findall(r"^\* ?\d+ +Thread|^ +\d+ +Thread", out, re.M)) == 1001, out[-2000:]
    assert children(t.pid) == set()
    assert_running_free(t, t.ticks)


def test_help_mentions_snapshot(td):
    r = td("dump", "--help")
    assert r.rc == 0 and "--snapshot" in r.stdout


def start_snapdump(pid, out, method="fork"):
    return subprocess.Popen([str(TRACEDUMP), "dump", str(pid), "--snapshot", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=FORK_ENV if method == "fork" else None)


def wait_child(pid, timeout=20):
    """Waits until the snapshot copy exists: the dump is reading it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if children(pid):
            return
        time.sleep(0.001)
    pytest.fail("no snapshot child appeared")


def wait_released(pid, timeout=20):
    """Waits until the target is no longer traced: the copy is being read."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if re.search(r"TracerPid:\s+0\n", Path(f"/proc/{pid}/status").read_text()):
            return
        time.sleep(0.001)
    pytest.fail("the target was never released")


def state(pid):
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_snapshot_cleans_up(target, tmp_path, sig):
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core")
    wait_child(t.pid)
    d.send_signal(sig)
    out, err = d.communicate(timeout=60)
    assert d.returncode == 1, (out, err)
    assert "interrupted" in jq(err.strip().splitlines()[-1], ".error")
    assert list(tmp_path.iterdir()) == []
    assert children(t.pid) == set()
    assert_running_free(t, t.ticks)


def test_sigkill_of_tracedump_kills_the_copy(target, tmp_path):
    # PTRACE_O_EXITKILL: the copy dies with tracedump and never runs; it is left a
    # zombie of the target (documented), never a running process.
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core")
    wait_child(t.pid)
    # Once the target runs again (the copy phase); during the injection itself, a few
    # milliseconds, SIGKILL of tracedump is not survivable (docs/dump.md).
    wait_released(t.pid)
    kids = children(t.pid)
    assert kids, "the copy is gone already"
    d.kill()
    d.wait(timeout=30)
    deadline = time.time() + 10
    while any(state(k) != "Z" for k in kids) and time.time() < deadline:
        time.sleep(0.01)
    assert all(state(k) == "Z" for k in kids), [state(k) for k in kids]
    assert_running_free(t, t.ticks)


def test_leader_exited_process(td, target, tmp_path):
    # main() called pthread_exit: clone() runs in a live thread, the copy is still reaped.
    t = start(target, 2, 4, 0, "leaderexit")
    deadline = time.time() + 10
    while state(t.pid) != "Z" and time.time() < deadline:
        time.sleep(0.01)
    core = tmp_path / "lx.core"
    r = snapdump(td, t.pid, "-o", core)
    assert r.jq(".threads") == 3 and r.jq(".snapshot.used") is True, r.stdout[:500]
    assert r.jq(".snapshot.thread") != t.pid
    out = gdb(core, "thread apply all bt", "print/x heap_block[3]")
    assert len(re.findall(r"\bdump_worker_level2 \(", out)) == 2, out[-3000:]
    assert f"{HEAP_PATTERN ^ 3:#x}" in out
    assert children(t.pid) == set()
    assert t.ticks.advance()


CLOSER = """
import os, signal, sys, time
heap = bytearray(b"\\x01") * (400 << 20)
fd = int(sys.argv[1])
signal.signal(signal.SIGUSR1, lambda *a: os.close(fd))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_copy_holds_no_file_open(tmp_path):
    # CLONE_FILES: a pipe the target closes while the copy exists is closed for real.
    # tracedump is stopped (SIGSTOP) mid-copy, so the order is certain.
    import select
    import sys
    r, w = os.pipe()
    t = subprocess.Popen([sys.executable, "-c", CLOSER, str(w)], pass_fds=(w,),
                         stdout=subprocess.PIPE, text=True)
    os.close(w)
    d = None
    try:
        assert t.stdout.readline().strip() == "ready"
        d = start_snapdump(t.pid, tmp_path / "py.core")
        wait_child(t.pid)
        wait_released(t.pid)
        os.kill(d.pid, signal.SIGSTOP)
        assert children(t.pid), "the copy is gone already"
        os.kill(t.pid, signal.SIGUSR1)
        ready, _, _ = select.select([r], [], [], 10)
        assert ready and os.read(r, 1) == b"", "the copy kept the pipe open"
        os.kill(d.pid, signal.SIGCONT)
        out, err = d.communicate(timeout=60)
        assert d.returncode == 0, err
        assert jq(out, ".snapshot.used") is True
        assert children(t.pid) == set()
    finally:
        if d and d.poll() is None:
            os.kill(d.pid, signal.SIGCONT)
            d.kill()
            d.wait()
        t.kill()
        t.wait()
        os.close(r)


def pids_cgroup_root():
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        return v1
    v2 = Path("/sys/fs/cgroup")
    ctl = v2 / "cgroup.subtree_control"
    if ctl.exists() and "pids" in ctl.read_text().split():
        return v2
    return None


def test_fallback_when_pids_max_is_reached(td, target, tmp_path):
    root = pids_cgroup_root()
    if root is None or not os.access(root, os.W_OK):
        pytest.skip("no writable pids cgroup controller here")
    cg = root / f"tracedump-test-{os.getpid()}"
    cg.mkdir()
    t = None
    try:
        t = start_snap(target)
        (cg / "cgroup.procs").write_text(str(t.pid))
        (cg / "pids.max").write_text((cg / "pids.current").read_text().strip())
        r = snapdump(td, t.pid, "-o", tmp_path / "p.core")
        assert r.jq(".snapshot.used") is False
        assert "clone() failed in the process: Resource temporarily unavailable" in \
            r.jq(".snapshot.reason")
        after = t.stats.fresh()
        assert after["bad"] == 0 and after["reaped"] == 0, after
        assert children(t.pid) == set()
    finally:
        if t:
            t.stop()
        cg.rmdir()


def test_reap_waits_for_another_tracer(target, tmp_path):
    # Another tracer holds the target when the copy is to be reaped: tracedump waits
    # for it (the dead copy stays invisible meanwhile) and then reaps it.
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core")
    wait_child(t.pid)
    kids = children(t.pid)
    wait_released(t.pid)
    tracer = subprocess.Popen(["python3", "-c", TRACER, str(t.pid)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert tracer.stdout.readline().strip() == "traced"
        # The copy is killed once read: tracedump is now waiting to freeze again.
        deadline = time.time() + 30
        while any(state(k) != "Z" for k in kids) and time.time() < deadline:
            time.sleep(0.005)
        assert all(state(k) == "Z" for k in kids)
        assert d.poll() is None
    finally:
        tracer.kill()
        tracer.wait()
    out, err = d.communicate(timeout=60)
    assert d.returncode == 0, err
    assert jq(out, ".snapshot.used") is True
    assert jq(out, '.snapshot | has("warning")') is False, out
    assert children(t.pid) == set()
    assert t.ticks.advance()


# --- the pre-copy ------------------------------------------------------------------

def wchar(pid):
    m = re.search(r"^wchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M)
    return int(m.group(1)) if m else 0


def wait_precopying(target_pid, dump, written=64 << 20, timeout=60):
    """Waits until the pre-copy is under way: the target's mappings are registered
    (VmFlags "uw") and tracedump has written `written` bytes of the core."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert dump.poll() is None, dump.communicate()
        try:
            smaps = Path(f"/proc/{target_pid}/smaps").read_text()
        except ProcessLookupError:
            pytest.fail("the target died")
        if re.search(r"^VmFlags:.* uw", smaps, re.M) and wchar(dump.pid) >= written:
            return
        time.sleep(0.002)
    pytest.fail("the pre-copy never got under way")


def wait_untracked(pid, timeout=10):
    deadline = time.time() + timeout
    while True:
        try:
            untracked(pid)
            return
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(0.01)


def test_precopy_follows_mapping_changes(target, tmp_path):
    # tracedump is stopped (SIGSTOP) mid-pre-copy while the target grows a mapping in
    # place, unmaps one, maps a new one (often where the old one was), drops 4 MiB it
    # had written (MADV_DONTNEED) and splits a mapping with mprotect; the core must
    # show all of it as it is at freeze #2, nothing of what the pre-copy had read.
    t = target("churntarget", 512, ready_timeout=60)
    core = tmp_path / "churn.core"
    d = start_snapdump(t.pid, core, method="precopy")
    try:
        wait_precopying(t.pid, d)
        os.kill(d.pid, signal.SIGSTOP)
        os.kill(t.pid, signal.SIGUSR1)
        assert t.proc.stdout.readline().strip() == "done"
    finally:
        os.kill(d.pid, signal.SIGCONT)
    out, err = d.communicate(timeout=120)
    assert d.returncode == 0, err
    assert jq(out, ".snapshot.method") == "precopy", out
    # The new mapping and the grown half were not tracked: read at freeze #2.
    assert jq(out, ".snapshot.untracked_bytes") >= 3 << 20, out
    g = gdb(core, "print churn_counter.a - churn_counter.b", "print churned",
            "print old_buf == new_buf", "print/x new_buf[0]", "print/x new_buf[1048575]",
            "print/x drop_buf[0]", "print/x drop_buf[4194303]", "print/x grow_buf[0]",
            "print/x grow_buf[2097152+5]", "print/x grow_buf[4194303]",
            "print/x split_buf[0]", "print/x split_buf[4096]", "print/x split_buf[8192]",
            "print/x big_buf[4096*77]", "x/1xb old_buf", exe=CHURN)
    vals = re.findall(r"^\$\d+ = (\S+)", g, re.M)
    assert len(vals) == 14, g[-3000:]
    assert vals[0] in ("0", "1") and vals[1] == "1", g[-2000:]
    assert vals[3:] == ["0x22", "0x22", "0x0", "0x0", "0x66", "0x55", "0x55", "0x78", "0x77",
                        "0x77", "0x4d"], g[-2000:]
    if vals[2] == "0":  # the unmapped buffer is not in the core
        assert "Cannot access memory" in g.split("$14 =")[1], g[-1000:]
    untracked(t.pid)
    assert t.alive() and state(t.pid) in "RS"


def test_sigkill_mid_precopy_leaves_the_target_untracked(target, tmp_path):
    # Killed while copying: the kernel detaches nothing (nothing is frozen), closes the
    # userfaultfd (every range unregistered, uffd-wp bits cleared); no file remains.
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core", method="precopy")
    wait_precopying(t.pid, d, written=32 << 20)
    d.kill()
    d.wait(timeout=30)
    wait_untracked(t.pid)
    assert list(tmp_path.iterdir()) == []
    assert_running_free(t, t.ticks)
    # Its memory is intact: a plain dump of it passes the gdb checks.
    core = tmp_path / "after.core"
    r = run_plain(t.pid, core)
    out = gdb(core, "print/x heap_block[12345]", "print/x dump_marker")
    assert f"{HEAP_PATTERN ^ 12345:#x}" in out and f"{MARKER:#x}" in out, out[-1000:]


def run_plain(pid, core):
    p = subprocess.run([str(TRACEDUMP), "dump", str(pid), "-o", str(core)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_precopy_cleans_up(target, tmp_path, sig):
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core", method="precopy")
    wait_precopying(t.pid, d, written=32 << 20)
    d.send_signal(sig)
    out, err = d.communicate(timeout=60)
    assert d.returncode == 1, (out, err)
    assert "interrupted" in jq(err.strip().splitlines()[-1], ".error")
    assert list(tmp_path.iterdir()) == []
    untracked(t.pid)
    assert_running_free(t, t.ticks)


def test_stream_output_uses_the_fork(td, target, tmp_path):
    # zstd is written in order: no going back to rewrite pages, so the fork it is.
    t = start(target, 2, 4)
    r = td("dump", t.pid, "--snapshot", "--compress", "zstd", "-o", tmp_path / "z.core")
    assert r.rc == 0, r
    assert r.jq(".snapshot | [.used, .method]") == [True, "fork"], r.stdout[-1500:]
    assert "stream" in r.jq(".snapshot.precopy_reason")
    zst = Path(r.jq(".path"))
    subprocess.run(["zstd", "-q", "-d", str(zst), "-o", str(tmp_path / "plain.core")],
                   check=True)
    out = gdb(tmp_path / "plain.core", "print/x heap_block[7]")
    assert f"{HEAP_PATTERN ^ 7:#x}" in out
    assert children(t.pid) == set()


def test_precopy_refuses_a_seccomp_target(td, target, tmp_path):
    # An injected userfaultfd() could kill a process under a seccomp filter: neither
    # snapshot is tried, the plain freeze says why.
    t = start_snap(target, "seccomp")
    r = td("dump", t.pid, "--snapshot", "-o", tmp_path / "s.core")
    assert r.rc == 0, r
    assert r.jq(".snapshot | [.used, .method]") == [False, "freeze"], r.stdout[-1500:]
    assert "seccomp" in r.jq(".snapshot.precopy_reason")
    untracked(t.pid)
    assert t.stats.fresh()["bad"] == 0


def test_target_exits_mid_precopy(target, tmp_path):
    t = start(target, 2, 768)
    d = start_snapdump(t.pid, tmp_path / "big.core", method="precopy")
    wait_precopying(t.pid, d, written=32 << 20)
    os.kill(t.pid, signal.SIGKILL)
    out, err = d.communicate(timeout=60)
    assert d.returncode != 0, (out, err)  # as test_dump's plain dump (3, like ESRCH)
    assert out == ""
    assert "exited" in jq(err.strip().splitlines()[-1], ".error"), err
    assert list(tmp_path.iterdir()) == []
    t.proc.wait(timeout=10)


def test_precopy_target_sees_nothing(td, target, tmp_path):
    # Two injected syscalls (userfaultfd, close) into a thread blocked in nanosleep,
    # read or a futex wait: each returns what it must, no signal, no child, no fd left.
    t = start_snap(target)
    before = t.stats.fresh()
    fds = sorted(os.listdir(f"/proc/{t.pid}/fd"))
    for i in range(6):
        r = snapdump(td, t.pid, "-o", tmp_path / "p.core", "--force", method="precopy")
        assert r.jq(".snapshot.used") is True
    after = t.stats.fresh(5)
    assert after["bad"] == 0, (after, t.proc.stderr)
    assert after["reaped"] == 0 and after["plain"] == 0 and after["sigchld"] == 0, after
    assert after["ok"] > before["ok"]
    assert sorted(os.listdir(f"/proc/{t.pid}/fd")) == fds
    untracked(t.pid)
    assert children(t.pid) == set()
