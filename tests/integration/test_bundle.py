# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump dump --bundle zip|tar` and `--compress zstd`: archives extracted with the
real unzip and bsdtar, moved elsewhere, and opened by real gdb (with `set sysroot`) and
eu-stack; compressed cores through the real `zstd -d`; no file left on failure."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TARGETS, TRACEDUMP, jq
from test_dump import MARKER, HEAP_PATTERN, Ticks, assert_running_free, check_backtraces

EXE = TARGETS / "dumptarget"

FORMATS = {
    "zip": (["--bundle", "zip"], ".zip", ["unzip", "-q"]),
    "tar": (["--bundle", "tar"], ".tar", ["bsdtar", "-xf"]),
    "tar.zst": (["--bundle", "tar", "--compress", "zstd"], ".tar.zst", ["bsdtar", "-xf"]),
}


def extract(archive, tool, into):
    into.mkdir()
    p = subprocess.run([*tool, str(archive)], cwd=into, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return into


def gdb_sysroot(root, exe, core, *cmds):
    args = ["gdb", "-nx", "-batch", "-ex", f"set sysroot {root}"]
    for c in cmds:
        args += ["-ex", c]
    p = subprocess.run(args + [str(exe), str(core)], capture_output=True, text=True,
                       timeout=120)
    return p.stdout + p.stderr


def shared_libraries(out):
    """Paths gdb loaded shared libraries from ("info sharedlibrary")."""
    return re.findall(r"^0x[0-9a-f]+\s+0x[0-9a-f]+\s+Yes(?: \(\*\))?\s+(\S+)$", out, re.M)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bundle_opens_in_gdb_after_moving(td, target, tmp_path, fmt):
    args, suffix, tool = FORMATS[fmt]
    t = target("dumptarget", 3, 8)
    ticks = Ticks(t)
    r = td("dump", t.pid, "-o", tmp_path, *args)
    assert r.rc == 0, r
    res = r.jq()
    archive = Path(res["path"])
    assert archive.parent == tmp_path and archive.name.endswith(f".{t.pid}{suffix}")
    assert sorted(os.listdir(tmp_path)) == [archive.name]  # no temporary file left
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert res["bundle"]["size"] == archive.stat().st_size
    # Uncompressed, the core's zeros are holes in the archive too.
    assert res["bytes_written"] <= archive.stat().st_size
    assert archive.stat().st_blocks * 512 <= res["bytes_written"] + (1 << 20)
    assert r.jq(".bundle.format") == fmt.split(".")[0]
    assert r.jq(".bundle.skipped") == 0
    assert r.jq(".bundle.files >= 3")  # the executable, libc, the loader
    assert r.jq(".bundle.core | endswith(\".core\")")
    assert res["bundle"]["executable"] == str(EXE)[1:]
    assert_running_free(t, ticks)

    root = extract(archive, tool, tmp_path / "x")
    moved = tmp_path / "elsewhere" / "bundle"
    moved.parent.mkdir()
    shutil.move(str(root), str(moved))
    exe = moved / res["bundle"]["executable"]
    core = moved / res["bundle"]["core"]
    assert exe.exists() and core.exists()
    assert (moved / "README.txt").read_text().count("set sysroot") == 2
    # Only the bundle: the libraries come from the moved folder, through its symlinks.
    out = gdb_sysroot(moved, exe, core, "info sharedlibrary", "thread apply all bt",
                      "print/x dump_marker", "print/x heap_block[4321]")
    libs = shared_libraries(out)
    assert any(l.endswith("/libc.so.6") for l in libs), out[-3000:]
    assert all(l.startswith(str(moved) + "/") for l in libs), libs
    check_backtraces(out, 3)
    assert f"$1 = {MARKER:#x}" in out
    assert f"$2 = {HEAP_PATTERN ^ 4321:#x}" in out
    assert "warning: Could not load shared library symbols" not in out

    meta = json.loads((moved / "metadata.json").read_text())
    assert meta["pid"] == t.pid
    assert meta["process"]["id"] == t.pid and meta["process"]["name"] == "dumptarget"
    assert meta["dump"]["options"]["bundle"] == fmt.split(".")[0]
    assert meta["dump"]["options"]["compress"] == ("zstd" if fmt == "tar.zst" else None)
    assert meta["dump"]["result"]["pause_ms"] > 0
    assert meta["dump"]["result"]["threads"] == 4
    paths = [f["archive_path"] for f in meta["bundle"]["files"]]
    assert res["bundle"]["executable"] in paths
    assert all(re.fullmatch(r"[0-9a-f]{40}", f["build_id"]) for f in meta["bundle"]["files"])
    assert_running_free(t, ticks)


def test_bundle_eu_stack_by_build_id(td, target, tmp_path):
    t = target("dumptarget", 2, 4)
    r = td("dump", t.pid, "-o", tmp_path / "b.tar.zst", "--bundle", "tar", "--compress",
           "zstd")
    assert r.rc == 0, r
    root = extract(tmp_path / "b.tar.zst", ["bsdtar", "-xf"], tmp_path / "x")
    res = r.jq()
    p = subprocess.run(["eu-stack", "-l", f"--core={root / res['bundle']['core']}",
                        f"--executable={root / res['bundle']['executable']}",
                        f"--debuginfo-path={root}"], capture_output=True, text=True,
                       timeout=120)
    out = p.stdout + p.stderr
    assert out.count("dump_worker_level2") == 2, out[-3000:]
    assert "main_tick_loop" in out, out[-3000:]
    # Each .build-id link leads to a stored file.
    links = list((root / ".build-id").glob("*/*"))
    assert len(links) >= 3
    for l in links:
        assert l.is_symlink() and l.resolve().is_file()
        assert str(l.resolve()).startswith(str(root))


def test_compress_zstd_core(td, target, tmp_path):
    t = target("dumptarget", 2, 16)
    ticks = Ticks(t)
    r = td("dump", t.pid, "-o", tmp_path, "--compress", "zstd")
    assert r.rc == 0, r
    res = r.jq()
    zst = Path(res["path"])
    assert zst.name.endswith(f".{t.pid}.core.zst")
    assert sorted(os.listdir(tmp_path)) == [zst.name]
    assert res["bytes_written"] == zst.stat().st_size < res["core_size"] / 2
    assert r.jq(".compression.method") == "zstd"
    assert r.jq(".compression.workers >= 1")  # Debian's libzstd has threads
    # The frame header holds the core's size; zstd checks the checksum.
    listing = subprocess.run(["zstd", "-lv", str(zst)], capture_output=True, text=True)
    assert re.search(rf"\({res['core_size']} B\)", listing.stdout), listing.stdout
    core = tmp_path / "t.core"
    p = subprocess.run(["zstd", "-q", "-d", str(zst), "-o", str(core)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert core.stat().st_size == res["core_size"]
    out = subprocess.run(["gdb", "-nx", "-batch", "-ex", "thread apply all bt", "-ex",
                          "print/x heap_block[99999]", str(EXE), str(core)],
                         capture_output=True, text=True, timeout=120)
    check_backtraces(out.stdout, 2)
    assert f"$1 = {HEAP_PATTERN ^ 99999:#x}" in out.stdout
    assert_running_free(t, ticks)


def test_deleted_executable_comes_from_map_files(td, target, tmp_path):
    """The executable is deleted after start: only /proc/PID/map_files still has it."""
    copy_dir = tmp_path / "gone"
    copy_dir.mkdir()
    shutil.copy(EXE, copy_dir / "dumptarget")
    p = subprocess.Popen([str(copy_dir / "dumptarget"), "2", "4"], stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        assert p.stdout.readline().startswith("ready")
        shutil.rmtree(copy_dir)
        r = td("dump", p.pid, "-o", tmp_path / "d.zip", "--bundle", "zip")
        assert r.rc == 0, r
        root = extract(tmp_path / "d.zip", ["unzip", "-q"], tmp_path / "x")
        meta = json.loads((root / "metadata.json").read_text())
        exe = [f for f in meta["bundle"]["files"] if f["path"] == str(copy_dir / "dumptarget")]
        assert exe and exe[0]["deleted"] is True and exe[0]["source"] == "map_files", meta
        out = gdb_sysroot(root, root / exe[0]["archive_path"], root / meta["bundle"]["core"],
                          "thread apply all bt")
        check_backtraces(out, 2)
    finally:
        p.kill()
        p.wait()


def test_bad_combinations(td, target, tmp_path):
    r = td("dump", "1", "--bundle", "zip", "--compress", "zstd", "-o", tmp_path)
    assert r.rc == 2 and "--bundle tar --compress zstd" in r.stderr, r
    r = td("dump", "1", "--bundle", "rar", "-o", tmp_path)
    assert r.rc == 2 and "invalid --bundle 'rar'" in r.stderr, r
    r = td("dump", "1", "--compress", "gzip", "-o", tmp_path)
    assert r.rc == 2 and "invalid --compress 'gzip'" in r.stderr, r
    assert os.listdir(tmp_path) == []


def test_existing_bundle_not_overwritten_without_force(td, target, tmp_path):
    t = target("dumptarget", 1, 1)
    f = tmp_path / "b.zip"
    f.write_text("keep")
    r = td("dump", t.pid, "-o", f, "--bundle", "zip")
    assert r.rc == 6, r
    assert "--force" in r.error()["error"]
    assert f.read_text() == "keep" and os.listdir(tmp_path) == ["b.zip"]
    r = td("dump", t.pid, "-o", f, "--bundle", "zip", "--force")
    assert r.rc == 0, r
    assert subprocess.run(["unzip", "-tq", str(f)], capture_output=True).returncode == 0


def test_no_such_process(td, tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    r = td("dump", p.pid, "-o", tmp_path, "--bundle", "tar")
    assert r.rc == 3, r
    assert os.listdir(tmp_path) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_disk_leaves_nothing(td, target, small_tmpfs, fmt):
    """3 MiB of room: the libraries fit, the core does not (the heap is random-ish
    for the compressors only as far as its pattern goes: 64 MiB is well over)."""
    args, _, _ = FORMATS[fmt]
    t = target("dumptarget", 2, 64)
    ticks = Ticks(t)
    r = td("dump", t.pid, "-o", small_tmpfs, *args)
    assert r.rc == 1, r
    err = r.error()["error"]
    assert "No space left" in err or "not enough space" in err, err
    assert os.listdir(small_tmpfs) == []
    assert subprocess.run(["df", "--output=used", str(small_tmpfs)], capture_output=True,
                          text=True).stdout.split()[-1] == "0"
    assert_running_free(t, ticks)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_signal_during_bundle_leaves_nothing(target, tmp_path, sig):
    t = target("dumptarget", 2, 256)
    ticks = Ticks(t)
    p = subprocess.Popen([str(TRACEDUMP), "dump", str(t.pid), "-o", str(tmp_path), "--bundle",
                          "zip"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until the target is frozen (traced): the core is being written.
    deadline = time.time() + 20
    while time.time() < deadline:
        st = Path(f"/proc/{t.pid}/status").read_text()
        if re.search(r"^TracerPid:\s+[1-9]", st, re.M) or p.poll() is not None:
            break
        time.sleep(0.005)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    if p.returncode == 0:
        pytest.skip("the dump finished before the signal arrived")
    if sig == signal.SIGINT:
        assert p.returncode == 1, err
        assert "interrupted" in err, err
    else:
        assert p.returncode == -signal.SIGKILL
    # The archive had no name yet (O_TMPFILE): nothing to clean up, even after SIGKILL.
    assert os.listdir(tmp_path) == []
    assert_running_free(t, ticks)


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_sparse_core_stays_sparse_in_archive(td, target, tmp_path, fmt):
    """A GiB of untouched memory: zeros in the core, holes in the zip or tar file."""
    t = target("dumptarget", 1, 1, 1)
    r = td("dump", t.pid, "-o", tmp_path / f"s.{fmt}", "--bundle", fmt)
    assert r.rc == 0, r
    res = r.jq()
    archive = tmp_path / f"s.{fmt}"
    assert res["core_size"] > 1 << 30
    assert archive.stat().st_size > res["core_size"]
    assert archive.stat().st_blocks * 512 < 64 << 20
    tool = ["unzip", "-Z", "-l"] if fmt == "zip" else ["bsdtar", "-tvf"]
    listing = subprocess.run([*tool, str(archive)], capture_output=True, text=True).stdout
    assert re.search(rf"\s{res['core_size']}\s.*{re.escape(res['bundle']['core'])}", listing), \
        listing


def test_bundle_lldb_with_readme_search_paths(td, target, tmp_path):
    """lldb, as README.txt says: the library folders as target.exec-search-paths."""
    t = target("dumptarget", 2, 4)
    r = td("dump", t.pid, "-o", tmp_path / "b.zip", "--bundle", "zip")
    assert r.rc == 0, r
    root = extract(tmp_path / "b.zip", ["unzip", "-q"], tmp_path / "x")
    readme = (root / "README.txt").read_text()
    m = re.search(r'lldb -O "settings set target.exec-search-paths ([^"]+)"', readme)
    assert m, readme
    paths = m.group(1).replace("$PWD", str(root))
    assert f"{root}/usr/lib/x86_64-linux-gnu" in paths.split()
    res = r.jq()
    p = subprocess.run(["lldb", "--batch", "-O", f"settings set target.exec-search-paths {paths}",
                        "-o", "image list", "-o", "thread backtrace all",
                        "-c", str(root / res["bundle"]["core"]),
                        str(root / res["bundle"]["executable"])],
                       capture_output=True, text=True, timeout=120, cwd=root)
    assert p.stdout.count("dump_worker_level2") == 2, p.stdout[-3000:]
    assert re.search(rf"{re.escape(str(root))}/\S*libc\.so\.6", p.stdout), p.stdout[-3000:]


def test_dlopened_library_through_loader_symlinks(td, target, tmp_path):
    """modlib dlopen()s "libz.so.1": the loader's name for it (/lib/.../libz.so.1) goes
    through two symlinks to the file in maps; gdb must find it under the sysroot."""
    t = target("modlib")
    r = td("dump", t.pid, "-o", tmp_path / "m.tar", "--bundle", "tar")
    assert r.rc == 0, r
    res = r.jq()
    assert res["bundle"]["skipped"] == 0
    root = extract(tmp_path / "m.tar", ["bsdtar", "-xf"], tmp_path / "x")
    meta = json.loads((root / "metadata.json").read_text())
    zfile = [f for f in meta["bundle"]["files"] if "/libz.so" in f["path"]]
    assert len(zfile) == 1, meta["bundle"]["files"]
    zlinks = [l for l in meta["bundle"]["links"] if l["path"].endswith("/libz.so.1")]
    assert zlinks, meta["bundle"]["links"]
    for l in zlinks:
        link = root / l["path"]
        assert link.is_symlink() and not os.readlink(link).startswith("/")
        assert link.resolve() == (root / zfile[0]["archive_path"]).resolve()
    out = gdb_sysroot(root, root / res["bundle"]["executable"], root / res["bundle"]["core"],
                      "info sharedlibrary")
    libs = shared_libraries(out)
    assert any(l.endswith("/libz.so.1") for l in libs), out[-3000:]
    assert any(l.endswith("/libm.so.6") for l in libs), out[-3000:]
    assert all(l.startswith(str(root) + "/") for l in libs), libs
    assert "Could not load shared library symbols" not in out, out[-3000:]


def test_executable_only_visible_in_the_targets_mount_namespace(td, tmp_path):
    """The target runs from a tmpfs mounted in its own mount namespace: the path in its
    maps does not exist in ours, map_files still has the file."""
    ns_dir = tmp_path / "ns"
    ns_dir.mkdir()
    script = f"mount -t tmpfs none {ns_dir} && cp {EXE} {ns_dir}/ && exec {ns_dir}/dumptarget 2 4"
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert p.stdout.readline().startswith("ready")
        assert os.listdir(ns_dir) == []  # not in our namespace
        r = td("dump", p.pid, "-o", tmp_path / "n.zip", "--bundle", "zip")
        assert r.rc == 0, r
        assert r.jq(".bundle.skipped") == 0
        root = extract(tmp_path / "n.zip", ["unzip", "-q"], tmp_path / "x")
        meta = json.loads((root / "metadata.json").read_text())
        exe = [f for f in meta["bundle"]["files"] if f["path"] == f"{ns_dir}/dumptarget"]
        assert exe and exe[0]["source"] == "map_files" and not exe[0]["deleted"], meta
        assert (root / exe[0]["archive_path"]).read_bytes() == EXE.read_bytes()
        out = gdb_sysroot(root, root / exe[0]["archive_path"], root / meta["bundle"]["core"],
                          "thread apply all bt")
        check_backtraces(out, 2)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def test_zombie_bundle_says_zombie(td, tmp_path):
    parent = subprocess.Popen(["sh", "-c", "sleep 0 & exec sleep 30"], start_new_session=True)
    try:
        zombie = None
        deadline = time.time() + 10
        while time.time() < deadline and zombie is None:
            kids = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
            for k in kids:
                stat = Path(f"/proc/{k}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] == "Z":
                    zombie = int(k)
            time.sleep(0.01)
        assert zombie, "no zombie appeared"
        r = td("dump", zombie, "-o", tmp_path, "--bundle", "tar")
        assert r.rc == 3, r
        assert "zombie" in r.error()["error"]
        assert os.listdir(tmp_path) == []
    finally:
        parent.kill()
        parent.wait()


def test_deleted_library_is_stored_and_found(td, target, tmp_path):
    """libz is dlopen()ed from a folder that is then removed (an upgrade replaced it)."""
    libdir = tmp_path / "lib"
    libdir.mkdir()
    real = Path("/lib/x86_64-linux-gnu/libz.so.1").resolve()
    shutil.copy(real, libdir / "libz.so.1")
    t = target("modlib", env={**os.environ, "LD_LIBRARY_PATH": str(libdir)})
    assert f"{libdir}/libz.so.1 (deleted)" not in Path(f"/proc/{t.pid}/maps").read_text()
    shutil.rmtree(libdir)
    assert f"{libdir}/libz.so.1 (deleted)" in Path(f"/proc/{t.pid}/maps").read_text()
    r = td("dump", t.pid, "-o", tmp_path / "d.tar", "--bundle", "tar")
    assert r.rc == 0, r
    assert r.jq(".bundle.skipped") == 0, r
    root = extract(tmp_path / "d.tar", ["bsdtar", "-xf"], tmp_path / "x")
    meta = json.loads((root / "metadata.json").read_text())
    z = [f for f in meta["bundle"]["files"] if f["path"] == f"{libdir}/libz.so.1"]
    assert z and z[0]["deleted"] and z[0]["source"] == "map_files", meta["bundle"]["files"]
    assert (root / z[0]["archive_path"]).read_bytes() == real.read_bytes()
    out = gdb_sysroot(root, root / r.jq(".bundle.executable"), root / r.jq(".bundle.core"),
                      "info sharedlibrary")
    assert f"{root}{libdir}/libz.so.1" in shared_libraries(out), out[-3000:]


def test_zip64_core_over_4gib(td, target, tmp_path):
    """5 GiB of untouched memory: a core entry over 4 GiB, and entries after it at
    offsets over 4 GiB; Debian's unzip reads both from the ZIP64 records. (The
    unit test reads such an entry back whole with its CRC; unzip -t takes a minute.)"""
    t = target("dumptarget", 1, 1, 5)
    r = td("dump", t.pid, "-o", tmp_path / "big.zip", "--bundle", "zip")
    assert r.rc == 0, r
    res = r.jq()
    archive = tmp_path / "big.zip"
    assert res["core_size"] > 5 << 30
    assert archive.stat().st_blocks * 512 < 64 << 20
    info = subprocess.run(["unzip", "-Z", "-v", str(archive)], capture_output=True,
                          text=True).stdout
    assert re.search(rf"uncompressed size:\s+{res['core_size']} bytes", info), info[-3000:]
    meta = subprocess.run(["unzip", "-p", str(archive), "metadata.json"], capture_output=True,
                          text=True)
    assert meta.returncode == 0, meta.stderr
    assert json.loads(meta.stdout)["dump"]["result"]["core_size"] == res["core_size"]
