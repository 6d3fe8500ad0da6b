# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump doctor` probes by loading real BPF programs into this kernel."""


def test_doctor_reports_bpf_features(td):
    r = td("doctor")
    assert r.rc == 0, r
    bpf = r.jq(".bpf")
    # These machines (and CI) run 6.18 as root: these attach types work...
    # uprobe_multi: Linux 6.6+ (this machine runs 6.18)
    for feature in ("btf", "ringbuf", "tp_btf", "raw_tracepoint", "uprobe", "uprobe_multi"):
        assert bpf[feature]["ok"] is True, (feature, bpf[feature])
    # ...and fentry is refused with EPERM, which doctor must say, not hide.
    assert bpf["fentry"]["ok"] is False
    assert bpf["fentry"]["step"] == "load"
    assert r.jq(".works.dump") is True
    # Linux 6.18 here: userfaultfd WP_ASYNC and PAGEMAP_SCAN, tried for real.
    assert r.jq(".works.snapshot_precopy") is True
    assert r.jq(".root") is True
    assert r.jq('.dump_dir.free_bytes > 0') is True


def test_doctor_table_and_bad_option(td):
    r = td("doctor", "--table")
    assert r.rc == 0, r
    assert "BPF features" in r.stdout and "tp_btf" in r.stdout
    r = td("doctor", "--no-such-option")
    assert r.rc == 2, r


def test_unknown_command(td):
    r = td("no-such-command")
    assert r.rc == 2
    assert "unknown command" in r.stderr
