# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump analyze CORE|BUNDLE` on cores written by gdb (gcore, and gdb at a crash)
of targets with known stacks; checked against gdb's own backtrace, readelf and nm."""
import json
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import TARGETS, jq

GDB = ["gdb", "-nx", "-q", "-batch"]


def gcore(pid, path):
    """A core of the live process pid by gdb's generate-core-file (gdb detaches after)."""
    p = subprocess.run(GDB + ["-p", str(pid), "-ex", f"generate-core-file {path}"],
                       capture_output=True, text=True, timeout=120)
    assert Path(path).exists(), p.stderr
    return Path(path)


def crash_core(exe, path):
    """Runs exe under gdb to its crash and writes the core there (registers at the fault)."""
    p = subprocess.run(GDB + ["-ex", "run", "-ex", f"generate-core-file {path}", str(exe)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert Path(path).exists(), p.stdout + p.stderr
    return Path(path)


def source_line(name, text, which=0):
    """The line number of the which-th line of the target's source holding text."""
    src = Path(__file__).resolve().parents[1] / "targets" / name
    return [i for i, l in enumerate(src.read_text().splitlines(), 1) if text in l][which]


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def functions(thread):
    return [f["function"] for f in thread["frames"]]


def with_inlined(thread):
    """Function names as gdb lists them: inlined functions as frames of their own."""
    out = []
    for f in thread["frames"]:
        out += [i["function"] for i in f["inlined"]] + [f["function"]]
    return out


def gdb_bt(exe, core, thread_cmd="bt"):
    out = subprocess.run(GDB + ["-ex", thread_cmd, str(exe), str(core)], capture_output=True,
                         text=True, timeout=60).stdout
    # gdb prints frame #0 once when it loads the core: the backtrace is the last #0 on.
    out = out[out.rindex("\n#0 "):]
    return re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", out, re.M)


@pytest.fixture(scope="module")
def crash(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    return crash_core(TARGETS / "crashworker", d / "crashworker.core")


def test_crash_on_worker_thread(td, crash):
    r = td("analyze", crash)
    assert r.rc == 0, r
    sig = r.jq(".signal")
    assert sig["name"] == "SIGSEGV" and sig["number"] == 11
    assert sig["code_name"] == "SEGV_MAPERR" and sig["fault_address"] == "0x0"
    first = r.jq(".threads[0]")
    # The crashing thread first, a worker, not the main thread.
    assert first["id"] == sig["thread_id"] == r.jq(".crashing_thread_id")
    assert first["crashed"] is True and first["is_main_thread"] is False
    assert first["signal"]["name"] == "SIGSEGV"
    f0, f1 = first["frames"][0], first["frames"][1]
    assert f0["function"] == "crash_here" and f1["function"] == "crash_worker_step"
    assert f0["file"].endswith("crashworker.c")
    assert f0["line"] == source_line("crashworker.c", "*p = 42;")
    assert f0["module"].endswith("/crashworker")
    assert f0["build_id"] == build_id(TARGETS / "crashworker")
    assert "crasher" in functions(first)
    # store_through() is inlined into crash_here(): the faulting line is its store.
    assert f0["inlined"] == [{"function": "store_through", "call_file": f0["file"],
                              "call_line": source_line("crashworker.c", "store_through(p);")}]
    # gdb, reading the same core, sees the same faulting thread's stack.
    assert gdb_bt(TARGETS / "crashworker", crash)[:4] == with_inlined(first)[:4]
    # Only one thread crashed; every thread is listed once.
    assert r.jq("[.threads[] | select(.crashed)] | length") == 1
    assert r.jq(".thread_count") == 4 == r.jq(".threads | length")
    assert r.jq("[.groups[].count] | add") == 4
    assert r.jq(".groups[0].thread_ids") == [first["id"]]
    # The two sleepers share one stack.
    assert r.jq('[.groups[] | select(.count == 2) | .frames[].function] | index("sleeper_wait")') \
        is not None
    p = r.jq(".process")
    assert p["name"] == "crashworker" and p["command_line"].endswith("crashworker")
    assert p["executable"] == str(TARGETS / "crashworker")
    main = r.jq(".threads[] | select(.is_main_thread)")
    assert main["id"] == p["id"] and "main" in functions(main)
    # Modules: the executable and libc with their build-ids.
    mods = r.jq("[.modules[] | {key: .name, value: .build_id}] | from_entries")
    assert mods[str(TARGETS / "crashworker")] == build_id(TARGETS / "crashworker")
    libc = r.jq('.modules[] | select(.name | test("libc.so"))')
    assert libc["build_id"] == build_id(libc["path"])
    # Mappings: largest first, sizes that add up to at most the total.
    m = r.jq(".mappings")
    sizes = [x["size"] for x in m["largest"]]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == 10
    assert m["count"] >= 10 and sum(sizes) <= m["total_size"]
    assert r.jq("[.mappings.largest[] | select(.path != null) | .path] | "
                "any(test(\"libc.so|crashworker\"))") is True
    assert r.jq(".trigger") is None and r.jq(".source.kind") == "core"


def test_crash_table(td, crash):
    r = td("analyze", crash, "--table")
    assert r.rc == 0, r
    assert "signal    SIGSEGV (SEGV_MAPERR) at 0x0 in thread" in r.stdout
    assert "(crashed: SIGSEGV)" in r.stdout
    lines = r.stdout.splitlines()
    crashed = next(i for i, l in enumerate(lines) if "(crashed: SIGSEGV)" in l)
    assert "crash_here+0x" in lines[crashed + 1] and "crashworker.c:" in lines[crashed + 1]
    assert lines[crashed + 1].endswith("[inlined: store_through]")
    assert "2 threads with this stack" in r.stdout
    assert "mappings" in r.stdout and "[anonymous]" in r.stdout


def test_deadlock_both_stacks_named(td, target, tmp_path):
    t = target("deadlock")
    core = gcore(t.pid, tmp_path / "deadlock.core")
    r = td("analyze", core)
    assert r.rc == 0, r
    assert r.jq(".signal") is None and r.jq(".crashing_thread_id") is None
    for fn in ("take_b_after_a", "take_a_after_b"):
        th = r.jq(f'[.threads[] | select(any(.frames[]; .function == "{fn}"))]')
        assert len(th) == 1, fn
        names = functions(th[0])
        i = names.index(fn)
        # Blocked in the mutex: glibc's lock functions right above ours.
        assert any("pthread_mutex_lock" in (n or "") for n in names[:i]), names
        assert any("lll_lock_wait" in (n or "") for n in names[:i]), names
        # The second lock of each function, where it waits.
        assert th[0]["frames"][i]["line"] == (
            source_line("deadlock.c", "pthread_mutex_lock(&lock_b);", 0)
            if fn == "take_b_after_a" else
            source_line("deadlock.c", "pthread_mutex_lock(&lock_a);", -1))
    assert r.jq(".thread_count") == 3
    # Two different stacks (different callers) are two groups, not one.
    assert r.jq(".groups | length") == 3


def test_200_identical_threads_grouped(td, target, tmp_path):
    t = target("manythreads", 200)
    core = gcore(t.pid, tmp_path / "many.core")
    r = td("analyze", core)
    assert r.rc == 0, r
    assert r.jq(".thread_count") == 201
    g = r.jq(".groups[0]")
    assert g["count"] == 200 and len(g["thread_ids"]) == 200
    assert "idle_worker_wait" in [f["function"] for f in g["frames"]]
    assert any("pthread_cond_wait" in (f["function"] or "") for f in g["frames"])
    assert r.jq(".groups[1].count") == 1 and r.jq(".groups | length") == 2
    assert t.pid not in g["thread_ids"]
    assert "200 threads with this stack" in td("analyze", core, "--table").stdout


def test_no_debug_info_names_from_symtab(td, target, tmp_path):
    t = target("deadlock-nodebug")
    core = gcore(t.pid, tmp_path / "nodebug.core")
    r = td("analyze", core)
    assert r.rc == 0, r
    f = r.jq('[.threads[].frames[] | select(.function == "take_b_after_a")][0]')
    assert f["file"] is None and f["line"] is None
    assert f["module"].endswith("deadlock-nodebug")
    assert r.jq('.modules[] | select(.name | endswith("deadlock-nodebug")) | .debug_info') \
        is False


def nm_range(path, name):
    out = subprocess.run(["nm", "-S", str(path)], capture_output=True, text=True).stdout
    m = re.search(rf"^([0-9a-f]+) ([0-9a-f]+) T {name}$", out, re.M)
    return int(m.group(1), 16), int(m.group(1), 16) + int(m.group(2), 16)


def test_stripped_addresses_and_module_offsets(td, target, tmp_path):
    t = target("deadlock-stripped")
    core = gcore(t.pid, tmp_path / "stripped.core")
    r = td("analyze", core)
    assert r.rc == 0, r
    exe = str(TARGETS / "deadlock-stripped")
    frames = r.jq(f'[.threads[].frames[] | select(.module == "{exe}")]')
    assert frames and all(f["function"] is None for f in frames)
    assert all(re.fullmatch(r"0x[0-9a-f]+", f["module_offset"]) for f in frames)
    # The stripped file is the nodebug one without symbols: same code, same offsets.
    lo, hi = nm_range(TARGETS / "deadlock-nodebug", "take_b_after_a")
    assert any(lo < int(f["module_offset"], 16) <= hi for f in frames), frames
    assert "?? deadlock-stripped+0x" in td("analyze", core, "--table").stdout


def test_trigger_metadata_beside_the_core(td, target, tmp_path):
    t = target("deadlock")
    core = gcore(t.pid, tmp_path / "app.core")
    tids = sorted(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    trig = {"trigger": {"kind": "test", "thread_id": tids[-1]}, "reason": "made by the test"}
    (tmp_path / "app.json").write_text(json.dumps(trig))
    r = td("analyze", core)
    assert r.rc == 0, r
    assert r.jq(".trigger") == trig
    assert r.jq(".trigger_file") == str(tmp_path / "app.json")
    assert r.jq(".threads[0].id") == tids[-1]
    assert r.jq(".groups[0].thread_ids") == [tids[-1]]
    # A damaged trigger file is named in the warnings, the analysis goes on.
    (tmp_path / "app.json").write_text("{not json")
    r = td("analyze", core)
    assert r.rc == 0 and r.jq(".trigger") is None
    assert "app.json is not valid JSON" in r.jq(".warnings[0]")


def make_bundle(tmp_path, exe_copy, core, fmt):
    """A bundle laid out as docs/bundle.md says: the core at the top, metadata.json, the
    executable and every library at their absolute paths."""
    out = subprocess.run(["ldd", str(exe_copy)], capture_output=True, text=True).stdout
    libs = re.findall(r"(/\S+) \(0x", out)
    files = [str(exe_copy)] + [os.path.realpath(l) for l in libs]
    links = {l: os.path.realpath(l) for l in libs if os.path.realpath(l) != l}
    meta = {"bundle": {"core": core.name, "executable": str(exe_copy)}, "pid": 1}
    path = tmp_path / ("b.zip" if fmt == "zip" else "b.tar.zst")
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.write(core, core.name)
            z.writestr("metadata.json", json.dumps(meta))
            for f in files:
                z.write(f, f.lstrip("/"))
    else:
        tar = tmp_path / "b.tar"
        with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as t:
            t.add(core, core.name)
            mj = tmp_path / "metadata.json"
            mj.write_text(json.dumps(meta))
            t.add(mj, "metadata.json")
            for f in files:
                t.add(f, f.lstrip("/"))
            for name, real in links.items():
                info = tarfile.TarInfo(name.lstrip("/"))
                info.type = tarfile.SYMTYPE
                info.linkname = os.path.relpath(real, os.path.dirname(name))
                t.addfile(info)
        subprocess.run(["zstd", "-q", "--rm", str(tar), "-o", str(path)], check=True)
    return path


@pytest.mark.parametrize("fmt", ["zip", "tar.zst"])
def test_bundle_after_moving_it(td, tmp_path, fmt):
    # The executable exists only in the bundle once the core is made: its names must
    # come from the bundle's copy.
    work = tmp_path / "work"
    work.mkdir()
    exe = work / "crashworker-copy"
    shutil.copy(TARGETS / "crashworker", exe)
    core = crash_core(exe, work / "app.core")
    bundle = make_bundle(tmp_path, exe, core, fmt)
    shutil.rmtree(work)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    bundle = Path(shutil.move(str(bundle), moved))
    r = td("analyze", bundle)
    assert r.rc == 0, r
    assert r.jq(".source.kind") == "bundle"
    assert r.jq(".signal.name") == "SIGSEGV"
    assert functions(r.jq(".threads[0]"))[:2] == ["crash_here", "crash_worker_step"]
    assert r.jq(".process.executable") == str(exe)
    m = r.jq('.modules[] | select(.name | endswith("crashworker-copy"))')
    assert m["path"].startswith(os.environ.get("TMPDIR", "/tmp"))
    # The temporary folder is gone afterwards.
    assert not Path(m["path"]).exists()


def test_compressed_core_and_exe_option(td, tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    exe = work / "crashworker-copy"
    shutil.copy(TARGETS / "crashworker", exe)
    core = crash_core(exe, tmp_path / "app.core")
    moved_exe = tmp_path / "kept-exe"
    shutil.move(str(exe), moved_exe)
    # Without the executable the frames are addresses, with --exe names again.
    r = td("analyze", core)
    assert r.rc == 0, r
    assert r.jq(".threads[0].frames[0].function") is None
    assert r.jq(".threads[0].frames[0].module_offset") is not None
    r = td("analyze", core, "--exe", moved_exe)
    assert r.rc == 0, r
    assert r.jq(".threads[0].frames[0].function") == "crash_here"
    # Named by the path the process ran, read from the --exe file.
    assert r.jq(".threads[0].frames[0].module") == str(exe)
    assert r.jq(".process.executable") == str(exe)
    assert r.jq(f'.modules[] | select(.name == "{exe}") | .path') == str(moved_exe)
    subprocess.run(["zstd", "-q", str(core), "-o", str(tmp_path / "app.core.zst")], check=True)
    r = td("analyze", tmp_path / "app.core.zst", "--exe", moved_exe)
    assert r.rc == 0, r
    assert r.jq(".source.kind") == "compressed_core"
    assert r.jq(".threads[0].frames[0].function") == "crash_here"


def test_bad_inputs(td, tmp_path):
    r = td("analyze", tmp_path / "missing.core")
    assert r.rc == 3 and "missing.core" in r.error()["error"]
    (tmp_path / "text").write_text("hello\n")
    r = td("analyze", tmp_path / "text")
    assert r.rc == 2 and r.error()["exit_code"] == 2 and r.stdout == ""
    r = td("analyze", TARGETS / "crashworker")  # an ELF, but not a core
    assert r.rc == 2, r
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("notes.txt", "no core here")
    r = td("analyze", tmp_path / "empty.zip")
    assert r.rc == 2 and "no core" in r.error()["error"]
    # A zip member that tries to leave the folder is not written outside it.
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("../../../../tmp/tracedump-evil", "x")
    r = td("analyze", tmp_path / "evil.zip")
    assert r.rc == 2 and not Path("/tmp/tracedump-evil").exists()
    # A truncated core: an error or a partial answer, never a crash or bad JSON.
    src = next(tmp_path.glob("*.zip"))
    core = tmp_path / "t.core"
    subprocess.run(GDB + ["-ex", "run", "-ex", f"generate-core-file {core}",
                          str(TARGETS / "crashworker")], capture_output=True, timeout=120)
    with open(core, "r+b") as f:
        f.truncate(os.path.getsize(core) // 3)
    r = td("analyze", core)
    assert r.rc in (0, 1), r
    if r.rc == 0:
        assert r.jq(".threads | length") >= 1
    else:
        r.error()
    r = td("analyze")
    assert r.rc == 2
    r = td("analyze", "--help")
    assert r.rc == 0 and "Examples" in r.stdout


def test_kernel_core_of_a_worker_crash(td, tmp_path):
    """The kernel's own core. core_pattern is machine-wide: it is not changed here; the
    test runs when it writes a plain file in the crashing process's folder."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core_pattern is {pattern!r}: cores do not land in the process's folder")
    import resource

    def unlimited_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))

    p = subprocess.run([str(TARGETS / "crashworker")], cwd=tmp_path, capture_output=True,
                       timeout=60, preexec_fn=unlimited_core)
    assert p.returncode == -11
    cores = [c for c in tmp_path.iterdir() if c.name.startswith(pattern.split("%")[0])]
    if not cores:
        pytest.skip(f"the kernel wrote no core (core_pattern {pattern!r})")
    r = td("analyze", cores[0])
    assert r.rc == 0, r
    sig = r.jq(".signal")
    assert sig["name"] == "SIGSEGV" and sig["fault_address"] == "0x0"
    assert sig["code_name"] == "SEGV_MAPERR"
    first = r.jq(".threads[0]")
    assert first["id"] == sig["thread_id"] and first["crashed"] and not first["is_main_thread"]
    assert functions(first)[:3] == ["crash_here", "crash_worker_step", "crasher"]
    assert with_inlined(first)[:4] == gdb_bt(TARGETS / "crashworker", cores[0])[:4]
    # The kernel writes the dumping thread first and one NT_SIGINFO: only it has a signal.
    assert r.jq("[.threads[] | select(.signal != null)] | length") == 1
    assert r.jq(".process.name") == "crashworker"
    assert r.jq(".thread_count") == 4


def test_sysroot(td, tmp_path):
    """The executable at its path under --sysroot (an unpacked bundle, a container's root)."""
    work = tmp_path / "w"
    work.mkdir()
    exe = work / "crashworker-copy"
    shutil.copy(TARGETS / "crashworker", exe)
    core = crash_core(exe, tmp_path / "app.core")
    root = tmp_path / "root"
    (root / str(work).lstrip("/")).mkdir(parents=True)
    shutil.move(str(exe), root / str(exe).lstrip("/"))
    r = td("analyze", core)
    assert r.jq(".threads[0].frames[0].function") is None
    r = td("analyze", core, "--sysroot", root)
    assert r.rc == 0, r
    assert r.jq(".source.sysroot") == str(root)
    assert functions(r.jq(".threads[0]"))[:2] == ["crash_here", "crash_worker_step"]
    m = r.jq('.modules[] | select(.name | endswith("crashworker-copy"))')
    assert m["path"] == str(root / str(exe).lstrip("/")) and m["file_error"] is None
    r = td("analyze", core, "--sysroot", tmp_path / "nowhere")
    assert r.rc == 3 and "--sysroot" in r.error()["error"]


def test_extracted_bundle_folder(td, tmp_path):
    """A bundle already unpacked (unzip) is analysed in place, the folder as sysroot."""
    work = tmp_path / "work"
    work.mkdir()
    exe = work / "crashworker-copy"
    shutil.copy(TARGETS / "crashworker", exe)
    core = crash_core(exe, work / "app.core")
    bundle = make_bundle(tmp_path, exe, core, "zip")
    shutil.rmtree(work)
    folder = tmp_path / "unpacked"
    folder.mkdir()
    subprocess.run(["unzip", "-q", str(bundle)], cwd=folder, check=True)
    r = td("analyze", folder)
    assert r.rc == 0, r
    assert r.jq(".source.kind") == "folder"
    assert functions(r.jq(".threads[0]"))[:2] == ["crash_here", "crash_worker_step"]
    assert r.jq(f'.modules[] | select(.name == "{exe}") | .path') == \
        str(folder / str(exe).lstrip("/"))
    assert (folder / "app.core").exists()  # the folder is left as it was
    # Without metadata.json the core at the top is found.
    (folder / "metadata.json").unlink()
    r = td("analyze", folder, "--exe", folder / str(exe).lstrip("/"))
    assert r.rc == 0 and r.jq(".signal.name") == "SIGSEGV"
    empty = tmp_path / "empty"
    empty.mkdir()
    r = td("analyze", empty)
    assert r.rc == 2 and "holds no core" in r.error()["error"]
