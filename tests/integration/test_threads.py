# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump threads PID` / `tracedump thread PID TID` against real targets, checked
against /proc."""
import os
import subprocess
import time
from pathlib import Path

import pytest

def wait_zombie(pid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z":
            return
        time.sleep(0.01)
    pytest.fail(f"{pid} did not become a zombie")


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def proc_tasks(pid):
    """{tid: comm} straight from /proc."""
    out = {}
    for d in Path(f"/proc/{pid}/task").iterdir():
        out[int(d.name)] = (d / "comm").read_bytes()[:-1].decode("utf-8", "surrogateescape")
    return out


def test_threads_match_proc(td, target):
    t = target("demo", 4)
    r = td("threads", t.pid)
    assert r.rc == 0, r
    ids = r.jq("[.[].id]")
    assert ids == sorted(ids)
    truth = proc_tasks(t.pid)
    assert r.jq("map({key: (.id | tostring), value: .name}) | from_entries") == \
        {str(k): v for k, v in truth.items()}
    assert sorted(r.jq("[.[].name]")) == ["demo"] + [f"worker-{i}" for i in range(1, 5)]
    main = r.jq(f".[] | select(.id == {t.pid})")
    assert main["is_main_thread"] is True
    assert main["href"] == f"/api/processes/{t.pid}/threads/{t.pid}"
    assert main["process"] == f"/api/processes/{t.pid}"
    # Every thread of the demo sleeps in usleep, waking each 10 ms: a snapshot may
    # catch one awake, so look a few times for one where all sleep.
    for _ in range(50):
        s = td("threads", t.pid)
        if s.jq("map([.state, .wait_reason]) | unique") == \
                [["sleeping", "hrtimer_nanosleep"]]:
            break
    else:
        pytest.fail(f"threads never all seen sleeping in hrtimer_nanosleep: {s}")
    # Types and units.
    assert r.jq("map(.total_processor_time | type) | unique") == ["number"]
    assert r.jq("all(.[]; (.total_processor_time - .user_processor_time - "
                ".privileged_processor_time | fabs) < 1e-6)") is True
    assert r.jq("all(.[]; .context_switches.voluntary > 0 and "
                "(.context_switches.involuntary | type) == \"number\")") is True
    assert r.jq("map(.start_time | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$\")) | all")
    assert r.jq("map(.current_priority == 20 and .base_priority == 20 and "
                ".policy == \"SCHED_OTHER\") | all") is True
    # last_cpu is a CPU of this machine.
    assert r.jq(f"all(.[]; .last_cpu >= 0 and .last_cpu < {os.cpu_count()})") is True


def test_start_time_and_cpu_against_proc(td, target):
    t = target("demo", 1)
    r = td("thread", t.pid, t.pid)
    assert r.rc == 0, r
    stat = Path(f"/proc/{t.pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    hz = os.sysconf("SC_CLK_TCK")
    utime, stime, starttime = int(fields[11]), int(fields[12]), int(fields[19])
    # The thread keeps running between the two reads: allow a few ticks.
    assert abs(r.jq(".user_processor_time") - utime / hz) <= 5 / hz
    assert abs(r.jq(".privileged_processor_time") - stime / hz) <= 5 / hz
    btime = next(int(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime"))
    want = btime + starttime / hz
    got = r.jq(".start_time | sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdate")
    assert abs(got - int(want)) <= 1


def test_thread_detail_and_not_a_thread(td, target):
    t = target("demo", 2)
    other = target("demo", 1)
    tids = sorted(proc_tasks(t.pid))
    worker = tids[-1]
    r = td("thread", t.pid, worker)
    assert r.rc == 0, r
    assert r.jq(".id") == worker
    assert r.jq(".name") == proc_tasks(t.pid)[worker]
    assert r.jq(".href") == f"/api/processes/{t.pid}/threads/{worker}"
    assert r.jq(".is_main_thread") is False
    # A TID of another process is not a thread of this one.
    r = td("thread", t.pid, other.pid)
    assert r.rc == 3, r
    assert "not a thread of process" in r.error()["error"]
    # A worker TID is not a process.
    r = td("threads", worker)
    assert r.rc == 3, r
    assert r.error()["exit_code"] == 3


@pytest.mark.parametrize("args,code", [
    (("threads", "abc"), 2),
    (("threads", "12x"), 2),
    (("threads", "--", "-5"), 2),
    (("threads", "99999999999"), 2),
    (("threads",), 2),
    (("threads", "1", "2"), 2),
    (("thread", "1"), 2),
    (("thread", "1", "zz"), 2),
    (("thread", "1", "0"), 2),
    (("threads", "999999999"), 3),
    (("thread", "999999999", "1"), 3),
])
def test_bad_input(td, args, code):
    r = td(*args)
    assert r.rc == code, r
    assert r.stdout == ""
    if code != 2 or "abc" in args or "zz" in args:
        err = r.error()
        assert err["exit_code"] == code and err["error"]


def test_self_zombie_kernel_thread(td):
    # PID 0 is tracedump itself.
    r = td("threads", "0")
    assert r.rc == 0, r
    assert r.jq(".[0].name") == "tracedump"
    assert r.jq(".[0].is_main_thread") is True
    # kthreadd: a kernel thread has one thread and no user memory.
    r = td("threads", 2)
    assert r.rc == 0, r
    assert r.jq("length") == 1 and r.jq(".[0].name") == "kthreadd"
    # A zombie: still listed, in state zombie.
    z = subprocess.Popen(["true"])
    try:
        wait_zombie(z.pid)
        r = td("threads", z.pid)
        assert r.rc == 0, r
        assert r.jq(".[0].state") == "zombie"
        assert r.jq(".[0].state_code") == "Z"
    finally:
        z.wait()


def test_odd_thread_name(td, target):
    t = target("modlib")
    r = td("threads", t.pid)
    assert r.rc == 0, r
    names = r.jq("[.[].name]")
    assert "odd) (na\nme x" in names
    assert sorted(names) == sorted(proc_tasks(t.pid).values())
    # The table stays one line per thread.
    r = td("threads", t.pid, "--table")
    assert r.rc == 0, r
    assert len(r.stdout.strip().splitlines()) == 1 + len(names)


def test_threads_churn_never_breaks(td, target):
    """Threads come and go while we read: always valid JSON, never an error."""
    t = target("modlib", "churn")
    for _ in range(30):
        r = td("threads", t.pid)
        assert r.rc == 0, r
        # The long-lived threads are always there, each once; ids stay unique.
        assert r.jq("map(select(.name == \"odd) (na\\nme x\")) | length") == 1
        assert r.jq(f"map(select(.id == {t.pid})) | length") == 1
        assert r.jq("(map(.id) | unique | length) == length") is True


def test_as_unprivileged_user(td, target):
    t = target("demo", 1)
    r = subprocess.run(NOBODY + [str(Path(__file__).resolve().parents[2] / "build" /
                                     "tracedump"), "threads", str(t.pid)],
                       capture_output=True, text=True, timeout=30)
    # stat and status are world-readable; the wait channel is hidden from others.
    assert r.returncode == 0, r.stderr
    from conftest import jq
    assert jq(r.stdout, "length") == 2
    assert jq(r.stdout, "map(.wait_reason) | unique") == [None]


def test_process_exits(td, target):
    t = target("demo", 1)
    t.stop()
    r = td("threads", t.pid)
    assert r.rc == 3, r
    assert r.error()["exit_code"] == 3


@pytest.mark.parametrize("cmd", ["threads", "thread", "modules", "module"])
def test_help_has_examples(td, cmd):
    r = td(cmd, "--help")
    assert r.rc == 0, r
    assert "Examples:" in r.stdout and f"tracedump {cmd} 1234" in r.stdout
    assert "Exit status" in r.stdout


def test_thread_table(td, target):
    t = target("demo", 1)
    r = td("thread", t.pid, t.pid, "--table")
    assert r.rc == 0, r
    header, row = r.stdout.splitlines()
    assert header.split()[:3] == ["TID", "NAME", "STATE"]
    assert row.split()[:2] == [str(t.pid), "demo"]
