# SPDX-License-Identifier: GPL-2.0-only
"""Shared fixtures: run the built tracedump, start targets from tests/targets/, and
pipe every JSON output through the real jq."""
import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
TRACEDUMP = BUILD / "tracedump"
TARGETS = BUILD / "tests" / "targets"


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def jq(self, filt=".", *args):
        """stdout through real jq; returns the parsed value of jq's output."""
        return jq(self.stdout, filt, *args)

    def error(self):
        """The JSON error object tracedump printed on stderr (checked by jq)."""
        return jq(self.stderr.strip().splitlines()[-1], ".")

    def __repr__(self):
        return f"<rc={self.rc} stdout={self.stdout[:500]!r} stderr={self.stderr[:500]!r}>"


def jq(text, filt=".", *args):
    """Runs the real jq on text; fails the test if jq rejects it."""
    p = subprocess.run(["jq", "-c", *args, filt], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, f"jq {filt!r} failed: {p.stderr}\ninput: {text[:2000]!r}"
    out = p.stdout.strip()
    lines = out.splitlines()
    if len(lines) > 1:
        return [json.loads(l) for l in lines]
    return json.loads(out) if out else None


@contextlib.contextmanager
def running(p):
    """The block's process @p (a subprocess.Popen), killed and reaped when the block
    ends with it still running (an assertion failed before it was stopped)."""
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def run_td(*args, timeout=60, env=None, input=None):
    """Runs build/tracedump; stdout is a pipe, so JSON is the default output."""
    p = subprocess.run([str(TRACEDUMP), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=env, input=input, errors="surrogateescape")
    return Result(p)


@pytest.fixture
def td():
    assert TRACEDUMP.exists(), "build/tracedump is missing: run make first"
    return run_td


class Target:
    """A running target program; it prints 'ready <pid>' when set up."""

    def __init__(self, name, *args, env=None, cwd=None, ready_timeout=20):
        path = TARGETS / name
        assert path.exists(), f"{path} is missing: run make first"
        self.proc = subprocess.Popen([str(path), *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd, executable=str(path),
                                     text=True, start_new_session=True)
        self.pid = self.proc.pid
        self.path = path
        deadline = time.time() + ready_timeout
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("ready") or not line:
                break
        assert line.startswith("ready"), f"{name} did not get ready: {line!r} " \
            f"{self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.ready_line = line.strip()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


@pytest.fixture
def target():
    """target(name, *args, env=...) starts tests/targets/<name>; all are killed after."""
    started = []

    def start(name, *args, **kw):
        t = Target(name, *args, **kw)
        started.append(t)
        return t

    yield start
    for t in started:
        t.stop()


CORE_PATTERN = "/proc/sys/kernel/core_pattern"


@pytest.fixture
def core_pattern():
    """`watch --signal` takes over the global /proc/sys/kernel/core_pattern while it runs:
    save it and put it back after the test, even on failure (a relay pattern left by a
    broken earlier run comes back as the kernel's default, "core"). Yields the saved one."""
    with open(CORE_PATTERN) as f:
        saved = f.read().strip()
    if "core-relay" in saved:
        saved = "core"
    yield saved
    with open(CORE_PATTERN, "w") as f:
        f.write(saved)
    # The route's state, unless a live watch (not one of this test's) still owns it.
    try:
        with open("/run/tracedump/core_pattern.saved") as f:
            owner = int(f.readline().split()[1])
        os.kill(owner, 0)
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        for p in ("/run/tracedump/core_pattern.saved", "/run/tracedump/core-relay.sock"):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
