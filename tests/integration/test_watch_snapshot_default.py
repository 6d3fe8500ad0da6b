# SPDX-License-Identifier: GPL-2.0-only
"""watch dumps from a copy-on-write snapshot by default (issue 7), --no-snapshot
freezes for the whole dump, and every dump says whether the snapshot was used and
why not."""
import subprocess

from conftest import jq
from test_watch import gdb_bt as bt, watch  # noqa: F401  (the fixture)


def test_cpu_dump_from_snapshot_pause_small(watch, target, tmp_path):
    """Two spinning workers and 256 MiB of heap: the CPU trigger's dump comes from the
    copy, the process was stopped for a part of the dump's duration only, gdb reads the
    spinning threads, and no copy is left behind."""
    t = target("dumptarget", 2, 256, 0, "spin")
    w = watch(t.pid, "--cpu", "50", "--for", "300ms", "-o", tmp_path)
    dump = w.wait_event("dump", timeout=20)
    assert w.finish() == 0
    assert dump["snapshot"]["used"] is True, dump
    # The pause is the fork (and the reap); the copy of 256 MiB happens after it.
    assert dump["pause_ms"] < dump["duration_ms"], dump
    meta = jq(open(dump["path"] + ".json").read(), ".")
    assert meta["dump"]["snapshot"]["used"] is True
    assert meta["trigger"] == "cpu"
    assert bt(t.path, dump["path"]).count("dump_worker_spin") >= 2
    children = subprocess.run(["pgrep", "-P", str(t.pid)], capture_output=True, text=True)
    assert children.stdout.strip() == "", "the snapshot's copy was left behind"
    assert t.alive()


def test_no_snapshot_freezes(watch, target, tmp_path):
    t = target("dumptarget", 2, 1)
    w = watch(t.pid, "--every", "100ms", "--no-snapshot", "-o", tmp_path)
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert dump["snapshot"] == {"used": False, "reason": "--no-snapshot"}, dump
    meta = jq(open(dump["path"] + ".json").read(), ".dump.snapshot")
    assert meta == {"used": False, "reason": "--no-snapshot"}
    assert "dump_worker_level2" in bt(t.path, dump["path"])
    assert t.alive()


def test_ptrace_route_process_dumped_at_cpu_trigger(watch, target, tmp_path):
    """A process held on the ptrace route for --signal SEGV is dumped at a CPU trigger
    too (through the threads sigtrace holds, not a second seize), and the dump says it
    was not from a snapshot, and why; then it runs on, still watched."""
    t = target("dumptarget", 2, 1, 0, "spin")
    w = watch(t.pid, "--signal", "SEGV", "--no-core-pattern", "--cpu", "50", "--for",
              "300ms", "-o", tmp_path)
    assert w.wait_event("watching")["signals_by"] == "ptrace"
    dump = w.wait_event("dump", timeout=20)
    assert w.finish() == 0
    assert dump["trigger"] == "cpu"
    assert dump["snapshot"]["used"] is False
    assert "ptrace" in dump["snapshot"]["reason"]
    assert bt(t.path, dump["path"]).count("dump_worker_spin") >= 2
    assert t.alive()


def test_small_dump_takes_plain_freeze(watch, target, tmp_path):
    """A process with ~100 KiB of anonymous memory: by default the timer's dump is a
    plain freeze (as short as a snapshot and done sooner), and says why; --snapshot
    forces the snapshot even there (test_watch.py's test_snapshot_dumps_from_a_copy)."""
    t = target("sigtarget")
    w = watch(t.pid, "--every", "100ms", "-o", tmp_path)
    dump = w.wait_event("dump")
    assert w.finish() == 0
    assert dump["snapshot"]["used"] is False, dump["snapshot"]
    assert "small dump" in dump["snapshot"]["reason"]
    assert " main " in bt(t.path, dump["path"])
    assert t.alive()
