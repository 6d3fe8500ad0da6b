# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump analyze` on tracedump's own cores and bundles, and `dump --analyze`:
checked against eu-stack reading the same core and against /proc."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import TARGETS, jq


def eu_stack_core(core, exe):
    out = subprocess.run(["eu-stack", "--core", str(core), "-e", str(exe)],
                         capture_output=True, text=True, timeout=60).stdout
    stacks, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"TID (\d+):", line)
        if m:
            cur = stacks.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"#\d+\s+0x[0-9a-f]+\s*(\S*)", line)
        if m and cur is not None:
            cur.append(m.group(1) or None)
    return stacks


def test_dumper_core_same_frames_as_eu_stack(td, target, tmp_path):
    t = target("deadlock")
    r = td("dump", t.pid, "-o", tmp_path / "d.core")
    assert r.rc == 0, r
    a = td("analyze", tmp_path / "d.core")
    assert a.rc == 0, a
    # A live dump: no signal, the main thread first (the dumper's order, the kernel's).
    assert a.jq(".signal") is None and a.jq(".threads[0].id") == t.pid
    assert a.jq(".threads[0].is_main_thread") is True
    mine = {th["id"]: [f["function"] for f in th["frames"]] for th in a.jq(".threads")}
    assert mine == eu_stack_core(tmp_path / "d.core", TARGETS / "deadlock")
    for fn in ("take_b_after_a", "take_a_after_b"):
        th = a.jq(f'[.threads[] | select(any(.frames[]; .function == "{fn}"))]')
        assert len(th) == 1
        assert any("pthread_mutex_lock" in (f["function"] or "") for f in th[0]["frames"])
    assert a.jq(".process.name") == "deadlock"
    assert a.jq(".process.command_line").endswith("deadlock")


def test_dump_analyze_writes_the_analysis_beside(td, target, tmp_path):
    t = target("manythreads", 200)
    r = td("dump", t.pid, "-o", tmp_path, "--analyze")
    assert r.rc == 0, r
    core = Path(r.jq(".path"))
    summary = r.jq(".analysis")
    path = Path(summary["path"])
    assert path.parent == core.parent
    assert path.name == core.name[:-len(".core")] + ".analysis.json"
    assert summary["error"] is None and summary["thread_count"] == 201
    assert summary["groups"][0]["count"] == 200
    assert sorted(os.listdir(tmp_path)) == sorted([core.name, path.name])
    # The file is the whole analysis, as `analyze` prints it.
    a = td("analyze", core)
    filt = "[.groups[] | {count, top_function, thread_ids}]"
    assert jq(path.read_text(), filt) == a.jq(filt)
    assert sorted(a.jq("[.threads[].id]")) == sorted(int(x) for x in os.listdir(f"/proc/{t.pid}/task"))
    table = td("dump", t.pid, "-o", tmp_path / "t.core", "--analyze", "--table").stdout
    assert f"analysis       {tmp_path}/t.analysis.json" in table
    assert re.search(r"^stacks\s+200 in \S+$", table, re.M), table


def has_bundles(td):
    return "--bundle" in td("dump", "--help").stdout


@pytest.mark.parametrize("bundle", [["--bundle", "zip"], ["--bundle", "tar", "--compress", "zstd"]])
def test_dumper_bundle_analyzed_after_moving(td, target, tmp_path, bundle):
    if not has_bundles(td):
        pytest.skip("this build's dump has no --bundle (branch bundle not merged)")
    # A copy of the executable that is gone once the bundle is made: names must come
    # from the bundle's copy.
    work = tmp_path / "work"
    work.mkdir()
    exe = work / "deadlock-copy"
    shutil.copy(TARGETS / "deadlock-nodebug", exe)
    p = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith("ready")
        r = td("dump", p.pid, "-o", tmp_path, *bundle)
        assert r.rc == 0, r
    finally:
        p.kill()
        p.wait()
    shutil.rmtree(work)
    moved = tmp_path / "moved"
    moved.mkdir()
    archive = Path(shutil.move(r.jq(".path"), moved))
    a = td("analyze", archive)
    assert a.rc == 0, a
    assert a.jq(".source.kind") == "bundle"
    assert a.jq(".source.metadata.bundle.executable") == str(exe).lstrip("/")
    names = a.jq("[.threads[].frames[].function]")
    assert "take_b_after_a" in names and "take_a_after_b" in names
    assert a.jq(".process.executable") == str(exe)


def test_dump_stands_when_its_analysis_cannot_be_written(td, target, tmp_path):
    t = target("deadlock")
    (tmp_path / "x.analysis.json").mkdir()  # the analysis cannot take this name
    r = td("dump", t.pid, "-o", tmp_path / "x.core", "--analyze")
    assert r.rc == 0, r
    a = r.jq(".analysis")
    assert a["path"] is None and "cannot write the analysis" in a["error"]
    assert "its analysis failed" in r.stderr
    # The dump is there, no temporary analysis file is left.
    assert sorted(os.listdir(tmp_path)) == ["x.analysis.json", "x.core"]
    assert td("analyze", tmp_path / "x.core").rc == 0


def test_dump_bundle_with_analyze(td, target, tmp_path):
    if not has_bundles(td):
        pytest.skip("this build's dump has no --bundle")
    t = target("deadlock")
    r = td("dump", t.pid, "-o", tmp_path, "--bundle", "tar", "--compress", "zstd", "--analyze")
    assert r.rc == 0, r
    archive = Path(r.jq(".path"))
    path = Path(r.jq(".analysis.path"))
    assert archive.name.endswith(".tar.zst")
    assert path.name == archive.name[:-len(".tar.zst")] + ".analysis.json"
    assert jq(path.read_text(), ".source.kind") == "bundle"
    names = jq(path.read_text(), "[.threads[].frames[].function]")
    assert "take_b_after_a" in names and "take_a_after_b" in names
    # The temporary extraction is gone; only the archive and its analysis remain.
    assert sorted(os.listdir(tmp_path)) == sorted([archive.name, path.name])
