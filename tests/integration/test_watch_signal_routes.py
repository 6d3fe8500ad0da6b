# SPDX-License-Identifier: GPL-2.0-only
"""watch and signals: the signals a process got before a dump are in its flight
recorder; a process moves between the BPF, core_pattern and ptrace routes when a watched
signal's handler is installed or removed after the watch started, with no signal lost."""
import os
import signal
import time

from conftest import jq
from test_watch import assert_released, status, watch  # noqa: F401

SIGRTMIN = signal.SIGRTMIN


def my_comm():
    return open("/proc/self/comm").read().strip()


def test_flight_recorder_has_signals(watch, target, tmp_path):
    """Three handled SIGUSR1 and an ignored SIGUSR2 sent by this test, then a manual
    dump: the flight recorder lists them, oldest first, with code, sender, target
    thread and the kernel's result, and the handler they met."""
    t = target("sigtarget")
    w = watch(t.pid, "--threads", "1000", "-o", tmp_path)
    w.wait_event("watching")
    time.sleep(0.2)
    for _ in range(3):
        os.kill(t.pid, signal.SIGUSR1)
        time.sleep(0.05)
    os.kill(t.pid, signal.SIGUSR2)
    time.sleep(0.2)  # the tracer's ring buffer is read every 5 ms
    w.proc.send_signal(signal.SIGUSR1)  # a manual dump
    dump = w.wait_event("dump")
    w.proc.send_signal(signal.SIGINT)
    assert w.finish() == 0
    text = open(dump["path"] + ".json").read()
    sent = jq(text, '[.flight_recorder[] | select(.type == "signal")]')
    usr1 = [e for e in sent if e["signal"] == "SIGUSR1"]
    assert len(usr1) == 3, sent
    for e in usr1:
        assert e["sender"]["pid"] == os.getpid() and e["sender"]["comm"] == my_comm()
        assert e["code_name"] == "SI_USER" and e["result"] == "delivered"
        assert e["pid"] == t.pid and e["tid"] > 0
    usr2 = [e for e in sent if e["signal"] == "SIGUSR2"]
    assert len(usr2) == 1 and usr2[0]["result"] == "ignored", sent
    taken = jq(text, '[.flight_recorder[] | select(.type == "signal_deliver" and '
                     '.signal == "SIGUSR1") | .handler]')
    assert taken == ["handler"] * 3
    times = jq(text, "[.flight_recorder[].mono_ns]")
    assert times == sorted(times)
    assert t.alive()


def test_flight_recorder_with_a_bpf_stop(watch, target, tmp_path):
    """--signal USR1 (a BPF stop) keeps the other signals too: the SIGUSR2s sent
    before the SIGUSR1 that fires are in that dump's flight recorder, the SIGUSR1
    itself came through the ring buffer and fired."""
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "USR1", "-o", tmp_path)
    w.wait_event("watching")
    for _ in range(2):
        os.kill(t.pid, signal.SIGUSR2)
        time.sleep(0.05)
    os.kill(t.pid, signal.SIGUSR1)
    dump = w.wait_event("dump")
    assert w.finish() == 0  # -n 1: done after that dump
    assert [e["detail"]["signal"] for e in w.of("trigger")] == ["SIGUSR1"]
    fr = jq(open(dump["path"] + ".json").read(), ".flight_recorder")
    usr2 = [e for e in fr if e["type"] == "signal" and e["signal"] == "SIGUSR2"]
    assert len(usr2) == 2 and all(e["result"] == "ignored" for e in usr2), fr
    assert t.alive()


def test_no_flight_signals(watch, target, tmp_path):
    """--no-flight-signals: signals are not kept (no signal events in the flight
    recorder), the dump is taken all the same."""
    t = target("sigtarget")
    w = watch(t.pid, "--threads", "1000", "--no-flight-signals", "-o", tmp_path)
    w.wait_event("watching")
    os.kill(t.pid, signal.SIGUSR1)
    time.sleep(0.2)
    w.proc.send_signal(signal.SIGUSR1)
    dump = w.wait_event("dump")
    w.proc.send_signal(signal.SIGINT)
    assert w.finish() == 0
    kinds = jq(open(dump["path"] + ".json").read(), "[.flight_recorder[].type]")
    assert not [k for k in kinds if k.startswith("signal")], kinds


def test_flight_recorder_of_a_crash_has_earlier_signals(watch, target, tmp_path):
    """On the ptrace route too: the SIGSEGV dump's flight recorder shows the SIGUSR1
    taken before it. (The SIGSEGV itself is the dump's event; it is in the flight
    recorder too when the tracer's ring buffer was read after it was sent.)"""
    t = target("sigtarget")
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "ptrace"
    os.kill(t.pid, signal.SIGUSR1)
    time.sleep(0.2)
    os.kill(t.pid, SIGRTMIN + 2)  # the crashy thread writes through NULL
    dump = w.wait_event("dump")
    assert w.finish() == 0
    fr = jq(open(dump["path"] + ".json").read(), ".flight_recorder")
    names = [(e["type"], e.get("signal")) for e in fr]
    assert ("signal", "SIGUSR1") in names, names
    usr1 = [e for e in fr if e.get("signal") == "SIGUSR1" and e["type"] == "signal"]
    assert usr1[0]["sender"]["pid"] == os.getpid() and usr1[0]["result"] == "delivered"
    assert all(e["pid"] == t.pid for e in fr if "pid" in e)


# --- handlers installed or removed after the watch started ---------------------------

def tracer_pid(pid):
    return int(status(pid)["TracerPid"])


def command(t, n, expect):
    os.kill(t.pid, SIGRTMIN + n)
    line = t.proc.stdout.readline().strip()
    assert line.startswith(expect), line
    return line


def test_handler_installed_moves_ptrace_to_bpf(watch, target, tmp_path):
    t = target("handlerflip")
    w = watch(t.pid, "--signal", "USR1", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "ptrace"
    assert tracer_pid(t.pid) == w.proc.pid
    command(t, 5, "installed")
    route = w.wait_event("signal_route")
    assert (route["from"], route["to"], route["handled"]) == ("ptrace", "bpf", ["SIGUSR1"])
    assert_released(t.pid)  # no tracer left: the BPF route costs no ptrace
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["detail"]["by"] == "bpf" and trig["detail"]["signal"] == "SIGUSR1"
    w.wait_event("dump")
    assert w.finish() == 0
    time.sleep(0.1)
    assert command(t, 7, "count") == "count 0 1"  # the handler ran, once, after the dump
    assert_released(t.pid)


def test_handler_removed_moves_bpf_to_ptrace(watch, target, tmp_path):
    """Once the handler is gone a SIGUSR1 kills: the process is seized again, so it is
    dumped before it dies, and dies of it."""
    t = target("handlerflip", "handled")
    w = watch(t.pid, "--signal", "USR1", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf"
    assert tracer_pid(t.pid) == 0
    command(t, 6, "removed")
    route = w.wait_event("signal_route")
    assert (route["from"], route["to"], route["handled"]) == ("bpf", "ptrace", [])
    assert tracer_pid(t.pid) == w.proc.pid
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["detail"]["sender_pid"] == os.getpid()
    dump = w.wait_event("dump")
    assert dump["snapshot"]["used"] is False  # about to die: dumped as it is held
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGUSR1


def test_signals_during_route_changes_none_lost(watch, target, tmp_path):
    """The SIGUSR1 handler flips on and off every 250-400 ms, moving the process between
    the routes, while 300 SIGRTMIN+4 (always handled, watched) arrive 5 ms apart: each
    is reported exactly once (a trigger; none missed, none twice), and the handler ran
    300 times."""
    n = 300
    rt4 = int(SIGRTMIN) + 4
    t = target("handlerflip", "handled")
    w = watch(t.pid, "--signal", f"USR1,{rt4}", "-n", "0", "--dry-run", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf"
    command(t, 8, "flipping")
    for _ in range(n):
        os.kill(t.pid, rt4)
        time.sleep(0.005)
    command(t, 9, "stopped")
    time.sleep(0.3)  # the last route change
    assert command(t, 7, "count") == f"count {n} 0"
    # Each was reported before its handler ran, but a signal taken in the same stop as
    # another one is reported after it: wait until all are (or fail on the timeout).
    for _ in range(n):
        w.wait_event("trigger", lambda e: e["detail"]["signo"] == rt4)
        if len([e for e in w.of("trigger") if e["detail"]["signo"] == rt4]) >= n:
            break
    time.sleep(0.2)  # nothing more may come: a signal reported twice would show here
    w.proc.send_signal(signal.SIGINT)
    assert w.finish() == 0
    routes = [(e["from"], e["to"]) for e in w.of("signal_route")]
    assert ("bpf", "ptrace") in routes and ("ptrace", "bpf") in routes, routes
    assert not w.of("missed"), w.of("missed")
    assert not w.of("error"), w.of("error")
    trig = [e for e in w.of("trigger") if e["detail"]["signo"] == rt4]
    assert len(trig) == n, (len(trig), routes)
    by = {e["detail"].get("by", "ptrace") for e in trig}
    assert by == {"bpf", "ptrace"}, by
    assert_released(t.pid)


def test_handler_removed_then_signal_at_once_is_missed(watch, target, tmp_path):
    """The handler removed and SIGUSR1 raised in the same instant, before the next look
    at the handlers: the BPF route cannot stop it and the process dies; the watch says
    so (a missed event) instead of staying silent."""
    t = target("handlerflip", "handled")
    w = watch(t.pid, "--signal", "USR1", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf"
    os.kill(t.pid, SIGRTMIN + 10)
    assert t.proc.wait(timeout=10) == -signal.SIGUSR1
    missed = w.wait_event("missed")
    assert missed["signal"] == "SIGUSR1" and missed["pid"] == t.pid
    assert "no handler" in missed["reason"]
    assert w.finish() == 0
    assert not w.of("dump")


# --- the same with a core-dumping signal: BPF <-> core_pattern, no ptrace ------------

def test_segv_handler_removed_moves_bpf_to_core_pattern(watch, target, tmp_path, core_pattern):
    """A SIGSEGV handler removed: the process goes to the core_pattern route (no ptrace),
    and a SIGSEGV then is dumped from the kernel's core; it dies of it."""
    t = target("handlerflip", "handled", str(int(signal.SIGSEGV)))
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf"
    command(t, 6, "removed")
    route = w.wait_event("signal_route")
    assert (route["from"], route["to"], route["handled"]) == ("bpf", "core_pattern", [])
    assert tracer_pid(t.pid) == 0
    os.kill(t.pid, signal.SIGSEGV)
    trig = w.wait_event("trigger")
    assert trig["detail"]["by"] == "core_pattern" and trig["detail"]["signal"] == "SIGSEGV"
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
    assert jq(open(dump["path"] + ".json").read(), ".dump.source") == "kernel"
    assert not w.of("missed") and not w.of("error")


def test_segv_handler_installed_moves_core_pattern_to_bpf(watch, target, tmp_path,
                                                           core_pattern):
    """The other way: a SIGSEGV handler installed moves the process from the core route
    to the BPF stop; the SIGSEGV is dumped before its handler runs, and it lives on."""
    t = target("handlerflip", "default", str(int(signal.SIGSEGV)))
    w = watch(t.pid, "--signal", "SEGV", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "core_pattern"
    command(t, 5, "installed")
    route = w.wait_event("signal_route")
    assert (route["from"], route["to"], route["handled"]) == ("core_pattern", "bpf",
                                                              ["SIGSEGV"])
    os.kill(t.pid, signal.SIGSEGV)
    trig = w.wait_event("trigger")
    assert trig["detail"]["by"] == "bpf"
    w.wait_event("dump")
    assert w.finish() == 0
    time.sleep(0.1)
    assert command(t, 7, "count") == "count 0 1"  # the handler ran, after the dump
    assert_released(t.pid)


def test_segv_handler_removed_no_core_pattern_moves_to_ptrace(watch, target, tmp_path,
                                                               core_pattern):
    """With --no-core-pattern a SIGSEGV handler removed sends the process to ptrace, and
    the system's core_pattern is never touched."""
    t = target("handlerflip", "handled", str(int(signal.SIGSEGV)))
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "bpf"
    command(t, 6, "removed")
    route = w.wait_event("signal_route")
    assert (route["from"], route["to"]) == ("bpf", "ptrace")
    assert route["ptrace_because"] == "--no-core-pattern"
    assert tracer_pid(t.pid) == w.proc.pid
    assert open("/proc/sys/kernel/core_pattern").read().strip() == core_pattern
    os.kill(t.pid, signal.SIGSEGV)
    trig = w.wait_event("trigger")
    assert trig["detail"]["sender_pid"] == os.getpid() and "by" not in trig["detail"]
    w.wait_event("dump")
    assert w.finish() == 0
    assert t.proc.wait(timeout=10) == -signal.SIGSEGV
