# SPDX-License-Identifier: GPL-2.0-only
"""watch --cpu-total against a real cgroup with a CPU quota of half a CPU: the divisor
is the quota (not the online CPUs), named in the watching event, and the trigger fires
at the percentage of the quota."""
import os
import signal
import time

import pytest

from test_watch import watch  # noqa: F401  (the fixture)


def cgroup_mounts():
    """(v2 mount or None, v1 cpu mount or None), from /proc/self/mountinfo."""
    v2 = v1 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mnt = left.split()[4]
            fstype, _, opts = right.split()[:3]
            if fstype == "cgroup2" and v2 is None:
                v2 = mnt
            elif fstype == "cgroup" and "cpu" in opts.split(","):
                v1 = mnt
    return v2, v1


class QuotaCgroup:
    """A cgroup limited to 0.5 CPU: cgroup v2 cpu.max when the v2 hierarchy has the cpu
    controller (enabled in the parent's cgroup.subtree_control if needed), else the v1
    cpu controller's cpu.cfs_quota_us (a hybrid host, like this one). Undone on close."""

    def __init__(self):
        v2, v1 = cgroup_mounts()
        self.enabled = None
        name = f"td_quota_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        if v2 and "cpu" in open(f"{v2}/cgroup.controllers").read().split():
            self.kind = "v2"
            self.parent = v2
            ctl = f"{v2}/cgroup.subtree_control"
            if "cpu" not in open(ctl).read().split():
                with open(ctl, "w") as f:
                    f.write("+cpu")
                self.enabled = ctl
            self.path = f"{v2}/{name}"
            os.mkdir(self.path)
            with open(f"{self.path}/cpu.max", "w") as f:
                f.write("50000 100000")
            self.file = f"{self.path}/cpu.max"
        elif v1:
            self.kind = "v1"
            self.parent = v1
            self.path = f"{v1}/{name}"
            os.mkdir(self.path)
            with open(f"{self.path}/cpu.cfs_period_us", "w") as f:
                f.write("100000")
            with open(f"{self.path}/cpu.cfs_quota_us", "w") as f:
                f.write("50000")
            self.file = f"{self.path}/cpu.cfs_quota_us"
        else:
            pytest.skip("no cgroup hierarchy with the cpu controller")

    def add(self, pid):
        with open(f"{self.path}/cgroup.procs", "w") as f:
            f.write(str(pid))

    def close(self):
        # Anything left inside goes back to the root first.
        try:
            for pid in open(f"{self.path}/cgroup.procs").read().split():
                try:
                    with open(f"{self.parent}/cgroup.procs", "w") as f:
                        f.write(pid)
                except OSError:
                    pass
            for _ in range(50):
                try:
                    os.rmdir(self.path)
                    break
                except OSError:
                    time.sleep(0.1)
        finally:
            if self.enabled:
                try:
                    with open(self.enabled, "w") as f:
                        f.write("-cpu")
                except OSError:
                    pass


@pytest.fixture
def quota_cgroup():
    cg = QuotaCgroup()
    yield cg
    cg.close()


def test_cpu_total_is_of_the_cgroup_quota(watch, target, tmp_path, quota_cgroup):
    """A thread burning all it may in a 0.5-CPU cgroup is at 100% of its quota: the
    --cpu-total 60 trigger fires (60% of the quota), while the same figure over all
    CPUs is a quarter of it (2 CPUs), and a plain --cpu 70 (of one core) never fires.
    60, not more: a loaded machine may not give the thread all of its quota."""
    t = target("burner", 2500)
    quota_cgroup.add(t.pid)
    w = watch(t.pid, "--cpu", "60", "--cpu-total", "--for", "500ms", "--dry-run",
              "-o", tmp_path)
    plain = watch(t.pid, "--cpu", "70", "--for", "500ms", "--dry-run",
                  "--max-duration", "2500ms", "-o", tmp_path)
    watching = w.wait_event("watching")
    plain.wait_event("watching")
    lim = watching["cpu_total"]
    assert lim["cpus"] == pytest.approx(0.5), watching
    assert lim["path"] == quota_cgroup.file, watching
    assert lim["source"] == ("cpu.max" if quota_cgroup.kind == "v2" else "cpu.cfs_quota_us")
    os.kill(t.pid, signal.SIGUSR1)
    trig = w.wait_event("trigger")
    assert trig["trigger"] == "cpu"
    pct = trig["detail"]["cpu_percent"]
    assert 60 <= pct <= 130, trig
    assert trig["detail"]["cpu_total"]["cpus"] == pytest.approx(0.5)
    # What dividing by every online CPU would have read: below the threshold.
    raw = pct * lim["cpus"] / lim["online_cpus"]
    assert raw < 60, (raw, trig)
    assert w.finish() == 0
    # Throttled to half a core, it never reaches 70% of one.
    assert plain.finish() == 0
    assert not plain.of("trigger"), plain.events


def test_cpu_total_without_limits_is_of_online_cpus(watch, target, tmp_path):
    """Outside any quota the divisor is the online CPUs (or a tighter cpuset)."""
    t = target("burner")
    w = watch(t.pid, "--cpu", "90", "--cpu-total", "--max-duration", "300ms",
              "-o", tmp_path)
    lim = w.wait_event("watching")["cpu_total"]
    assert w.finish() == 0
    assert lim["online_cpus"] == os.cpu_count()
    assert lim["source"] in ("online_cpus", "cpuset.cpus.effective", "cpuset.effective_cpus")
    assert 0 < lim["cpus"] <= os.cpu_count()
