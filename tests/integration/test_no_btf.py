# SPDX-License-Identifier: GPL-2.0-only
"""A kernel without BTF, simulated: TRACEDUMP_BTF_PATH (a documented test hook) names a
file that does not exist, so tracedump behaves as if /sys/kernel/btf/vmlinux were absent.
The kernel here still has BTF; what this checks is tracedump's side: what it says is
missing, what it still runs (uprobes, /proc commands, dumps) and its exit codes. The BPF
objects it still loads (latency, exceptions, the uprobe probe) have no CO-RE relocations,
which is what lets libbpf load them on a real kernel without BTF."""
import os
import signal
import subprocess

from conftest import TRACEDUMP, jq, running

NO_BTF = dict(os.environ, TRACEDUMP_BTF_PATH="/nonexistent/vmlinux")


def run(*args, timeout=60):
    return subprocess.run([str(TRACEDUMP), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=NO_BTF)


def test_doctor_says_what_is_missing_and_what_works():
    r = run("doctor")
    assert r.returncode == 0, r
    bpf = jq(r.stdout, ".bpf")
    assert bpf["btf"]["ok"] is False
    for f in ("tp_btf", "fentry"):
        assert bpf[f]["ok"] is False and bpf[f]["step"] == "btf", bpf[f]
        assert "needs kernel BTF (/nonexistent/vmlinux" in bpf[f]["error"]
    assert bpf["uprobe"]["ok"] is True and bpf["ringbuf"]["ok"] is True
    works = jq(r.stdout, ".works")
    assert works["trace_cpu"] is False and works["trace_signals"] is False
    assert works["trace_follow"] is False
    assert works["trace_latency"] is True and works["trace_exceptions"] is True
    assert works["dump"] is True and works["inspect"] is True
    btf = [m for m in jq(r.stdout, ".missing") if m.startswith("BTF:")]
    assert len(btf) == 1 and "/nonexistent/vmlinux" in btf[0] and "dump" in btf[0]
    # The real kernel is untouched: without the hook BTF is there.
    r = subprocess.run([str(TRACEDUMP), "doctor"], capture_output=True, text=True, timeout=60)
    assert jq(r.stdout, ".bpf.btf.ok") is True


def test_trace_without_btf_exits_5_with_the_reason(target):
    t = target("reqserver", 0)
    for args in ([], ["--events", "cpu"], ["--follow", "--events", "exit"]):
        r = run("trace", t.pid, "--duration", "1s", *args)
        assert r.returncode == 5, (args, r)
        err = jq(r.stderr.strip().splitlines()[-1], ".")
        assert err["exit_code"] == 5 and "need kernel BTF (/nonexistent/vmlinux" in err["error"]
        assert "only the latency and exception uprobes work" in err["error"]
        assert r.stdout == ""
    for args in (["top", t.pid, "--count", "1"], ["threads", t.pid, "--sample", "100ms"]):
        r = run(*args)
        assert r.returncode == 5 and "need kernel BTF" in r.stderr, r


def test_latency_still_works_without_btf(target):
    t = target("reqserver", 0, 150)
    with running(subprocess.Popen(
            [str(TRACEDUMP), "trace", str(t.pid), "--latency", f"{t.path}:handle_request",
             "--threshold", "100ms"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=NO_BTF)) as p:
        line = p.stdout.readline()
        assert line, f"trace ended: {p.stderr.read()}"
        start = jq(line, ".")
        assert start["type"] == "start" and start["classes"] == ["latency"], start
        # uprobe_multi needs the tp_btf fork program (which needs BTF) to purge a forked
        # child's breakpoints, so the perf-event uprobes are used.
        assert start["probe_attach"] == "perf_event", start
        os.kill(t.pid, signal.SIGUSR1)
        while True:
            line = t.proc.stdout.readline()
            assert line, "reqserver ended"
            if line.startswith("all done"):
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    events = jq(out, ".")
    slow = [e for e in events if e["type"] == "latency"]
    assert len(slow) == 1 and slow[0]["duration_ms"] >= 150
    assert events[-1]["latency"]["requests"] == 2
    # What was dropped is said on stderr: the other classes, and the exit clean-up.
    assert "need kernel BTF" in err and "no tp_btf" in err


def test_ps_and_dump_work_without_btf(target, tmp_path):
    t = target("reqserver", 0)
    r = run("ps")
    assert r.returncode == 0, r
    assert t.pid in jq(r.stdout, "[.[].id]")
    core = tmp_path / "r.core"
    r = run("dump", t.pid, "-o", core)
    assert r.returncode == 0, r
    assert jq(r.stdout, ".threads") == 2 and core.stat().st_size > 0
