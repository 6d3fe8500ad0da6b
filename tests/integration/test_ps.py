# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump ps` against real targets, checked against /proc through jq."""
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TRACEDUMP, TARGETS, jq

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
ODD_COMM = "pt (x)\nodd"
PAGE = os.sysconf("SC_PAGE_SIZE")
HZ = os.sysconf("SC_CLK_TCK")
STATES = {"R": "running", "S": "sleeping", "D": "disk_sleep", "T": "stopped",
          "t": "tracing_stop", "Z": "zombie", "I": "idle"}


def proc_stat(pid):
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    comm = raw[raw.index(b"(") + 1:raw.rindex(b")")]
    rest = raw[raw.rindex(b")") + 2:].split()
    return {"name": comm.decode("utf-8", "surrogateescape"), "state": rest[0].decode(),
            "ppid": int(rest[1]), "rss": int(rest[21]), "ticks": int(rest[11]) + int(rest[12])}


def wait_sleeping(pid):
    """The target prints its ready line just before it sleeps: wait for the sleep."""
    for _ in range(500):
        if proc_stat(pid)["state"] == "S":
            return
        time.sleep(0.01)
    pytest.fail(f"{pid} never slept")


def proctree(target, *args, **kw):
    t = target("proctree", *args, **kw)
    t.tree = list(map(int, t.ready_line.split()[1:6]))
    wait_sleeping(t.pid)
    return t


# Killed trees of earlier tests may linger as zombies until init reaps them.
LIVE_IDS = '[.[] | select(.state != "zombie") | .id]'


def start_as_nobody(*args):
    """proctree run as nobody via setpriv (which execs it: same pid)."""
    p = subprocess.Popen(NOBODY + [str(TARGETS / "proctree"), *args], stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
    line = p.stdout.readline()
    assert line.startswith("ready"), line
    return p, list(map(int, line.split()[1:6]))


def stop(p):
    os.killpg(p.pid, 9)
    p.wait()


def test_ps_lists_every_process(td, target):
    t = proctree(target, f"comm={ODD_COMM}")
    before = {int(d) for d in os.listdir("/proc") if d.isdigit()}
    r = td("ps")
    after = {int(d) for d in os.listdir("/proc") if d.isdigit()}
    assert r.rc == 0, r
    ids = r.jq("[.[].id]")
    assert ids == sorted(ids)
    # Everything alive before and after is listed (other processes may come and go).
    assert before & after <= set(ids)
    assert len(ids) == len(set(ids)) and min(ids) == 1
    assert r.jq("map(keys) | unique") == [sorted(
        ["id", "name", "href", "user_name", "user_id", "ppid", "state", "command_line",
         "working_set", "total_cpu_time"])]
    root = r.jq(".[] | select(.id == $p)", "--argjson", "p", str(t.pid))
    st = proc_stat(t.pid)
    assert root["name"] == ODD_COMM == st["name"]
    assert root["href"] == f"/api/processes/{t.pid}"
    assert root["ppid"] == os.getpid()
    assert root["user_name"] == "root" and root["user_id"] == 0
    assert root["state"] == "sleeping"
    assert root["command_line"] == f"{TARGETS / 'proctree'} comm={ODD_COMM}"
    assert root["working_set"] == st["rss"] * PAGE
    assert abs(root["total_cpu_time"] - st["ticks"] / HZ) < 0.05
    # The tree's parents as /proc says.
    ppids = r.jq("map({key: (.id | tostring), value: .ppid}) | from_entries")
    assert [ppids[str(p)] for p in t.tree[1:]] == [t.tree[0], t.tree[1], t.tree[0], t.tree[3]]
    # Kernel threads: no command line.
    assert r.jq(".[] | select(.id == 2) | [.name, .command_line, .working_set]") == \
        ["kthreadd", None, 0]


def test_ps_name_filter(td, target):
    t = proctree(target, f"comm={ODD_COMM}")
    r = td("ps", "--name", ODD_COMM)
    assert r.rc == 0, r
    assert r.jq(LIVE_IDS) == [t.pid]
    # argv[0]'s basename matches the forked children too (they keep the root's argv).
    r = td("ps", "--name", "proctree")
    assert r.jq(LIVE_IDS) == sorted(t.tree)
    assert td("ps", "--name", "pt-child-2").jq(LIVE_IDS) == [t.tree[3]]
    assert td("ps", "--name", "no-such-process-name").jq(".") == []
    assert td("ps", "--name", "proc").jq(".") == []  # exact, not a prefix


def test_ps_name_of_a_long_executable(td, tmp_path):
    """comm is cut to 15 bytes and argv[0] says something else: the exe's name matches."""
    exe = tmp_path / "a-very-long-executable-name"
    shutil.copy(TARGETS / "proctree", exe)
    p = subprocess.Popen(["renamed-argv0"], executable=str(exe), stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        assert p.stdout.readline().startswith("ready")
        r = td("ps", "--name", exe.name)
        assert r.rc == 0, r
        assert r.jq(LIVE_IDS) == [p.pid]
        assert r.jq(".[0].name") == exe.name[:15]
        assert td("ps", "--name", exe.name[:15]).jq(LIVE_IDS) == [p.pid]
        assert td("ps", "--name", exe.name + "x").jq(LIVE_IDS) == []
    finally:
        stop(p)


def test_ps_user_filter_and_non_dumpable(td):
    p, tree = start_as_nobody()
    q, tree2 = start_as_nobody("nodump")
    try:
        # A non-dumpable process's /proc files are root's; its user is still nobody.
        assert os.stat(f"/proc/{q.pid}/status").st_uid == 0
        for user in ("nobody", "65534"):
            r = td("ps", "--user", user)
            assert r.rc == 0, r
            assert set(tree + tree2) <= set(r.jq("[.[].id]"))
            assert r.jq("map(.user_name) | unique") == ["nobody"]
            assert r.jq("map(.user_id) | unique") == [65534]
        r = td("ps", "--user", "root")
        assert not set(tree + tree2) & set(r.jq("[.[].id]"))
        assert r.jq("map(.user_id) | unique") == [0]
        r = td("ps", "--user", "nobody", "--name", "proctree")
        assert r.jq(LIVE_IDS) == sorted(tree + tree2)
    finally:
        stop(p)
        stop(q)


def test_ps_uid_without_name(td):
    uid = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    p = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                          "sleep", "30"])
    try:
        for _ in range(500):
            if Path(f"/proc/{p.pid}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.01)
        r = td("ps", "--user", str(uid))
        assert r.rc == 0, r
        assert r.jq(".[] | [.id, .user_name, .user_id]") == [p.pid, None, uid]
    finally:
        p.kill()
        p.wait()


def test_ps_non_utf8_command_line(td):
    p = subprocess.Popen([str(TARGETS / "proctree"), b"caf\xe9", b"a\nb"],
                         stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert p.stdout.readline().startswith(b"ready")
        r = td("ps", "--name", "proctree")
        row = r.jq(".[] | select(.id == $p)", "--argjson", "p", str(p.pid))
        assert row["command_line"] == f"{TARGETS / 'proctree'} caf\\xe9 a\nb"
    finally:
        stop(p)


def test_ps_as_nobody(td, target):
    t = proctree(target)
    r = subprocess.run(NOBODY + [str(TRACEDUMP), "ps"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r
    row = jq(r.stdout, ".[] | select(.id == $p)", "--argjson", "p", str(t.pid))
    assert row["user_name"] == "root" and row["command_line"] == str(TARGETS / "proctree")


@pytest.mark.parametrize("args", [("ps", "--user", "no-such-user-xyz"), ("ps", "--user", ""),
                                  ("ps", "extra"), ("ps", "--name", ""), ("ps", "--bogus")])
def test_bad_input(td, args):
    r = td(*args)
    assert r.rc == 2, r
    assert r.stdout == ""


def test_unknown_user_error_is_json(td):
    r = td("ps", "--user", "no-such-user-xyz")
    assert r.error() == {"error": "invalid --user 'no-such-user-xyz': no such user (give a "
                                  "user name or a numeric uid)", "exit_code": 2}


def test_processes_coming_and_going(td):
    """Processes exiting during the listing never break it."""
    churn = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
    try:
        for _ in range(5):
            r = td("ps")
            assert r.rc == 0, r
            assert r.jq("length") > 10
    finally:
        churn.kill()
        churn.wait()


def test_table(td, target):
    t = proctree(target, f"comm={ODD_COMM}")
    r = td("ps", "--table", "--name", ODD_COMM)
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["PID", "PPID", "USER", "STATE", "RSS_KB", "CPU_S", "NAME",
                                "COMMAND"]
    assert len(lines) == 2 and lines[1].split()[:4] == [str(t.pid), str(os.getpid()), "root",
                                                        "sleeping"]
    assert "pt (x)?odd" in lines[1]
    r = td("ps", "--help")
    assert r.rc == 0 and "--user" in r.stdout and "Examples:" in r.stdout
