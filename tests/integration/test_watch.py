# SPDX-License-Identifier: GPL-2.0-only
"""tracedump watch: each trigger fires when it should and not when it should not, against
real targets; dumps are opened by real gdb, events go through real jq."""
import ctypes
import os
import queue
import random
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import TARGETS, TRACEDUMP, Target, jq, running

SIGRTMIN = signal.SIGRTMIN
# --signal SEGV takes over the global core_pattern while a watch runs: saved and put
# back around every test. Tests of the ptrace route say --no-core-pattern.
pytestmark = pytest.mark.usefixtures("core_pattern")


class Watch:
    """A running `tracedump watch`; its NDJSON lines are read in the background."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([str(TRACEDUMP), "watch", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.events = []
        self.q = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            ev = jq(line, ".")  # every line is valid JSON, checked by the real jq
            self.events.append(ev)
            self.q.put(ev)
        self.q.put(None)

    def wait_event(self, kind, pred=lambda e: True, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                ev = self.q.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            if ev is None:
                break
            if ev["event"] == kind and pred(ev):
                return ev
        raise AssertionError(f"no {kind} event; got {self.events} "
                             f"stderr={self.proc.stderr.read() if self.proc.poll() is not None else ''}")

    def finish(self, timeout=15):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return rc

    def of(self, kind):
        return [e for e in self.events if e["event"] == kind]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watch():
    started = []

    def start(*args):
        w = Watch(*args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.kill()


def gdb_bt(binary, core):
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "thread apply all bt", str(binary),
                        str(core)], capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)


def assert_released(pid):
    st = status(pid)
    assert st["TracerPid"].strip() == "0"
    assert st["State"].split()[0] not in ("t", "T")


def crashy_tid(t):
    return int(t.ready_line.split()[2])


# --- signals -------------------------------------------------------------------------

def test_signal_segv_on_worker_dumped_then_dies(watch, target, tmp_path):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SIGSEGV,SIGABRT", "--no-core-pattern", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, SIGRTMIN + 2)  # the crashy thread writes through NULL
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "signal"
    assert trig["detail"]["signal"] == "SIGSEGV" and trig["detail"]["tid"] == crashy_tid(t)
    assert trig["detail"]["code"] == "SEGV_MAPERR" and trig["detail"]["fault_address"] == "0x0"
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert w.of("exit")[0]["reason"] == "count reached"
    # The signal went on: the process died of it, as without tracedump.
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
    bt = gdb_bt(t.path, dump["path"])
    assert "crash_now" in bt, bt
    # As in a kernel core: the faulting thread is gdb's current one, the signal is named.
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-ex", "p $_siginfo.si_signo",
                        str(t.path), dump["path"]], capture_output=True, text=True, timeout=60)
    assert "terminated with signal SIGSEGV" in p.stdout, p.stdout
    assert p.stdout.split("#0")[1].split("\n")[0].strip().startswith("crash_now"), p.stdout
    assert "$1 = 11" in p.stdout, p.stdout
    meta = jq(open(dump["path"] + ".json").read(), ".")
    assert meta["trigger"] == "signal" and meta["event"]["tid"] == crashy_tid(t)
    assert meta["process"]["id"] == t.pid
    assert os.path.basename(dump["path"]).startswith("sigtarget_signal_")
    assert dump["path"].endswith(f".{t.pid}.core")


# With and without the flight recorder's signals: the BPF stop and the kept events
# share one entry per process in the signal programs' map.
@pytest.mark.parametrize("flight", [[], ["--no-flight-signals"]], ids=["flight", "no-flight"])
def test_signal_usr1_handler_runs_after_dump(watch, target, tmp_path, flight):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "USR1", *flight, "-o", tmp_path)
    # Every watched signal has a handler: BPF stops it, no ptrace.
    ev = w.wait_event("watching")
    assert ev["signals_by"] == "bpf" and ev["ptrace"] is False
    assert status(t.pid)["TracerPid"].strip() == "0"
    os.kill(t.pid, signal.SIGUSR2)  # ignored by the target, not watched: no trigger
    # tgkill to the worker thread: the handler runs there.
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(234, t.pid, crashy_tid(t), signal.SIGUSR1) == 0  # tgkill
    trig = w.wait_event("trigger")
    assert trig["detail"]["signal"] == "SIGUSR1" and trig["detail"]["tid"] == crashy_tid(t)
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert len(w.of("trigger")) == 1
    # Dumped before the handler's first instruction: the worker is at its entry.
    bt = gdb_bt(t.path, dump["path"])
    crashy_bt = bt.split(f"(LWP {crashy_tid(t)})):")[1].split("\nThread ")[0]
    assert "on_usr1" in crashy_bt and "signal handler called" in crashy_bt, bt
    # The handler ran once after the dump: the target counts it.
    os.kill(t.pid, SIGRTMIN + 3)
    assert t.proc.stdout.readline().strip() == "storm done 1"
    assert_released(t.pid)


def test_signal_not_watched_does_not_fire(watch, target, tmp_path):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--max-duration", "1s", "-o", tmp_path)
    w.wait_event("watching")
    for _ in range(5):
        os.kill(t.pid, signal.SIGUSR1)
        time.sleep(0.02)
    time.sleep(0.2)  # the last handler lands before the count is asked for
    assert w.finish() == 0
    assert not w.of("trigger") and not list(tmp_path.iterdir())
    assert w.of("exit")[0]["reason"] == "max duration"
    os.kill(t.pid, SIGRTMIN + 3)
    assert t.proc.stdout.readline().strip() == "storm done 5"  # every one was handled
    assert_released(t.pid)


@pytest.mark.parametrize("sig", [signal.SIGABRT, signal.SIGTERM])
def test_signal_fatal_default_action(watch, target, tmp_path, sig):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", f"{int(sig)},SEGV", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, sig)
    trig = w.wait_event("trigger")
    assert trig["detail"]["signo"] == sig
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -sig
    assert "main" in gdb_bt(t.path, dump["path"])


def test_name_follows_restarts_every_crash_dumped(watch, tmp_path):
    # A private copy under a unique name: --name must not catch anyone else's sigtarget.
    name = f"wcr{random.randrange(10**6):06d}"
    exe = tmp_path / name
    shutil.copy(TARGETS / "sigtarget", exe)
    out = tmp_path / "out"
    out.mkdir()
    w = watch("--name", name, "--signal", "SEGV", "-n", "0", "-o", out)
    rounds = int(os.environ.get("WATCH_CRASH_ROUNDS", "6"))  # 100 pass too (15 s)
    for i in range(rounds):
        with running(subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True,
                                      start_new_session=True)) as p:
            assert p.stdout.readline().startswith("ready")
            w.wait_event("watching", lambda e: e.get("pid") == p.pid)
            os.kill(p.pid, SIGRTMIN + 2)
            w.wait_event("dump", lambda e: e["pid"] == p.pid)
            assert p.wait(timeout=10) == -signal.SIGSEGV
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert len(w.of("dump")) == rounds
    assert len(list(out.glob("*.core"))) == rounds
    assert w.of("exit")[0]["reason"] == "interrupted"


def test_ctrl_c_releases_targets(watch, target, tmp_path):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    w.wait_event("watching")
    assert status(t.pid)["TracerPid"].strip() != "0"
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert_released(t.pid)
    os.kill(t.pid, signal.SIGUSR1)
    time.sleep(0.1)
    os.kill(t.pid, SIGRTMIN + 3)
    assert t.proc.stdout.readline().strip() == "storm done 1"


# --- CPU, memory, threads, fds -------------------------------------------------------

def test_cpu_fires_on_burst(watch, target, tmp_path):
    t = target("burner", 1500)
    w = watch(t.pid, "--cpu", "50", "--for", "300ms", "-o", tmp_path)
    w.wait_event("watching")
    time.sleep(0.5)  # some idle ticks first, for the CPU history
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "cpu" and trig["detail"]["cpu_percent"] >= 50
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert "burn" in gdb_bt(t.path, dump["path"])
    meta = jq(open(dump["path"] + ".json").read(), ".")
    assert any(th["tid"] == int(t.ready_line.split()[2]) for th in meta["threads_cpu"])
    # The flight recorder's CPU history: idle first, then the burst that fired.
    pcts = [s["cpu_percent"] for s in meta["cpu_samples"]]
    assert len(pcts) >= 5 and min(pcts) < 20 and max(pcts) > 40, pcts


def test_cpu_idle_does_not_fire(watch, target, tmp_path):
    t = target("burner")
    w = watch(t.pid, "--cpu", "50", "--for", "300ms", "--max-duration", "1200ms",
              "-o", tmp_path)
    assert w.finish() == 0
    assert not w.of("trigger")


def test_cpu_below_fires_when_idle(watch, target, tmp_path):
    t = target("burner")
    w = watch(t.pid, "--cpu-below", "5", "--for", "300ms", "--dry-run", "-o", tmp_path)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "cpu_below" and trig["dry_run"] is True
    assert w.finish() == 0
    assert not list(tmp_path.iterdir())


def test_mem_levels(watch, target, tmp_path):
    t = target("dumptarget", 1, 48)
    w = watch(t.pid, "--mem", "16,100000", "--mem-kind", "private", "-n", "2",
              "--max-duration", "1s", "-o", tmp_path)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "mem" and trig["detail"]["level_bytes"] == 16 << 20
    assert trig["detail"]["bytes"] >= 16 << 20
    assert w.finish() == 0
    assert len(w.of("dump")) == 1  # 100000 MB is never crossed


def test_threads_and_fds(watch, target, tmp_path):
    t = target("dumptarget", 4, 1)
    w = watch(t.pid, "--threads", "5", "--dry-run", "-o", tmp_path)
    assert w.wait_event("trigger")["detail"]["threads"] == 5
    assert w.finish() == 0
    w = watch(t.pid, "--threads", "50", "--fds", "1000", "--max-duration", "500ms",
              "-o", tmp_path)
    assert w.finish() == 0 and not w.of("trigger")
    w = watch(t.pid, "--fds", "3", "--dry-run", "-o", tmp_path)
    assert w.wait_event("trigger")["detail"]["fds"] >= 3
    assert w.finish() == 0


# --- latency -------------------------------------------------------------------------

def test_latency_stuck_request_dumped_while_stuck(watch, target, tmp_path):
    t = target("reqserver", 4000)
    worker = int(t.ready_line.split()[2])
    w = watch(t.pid, "--latency", f"{t.path}:handle_request", "--threshold", "300ms",
              "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "latency" and trig["detail"]["tid"] == worker
    assert trig["detail"]["running_ms"] >= 300
    dump = w.wait_event("dump")
    assert w.finish() == 0
    # Dumped while stuck: the request had not returned yet.
    assert t.alive()
    bt = gdb_bt(t.path, dump["path"])
    assert "handle_request" in bt and f"LWP {worker}" in bt, bt


def test_latency_fast_requests_do_not_fire(watch, target, tmp_path):
    t = target("reqserver", 0, 20, 0, 20)
    w = watch(t.pid, "--latency", f"{t.path}:handle_request", "--threshold", "300ms",
              "--max-duration", "1s", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    assert w.finish() == 0
    assert not w.of("trigger")


# --- actions -------------------------------------------------------------------------

def test_count_cooldown_retention(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--every", "100ms", "-n", "4", "--cooldown", "300ms", "--keep", "2",
              "-o", tmp_path)
    assert w.finish() == 0
    dumps = w.of("dump")
    assert len(dumps) == 4
    times = [e["mono_ns"] / 1e9 for e in w.of("trigger")]
    assert all(b - a >= 0.29 for a, b in zip(times, times[1:])), times
    assert all(e["time"].endswith("Z") for e in w.events)
    assert len(w.of("removed")) == 2
    left = sorted(p.name for p in tmp_path.glob("*.core"))
    assert left == sorted(os.path.basename(d["path"]) for d in dumps[2:])
    assert len(list(tmp_path.glob("*.core.json"))) == 2
    assert w.of("exit")[0] == {**w.of("exit")[0], "dumps": 4, "reason": "count reached"}
    assert t.alive()


def test_snapshot_dumps_from_a_copy(watch, target, tmp_path):
    """--snapshot: the timer's dump is written from a copy-on-write copy; gdb reads it,
    and the target runs on, unstopped and with no extra process left."""
    t = target("dumptarget", 2, 1)
    w = watch(t.pid, "--every", "100ms", "--snapshot", "-o", tmp_path)
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert dump["snapshot"]["used"] is True, dump
    meta = jq(open(dump["path"] + ".json").read(), ".")
    assert meta["dump"]["snapshot"]["used"] is True
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", "thread apply all bt",
                          str(t.path), dump["path"]], capture_output=True, text=True,
                         timeout=120).stdout
    assert out.count("Thread ") >= 3, out
    children = subprocess.run(["pgrep", "-P", str(t.pid)], capture_output=True, text=True)
    assert children.stdout.strip() == "", "the snapshot's copy was left behind"
    assert t.alive()


def test_then_analyze_a_crash(watch, target, tmp_path):
    """--then analyze: the crash's analysis, written after the process is let go, has
    the faulting thread first with SIGSEGV and crash_now on top, and the trigger."""
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--then", "analyze", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, SIGRTMIN + 2)  # the crashy thread writes through NULL
    dump = w.wait_event("dump")
    ev = w.wait_event("analysis")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
    assert ev["path"] == dump["path"] and ev["analysis"]["error"] is None, ev
    path = ev["analysis"]["path"]
    assert path.endswith(".analysis.json")
    a = jq(open(path).read(), ".")
    assert a["signal"]["name"] == "SIGSEGV" and a["signal"]["fault_address"] == "0x0"
    assert a["threads"][0]["id"] == crashy_tid(t) and a["threads"][0]["crashed"] is True
    assert a["threads"][0]["frames"][0]["function"] == "crash_now", a["threads"][0]
    assert a["trigger"] is not None


def test_then_kill_and_on_dump(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--every", "100ms", "--then", "kill", "-o", tmp_path,
              "--on-dump", "touch", "{path}.uploaded-{pid}-{trigger}")
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGKILL
    assert w.of("on_dump")[0]["command"] == "touch"
    marker = dump["path"] + f".uploaded-{t.pid}-every"
    deadline = time.time() + 5
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.05)
    assert os.path.exists(marker)


def test_manual_trigger_sigusr1(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--mem", "1000000", "-o", tmp_path)
    w.wait_event("watching")
    time.sleep(0.2)
    os.kill(w.proc.pid, signal.SIGUSR1)
    assert w.wait_event("trigger")["trigger"] == "manual"
    w.wait_event("dump")
    assert w.finish() == 0


def test_target_exit_ends_watch(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--mem", "1000000", "-o", tmp_path)
    w.wait_event("watching")
    t.stop()
    w.wait_event("target_exit")
    assert w.finish() == 0
    assert w.of("exit")[0]["reason"] == "targets gone"


def test_bad_arguments(td, target):
    r = td("watch", "1")
    assert r.rc == 2 and "no trigger" in r.stderr
    r = td("watch", "1", "--signal", "NOPE")
    assert r.rc == 2 and "--signal" in r.stderr
    r = td("watch", "1", "--mem", "200,100")
    assert r.rc == 2
    r = td("watch", "abc", "--mem", "100")
    assert r.rc == 2 and "PID" in r.stderr
    r = td("watch", "4000000", "--every", "1s")
    assert r.rc == 3 and r.error()["error"]
    r = td("watch", "1", "--every", "1s", "--on-dump")
    assert r.rc == 2


# --- exceptions and completed slow requests ------------------------------------------

def test_exception_filter(watch, target, tmp_path):
    t = target("thrower", 2)
    w = watch(t.pid, "--exception=app::*", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    # The two std::runtime_error throws came first and did not match.
    assert trig["trigger"] == "exception"
    assert trig["detail"]["exception_type"] == "app::RequestFailed"
    dump = w.wait_event("dump")
    assert w.finish() == 0
    meta = jq(open(dump["path"] + ".json").read(), ".")
    kinds = [e["exception_type"] for e in meta["flight_recorder"] if e["type"] == "exception"]
    assert kinds[:2] == ["std::runtime_error"] * 2


def test_exception_filter_no_match(watch, target, tmp_path):
    t = target("thrower", 2)
    w = watch(t.pid, "--exception=std::bad_alloc", "--max-duration", "1s", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    assert t.proc.stdout.readline().startswith("thrown")
    assert w.finish() == 0
    assert not w.of("trigger")


def test_latency_completed(watch, target, tmp_path):
    t = target("reqserver", 0, 500)
    w = watch(t.pid, "--latency", f"{t.path}:handle_request", "--threshold", "300ms",
              "--latency-completed", "--dry-run", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "latency" and trig["detail"]["duration_ns"] >= 300e6
    assert w.finish() == 0
    assert len(w.of("trigger")) == 1  # the fast one did not fire


def test_cgroup_now_and_later(watch, target, tmp_path):
    base = "/sys/fs/cgroup/unified" if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs") \
        else "/sys/fs/cgroup"
    cg = f"{base}/tdwatch-{random.randrange(10**6):06d}"
    try:
        os.mkdir(cg)
    except OSError as e:
        pytest.skip(f"cannot make a cgroup here: {e}")
    try:
        a = target("dumptarget", 1, 1)
        with open(f"{cg}/cgroup.procs", "w") as f:
            f.write(str(a.pid))
        other = target("dumptarget", 1, 1)  # outside: never watched
        w = watch("--cgroup", cg, "--mem", "1000000", "-o", tmp_path)
        assert w.wait_event("watching", lambda e: e.get("pid") == a.pid)
        b = target("dumptarget", 1, 1)
        with open(f"{cg}/cgroup.procs", "w") as f:
            f.write(str(b.pid))
        assert w.wait_event("watching", lambda e: e.get("pid") == b.pid)
        os.kill(w.proc.pid, signal.SIGINT)
        assert w.finish() == 0
        assert other.pid not in [e.get("pid") for e in w.of("watching")]
    finally:
        for t in (locals().get("a"), locals().get("b")):
            if t:
                t.stop()
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.05)


def test_already_traced_is_a_conflict(watch, target, tmp_path, td):
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    assert w.wait_event("watching")["ptrace"] is True
    r = td("watch", t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    assert r.rc == 6 and "already traced" in r.error()["error"]
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.finish() == 0
    assert_released(t.pid)


def test_bundle_and_compress(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--every", "100ms", "-n", "2", "--compress", "zstd", "-o", tmp_path)
    assert w.finish() == 0
    paths = [d["path"] for d in w.of("dump")]
    assert len(paths) == 2 and all(p.endswith(f".{t.pid}.core.zst") for p in paths)
    assert len(set(paths)) == 2
    for p in paths:
        assert subprocess.run(["zstd", "-t", "-q", p]).returncode == 0
        assert os.path.exists(p + ".json")
    w = watch(t.pid, "--every", "100ms", "--bundle", "tar", "-o", tmp_path)
    assert w.finish() == 0
    path = w.of("dump")[0]["path"]
    assert path.endswith(".tar")
    names = subprocess.run(["tar", "tf", path], capture_output=True, text=True).stdout
    assert f".{t.pid}.core" in names and "metadata.json" in names
    r = subprocess.run([str(TRACEDUMP), "watch", str(t.pid), "--every", "1s", "--bundle",
                        "zip", "--compress", "zstd"], capture_output=True, text=True)
    assert r.returncode == 2


def test_ptrace_watch_keeps_job_control(watch, target, tmp_path):
    """SIGSTOP/SIGCONT to a ptrace-watched process act as without tracedump."""
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGSTOP)
    time.sleep(0.3)
    assert status(t.pid)["State"].split()[0] in ("T", "t")
    os.kill(t.pid, signal.SIGCONT)
    os.kill(t.pid, signal.SIGUSR1)
    # The handler may run on another thread than the sigwait that prints the count,
    # and each signal waits its turn through tracedump: let it land first.
    time.sleep(0.2)
    os.kill(t.pid, SIGRTMIN + 3)
    assert t.proc.stdout.readline().strip() == "storm done 1"
    os.kill(t.pid, SIGRTMIN + 2)
    assert w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV


def test_mem_below_and_max_bytes(watch, target, tmp_path):
    t = target("dumptarget", 1, 8)
    w = watch(t.pid, "--mem-below", "100000", "--dry-run", "-o", tmp_path)
    assert w.wait_event("trigger")["trigger"] == "mem_below"
    assert w.finish() == 0
    w = watch(t.pid, "--every", "100ms", "-n", "3", "--max-bytes", "1", "-o", tmp_path)
    assert w.finish() == 0
    assert len(w.of("removed")) == 2
    assert [p.name for p in tmp_path.glob("*.core")] == \
        [os.path.basename(w.of("dump")[-1]["path"])]


def test_on_dump_exit_reported(watch, target, tmp_path):
    t = target("dumptarget", 1, 1)
    w = watch(t.pid, "--every", "100ms", "-n", "2", "--cooldown", "500ms", "-o", tmp_path,
              "--on-dump", "test", "-s", "{path}")
    ev = w.wait_event("on_dump_exit")
    assert ev["status"] == 0 and ev["child"] == w.of("on_dump")[0]["child"]
    assert w.finish() == 0
