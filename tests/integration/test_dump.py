# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump dump PID`: cores opened by real gdb and eu-stack, a target that runs on
after every kind of ending (success, SIGINT, SIGKILL of tracedump, errors), and no
file left behind on failure."""
import os
import re
import shutil
import signal
import tempfile
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import TARGETS, TRACEDUMP, jq

EXE = TARGETS / "dumptarget"
HEAP_PATTERN = 0x7AC3D00D00000000
MARKER = 0x5EEDF00DCAFE1234
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class Ticks:
    """Reads the target's "tick N" lines in the background: the target runs while
    the number grows."""

    def __init__(self, t):
        self.last = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(t.proc.stdout,), daemon=True).start()

    def _read(self, f):
        for line in f:
            if line.startswith("tick "):
                with self.cond:
                    self.last = int(line.split()[1])
                    self.cond.notify_all()

    def advance(self, by=2, timeout=10):
        """True once `by` more ticks were counted."""
        with self.cond:
            goal = self.last + by
            return self.cond.wait_for(lambda: self.last >= goal, timeout)


def start(target, *args):
    """Starts dumptarget and waits for its first tick: from then on the main thread is
    in main_tick_loop (not still writing "ready")."""
    t = target("dumptarget", *args)
    t.ticks = Ticks(t)
    assert t.ticks.advance(1), "the target never ticked"
    return t


def status(pid):
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: v.strip() for k, v in (l.split(":", 1) for l in text.splitlines() if ":" in l)}


def assert_running_free(t, ticks):
    """The target is neither stopped nor traced, and still counts."""
    st = status(t.pid)
    assert st["TracerPid"] == "0", st
    assert st["State"][0] not in "tT", st
    for task in Path(f"/proc/{t.pid}/task").iterdir():
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a churning thread that exited since the listing: not stopped
        assert state not in "tT", f"thread {task.name} left stopped ({state})"
    assert ticks.advance(), "the target stopped counting ticks"


def gdb(core, *cmds, exe=EXE):
    args = ["gdb", "-nx", "-batch"]
    for c in cmds:
        args += ["-ex", c]
    p = subprocess.run(args + [str(exe), str(core)], capture_output=True, text=True,
                       timeout=120)
    return p.stdout + p.stderr


def check_backtraces(out, workers):
    """Every thread shown, each worker in its known frames, main in its loop."""
    threads = re.findall(r"^Thread (\d+) ", out, re.M)
    assert len(threads) == workers + 1, out[-3000:]
    for fn in ("dump_worker_level2", "dump_worker_level1", "dump_worker_entry"):
        assert len(re.findall(rf"in {fn} \(", out)) == workers, (fn, out[-3000:])
    assert re.search(r"\bmain_tick_loop \(\) at", out), out[-3000:]
    assert re.search(r"\bmain \(argc=", out), out[-3000:]


def dump(td, pid, *args, **kw):
    return td("dump", pid, *args, **kw)


def test_default_core_opens_in_gdb_with_threads_globals_heap(td, target, tmp_path):
    t = start(target, 4, 16)
    ticks = t.ticks
    core = tmp_path / "t.core"
    r = dump(td, t.pid, "-o", core)
    assert r.rc == 0, r
    assert r.stderr == ""  # no progress bar when stderr is not a terminal
    res = r.jq()
    assert res["path"] == str(core) and core.exists()
    assert res["type"] == "default" and res["filter"] == "0x33"
    assert res["threads"] == 5 and res["pid"] == t.pid
    assert res["bytes_written"] <= res["core_size"] == core.stat().st_size
    assert res["memory_bytes"] >= 16 << 20
    assert r.jq(".pause_ms > 0 and .duration_ms >= .pause_ms") is True
    assert r.jq(".timings_ms | keys") == ["capture", "finish", "freeze", "plan", "write"]
    assert r.jq("([.timings_ms[]] | add) <= .duration_ms + 0.01") is True
    assert r.jq('[.build_ids[] | select(.file_name | endswith("/dumptarget"))] | length') == 1
    assert r.jq('all(.build_ids[]; .build_id | test("^[0-9a-f]{40}$"))') is True
    assert oct(core.stat().st_mode & 0o777) == "0o600"
    # 16 MiB of pages that were written then zeroed are read, found zero, left holes.
    assert res["zero_bytes"] >= 16 << 20
    assert res["bytes_written"] <= res["memory_bytes"] - (16 << 20)
    assert core.stat().st_blocks * 512 <= res["bytes_written"] + (1 << 20)
    assert_running_free(t, ticks)

    out = gdb(core, "thread apply all bt", "print/x dump_marker", "print dump_text",
              "print/x heap_block[12345]", "print/x heap_block[2097151]",
              "print zero_block[4096*100]")
    check_backtraces(out, 4)
    assert f"$1 = {MARKER:#x}" in out
    assert '$2 = "tracedump-dump-marker"' in out
    assert f"$3 = {HEAP_PATTERN ^ 12345:#x}" in out
    assert f"$4 = {HEAP_PATTERN ^ 2097151:#x}" in out
    assert "$5 = 0 '\\000'" in out  # a hole reads as zeros
    assert "terminated with signal" not in out


def test_eu_stack_reads_every_thread(td, target, tmp_path):
    t = start(target, 3, 4)
    core = tmp_path / "t.core"
    assert dump(td, t.pid, "-o", core).rc == 0
    p = subprocess.run(["eu-stack", "--core", str(core), "-e", str(EXE)],
                       capture_output=True, text=True, timeout=60)
    tids = sorted(int(x) for x in re.findall(r"^TID (\d+):", p.stdout, re.M))
    assert tids == sorted(int(x.name) for x in Path(f"/proc/{t.pid}/task").iterdir()), p
    assert p.stdout.count("dump_worker_level2") == 3, p.stdout
    assert p.stdout.count("dump_worker_entry") == 3, p.stdout
    # The main thread unwinds down to main() (it may be in usleep or in a write).
    main = p.stdout.split(f"TID {t.pid}:")[1].split("TID ")[0]
    assert re.search(r" main\n", main) and "__libc_start_main" in main, p.stdout


def test_lldb_reads_the_core(td, target, tmp_path):
    t = start(target, 2, 4)
    core = tmp_path / "t.core"
    assert dump(td, t.pid, "-o", core).rc == 0
    p = subprocess.run(["lldb", "--batch", "-o", "thread backtrace all", "-c", str(core),
                        str(EXE)], capture_output=True, text=True, timeout=120)
    assert p.stdout.count("dump_worker_level2") == 2, p.stdout[-3000:]
    assert "main_tick_loop" in p.stdout


def test_mini_has_stacks_and_modules_not_the_heap(td, target, tmp_path):
    t = start(target, 4, 64)
    ticks = t.ticks
    core = tmp_path / "m.core"
    r = dump(td, t.pid, "--type", "mini", "-o", core)
    assert r.rc == 0, r
    assert r.jq(".type") == "mini" and r.jq(".filter") is None
    # Stacks, headers and the module list: far less than the 64 MiB heap.
    assert r.jq(".memory_bytes") < 4 << 20
    out = gdb(core, "thread apply all bt", "info sharedlibrary", "print/x heap_block[12345]")
    check_backtraces(out, 4)
    assert "libc.so.6" in out  # the dynamic linker's list made it in
    assert "Cannot access memory" in out  # the heap did not
    assert_running_free(t, ticks)
    # "0" is the same type.
    assert dump(td, t.pid, "--type", "0", "-o", tmp_path / "m0.core").jq(".type") == "mini"


def test_full_has_file_mappings_too(td, target, tmp_path):
    t = start(target, 2, 4)
    r1 = dump(td, t.pid, "--type", "full", "-o", tmp_path / "f.core")
    r2 = dump(td, t.pid, "--type", "1", "-o", tmp_path / "d.core")
    assert r1.rc == 0 and r2.rc == 0, (r1, r2)
    assert r1.jq(".type") == "full" and r2.jq(".type") == "default"
    # Full adds libc's text and the rest of every file mapping.
    assert r1.jq(".memory_bytes") > r2.jq(".memory_bytes") + (1 << 20)
    out = gdb(tmp_path / "f.core", "thread apply all bt", "print/x heap_block[7]",
              "x/4xb __libc_start_main")
    check_backtraces(out, 2)
    assert f"{HEAP_PATTERN ^ 7:#x}" in out


@pytest.mark.parametrize("mask,heap", [("1", True), ("0x10", False), ("0", False)])
def test_filter_mask_decides_like_the_kernel(td, target, tmp_path, mask, heap):
    t = start(target, 1, 4)
    core = tmp_path / "c.core"
    r = dump(td, t.pid, "--filter", mask, "-o", core)
    assert r.rc == 0, r
    assert r.jq(".type") == "filter" and r.jq(".filter") == hex(int(mask, 16))
    out = gdb(core, "print/x heap_block[99]", "thread apply all info registers rip")
    assert (f"{HEAP_PATTERN ^ 99:#x}" in out) == heap, out[-2000:]
    # Registers are always there, even with no memory at all.
    assert len(re.findall(r"^rip +0x[0-9a-f]+", out, re.M)) == 2, out[-2000:]


def test_bad_options(td, target, tmp_path):
    t = start(target, 1, 1)
    for args in (["--type", "3"], ["--filter", "zz"], ["--filter", "0x200"],
                 ["--filter", "1", "--type", "full"]):
        r = dump(td, t.pid, *args, "-o", tmp_path / "x.core")
        assert r.rc == 2, (args, r)
    r = dump(td, "12ab")
    assert r.rc == 2 and "invalid PID" in r.error()["error"]
    assert list(tmp_path.iterdir()) == []


def test_many_threads(td, target, tmp_path):
    t = start(target, 210, 1)
    core = tmp_path / "many.core"
    r = dump(td, t.pid, "-o", core)
    assert r.rc == 0, r
    assert r.jq(".threads") == 211
    out = gdb(core, "info threads", "thread apply all bt 3")
    assert len(re.findall(r"^Thread \d+ ", out, re.M)) == 211
    assert out.count("dump_worker_level2") >= 210


def test_huge_sparse_mappings_stay_small(td, target, tmp_path):
    # 64 GiB untouched but for one page, and 64 GiB PROT_NONE.
    t = start(target, 1, 4, 64)
    core = tmp_path / "sparse.core"
    r = dump(td, t.pid, "-o", core)
    assert r.rc == 0, r
    st = core.stat()
    assert st.st_size > 64 << 30  # the kernel's logical size: the mapping is "written"
    assert st.st_blocks * 512 < 64 << 20  # but it is holes on disk
    assert r.jq(".bytes_written") < 64 << 20
    out = gdb(core, "print/x heap_block[5]", "thread apply all bt 8")
    assert f"{HEAP_PATTERN ^ 5:#x}" in out and "dump_worker_level1" in out


def test_default_name_and_existing_file(td, target, tmp_path):
    t = start(target, 1, 1)
    r = dump(td, t.pid, "-o", tmp_path)
    assert r.rc == 0, r
    name = Path(r.jq(".path")).name
    assert re.fullmatch(rf"dumptarget_manual_\d{{4}}-\d\d-\d\d_\d\d-\d\d-\d\d\.{t.pid}\.core",
                        name), name
    assert Path(r.jq(".path")).parent == tmp_path
    # The current folder when no -o.
    sub = tmp_path / "sub"
    sub.mkdir()
    r = subprocess.run([str(TRACEDUMP), "dump", str(t.pid)], cwd=sub, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cwd_core = Path(jq(r.stdout, ".path"))
    assert cwd_core.is_absolute() and cwd_core.parent == sub and cwd_core.exists()
    cwd_core.unlink()
    sub.rmdir()
    # A relative FILE comes back absolute.
    r = subprocess.run([str(TRACEDUMP), "dump", str(t.pid), "-o", "rel.core"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and jq(r.stdout, ".path") == str(tmp_path / "rel.core"), r
    (tmp_path / "rel.core").unlink()
    # A FILE in a folder that does not exist.
    r = dump(td, t.pid, "-o", tmp_path / "nodir" / "x.core")
    assert r.rc == 3 and "nodir" in r.error()["error"], r
    # An existing file is kept without --force.
    f = tmp_path / "keep.core"
    f.write_text("precious")
    r = dump(td, t.pid, "-o", f)
    assert r.rc == 6 and "--force" in r.error()["error"], r
    assert f.read_text() == "precious"
    r = dump(td, t.pid, "-o", f, "--force")
    assert r.rc == 0, r
    assert f.read_bytes()[:4] == b"\x7fELF"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "keep.core"])


def test_no_process_zombie_thread_and_self(td, target, tmp_path):
    r = dump(td, 999999999, "-o", tmp_path)
    assert r.rc in (2, 3), r
    zombie = subprocess.Popen(["true"])
    deadline = time.time() + 10
    while status(zombie.pid)["State"][0] != "Z" and time.time() < deadline:
        time.sleep(0.01)
    r = dump(td, zombie.pid, "-o", tmp_path)
    zombie.wait()
    assert r.rc == 3 and "zombie" in r.error()["error"], r
    t = start(target, 2, 1)
    tid = max(int(x.name) for x in Path(f"/proc/{t.pid}/task").iterdir())
    r = dump(td, tid, "-o", tmp_path)
    assert r.rc == 2 and f"thread of process {t.pid}" in r.error()["error"], r
    assert list(tmp_path.iterdir()) == []


TRACER = """
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), 0, 0):  # PTRACE_SEIZE
    sys.exit("seize failed: %d" % ctypes.get_errno())
print("traced", flush=True)
time.sleep(60)
"""


def test_already_traced_names_the_tracer(td, target, tmp_path):
    t = start(target, 1, 1)
    ticks = t.ticks
    tracer = subprocess.Popen(["python3", "-c", TRACER, str(t.pid)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert tracer.stdout.readline().strip() == "traced"
        r = dump(td, t.pid, "-o", tmp_path)
        assert r.rc == 6, r
        msg = r.error()["error"]
        assert f"already traced by process {tracer.pid}" in msg and "python3" in msg, msg
        assert list(tmp_path.iterdir()) == []
    finally:
        tracer.kill()
        tracer.wait()
    assert_running_free(t, ticks)


def test_permission_denied(td, target):
    t = start(target, 1, 1)
    out = Path(tempfile.mkdtemp(prefix="td-dump-"))  # reachable by nobody, unlike tmp_path
    try:
        os.chmod(out, 0o777)
        p = subprocess.run(NOBODY + [str(TRACEDUMP), "dump", str(t.pid), "-o", str(out)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 4, p
        assert "not allowed" in jq(p.stderr.strip().splitlines()[-1], ".error")
        assert list(out.iterdir()) == []
    finally:
        shutil.rmtree(out)


def test_pid_namespace(td, tmp_path):
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", str(EXE), "2", "1"],
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert p.stdout.readline().strip() == "ready 1"  # PID 1 inside
        assert p.stdout.readline().startswith("tick ")
        child = int(Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()[0])
        core = tmp_path / "ns.core"
        r = dump(td, child, "-o", core)
        assert r.rc == 0, r
        out = gdb(core, "thread apply all bt")
        check_backtraces(out, 2)
        # The kernel writes thread IDs as the target's namespace sees them.
        assert "(LWP 1)" in out, out[-2000:]
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_traced(pid, timeout=20):
    """Waits until tracedump has seized the target: the dump is under way."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if status(pid)["TracerPid"] != "0":
            return
        time.sleep(0.001)
    pytest.fail("tracedump never seized the target")


BIG_MIB = 768  # large enough that the dump takes a good fraction of a second


def start_dump(pid, out):
    return subprocess.Popen([str(TRACEDUMP), "dump", str(pid), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_dump_releases_target_and_removes_file(target, tmp_path, sig):
    t = start(target, 4, BIG_MIB)
    ticks = t.ticks
    d = start_dump(t.pid, tmp_path / "big.core")
    wait_traced(t.pid)
    d.send_signal(sig)
    out, err = d.communicate(timeout=60)
    assert d.returncode == 1, (out, err)
    assert out == ""
    assert "interrupted" in jq(err.strip().splitlines()[-1], ".error")
    assert list(tmp_path.iterdir()) == []
    assert_running_free(t, ticks)


def test_sigkill_of_tracedump_leaves_target_running(target, tmp_path):
    t = start(target, 4, BIG_MIB)
    ticks = t.ticks
    d = start_dump(t.pid, tmp_path / "big.core")
    wait_traced(t.pid)
    d.kill()
    d.wait(timeout=30)
    deadline = time.time() + 10
    while status(t.pid)["TracerPid"] != "0" and time.time() < deadline:
        time.sleep(0.01)
    assert_running_free(t, ticks)
    assert list(tmp_path.iterdir()) == []  # O_TMPFILE: nothing to clean up


def test_target_exits_during_dump(target, tmp_path):
    t = start(target, 4, BIG_MIB)
    d = start_dump(t.pid, tmp_path / "big.core")
    wait_traced(t.pid)
    os.kill(t.pid, signal.SIGKILL)
    out, err = d.communicate(timeout=60)
    assert d.returncode != 0, (out, err)
    assert out == ""
    assert "exited" in jq(err.strip().splitlines()[-1], ".error"), err
    assert list(tmp_path.iterdir()) == []
    t.proc.wait(timeout=10)  # and the target is not stuck as a traced zombie


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_not_enough_space_is_refused(td, target, small_tmpfs):
    t = start(target, 1, 32)
    ticks = t.ticks
    r = dump(td, t.pid, "-o", small_tmpfs)
    assert r.rc == 1, r
    assert "not enough space" in r.error()["error"], r
    assert list(small_tmpfs.iterdir()) == []
    assert_running_free(t, ticks)


def test_enospc_while_writing_removes_file(td, target, small_tmpfs):
    t = start(target, 1, 32)
    ticks = t.ticks
    env = dict(os.environ, TRACEDUMP_SKIP_SPACE_CHECK="1")
    r = dump(td, t.pid, "-o", small_tmpfs / "c.core", env=env)
    assert r.rc == 1, r
    assert "No space left" in r.error()["error"], r
    assert list(small_tmpfs.iterdir()) == []
    assert_running_free(t, ticks)
    # Space is free again: nothing was left open or hidden.
    assert os.statvfs(small_tmpfs).f_bfree * os.statvfs(small_tmpfs).f_frsize > 7 << 20


def test_help_lists_dump(td):
    r = td("--help")
    assert re.search(r"^  dump ", r.stdout + r.stderr, re.M)
    r = td("dump", "--help")
    assert r.rc == 0 and "Exit status" in r.stdout and "--filter" in r.stdout


def test_progress_bar_only_on_a_terminal(target, tmp_path):
    import pty
    t = start(target, 1, 64)
    master, slave = pty.openpty()
    try:
        p = subprocess.run([str(TRACEDUMP), "dump", str(t.pid), "-o", str(tmp_path / "p.core")],
                           stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60)
        os.close(slave)
        slave = -1
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0
    assert jq(p.stdout, ".path") == str(tmp_path / "p.core")  # stdout stays pure JSON
    assert b"\rdump [" in err and b"100%" in err, err


def test_spinning_threads(td, target, tmp_path):
    # Always-runnable threads on 2 CPUs: each must still be stopped and released.
    t = start(target, 6, 1, 0, "spin")
    core = tmp_path / "spin.core"
    r = dump(td, t.pid, "-o", core)
    assert r.rc == 0, r
    assert r.jq(".threads") == 7
    out = gdb(core, "thread apply all bt")
    assert len(re.findall(r"\bdump_worker_spin \(", out)) == 6, out[-3000:]
    assert_running_free(t, t.ticks)


def test_threads_appearing_during_freeze(td, target, tmp_path):
    # A thread creates and joins threads without pause while the dump freezes.
    t = start(target, 2, 1, 0, "churn")
    for i in range(5):
        core = tmp_path / f"churn{i}.core"
        r = dump(td, t.pid, "-o", core)
        assert r.rc == 0, r
        out = gdb(core, "thread apply all bt")
        assert len(re.findall(r"\bdump_worker_level2 \(", out)) == 2, out[-3000:]
        assert "churn_main" in out, out[-3000:]
        core.unlink()
    assert_running_free(t, t.ticks)


def test_leader_exited_process(td, target, tmp_path):
    # main() called pthread_exit: the leader is a zombie, its threads run on; like
    # the kernel, the core has the live threads, read through one of them.
    t = start(target, 2, 4, 0, "leaderexit")
    deadline = time.time() + 10
    while status(t.pid)["State"][0] != "Z" and time.time() < deadline:
        time.sleep(0.01)
    assert status(t.pid)["State"][0] == "Z"
    core = tmp_path / "lx.core"
    r = dump(td, t.pid, "-o", core)
    assert r.rc == 0, r
    assert r.jq(".threads") == 3  # two workers and the ticker
    out = gdb(core, "thread apply all bt", "print/x heap_block[3]")
    assert len(re.findall(r"\bdump_worker_level2 \(", out)) == 2, out[-3000:]
    assert re.search(r"\bmain_tick_loop \(\)", out) and "ticker_main" in out, out[-3000:]
    assert f"{HEAP_PATTERN ^ 3:#x}" in out
    assert t.ticks.advance()
    assert status(t.pid)["TracerPid"] == "0"
