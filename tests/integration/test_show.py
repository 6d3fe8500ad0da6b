# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump show PID` against real targets, every value checked against the target's
own truth (/proc, its ready line, the environment we gave it) through jq."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TRACEDUMP, TARGETS, jq

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
ODD_COMM = "pt (x)\nodd"
ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
ENV = {
    b"PATH": b"/usr/bin:/bin",
    b"TD_KNOWN": b"hello world",
    b"TD_LATIN1": b"caf\xe9",         # not UTF-8
    b"TD_UTF8": "h\u00e9\u4e2d".encode(),
    b"TD_EMPTY": b"",
    b"TD_EQ": b"a=b=c",
    b"TD_NEWLINE": b"two\nlines",
}


def wait_zombie(pid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] == "Z":
            return
        time.sleep(0.01)
    pytest.fail(f"{pid} did not become a zombie")


def href(pid):
    return f"/api/processes/{pid}"


def proctree(target, *args, **kw):
    t = target("proctree", *args, **kw)
    t.root, t.child1, t.grand1, t.child2, t.grand2 = map(int, t.ready_line.split()[1:6])
    # It prints its ready line just before it sleeps: wait for the sleep.
    for _ in range(500):
        if Path(f"/proc/{t.pid}/stat").read_text().split(") ")[-1][0] == "S":
            break
        time.sleep(0.01)
    return t


def test_show_matches_target(td, target):
    t = proctree(target, f"comm={ODD_COMM}", env=ENV)
    r = td("show", t.pid)
    assert r.rc == 0, r
    assert r.stderr == ""
    assert r.jq(".id") == t.pid
    assert r.jq(".name") == ODD_COMM
    assert r.jq(".href") == href(t.pid)
    assert r.jq(".minidump") == href(t.pid) + "/dump"
    assert r.jq(".parent") == href(os.getpid())
    assert r.jq(".ppid") == os.getpid()
    assert r.jq(".children") == [href(t.child1), href(t.child2)]
    assert r.jq(".file_name") == str(TARGETS / "proctree")
    assert r.jq(".command_line") == f"{TARGETS / 'proctree'} comm={ODD_COMM}"
    assert r.jq(".arguments") == [str(TARGETS / "proctree"), f"comm={ODD_COMM}"]
    assert r.jq("[.user_name, .user_id]") == ["root", 0]
    # Handles: what /proc/PID/fd holds, /dev/zero as fd 42 among them.
    fds = sorted(int(x) for x in os.listdir(f"/proc/{t.pid}/fd"))
    assert r.jq(".handle_count") == len(fds)
    assert r.jq(".open_file_handles") == [os.readlink(f"/proc/{t.pid}/fd/{fd}") for fd in fds]
    assert "/dev/zero" in r.jq(".open_file_handles")
    # Modules: the same count `modules` lists.
    assert r.jq(".module_count") == td("modules", t.pid).jq("length")
    # Threads: 3, and their hrefs are /proc/PID/task.
    tids = sorted(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    assert len(tids) == 3
    assert r.jq(".thread_count") == 3
    assert r.jq(".threads") == [f"{href(t.pid)}/threads/{tid}" for tid in tids]
    # Environment: exactly what we gave, non-UTF-8 bytes as \xNN.
    assert r.jq(".environment_variables") == {
        "PATH": "/usr/bin:/bin", "TD_KNOWN": "hello world", "TD_LATIN1": "caf\\xe9",
        "TD_UTF8": "h\u00e9\u4e2d", "TD_EMPTY": "", "TD_EQ": "a=b=c",
        "TD_NEWLINE": "two\nlines"}
    # Times, memory, flags.
    assert re.match(ISO, r.jq(".start_time")) and re.match(ISO, r.jq(".time_stamp"))
    assert r.jq(".start_time") <= r.jq(".time_stamp")
    assert r.jq("[.total_cpu_time, .user_cpu_time, .privileged_cpu_time] | map(type)") == \
        ["number"] * 3
    assert r.jq("(.total_cpu_time - .user_cpu_time - .privileged_cpu_time) | fabs < 1e-6")
    status = Path(f"/proc/{t.pid}/status").read_text()
    kb = {k: int(v.split()[0]) * 1024 for k, v in re.findall(r"^(Vm\w+):\s+(.*)$", status, re.M)}
    assert r.jq(".virtual_memory") == kb["VmSize"]
    assert r.jq(".peak_virtual_memory") == kb["VmPeak"]
    assert r.jq(".peak_working_set") >= r.jq(".working_set") > 0
    assert 0 < r.jq(".private_memory") <= r.jq(".working_set")
    assert r.jq("[.is_self, .is_scm_site, .is_kernel_thread]") == [False, False, False]
    # Linux extras.
    assert r.jq("[.state, .nice, .priority]") == ["sleeping", 0, 20]
    assert r.jq(".cgroup | type") == "string"
    ns = os.readlink(f"/proc/{t.pid}/ns/pid")
    assert r.jq(".pid_namespace") == int(re.match(r"pid:\[(\d+)\]", ns).group(1))
    assert r.jq("[.pid_in_namespace, .pid_namespace_level]") == [t.pid, 0]
    assert r.jq(".oom_score") == int(Path(f"/proc/{t.pid}/oom_score").read_text())
    assert r.jq(".io | keys") == sorted(["read_bytes", "write_bytes", "cancelled_write_bytes",
                                         "rchar", "wchar", "syscr", "syscw"])
    assert r.jq(".context_switches | [.voluntary, .involuntary] | map(type)") == \
        ["number", "number"]
    assert r.jq(".context_switches.voluntary") >= 3  # each thread slept at least once
    assert r.jq(".cpu_percent | type") == "number"
    assert r.jq(".unreadable_fields") == {}


def test_show_child_and_grandchild(td, target):
    t = proctree(target)
    r = td("show", t.child1)
    assert r.rc == 0, r
    assert r.jq("[.name, .parent, .children, .thread_count]") == \
        ["pt-child-1", href(t.pid), [href(t.grand1)], 1]
    r = td("show", t.grand2, "--interval", "0")
    assert r.jq("[.name, .parent, .children, .cpu_percent]") == \
        ["pt-grand-2", href(t.child2), [], None]


def test_show_self(td):
    r = td("show", "0")
    assert r.rc == 0, r
    assert r.jq("[.is_self, .is_scm_site]") == [True, True]
    assert r.jq(".file_name") == str(TRACEDUMP)
    assert r.jq(".parent") == href(os.getpid())
    assert r.jq(".arguments[1:]") == ["show", "0"]
    # The fd show reads its own /proc/self/fd with is not reported.
    assert not any("/fd" in f for f in r.jq(".open_file_handles"))


def test_show_kernel_thread(td):
    r = td("show", 2)
    assert r.rc == 0, r
    assert r.jq("[.is_kernel_thread, .file_name, .environment_variables, .module_count, "
                ".command_line, .working_set, .virtual_memory]") == \
        [True, None, None, None, None, None, None]
    assert r.jq(".name") == "kthreadd"
    assert r.jq(".unreadable_fields") == {}


def test_show_zombie(td):
    z = subprocess.Popen(["true"])
    try:
        wait_zombie(z.pid)
        r = td("show", z.pid)
        assert r.rc == 0, r
        assert r.jq("[.state, .file_name, .environment_variables, .module_count, "
                    ".working_set, .parent]") == \
            ["zombie", None, None, None, None, href(os.getpid())]
        assert r.jq(".unreadable_fields") == {}
    finally:
        z.wait()


def test_cpu_percent_of_a_busy_process(td):
    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        r = td("show", busy.pid, "--interval", "300ms")
        assert r.rc == 0, r
        # A spinning shell on a shared 2-core host: well above idle, at most one CPU.
        assert 10 < r.jq(".cpu_percent") <= 105
        idle = subprocess.Popen(["sleep", "30"])
        try:
            assert td("show", idle.pid, "--interval", "200ms").jq(".cpu_percent") < 5
        finally:
            idle.kill()
            idle.wait()
    finally:
        busy.kill()
        busy.wait()


def test_permission_denied_fields_are_null(td, target):
    """As nobody, against a root-owned process: the fields the kernel refuses are null
    and named, with one warning; the rest is there and the command succeeds."""
    t = proctree(target, env=ENV)
    r = subprocess.run(NOBODY + [str(TRACEDUMP), "show", str(t.pid)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r
    out = jq(r.stdout, ".")
    for field in ("environment_variables", "file_name", "handle_count", "open_file_handles",
                  "module_count", "io", "pid_namespace"):
        assert out[field] is None, field
        assert out["unreadable_fields"][field] == "Permission denied", field
    assert out["name"] == "proctree" and out["thread_count"] == 3
    assert out["children"] == [href(t.child1), href(t.child2)]
    assert out["command_line"] == str(TARGETS / "proctree")
    assert out["user_name"] == "root" and out["working_set"] > 0
    assert "warning" in r.stderr and "environment_variables (Permission denied)" in r.stderr


@pytest.mark.skipif(not os.access("/sys/fs/cgroup/unified", os.W_OK)
                    and not os.access("/sys/fs/cgroup/cgroup.procs", os.W_OK),
                    reason="no writable cgroup2 hierarchy to make a container-like cgroup")
def test_container_id_from_cgroup(td, target):
    root = Path("/sys/fs/cgroup/unified")
    if not root.is_dir():
        root = Path("/sys/fs/cgroup")
    cid = "0123456789abcdef" * 4
    cg = root / f"docker-{cid}.scope"
    cg.mkdir(exist_ok=True)
    t = proctree(target)
    try:
        (cg / "cgroup.procs").write_text(str(t.pid))
        r = td("show", t.pid)
        assert r.rc == 0, r
        assert r.jq("[.container_id, .container_runtime]") == [cid, "docker"]
        assert r.jq(".cgroup") == f"/docker-{cid}.scope"
    finally:
        t.stop()
        for _ in range(100):
            try:
                cg.rmdir()
                break
            except OSError:
                time.sleep(0.05)


@pytest.mark.parametrize("args,code", [
    (("show", "abc"), 2),
    (("show", "--", "-1"), 2),
    (("show", "12x"), 2),
    (("show",), 2),
    (("show", "1", "2"), 2),
    (("show", "1", "--interval", "fast"), 2),
    (("show", "1", "--interval", "2h"), 2),
    (("show", "999999999"), 3),
])
def test_bad_input(td, args, code):
    r = td(*args)
    assert r.rc == code, r
    assert r.stdout == ""


def test_errors_are_json(td, target):
    r = td("show", "999999999")
    assert r.error() == {"error": "process 999999999 not found", "exit_code": 3}
    t = target("demo", 1)
    worker = max(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    r = td("show", worker)
    assert r.rc == 3 and f"thread of process {t.pid}" in r.error()["error"]


def test_process_gone(td, target):
    t = target("demo", 1)
    t.stop()
    assert td("show", t.pid).rc == 3


def test_short_lived_processes_never_break(td):
    seen = set()
    for i in range(15):
        p = subprocess.Popen(["sleep", "0.0%d" % (i % 5)])
        try:
            r = td("show", p.pid, "--interval", "20ms")
            assert r.rc in (0, 3), r
            if r.rc == 0:
                assert r.jq(".id") == p.pid
            else:
                assert r.stdout == "" and r.error()["exit_code"] == 3
            seen.add(r.rc)
        finally:
            p.wait()
    assert 0 in seen


def test_table(td, target):
    t = proctree(target, env=ENV)
    r = td("show", t.pid, "--table")
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert any(re.match(rf"^id\s+{t.pid}$", l) for l in lines)
    assert any(re.match(r"^\s+TD_KNOWN=hello world$", l) for l in lines)
    assert any(re.match(r"^\s+TD_NEWLINE=two\?lines$", l) for l in lines)
    r = td("show", "--help")
    assert r.rc == 0 and "Examples:" in r.stdout and "--interval" in r.stdout


def test_pid1_handles_as_the_kernel_allows(td):
    """On hosts where an LSM or a user namespace lets root list /proc/1/fd but not read
    its links (this one, for one), handle_count still counts and open_file_handles is
    null and named; where both are allowed, both are there."""
    try:
        fds = os.listdir("/proc/1/fd")
    except PermissionError:
        pytest.skip("/proc/1/fd cannot be listed here")
    try:
        os.readlink(f"/proc/1/fd/{fds[0]}")
        links_ok = True
    except PermissionError:
        links_ok = False
    r = td("show", 1, "--interval", "0")
    assert r.rc == 0, r
    assert abs(r.jq(".handle_count") - len(fds)) <= 2  # PID 1 may open or close one
    if links_ok:
        assert r.jq(".open_file_handles | length") == r.jq(".handle_count")
    else:
        assert r.jq(".open_file_handles") is None
        assert r.jq(".unreadable_fields.open_file_handles") == "Permission denied"


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) missing")
def test_pid_namespace(td):
    """A process in its own PID namespace (as in a container) is PID 1 inside it."""
    u = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "sleep", "30"])
    try:
        child = None
        for _ in range(500):
            kids = td("show", u.pid, "--interval", "0").jq(".children")
            if kids:
                child = int(kids[0].rsplit("/", 1)[1])
                if Path(f"/proc/{child}/comm").read_text() == "sleep\n":
                    break
            time.sleep(0.01)
        assert child
        r = td("show", child, "--interval", "0")
        assert r.rc == 0, r
        inode = int(re.match(r"pid:\[(\d+)\]", os.readlink(f"/proc/{child}/ns/pid")).group(1))
        host = int(re.match(r"pid:\[(\d+)\]", os.readlink("/proc/self/ns/pid")).group(1))
        assert inode != host
        assert r.jq("[.pid_namespace, .pid_in_namespace, .pid_namespace_level]") == \
            [inode, 1, 1]
        assert r.jq(".id") == child and r.jq(".parent") == href(u.pid)
    finally:
        u.kill()
        u.wait()
