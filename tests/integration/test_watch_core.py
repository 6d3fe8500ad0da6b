# SPDX-License-Identifier: GPL-2.0-only
"""watch --signal through the kernel's core_pattern pipe (userspace/watch/core_route.c):
core-dumping signals without a handler are dumped from the kernel's own core, with no
ptrace; every other crash goes to the pattern that was there before, as the kernel would
have written it. These tests change the global core_pattern: the core_pattern fixture
puts it back even when a test fails."""
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import CORE_PATTERN, TARGETS, TRACEDUMP, jq, running
from test_watch import crashy_tid, gdb_bt, status, watch  # noqa: F401 (the fixture)

SIGRTMIN = signal.SIGRTMIN
SAVED = "/run/tracedump/core_pattern.saved"


@pytest.fixture
def short_dir():
    """A folder with a short path: a core_pattern holds at most 127 bytes."""
    d = tempfile.mkdtemp(prefix="tdc", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pattern():
    with open(CORE_PATTERN) as f:
        return f.read().strip()


def set_pattern(p):
    with open(CORE_PATTERN, "w") as f:
        f.write(p)


def is_relay(p):
    """The relay pattern: the static tracedump-core-relay beside tracedump (make builds
    it), or `tracedump core-relay` without it."""
    return p.startswith("|") and (" core-relay " in p or "/tracedump-core-relay " in p)


def crash_unwatched(cwd, core_limit=resource.RLIM_INFINITY, delay_ms=0, uid=None, exe=None):
    """A crashworker nobody watches, crashed to the end; returns its pid and wait status."""
    def limits():
        resource.setrlimit(resource.RLIMIT_CORE, (core_limit, core_limit))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            # Dumpable again after the uid change, as a process started by that user.
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE

    p = subprocess.Popen([str(exe or TARGETS / "crashworker"), str(delay_ms)], cwd=cwd,
                         stdout=subprocess.DEVNULL, preexec_fn=limits)
    _, st = os.waitpid(p.pid, 0)
    p.returncode = -1  # reaped here, so that Popen does not wait again
    return p.pid, st


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_segv_on_worker_by_core_pattern(watch, target, tmp_path, core_pattern):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SIGSEGV", "-o", tmp_path)
    ev = w.wait_event("watching")
    # No ptrace at all: the kernel's core_pattern pipe brings the crash.
    assert ev["signals_by"] == "core_pattern" and ev["ptrace"] is False
    assert status(t.pid)["TracerPid"].strip() == "0"
    assert pattern().startswith(f"|{TRACEDUMP}-core-relay %P %I %s")
    os.kill(t.pid, SIGRTMIN + 2)  # the crashy thread writes through NULL
    trig = w.wait_event("trigger")
    d = trig["detail"]
    assert d["by"] == "core_pattern" and d["signal"] == "SIGSEGV"
    assert d["tid"] == crashy_tid(t) and d["code"] == "SEGV_MAPERR"
    assert d["fault_address"] == "0x0"
    dump = w.wait_event("dump")
    assert w.finish() == 0
    # The process died of its signal, core dumped (the pipe took the core).
    _, st = os.waitpid(t.pid, 0)
    t.proc.returncode = -1
    assert os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGSEGV and os.WCOREDUMP(st)
    assert pattern() == core_pattern and not os.path.exists(SAVED)
    # The faulting thread is gdb's current one, at the faulting frame.
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-ex", "p $_siginfo.si_signo",
                        "-ex", "thread", str(t.path), dump["path"]],
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.split("#0")[1].split("\n")[0].strip().startswith("crash_now"), p.stdout
    assert "$1 = 11" in p.stdout and f"LWP {crashy_tid(t)}" in p.stdout, p.stdout
    meta = jq(open(dump["path"] + ".json").read(), ".")
    assert meta["event"]["by"] == "core_pattern" and meta["dump"]["source"] == "kernel"
    assert meta["dump"]["filter"] == "0x33"
    assert any(b["file_name"] == str(t.path) and len(b["build_id"]) == 40
               for b in meta["dump"]["build_ids"]), meta["dump"]["build_ids"]
    assert meta["process"]["id"] == t.pid and meta["dump"]["threads"] >= 2
    assert dump["path"].endswith(f".{t.pid}.core")


def test_abrt_by_core_pattern_zstd(watch, target, tmp_path, core_pattern):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "ABRT,SEGV", "--compress", "zstd", "-n", "0", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "core_pattern"
    os.kill(t.pid, signal.SIGABRT)
    trig = w.wait_event("trigger")
    assert trig["detail"]["signal"] == "SIGABRT" and trig["detail"]["sender_pid"] == os.getpid()
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGABRT
    # Its end is known from the crash: no wait status of ours without ptrace.
    assert w.of("target_exit")[0]["signal"] == "SIGABRT"
    assert w.of("exit")[0]["reason"] == "targets gone"
    assert dump["path"].endswith(".core.zst")
    core = tmp_path / "x.core"
    subprocess.run(["zstd", "-d", "-q", "-o", str(core), dump["path"]], check=True)
    assert "main" in gdb_bt(t.path, core)
    assert pattern() == core_pattern


def test_bundle_from_the_kernel_core(watch, target, tmp_path, core_pattern):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--bundle", "tar", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, SIGRTMIN + 2)
    dump = w.wait_event("dump")
    assert w.finish() == 0
    names = subprocess.run(["tar", "tf", dump["path"]], capture_output=True, text=True,
                           check=True).stdout.split()
    core = [n for n in names if n.endswith(f".{t.pid}.core")]
    assert core and "metadata.json" in names
    subprocess.run(["tar", "xf", dump["path"], "-C", str(tmp_path), core[0]], check=True)
    assert "crash_now" in gdb_bt(t.path, tmp_path / core[0])


def test_unwatched_crash_goes_to_previous_file_pattern(watch, target, tmp_path, short_dir,
                                                       core_pattern):
    set_pattern(f"{short_dir}/core.%e.%p.%s")
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    assert is_relay(pattern())
    pid, st = crash_unwatched(short_dir)
    assert os.WTERMSIG(st) == signal.SIGSEGV and os.WCOREDUMP(st)
    # Written as the kernel would have: the crashing thread's comm, the pid, the signal.
    core = f"{short_dir}/core.crasher.{pid}.11"
    assert wait_for(lambda: os.path.exists(core)), os.listdir(short_dir)
    assert oct(os.stat(core).st_mode & 0o777) == "0o600"
    assert "crash_here" in gdb_bt(TARGETS / "crashworker", core)
    # RLIMIT_CORE 0 with a file pattern: nothing, as without tracedump.
    pid0, _ = crash_unwatched(short_dir, core_limit=0)
    time.sleep(0.3)
    assert not any(f".{pid0}." in n for n in os.listdir(short_dir))
    # A relative pattern is relative to the crashed process's cwd.
    sub = os.path.join(short_dir, "cwd")
    os.mkdir(sub)
    with open(SAVED) as f:
        owner = f.readline()
    with open(SAVED, "w") as f:
        f.write(owner + "rel.%p\n")
    pid2, _ = crash_unwatched(sub)
    assert wait_for(lambda: os.path.exists(f"{sub}/rel.{pid2}"))
    assert not w.of("trigger")  # none of these was the watched process
    # The watched one is still taken by the watch.
    os.kill(t.pid, SIGRTMIN + 2)
    assert w.wait_event("dump")["pid"] == t.pid
    assert w.finish() == 0
    assert not any(str(t.pid) in n for n in os.listdir(short_dir))
    # The watch puts back what was there when it started.
    assert pattern() == "rel.%p"


def test_previous_file_pattern_written_with_the_process_credentials(watch, target, tmp_path,
                                                                   short_dir, core_pattern):
    """The relay runs as root, the kernel writes a file core as the crashing process:
    a user's crash in a folder the user cannot write to leaves no file (no root-made
    file anywhere a user points its cwd), and in its own folder the file is the user's."""
    set_pattern("core.%p")
    nobody = 65534
    exe = os.path.join(short_dir, "crashworker")
    shutil.copy(TARGETS / "crashworker", exe)
    os.chmod(exe, 0o755)
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    locked = os.path.join(short_dir, "locked")  # root's, 0755
    mine = os.path.join(short_dir, "mine")
    os.mkdir(locked)
    os.mkdir(mine)
    os.chown(mine, nobody, nobody)
    pid, st = crash_unwatched(locked, uid=nobody, exe=exe)
    assert os.WTERMSIG(st) == signal.SIGSEGV
    pid2, _ = crash_unwatched(mine, uid=nobody, exe=exe)
    assert wait_for(lambda: os.path.exists(f"{mine}/core.{pid2}"))
    sb = os.stat(f"{mine}/core.{pid2}")
    assert (sb.st_uid, sb.st_gid, sb.st_mode & 0o777) == (nobody, nobody, 0o600)
    assert not os.listdir(locked)
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0


def test_unwatched_crash_goes_to_previous_pipe_pattern(watch, target, tmp_path, short_dir,
                                                       core_pattern):
    set_pattern(f"|/usr/bin/dd of={short_dir}/pipe.%P.%s.%e status=none")
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    pid, _ = crash_unwatched(short_dir, core_limit=0)  # pipes ignore RLIMIT_CORE 0
    core = f"{short_dir}/pipe.{pid}.11.crasher"
    assert wait_for(lambda: os.path.exists(core) and os.path.getsize(core) > 0
                    and "crash_here" in gdb_bt(TARGETS / "crashworker", core))
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert pattern() == f"|/usr/bin/dd of={short_dir}/pipe.%P.%s.%e status=none"


def test_restored_after_sigterm_and_healed_after_sigkill(watch, target, tmp_path, short_dir,
                                                        core_pattern):
    set_pattern(f"{short_dir}/core.%p")
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    assert is_relay(pattern())
    os.kill(w.proc.pid, signal.SIGTERM)
    assert w.finish() == 0
    assert pattern() == f"{short_dir}/core.%p" and not os.path.exists(SAVED)

    # SIGKILL: nothing of the watch runs, the relay pattern stays...
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    w.proc.kill()
    w.proc.wait()
    assert is_relay(pattern())
    # ...until the next crash: the relay sees the owner dead, writes that core through
    # the saved pattern and puts the pattern back.
    pid, _ = crash_unwatched(short_dir)
    assert wait_for(lambda: os.path.exists(f"{short_dir}/core.{pid}"))
    assert pattern() == f"{short_dir}/core.%p" and not os.path.exists(SAVED)

    # Or until the next watch, which heals it first and restores the right one after.
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    w.wait_event("watching")
    w.proc.kill()
    w.proc.wait()
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "core_pattern"
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert pattern() == f"{short_dir}/core.%p"
    assert t.alive()


def test_second_watch_falls_back_to_ptrace(watch, target, tmp_path, core_pattern):
    a, b = target("sigtarget"), target("sigtarget")
    wa = watch(a.pid, "--signal", "SEGV", "-o", tmp_path)
    assert wa.wait_event("watching")["signals_by"] == "core_pattern"
    wb = watch(b.pid, "--signal", "SEGV", "-o", tmp_path)
    ev = wb.wait_event("watching")
    assert ev["signals_by"] == "ptrace" and ev["ptrace"] is True
    assert "held by another watch" in ev["ptrace_because"]
    os.kill(b.pid, SIGRTMIN + 2)
    assert wb.wait_event("dump")["pid"] == b.pid
    assert wb.finish() == 0
    assert b.proc.wait(timeout=10) == -signal.SIGSEGV
    assert "go through ptrace" in wb.proc.stderr.read()
    # The first watch still holds the route.
    assert is_relay(pattern())
    os.kill(a.pid, SIGRTMIN + 2)
    assert wa.wait_event("dump")["pid"] == a.pid
    assert wa.finish() == 0
    assert pattern() == core_pattern


def test_routes_chosen_per_signal_and_type(watch, target, tmp_path, core_pattern):
    t = target("sigtarget")
    cases = [
        (["--signal", "SEGV,USR1"], "bpf+core_pattern", None),
        (["--signal", "SEGV,TERM"], "ptrace", None),  # TERM without handler: ptrace
        (["--signal", "SEGV", "--type", "mini"], "ptrace", "mini"),
        (["--signal", "SEGV", "--no-core-pattern"], "ptrace", "--no-core-pattern"),
    ]
    for args, by, because in cases:
        w = watch(t.pid, *args, "--max-duration", "300ms", "-o", tmp_path)
        ev = w.wait_event("watching")
        assert ev["signals_by"] == by, (args, ev)
        if because:
            assert because in ev["ptrace_because"], ev
        if "--no-core-pattern" in args or "TERM" in args[1]:
            assert pattern() == core_pattern
        assert w.finish() == 0
        assert pattern() == core_pattern
    # --type full: the kernel dumps everything while watched (coredump_filter), and the
    # process's own filter comes back after.
    with open(f"/proc/{t.pid}/coredump_filter") as f:
        before = f.read().strip()
    w = watch(t.pid, "--signal", "SEGV", "--type", "full", "-o", tmp_path)
    w.wait_event("watching")
    with open(f"/proc/{t.pid}/coredump_filter") as f:
        assert int(f.read(), 16) == 0x1ff
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    with open(f"/proc/{t.pid}/coredump_filter") as f:
        assert f.read().strip() == before


def test_many_crashes_in_a_row_all_dumped(watch, tmp_path, core_pattern):
    # A private copy under a unique name: --name must catch only these.
    name = f"cw{os.getpid() % 100000:05d}"
    exe = tmp_path / name
    shutil.copy(TARGETS / "crashworker", exe)
    out = tmp_path / "out"
    out.mkdir()
    w = watch("--name", name, "--signal", "SEGV", "-n", "0", "-o", out)
    w.wait_event("watching", lambda e: e.get("name") == name)
    waves, per_wave = 3, 8
    pids = []
    for _ in range(waves):
        procs = [subprocess.Popen([str(exe), "600"], stdout=subprocess.DEVNULL)
                 for _ in range(per_wave)]
        for p in procs:
            assert p.wait(timeout=20) == -signal.SIGSEGV
            pids.append(p.pid)
    wait_for(lambda: len(w.of("dump")) >= waves * per_wave, timeout=20)
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert sorted(d["pid"] for d in w.of("dump")) == sorted(pids)
    assert len(list(out.glob("*.core"))) == waves * per_wave
    assert not w.of("error")
    assert pattern() == core_pattern


def test_signal_storm_without_ptrace(watch, target, tmp_path, core_pattern):
    t = target("sigtarget", 20000)
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "core_pattern"
    os.kill(t.pid, SIGRTMIN + 3)  # 20000 self-sent SIGUSR1
    assert status(t.pid)["TracerPid"].strip() == "0"
    line = t.proc.stdout.readline().split()
    assert line[:2] == ["storm", "done"] and int(line[2]) > 0
    assert status(t.pid)["TracerPid"].strip() == "0"
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert not w.of("trigger")
    assert pattern() == core_pattern


def test_dry_run_leaves_the_core_to_the_previous_pattern(watch, target, tmp_path, short_dir,
                                                         core_pattern):
    set_pattern(f"{short_dir}/core.%p")
    t = target("sigtarget")
    resource.prlimit(t.pid, resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
    w = watch(t.pid, "--signal", "SEGV", "--dry-run", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, SIGRTMIN + 2)
    assert w.wait_event("trigger")["dry_run"] is True
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
    assert wait_for(lambda: os.path.exists(f"{short_dir}/core.{t.pid}"))
    assert w.finish() == 0
    assert not w.of("dump") and not list(tmp_path.glob("*.core"))


def test_relay_command_inside_tracedump(watch, target, tmp_path, core_pattern):
    """Without tracedump-core-relay beside it, tracedump's hidden core-relay command."""
    alone = tempfile.mkdtemp(prefix="tdc", dir="/tmp")
    try:
        shutil.copy(TRACEDUMP, f"{alone}/tracedump")
        t = target("sigtarget")
        with running(subprocess.Popen(
                [f"{alone}/tracedump", "watch", str(t.pid), "--signal", "SEGV", "-o",
                 str(tmp_path)], stdout=subprocess.PIPE, text=True)) as p:
            assert jq(p.stdout.readline(), ".signals_by") == "core_pattern"
            assert pattern().startswith(f"|{alone}/tracedump core-relay %P")
            os.kill(t.pid, SIGRTMIN + 2)
            lines = [jq(line, ".") for line in p.stdout]
            assert p.wait(timeout=10) == 0
        dump = [e for e in lines if e["event"] == "dump"][0]
        assert "crash_now" in gdb_bt(t.path, dump["path"])
        assert pattern() == core_pattern
    finally:
        shutil.rmtree(alone, ignore_errors=True)


def test_route_the_kernel_cannot_reach_falls_back_to_ptrace(target, tmp_path, core_pattern):
    """A watch whose binary the kernel cannot see (as in a container: the kernel runs
    the relay in the initial mount namespace) must not leave a pattern that loses every
    crash: its test crash does not come through, so it restores and uses ptrace."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is missing")
    t = target("sigtarget")
    hidden = tempfile.mkdtemp(prefix="tdns", dir="/tmp")
    try:
        script = (f"mount -t tmpfs none {hidden} && cp {TRACEDUMP} {hidden}/tracedump && "
                  f"exec {hidden}/tracedump watch {t.pid} --signal SEGV --max-duration 200ms "
                  f"-o {tmp_path}")
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                           text=True, timeout=60)
    finally:
        os.rmdir(hidden)
    assert r.returncode == 0, r.stderr
    ev = jq(r.stdout.splitlines()[0], ".")
    assert ev["event"] == "watching" and ev["signals_by"] == "ptrace"
    assert "did not bring a test crash" in ev["ptrace_because"]
    assert "go through ptrace" in r.stderr
    assert pattern() == core_pattern and not os.path.exists(SAVED)
    assert t.alive()


def test_bpf_and_core_pattern_together(watch, target, tmp_path, core_pattern):
    """A handled USR1 by the BPF stop and an unhandled SEGV by core_pattern, one process,
    no ptrace."""
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "USR1,SEGV", "-n", "2", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf+core_pattern"
    os.kill(t.pid, signal.SIGUSR1)
    assert w.wait_event("trigger")["detail"]["by"] == "bpf"
    w.wait_event("dump")
    assert status(t.pid)["TracerPid"].strip() == "0"
    os.kill(t.pid, SIGRTMIN + 2)
    assert w.wait_event("trigger")["detail"]["by"] == "core_pattern"
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
    assert "crash_now" in gdb_bt(t.path, dump["path"])
    assert pattern() == core_pattern


def test_crash_in_cooldown_goes_to_previous_pattern(watch, target, tmp_path, short_dir,
                                                   core_pattern):
    set_pattern(f"{short_dir}/core.%p")
    a, b = target("sigtarget"), target("sigtarget")
    resource.prlimit(b.pid, resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
    w = watch(a.pid, b.pid, "--signal", "SEGV", "-n", "0", "--cooldown", "1h", "-o", tmp_path)
    w.wait_event("watching", lambda e: e["pid"] == b.pid)
    os.kill(a.pid, SIGRTMIN + 2)
    assert w.wait_event("dump")["pid"] == a.pid
    # The second crash comes in the cooldown: not dumped by the watch, but not lost.
    os.kill(b.pid, SIGRTMIN + 2)
    assert b.proc.wait(timeout=10) == -signal.SIGSEGV
    assert wait_for(lambda: os.path.exists(f"{short_dir}/core.{b.pid}"))
    assert "crash_now" in gdb_bt(b.path, f"{short_dir}/core.{b.pid}")
    assert w.finish() == 0
    assert len(w.of("dump")) == 1
    assert {e["pid"]: e.get("signal") for e in w.of("target_exit")} == \
        {a.pid: "SIGSEGV", b.pid: "SIGSEGV"}
