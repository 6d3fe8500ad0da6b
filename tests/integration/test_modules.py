# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump modules PID` / `tracedump module PID BASE` against real targets, checked
against /proc/PID/maps and readelf."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TRACEDUMP, TARGETS, jq

def wait_zombie(pid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z":
            return
        time.sleep(0.01)
    pytest.fail(f"{pid} did not become a zombie")


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def readelf_build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def maps_of(pid):
    """[(start, end, offset, perms, path)] of the file-backed lines of /proc/PID/maps."""
    rows = []
    for line in Path(f"/proc/{pid}/maps").read_bytes().splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith(b"/"):
            continue
        start, end = (int(x, 16) for x in parts[0].split(b"-"))
        rows.append((start, end, int(parts[2], 16), parts[1].decode(),
                     os.fsdecode(parts[5])))
    return rows


def libc_path(pid):
    return next(p for *_, p in maps_of(pid) if re.search(r"/libc\.so\.6$", p))


def test_modules_match_maps_and_readelf(td, target):
    t = target("modlib")
    zlib_version = t.ready_line.split()[2]
    r = td("modules", t.pid)
    assert r.rc == 0, r
    maps = maps_of(t.pid)
    paths = {p for *_, p in maps}
    # One module per mapped file (none is mapped twice here), plus the vDSO.
    assert sorted(r.jq('[.[] | select(.kind == "file") | .file_path]')) == sorted(paths)
    assert r.jq('[.[] | select(.kind == "vdso")] | length') == 1
    bases = r.jq("[.[].base_address]")
    assert bases == sorted(bases, key=lambda b: int(b, 16))
    for path in paths:
        mod = r.jq(".[] | select(.file_path == $p)", "--arg", "p", path)
        mine = [m for m in maps if m[4] == path]
        assert mod["base_address"] == hex(min(m[0] for m in mine))
        assert mod["module_memory_size"] == sum(m[1] - m[0] for m in mine)
        assert [(int(x["address"], 16), int(x["end_address"], 16), x["offset"],
                 x["permissions"]) for x in mod["mappings"]] == \
            [(m[0], m[1], m[2], m[3]) for m in mine]
        assert all(x["size"] == int(x["end_address"], 16) - int(x["address"], 16)
                   for x in mod["mappings"])
        assert mod["file_name"] == os.path.basename(path)
        assert mod["href"] == f"/api/processes/{t.pid}/modules/{mod['base_address']}"
        assert mod["is_deleted"] is False
        assert mod["build_id"] == readelf_build_id(path), path
    # The executable, libc, libm and the dlopen()ed libz with their versions.
    exe = r.jq(".[0]")
    assert exe["file_path"] == str(TARGETS / "modlib")
    assert exe["file_version"] is None and exe["soname"] is None
    libc = r.jq(".[] | select(.file_path == $p)", "--arg", "p", libc_path(t.pid))
    assert libc["soname"] == "libc.so.6" and libc["file_version"] == "6"
    libz = r.jq('.[] | select(.file_name | startswith("libz.so"))')
    assert libz["soname"] == "libz.so.1"
    assert libz["file_version"] == zlib_version
    assert r.jq('[.[] | select(.file_name == "libm.so.6")] | length') == 1
    vdso = r.jq('.[] | select(.kind == "vdso")')
    assert vdso["file_name"] == "[vdso]" and vdso["soname"] == "linux-vdso.so.1"
    assert re.fullmatch(r"[0-9a-f]{40}", vdso["build_id"])


def test_module_detail_hex_and_decimal(td, target):
    t = target("demo", 1)
    r = td("modules", t.pid)
    assert r.rc == 0, r
    libc = r.jq(".[] | select(.file_path == $p)", "--arg", "p", libc_path(t.pid))
    base = libc["base_address"]
    for arg in (base, str(int(base, 16)), base.upper().replace("0X", "0x")):
        d = td("module", t.pid, arg)
        assert d.rc == 0, d
        assert d.jq(".") == libc
    # A mapping that is not a module's base, and an address nothing maps.
    second = libc["mappings"][1]["address"]
    for arg in (second, "0x1000", "0"):
        d = td("module", t.pid, arg)
        assert d.rc == 3, d
        assert "no module based at" in d.error()["error"]
    d = td("module", t.pid, base, "--table")
    assert d.rc == 0 and "r-xp" in d.stdout and base in d.stdout, d


def test_deleted_executable(td, target, tmp_path):
    copy = tmp_path / "demo-deleted"
    shutil.copy2(TARGETS / "demo", copy)
    t = target(str(copy), 1)
    copy.unlink()
    r = td("modules", t.pid)
    assert r.rc == 0, r
    exe = r.jq(".[0]")
    assert exe["is_deleted"] is True
    assert exe["file_path"] == str(copy)
    assert exe["file_name"] == "demo-deleted"
    # Read through /proc/PID/map_files: the deleted file still gives its build-id.
    assert exe["build_id"] == readelf_build_id(TARGETS / "demo")


def test_non_utf8_path(td, target, tmp_path):
    d = os.path.join(os.fsencode(tmp_path), b"dir-\xff\xfe")
    os.mkdir(d)
    exe = os.path.join(d, b"demo")
    shutil.copy2(TARGETS / "demo", exe)
    t = target(os.fsdecode(exe), 1)
    r = td("modules", t.pid)
    assert r.rc == 0, r
    # Bytes that are not UTF-8 become the text \xNN (docs/json.md).
    assert r.jq(".[0].file_path") == str(tmp_path) + "/dir-\\xff\\xfe/demo"
    assert r.jq(".[0].build_id") == readelf_build_id(TARGETS / "demo")


def test_self_kernel_thread_zombie(td):
    r = td("modules", "0")
    assert r.rc == 0, r
    assert r.jq(".[0].file_path") == str(TRACEDUMP)
    assert r.jq(".[0].build_id") == readelf_build_id(TRACEDUMP)
    # A kernel thread has no modules: an empty list, not an error.
    r = td("modules", 2)
    assert r.rc == 0, r
    assert r.jq(".") == []
    z = subprocess.Popen(["true"])
    try:
        wait_zombie(z.pid)
        r = td("modules", z.pid)
        assert r.rc == 0, r
        assert r.jq(".") == []
    finally:
        z.wait()


@pytest.mark.parametrize("args,code", [
    (("modules", "abc"), 2),
    (("modules", "--", "-1"), 2),
    (("modules",), 2),
    (("module", "1"), 2),
    (("module", "1", "zz"), 2),
    (("module", "1", "0xzz"), 2),
    (("module", "1", "0x"), 2),
    (("module", "1", "12abc"), 2),
    (("module", "1", "0x1ffffffffffffffff"), 2),
    (("modules", "999999999"), 3),
    (("module", "999999999", "0x1000"), 3),
])
def test_bad_input(td, args, code):
    r = td(*args)
    assert r.rc == code, r
    assert r.stdout == ""


def test_errors_are_json(td):
    r = td("module", "1", "zz")
    assert r.error() == {"error": r.error()["error"], "exit_code": 2}
    assert "invalid BASE 'zz'" in r.error()["error"]
    r = td("modules", "999999999")
    assert r.error()["exit_code"] == 3
    assert "process 999999999 not found" in r.error()["error"]


def test_thread_id_is_not_a_process(td, target):
    t = target("demo", 1)
    worker = max(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    r = td("modules", worker)
    assert r.rc == 3, r


def test_permission_denied(td, target):
    t = target("demo", 1)
    r = subprocess.run(NOBODY + [str(TRACEDUMP), "modules", str(t.pid)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 4, r
    assert r.stdout == ""
    err = jq(r.stderr.strip(), ".")
    assert err["exit_code"] == 4 and "Permission denied" in err["error"]


def test_process_exits(td, target):
    t = target("demo", 1)
    t.stop()
    r = td("modules", t.pid)
    assert r.rc == 3, r


def test_short_lived_processes_never_break(td):
    """Processes that exit around the read: ok or not found, always valid JSON."""
    seen = set()
    for i in range(20):
        p = subprocess.Popen(["sleep", "0.0%d" % (i % 5)])
        try:
            for cmd in ("modules", "threads"):
                r = td(cmd, p.pid)
                assert r.rc in (0, 3), r
                if r.rc == 0:
                    assert isinstance(r.jq("."), list)
                else:
                    assert r.stdout == "" and r.error()["exit_code"] == 3
                seen.add(r.rc)
        finally:
            p.wait()
    assert 0 in seen


def test_file_mapped_three_times_is_three_modules(td, target):
    t = target("modlib", "twice")
    extra = sorted(int(a, 16) for a in t.ready_line.split()[3:5])
    r = td("modules", t.pid)
    assert r.rc == 0, r
    exe = r.jq('[.[] | select(.file_path == $p)]', "--arg", "p", str(TARGETS / "modlib"))
    assert len(exe) == 3
    # The loader's instance (all its segments) and the two 8 KiB mmap()s at offset 0.
    loaded = maps_of(t.pid)
    lowest = min(m[0] for m in loaded if m[4] == str(TARGETS / "modlib"))
    assert exe[0]["base_address"] == hex(lowest)
    assert len(exe[0]["mappings"]) >= 4
    assert sorted(int(m["base_address"], 16) for m in exe[1:]) == extra
    for m in exe[1:]:
        assert m["module_memory_size"] == 8192
        assert [(x["offset"], x["permissions"]) for x in m["mappings"]] == [(0, "r--p")]
        assert m["build_id"] == exe[0]["build_id"] == readelf_build_id(TARGETS / "modlib")
        d = td("module", t.pid, m["base_address"])
        assert d.rc == 0 and d.jq(".") == m, d
