# SPDX-License-Identifier: GPL-2.0-only
"""`tracedump serve` and `tracedump passwd`: every route through real curl and jq against
targets in tests/targets/, authentication, TLS, refusals, the access log, and the
explorer page in headless Chromium (a real click through the DevTools protocol)."""
import json
import re
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import TARGETS, TRACEDUMP, jq, run_td

USER, PASSWORD = "alice", "s3cret pw:with colon"


def proc_state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        return None


class Server:
    """A running `tracedump serve`; its stderr (the JSON log) is collected in a thread."""

    def __init__(self, *args, tmp):
        self.proc = subprocess.Popen([str(TRACEDUMP), "serve", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.lines = []
        self.tmp = tmp
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.ready.wait(15)
        listening = [l for l in self.log() if l.get("event") == "listening"]
        assert listening, f"serve did not start: {self.lines} rc={self.proc.poll()}"
        self.url = listening[0]["url"]
        self.port = int(self.url.rsplit(":", 1)[1])

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if '"listening"' in line:
                self.ready.set()
        self.ready.set()

    def log(self):
        """Every stderr line, each parsed as JSON (a non-JSON line fails the test)."""
        return [json.loads(l) for l in list(self.lines) if l.strip()]

    def requests(self, at_least=0):
        """The access log; a request is logged once its reply is sent, which may be just
        after the client has it, so wait for @at_least lines."""
        deadline = time.time() + 10
        while True:
            got = [l for l in self.log() if l.get("event") == "request"]
            if len(got) >= at_least or time.time() > deadline:
                return got
            time.sleep(0.02)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        return self.proc.returncode


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def jq(self, filt="."):
        return jq(self.body.decode(errors="replace"), filt)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def curl(url, *args, auth=(USER, PASSWORD), out=None, timeout=60):
    """Real curl; returns the status, the headers (lower-case names) and the body."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    hdr = tmp / f"serve-hdr.{os.getpid()}.{threading.get_ident()}"
    body = out or tmp / f"serve-body.{os.getpid()}.{threading.get_ident()}"
    cmd = ["curl", "-sS", "-D", str(hdr), "-o", str(body), "-w", "%{http_code}"]
    if auth:
        cmd += ["-u", f"{auth[0]}:{auth[1]}"]
    p = subprocess.run(cmd + list(map(str, args)) + [url], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, f"curl {url} failed: {p.stderr}"
    headers = {}
    for line in hdr.read_text(errors="replace").splitlines()[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    data = body.read_bytes() if body.exists() else b""
    hdr.unlink(missing_ok=True)
    if out is None:
        body.unlink(missing_ok=True)
    return Reply(int(p.stdout), headers, data)


@pytest.fixture
def users(tmp_path):
    """An --auth-file made by the real `tracedump passwd`."""
    r = run_td("passwd", USER, input=PASSWORD + "\n")
    assert r.rc == 0, r
    line = r.stdout.strip()
    assert line.startswith(f"{USER}:$y$") and "\n" not in line
    r2 = run_td("passwd", "bob", input="other\n")
    path = tmp_path / "users"
    path.write_text(f"# test users\n{line}\n{r2.stdout}")
    path.chmod(0o600)
    return path


@pytest.fixture
def serve(tmp_path, users):
    """serve(*args, auth=True) starts a server on 127.0.0.1 with a free port."""
    started = []

    def start(*args, auth=True, listen="127.0.0.1:0"):
        extra = ["--auth-file", users] if auth else []
        s = Server("--listen", listen, *extra, *args, tmp=tmp_path)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop(signal.SIGKILL)


def proctree(target, *args):
    t = target("proctree", *args)
    t.tree = list(map(int, t.ready_line.split()[1:6]))
    for pid in t.tree:
        for _ in range(500):
            if proc_state(pid) == "S":
                break
            time.sleep(0.01)
    return t


# --- routes -------------------------------------------------------------------------

def test_process_list_and_detail(serve, target):
    s = serve()
    t = proctree(target)
    r = curl(s.url + "/api/processes")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    mine = r.jq(f'map(select(.id == {t.pid})) | .[0]')
    assert mine["name"] == "proctree"
    assert mine["href"] == f"{s.url}/api/processes/{t.pid}"
    assert mine["is_self"] is False and mine["is_scm_site"] is False
    assert r.jq(f'map(select(.is_self)) | map(.id)') == [s.proc.pid]
    assert r.jq(f'map(select(.is_scm_site)) | map(.id)') == [s.proc.pid]

    d = curl(mine["href"])
    assert d.status == 200
    assert d.jq("{id, name}") == {"id": t.pid, "name": "proctree"}
    assert d.jq(".minidump") == f"{s.url}/api/processes/{t.pid}/dump"
    assert d.jq(".parent").startswith(f"{s.url}/api/processes/")
    assert sorted(d.jq(".children")) == sorted(
        f"{s.url}/api/processes/{c}" for c in (t.tree[1], t.tree[3]))
    # The same JSON as the CLI's show, apart from the base of the links.
    cli = run_td("show", "--interval", "0", t.pid).jq("del(.cpu_percent, .time_stamp)")
    api = d.jq("del(.cpu_percent, .time_stamp)")
    assert api["href"] == s.url + cli["href"]
    for k in ("id", "name", "command_line", "user_name", "thread_count", "environment_variables"):
        assert api[k] == cli[k], k
    # cpu_interval measures cpu_percent like show --interval
    assert curl(mine["href"] + "?cpu_interval=100ms").jq(".cpu_percent") is not None
    assert curl(mine["href"] + "?cpu_interval=forever").status == 400


def test_threads_and_modules(serve, target):
    s = serve()
    t = target("modlib")
    base = f"{s.url}/api/processes/{t.pid}"
    threads = curl(base + "/threads")
    assert threads.status == 200
    ids = threads.jq("map(.id)")
    assert t.pid in ids and len(ids) >= 2
    other = [i for i in ids if i != t.pid][0]
    href = threads.jq(f"map(select(.id == {other})) | .[0].href")
    assert href == f"{base}/threads/{other}"
    one = curl(href)
    assert one.jq("{id, process}") == {"id": other, "process": base}

    mods = curl(base + "/modules")
    assert mods.status == 200
    libz = mods.jq('map(select(.file_name | startswith("libz"))) | .[0]')
    assert libz["href"] == f"{base}/modules/{libz['base_address']}"
    m = curl(libz["href"])
    assert m.status == 200 and m.jq(".base_address") == libz["base_address"]
    # decimal base works as well
    assert curl(f"{base}/modules/{int(libz['base_address'], 16)}").jq(".file_name") == \
        libz["file_name"]


def test_stack_route(serve, target):
    """GET .../stack is `tracedump stack` over HTTP: both deadlocked threads with their
    lock functions, the pause reported, the target left running; no HEAD, no POST."""
    s = serve()
    t = target("deadlock")
    base = f"{s.url}/api/processes/{t.pid}"
    r = curl(base + "/stack")
    assert r.status == 200, r
    assert r.jq(".pause_ms") is not None
    for fn in ("take_b_after_a", "take_a_after_b"):
        th = r.jq(f'[.threads[] | select(any(.frames[]; .function == "{fn}"))]')
        assert len(th) == 1, th
    status = Path(f"/proc/{t.pid}/status").read_text()
    assert "TracerPid:\t0" in status and "State:\tS" in status, status
    assert curl(base + "/stack", "-I").status == 405
    assert curl(base + "/stack", "-X", "POST").status == 405
    assert curl(f"{s.url}/api/processes/4000000/stack").status == 404
    assert curl(base + "/stack", auth=None).status == 401


def test_special_ids(serve, target):
    s = serve()
    assert curl(s.url + "/api/processes/0").jq(".id") == s.proc.pid
    assert curl(s.url + "/api/processes/0").jq(".is_scm_site") is True
    r = curl(s.url + "/api/processes/-1")
    assert r.status == 404 and "--main" in r.jq(".error")
    s.stop()

    t = target("modlib")
    s2 = serve("--main", "modlib")
    r = curl(s2.url + "/api/processes/-1")
    assert r.status == 200 and r.jq(".id") == t.pid
    assert curl(s2.url + "/api/processes/-1/threads").jq(f"map(.id) | index({t.pid}) != null")
    s2.stop()
    s3 = serve("--main", t.pid)
    assert curl(s3.url + "/api/processes/-1").jq(".name") == "modlib"
    s3.stop()
    s4 = serve("--main", "no-such-name")
    r = curl(s4.url + "/api/processes/-1")
    assert r.status == 404 and "no-such-name" in r.jq(".error")


@pytest.mark.parametrize("path,status", [
    ("/api/processes/abc", 400),
    ("/api/processes/-2", 400),
    ("/api/processes/1/threads/x", 400),
    ("/api/processes/1/modules/0xZZ", 400),
    ("/api/nothing", 404),
    ("/api/processes/1/nonsense", 404),
    ("/index.html", 404),
    ("/api/processes/2147483", 404),
    ("/api/processes/0/threads/1", 404),
    ("/api/processes/0/modules/0x1", 404),
])
def test_errors_are_json(serve, path, status):
    s = serve()
    r = curl(s.url + path)
    assert r.status == status, r
    assert r.jq(".status") == status and isinstance(r.jq(".error"), str)


def test_hostile_paths(serve):
    s = serve()
    r = curl(s.url + "/api/processes/%ff%fe")  # not UTF-8 once decoded
    assert r.status == 400 and "\\xff" in r.jq(".error")
    r = curl(s.url + "/api/processes/1%0a2")
    assert r.status == 400
    r = curl(s.url + "/api/processes/1/modules/%22%3E")
    assert r.status == 400
    log = s.requests(3)
    assert [l["status"] for l in log] == [400, 400, 400]
    assert log[0]["path"] == "/api/processes/\\xff\\xfe"


def test_method_not_allowed(serve):
    s = serve()
    r = curl(s.url + "/api/processes/0", "-X", "PUT")
    assert r.status == 405 and "DELETE" in r.headers["allow"]
    assert curl(s.url + "/api/processes", "-X", "DELETE").status == 405
    assert curl(s.url + "/api/processes/0", "-I").status == 200  # HEAD
    r = curl(s.url + "/api/processes/1/dump", "-I")
    assert r.status == 405 and r.headers["allow"] == "GET, POST"
    assert curl(s.url + "/api/events", "-I").status == 405


# --- security -----------------------------------------------------------------------

def test_authentication(serve):
    s = serve()
    url = s.url + "/api/processes/0"
    r = curl(url, auth=None)
    assert r.status == 401 and r.headers["www-authenticate"].startswith('Basic realm=')
    assert r.jq(".status") == 401
    assert curl(url, auth=(USER, "wrong")).status == 401
    assert curl(url, auth=(USER, PASSWORD[:-1])).status == 401
    assert curl(url, auth=("mallory", PASSWORD)).status == 401
    assert curl(url, "-H", "Authorization: Basic !!!", auth=None).status == 401
    assert curl(url, "-H", "Authorization: Bearer abc", auth=None).status == 401
    assert curl(url).status == 200
    assert curl(url, auth=("bob", "other")).status == 200
    # The page needs credentials too; a bad id is not revealed before them.
    assert curl(s.url + "/", auth=None).status == 401
    assert curl(s.url + "/api/processes/abc", auth=None).status == 401
    log = s.requests(10)
    assert {"method": "GET", "path": "/api/processes/0", "status": 401, "user": None}.items() \
        <= log[0].items()
    assert [l["user"] for l in log if l["status"] == 200] == [USER, "bob"]
    assert all(l["duration_ms"] >= 0 for l in log)
    assert PASSWORD not in "\n".join(s.lines) and "s3cret" not in "\n".join(s.lines)


def test_hostile_host_header(serve):
    s = serve()
    for host in ['evil"/><script>', "a/b", "user@evil", "x:99999", "h\tx"]:
        r = curl(s.url + "/api/processes/0", "-H", f"Host: {host}")
        assert r.status == 400, (host, r)
    r = curl(s.url + "/api/processes/0", "-H", "Host: proxy.example.com:8443")
    assert r.jq(".href").startswith("http://proxy.example.com:8443/api/processes/")


def test_read_only(serve, target):
    s = serve("--read-only")
    t = proctree(target)
    r = curl(f"{s.url}/api/processes/{t.pid}", "-X", "DELETE")
    assert r.status == 403 and "read-only" in r.jq(".error")
    assert curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=1").status == 403
    assert curl(f"{s.url}/api/processes/{t.pid}/dump", "-X", "POST").status == 403
    assert t.alive()
    assert curl(f"{s.url}/api/processes/{t.pid}").status == 200


def test_cross_site_writes_refused(serve, target):
    s = serve()
    t = proctree(target)
    r = curl(f"{s.url}/api/processes/{t.pid}", "-X", "DELETE", "-H", "Origin: http://evil.example")
    assert r.status == 403
    r = curl(f"{s.url}/api/processes/{t.pid}/dump", "-H", "Sec-Fetch-Site: cross-site")
    assert r.status == 403
    assert t.alive()


@pytest.mark.parametrize("args,code,what", [
    ([], 2, "without authentication"),
    (["--no-auth", "--listen", "0.0.0.0:0"], 2, "loopback"),
    (["--no-auth", "--listen", "[::]:0"], 2, "loopback"),
    (["--auth-file", "USERS", "--listen", "0.0.0.0:0"], 2, "plain HTTP"),
    (["--auth-file", "USERS", "--tls-cert", "USERS"], 2, "go together"),
    (["--auth-file", "USERS", "--no-auth"], 2, "exclude"),
    (["--auth-file", "/nonexistent/users"], 3, "cannot open"),
    (["--auth-file", "BAD"], 2, "user:hash"),
    (["--no-auth", "--listen", "localhost"], 2, "--listen"),
    (["--no-auth", "--listen", "127.0.0.1:99999"], 2, "--listen"),
    (["--no-auth", "--max-connections", "0"], 2, "max-connections"),
    (["--no-auth", "--idle-timeout", "-1"], 2, "idle-timeout"),
    (["--no-auth", "extra"], 2, "unexpected"),
])
def test_refuses_to_start(users, tmp_path, args, code, what):
    bad = tmp_path / "bad"
    bad.write_text("alice secret\n")
    args = [str(users) if a == "USERS" else str(bad) if a == "BAD" else a for a in args]
    r = run_td("serve", *args, timeout=10)
    assert r.rc == code, r
    assert what in r.stderr


def test_address_in_use(serve):
    s = serve()
    r = run_td("serve", "--no-auth", "--listen", f"127.0.0.1:{s.port}", timeout=10)
    assert r.rc == 1 and "cannot serve" in r.stderr, r
    assert curl(s.url + "/api/processes/0").status == 200


def test_ipv6_loopback(serve):
    if not Path("/proc/net/if_inet6").exists() or \
            "00000000000000000000000000000001" not in Path("/proc/net/if_inet6").read_text():
        pytest.skip("no IPv6 loopback here")
    s = serve("--no-auth", auth=False, listen="[::1]:0")
    assert s.url.startswith("http://[::1]:")
    r = curl(s.url + "/api/processes/0", "-g", auth=None)
    assert r.status == 200 and r.jq(".href").startswith(s.url + "/api/processes/")


def test_insecure_allows_plain_http_off_loopback(serve):
    s = serve("--insecure", listen="0.0.0.0:0")
    assert curl(f"http://127.0.0.1:{s.port}/api/processes/0").status == 200


def test_no_auth_on_loopback(serve):
    s = serve("--no-auth", auth=False)
    r = curl(s.url + "/api/processes/0", auth=None)
    assert r.status == 200
    assert s.log()[0]["auth"] is False
    assert s.requests(1)[-1]["user"] is None


def test_tls(serve, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", key, "-out", cert], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    s = serve("--tls-cert", cert, "--tls-key", key)
    assert s.url.startswith("https://")
    r = curl(s.url + "/api/processes/0", "--cacert", cert)
    assert r.status == 200
    assert r.jq(".href").startswith(s.url + "/api/processes/")
    # Without the CA, curl refuses; plain HTTP gets no answer.
    p = subprocess.run(["curl", "-sS", "-u", f"{USER}:{PASSWORD}", s.url + "/api/processes/0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    p = subprocess.run(["curl", "-sS", "-m", "5", f"http://127.0.0.1:{s.port}/api/processes/0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 or "200" not in p.stdout
    # A non-loopback bind is allowed with TLS.
    s2 = serve("--tls-cert", cert, "--tls-key", key, listen="0.0.0.0:0")
    assert curl(f"https://127.0.0.1:{s2.port}/api/processes/0", "--cacert", cert).status == 200
    # A key that does not parse stops the start.
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    r = run_td("serve", "--no-auth", "--listen", "127.0.0.1:0", "--tls-cert", cert,
               "--tls-key", bad, timeout=10)
    assert r.rc == 1, r


def test_bounded_requests(serve):
    s = serve()
    r = curl(s.url + "/api/processes/0?" + "x" * 40000)
    assert r.status in (414, 431), r
    r = curl(s.url + "/api/processes/0", "-H", "X-Big: " + "y" * 40000)
    assert r.status in (413, 431), r
    r = curl(s.url + "/api/processes/0/dump?dumpType=9", "-X", "POST",
             "--data-binary", "@/dev/null")
    assert r.status == 400
    big = s.tmp / "big.bin"
    big.write_bytes(b"{" * (2 << 20))
    r = curl(s.url + "/api/processes/0/dump", "--data-binary", f"@{big}")
    assert r.status == 413 and r.jq(".status") == 413
    big.unlink()
    # still serving
    assert curl(s.url + "/api/processes/0").status == 200


def test_sigint_and_sigterm_stop_cleanly(serve):
    for sig in (signal.SIGINT, signal.SIGTERM):
        s = serve()
        assert curl(s.url + "/api/processes/0").status == 200
        assert s.stop(sig) == 0
        assert s.log()[-1]["event"] == "stopped"


def test_concurrent_requests(serve, target):
    s = serve()
    t = target("modlib")
    out = []

    def worker():
        for _ in range(10):
            out.append(curl(f"{s.url}/api/processes/{t.pid}/threads").status)

    ts = [threading.Thread(target=worker) for _ in range(6)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    assert out == [200] * 60
    assert len(s.requests(60)) == 60


# --- kill ---------------------------------------------------------------------------

def test_delete_kills_the_tree(serve, target):
    s = serve()
    t = proctree(target)
    r = curl(f"{s.url}/api/processes/{t.pid}", "-X", "DELETE")
    assert r.status == 200, r
    assert r.jq(f".processes | map(.id) | sort") == sorted(t.tree)
    for pid in t.tree:
        for _ in range(200):
            if proc_state(pid) in ("Z", None):
                break
            time.sleep(0.01)
        assert proc_state(pid) in ("Z", None), pid
    assert curl(f"{s.url}/api/processes/{t.pid}", "-X", "DELETE").status in (200, 404)
    r = curl(f"{s.url}/api/processes/0", "-X", "DELETE")
    assert r.status == 403
    assert s.proc.poll() is None


# --- passwd -------------------------------------------------------------------------

@pytest.mark.parametrize("user,pw,code", [
    ("a:b", "pw\n", 2), ("", "pw\n", 2), ("a b", "pw\n", 2), ("x" * 65, "pw\n", 2),
    ("alice", "", 2), ("alice", "\n", 2), ("alice", "p" * 300 + "\n", 2),
])
def test_passwd_refuses(user, pw, code):
    r = run_td("passwd", user, input=pw)
    assert r.rc == code, r
    assert r.stdout == ""


def test_passwd_salts(tmp_path):
    a = run_td("passwd", "u", input="same\n").stdout
    b = run_td("passwd", "u", input="same\n").stdout
    assert a != b and a.startswith("u:$y$") and b.startswith("u:$y$")


# --- the page -----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")


def test_page_is_served(serve):
    s = serve()
    r = curl(s.url + "/")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    html = r.body.decode()
    # self-contained: no external script, style or image
    for bad in ("src=\"http", "href=\"http", "//cdn", "@import"):
        assert bad not in html
    assert html == (Path(__file__).resolve().parents[2] / "userspace/serve/page.html").read_text()


class DevTools:
    """Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated
    JSON): no websocket library needed."""

    def __init__(self, tmp):
        self.cmd_r, self.cmd_w = os.pipe()
        self.ev_r, self.ev_w = os.pipe()
        cmd_r, ev_w = self.cmd_r, self.ev_w

        def fds():
            # via fresh numbers, in case a pipe end already sits on 3 or 4
            a, b = os.dup(cmd_r), os.dup(ev_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp}/chromium", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(self.cmd_r)
        os.close(self.ev_w)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.credentials = None
        self.auth_challenges = 0

    def send(self, method, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def on_event(self, m):
        """With Fetch enabled, the browser's login prompt: answer it like a user would."""
        p = m.get("params", {})
        if m.get("method") == "Fetch.requestPaused":
            self.send("Fetch.continueRequest", requestId=p["requestId"])
        elif m.get("method") == "Fetch.authRequired":
            self.auth_challenges += 1
            user, pw = self.credentials
            self.send("Fetch.continueWithAuth", requestId=p["requestId"],
                      authChallengeResponse={"response": "ProvideCredentials",
                                             "username": user, "password": pw})

    def call(self, method, timeout=30, **params):
        want = self.send(method, **params)
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                m = json.loads(raw)
                if "method" in m:
                    self.on_event(m)
                elif m.get("id") == want:
                    assert "error" not in m, m
                    return m["result"]
            ready, _, _ = select.select([self.ev_r], [], [], 1)
            if ready:
                chunk = os.read(self.ev_r, 1 << 16)
                assert chunk, "chromium closed the pipe"
                self.buf += chunk
        raise AssertionError(f"no answer to {method}")

    def open(self, url, credentials=None):
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        if credentials:
            self.credentials = credentials
            self.call("Fetch.enable", handleAuthRequests=True)
        self.call("Page.navigate", url=url)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def wait(self, expr, timeout=20):
        """Polls @expr in the page until it is truthy; events are answered meanwhile."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            # while the page loads (or the login prompt is up) its elements are missing
            v = self.eval(f"(() => {{ try {{ return {expr}; }} catch (e) {{ return false; }} }})()")
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError(f"page never satisfied {expr}")

    def close(self):
        # Browser.close lets chromium reap its own helpers; a SIGKILL of the group
        # would leave them to PID 1 (which, in some containers, never reaps).
        try:
            self.session = None
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        os.close(self.cmd_w)
        os.close(self.ev_r)


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (make test-deps)")
def test_page_screenshot(serve, target, tmp_path):
    s = serve("--no-auth", auth=False)
    t = target("modlib")
    shot = tmp_path / "page.png"
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={tmp_path}/chromium", "--window-size=1200,800",
                        "--virtual-time-budget=5000", f"--screenshot={shot}",
                        f"{s.url}/#/processes/{t.pid}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    # The page asked for the list and the selected process's details, threads, modules.
    paths = {l["path"] for l in s.requests(5) if l["status"] == 200}
    assert {"/", "/api/processes", f"/api/processes/{t.pid}",
            f"/api/processes/{t.pid}/threads", f"/api/processes/{t.pid}/modules"} <= paths


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (make test-deps)")
def test_page_click_through_and_kill(serve, target, tmp_path):
    s = serve("--no-auth", auth=False)
    mod = target("modlib")
    t = proctree(target)
    dt = DevTools(tmp_path)
    try:
        dt.open(s.url + "/")
        row = f'document.querySelector(\'#proc-list tr[data-pid="{mod.pid}"]\')'
        dt.wait(f"{row} !== null")
        assert dt.eval(f"{row}.cells[0].textContent.trim()") == "modlib"
        # child rows are indented under their parent in the tree
        child = f'document.querySelector(\'#proc-list tr[data-pid="{t.tree[1]}"]\')'
        root = f'document.querySelector(\'#proc-list tr[data-pid="{t.pid}"]\')'
        assert dt.eval(f"parseInt({child}.cells[0].style.paddingLeft) > "
                       f"parseInt({root}.cells[0].style.paddingLeft)")
        dt.eval(f"{row}.click()")
        dt.wait(f"document.getElementById('detail').dataset.pid === '{mod.pid}'")
        assert dt.eval("document.querySelector('#detail h2').textContent") == \
            f"modlib ({mod.pid})"
        nthreads = len(curl(f"{s.url}/api/processes/{mod.pid}/threads", auth=None).jq("."))
        assert dt.eval("document.querySelectorAll('#threads tbody tr').length") == nthreads
        assert dt.eval("document.querySelectorAll('#modules tbody tr').length") > 3
        assert dt.eval("location.hash") == f"#/processes/{mod.pid}"
        href = dt.eval("document.getElementById('dump-mini').getAttribute('href')")
        assert href == f"/api/processes/{mod.pid}/dump?dumpType=0"
        # kill, confirmed
        dt.eval(f"{root}.click()")
        dt.wait(f"document.getElementById('detail').dataset.pid === '{t.pid}'")
        dt.eval("window.confirm = () => true; document.getElementById('kill').click()")
        dt.wait("document.getElementById('detail').textContent.includes('Killed')")
        for pid in t.tree:
            for _ in range(200):
                if proc_state(pid) in ("Z", None):
                    break
                time.sleep(0.02)
            assert proc_state(pid) in ("Z", None)
        for _ in range(100):
            deletes = [l for l in s.requests() if l["method"] == "DELETE"]
            if deletes:
                break
            time.sleep(0.05)
        assert [(l["path"], l["status"]) for l in deletes] == [(f"/api/processes/{t.pid}", 200)]
        assert mod.alive()
    finally:
        dt.close()


# --- dumps (need the dumper: userspace/dump/dumper.c and tests/targets/dumptarget.c) ---

from conftest import TARGETS  # noqa: E402

DUMPTARGET = TARGETS / "dumptarget"
needs_dumper = pytest.mark.skipif(not DUMPTARGET.exists(),
                                  reason="the dumper is not in this tree")
MARKER = 0x5EEDF00DCAFE1234


def dumptarget(target, *args, name="dumptarget"):
    """dumptarget (or a link to it, for a name of its own), once its main thread counts
    ticks; t.advance() waits for more."""
    t = target(name, *args)
    t.last = 0
    t.cond = threading.Condition()

    def read():
        for line in t.proc.stdout:
            if line.startswith("tick "):
                with t.cond:
                    t.last = int(line.split()[1])
                    t.cond.notify_all()

    threading.Thread(target=read, daemon=True).start()

    def advance(by=2, timeout=10):
        with t.cond:
            goal = t.last + by
            return t.cond.wait_for(lambda: t.last >= goal, timeout)

    t.advance = advance
    assert advance(1), "dumptarget never ticked"
    return t


def assert_running_free(t, wait=10):
    """Not traced, no thread stopped (within @wait seconds: the dumper releases the
    target on its own thread, just after the client sees the end), still counting."""
    deadline = time.time() + wait
    while True:
        status = Path(f"/proc/{t.pid}/status").read_text()
        states = [(task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                  for task in Path(f"/proc/{t.pid}/task").iterdir()]
        free = "TracerPid:\t0\n" in status and not any(s in "tT" for s in states)
        if free or time.time() > deadline:
            break
        time.sleep(0.02)
    assert "TracerPid:\t0\n" in status, status
    assert not any(s in "tT" for s in states), f"threads left stopped: {states}"
    assert t.advance(), "the target stopped counting ticks"


def gdb(exe, core, *cmds):
    args = ["gdb", "-nx", "-batch"]
    for c in cmds:
        args += ["-ex", c]
    p = subprocess.run(args + [str(exe), str(core)], capture_output=True, text=True,
                       timeout=120)
    return p.stdout + p.stderr


@needs_dumper
def test_kudu_client_flow(serve, target, tmp_path):
    """What a Kudu client does, unchanged apart from the base URL and credentials."""
    # a name no other process on this host has: a link to dumptarget
    name = f"kudu{os.getpid() % 100000}"
    (tmp_path / name).symlink_to(DUMPTARGET)
    s = serve("--main", name)
    t = dumptarget(target, 3, 8, name=str(tmp_path / name))
    procs = curl(s.url + "/api/processes").jq(f'map(select(.name == "{name}"))')
    assert [p["id"] for p in procs] == [t.pid]
    chosen = None
    for p in procs:
        d = curl(p["href"]).jq(".")
        if d["is_self"] or d["is_scm_site"]:
            continue
        chosen = d
    assert chosen["id"] == t.pid
    # follow the href as given, save the body under the server's file name
    p = subprocess.run(["curl", "-sS", "-f", "-u", f"{USER}:{PASSWORD}", "-OJ",
                        "-w", "%{filename_effective}", chosen["href"] + "/dump?dumpType=1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    core = tmp_path / p.stdout
    assert p.stdout.startswith(f"{name}_api_") and p.stdout.endswith(f".{t.pid}.core")
    assert core.stat().st_size > 8 << 20
    assert_running_free(t)
    out = gdb(DUMPTARGET, core, "thread apply all bt", "print/x dump_marker")
    assert len(re.findall(r"^Thread \d+ ", out, re.M)) == 4, out[-3000:]
    assert len(re.findall(r"in dump_worker_level2 \(", out)) == 3, out[-3000:]
    assert f"$1 = {MARKER:#x}" in out
    # the minidump link of the detail and id -1 (--main) lead to the same process
    r = curl(chosen["minidump"], out=tmp_path / "mini.core")
    assert r.status == 200 and r.headers["x-dump-type"] == "mini"
    assert int(r.headers["content-length"]) == (tmp_path / "mini.core").stat().st_size
    assert (tmp_path / "mini.core").stat().st_size < core.stat().st_size
    r = curl(s.url + "/api/processes/-1/dump?dumpType=0", "-X", "POST",
             "-H", "Content-Type: application/json", "--data", '{"alert": "x"}',
             out=tmp_path / "post.core")
    assert r.status == 200 and f".{t.pid}.core" in r.headers["content-disposition"]
    out = gdb(DUMPTARGET, tmp_path / "post.core", "bt")
    assert "main_tick_loop" in out, out[-2000:]
    assert_running_free(t)
    for f in (core, tmp_path / "mini.core", tmp_path / "post.core"):
        f.unlink()  # pytest keeps old tmp folders: no cores left in them


@needs_dumper
def test_dump_bundle_zip(serve, target, tmp_path):
    s = serve()
    t = dumptarget(target, 2, 4)
    url = f"{s.url}/api/processes/{t.pid}/dump?dumpType=1&format=zip"
    r = curl(url, out=tmp_path / "b.zip")
    if r.status == 501:
        pytest.skip("the bundle is not in this build")
    assert r.status == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["transfer-encoding"] == "chunked"
    name = r.headers["content-disposition"].split('filename="')[1].rstrip('"')
    assert name.startswith("dumptarget_api_") and name.endswith(f".{t.pid}.zip")
    out = tmp_path / "x"
    p = subprocess.run(["unzip", "-q", tmp_path / "b.zip", "-d", out], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["pid"] == t.pid and meta["dump"]["options"]["bundle"] == "zip"
    core = out / name.replace(".zip", ".core")
    exe = out / str(DUMPTARGET).lstrip("/")
    assert core.exists() and exe.exists()
    o = gdb(exe, core, f"set sysroot {out}", "thread apply all bt", "print/x dump_marker")
    assert len(re.findall(r"in dump_worker_level2 \(", o)) == 2, o[-3000:]
    assert f"$1 = {MARKER:#x}" in o
    assert_running_free(t)
    shutil.rmtree(out)
    (tmp_path / "b.zip").unlink()


@needs_dumper
def test_zip_client_that_leaves_releases_target(serve, target):
    s = serve()
    t = dumptarget(target, 2, 256)
    path = f"/api/processes/{t.pid}/dump?dumpType=2&format=zip"
    stalled = StalledDownload(s.url, path)
    if not stalled.head.startswith(b"HTTP/1.1 200"):
        stalled.close()
        pytest.skip("the bundle is not in this build")
    stalled.close()
    for _ in range(200):
        if curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=0").status == 200:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the zip never ended after the client left")
    assert_running_free(t)


@needs_dumper
def test_dump_errors(serve, target):
    s = serve()
    t = dumptarget(target, 1, 1)
    base = f"{s.url}/api/processes/{t.pid}/dump"
    for q, status in [("?dumpType=3", 400), ("?dumpType=x", 400), ("?format=tar", 400)]:
        r = curl(base + q)
        assert r.status == status and r.jq(".status") == status, (q, r)
    r = curl(f"{s.url}/api/processes/2147483/dump")
    assert r.status == 404 and "no process" in r.jq(".error")
    assert curl(f"{s.url}/api/processes/0/dump").status == 403
    assert_running_free(t)


class StalledDownload:
    """A client that asks for a dump, reads the headers and a little, then stops
    reading: the dump stays in progress until it closes the socket."""

    def __init__(self, url, path):
        import base64
        import socket
        host, port = url.split("//")[1].split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        cred = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                          f"Authorization: Basic {cred}\r\n\r\n".encode())
        self.head = b""
        while b"\r\n\r\n" not in self.head:
            chunk = self.sock.recv(4096)
            assert chunk, self.head
            self.head += chunk

    def close(self):
        self.sock.close()


@needs_dumper
def test_second_dump_409_and_disconnect_releases_target(serve, target):
    s = serve()
    t = dumptarget(target, 2, 256)
    path = f"/api/processes/{t.pid}/dump?dumpType=2"
    stalled = StalledDownload(s.url, path)
    assert stalled.head.startswith(b"HTTP/1.1 200"), stalled.head
    r = curl(s.url + path)
    assert r.status == 409 and "already being dumped" in r.jq(".error")
    # the stalled client goes away mid-download: the dump ends, the target runs on
    stalled.close()
    for _ in range(200):
        if curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=0").status == 200:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the dump never ended after the client left")
    assert_running_free(t)
    # logged when it ended (after the 409): a 200 cut short
    log = [(l["status"], l.get("aborted", False)) for l in s.requests(3)
           if l["path"].endswith("/dump")]
    assert log[:2] == [(409, False), (200, True)], log


@needs_dumper
def test_client_that_stops_reading_is_dropped_and_target_released(serve, target):
    s = serve("--idle-timeout", "2")
    t = dumptarget(target, 2, 256)
    stalled = StalledDownload(s.url, f"/api/processes/{t.pid}/dump?dumpType=2&snapshot=0")
    assert stalled.head.startswith(b"HTTP/1.1 200")
    assert b"X-Dump-Snapshot: 0" in stalled.head
    # without a snapshot, frozen while the client does not read (the core is larger
    # than every buffer)
    assert Path(f"/proc/{t.pid}/status").read_text().split("TracerPid:")[1].split()[0] != "0"
    try:
        for _ in range(100):
            log = [l for l in s.requests() if l["path"].endswith("/dump")]
            if log:
                break
            time.sleep(0.1)
        assert log and log[0]["status"] == 200 and log[0]["aborted"] is True
        assert_running_free(t)
    finally:
        stalled.close()


def child_pids(pid):
    """The children of pid, from its threads' children files."""
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids |= {int(x) for x in (task / "children").read_text().split()}
        except (FileNotFoundError, ProcessLookupError):
            pass
    return kids


@needs_dumper
def test_snapshot_dump_is_the_default(serve, target, tmp_path):
    """A snapshot (issue 7) unless snapshot=0: the core comes from a copy-on-write copy
    and the target runs while the client downloads; the access log says what it did."""
    s = serve()
    t = dumptarget(target, 3, 8)
    r = curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=1", out=tmp_path / "s.core")
    assert r.status == 200 and r.headers["x-dump-snapshot"] == "1"
    assert int(r.headers["content-length"]) == (tmp_path / "s.core").stat().st_size
    out = gdb(DUMPTARGET, tmp_path / "s.core", "thread apply all bt", "print/x dump_marker")
    assert len(re.findall(r"^Thread \d+ ", out, re.M)) == 4, out[-3000:]
    assert len(re.findall(r"in dump_worker_level2 \(", out)) == 3, out[-3000:]
    assert f"$1 = {MARKER:#x}" in out
    (tmp_path / "s.core").unlink()
    log = [l for l in s.requests(1) if l["path"].endswith("/dump")][0]
    snap = log["dump"]["snapshot"]
    assert snap["used"] is True and snap["fork_ms"] >= 0 and snap["extra_bytes"] >= 0, log
    assert log["dump"]["type"] == "default" and log["dump"]["pause_ms"] >= 0
    assert log["dump"]["bytes_written"] == int(r.headers["content-length"])
    # back to back: the next request waits for the last one's copy to be reaped, no 409
    for _ in range(3):
        r = curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=0", out=tmp_path / "m.core")
        assert r.status == 200, r
    (tmp_path / "m.core").unlink()
    assert_running_free(t)
    assert child_pids(t.pid) == set(), "the copy was left behind"


@needs_dumper
def test_snapshot_target_runs_while_the_client_stalls(serve, target):
    s = serve()
    t = dumptarget(target, 2, 256)
    stalled = StalledDownload(s.url, f"/api/processes/{t.pid}/dump?dumpType=2")
    try:
        assert stalled.head.startswith(b"HTTP/1.1 200") and b"X-Dump-Snapshot: 1" in stalled.head
        # the core is larger than every buffer: the dump is in progress, from the copy
        assert child_pids(t.pid), "no copy while the dump is being read"
        assert_running_free(t, wait=5)
    finally:
        stalled.close()
    # the client left: the copy is killed and reaped, the target was never stopped again
    for _ in range(200):
        if not child_pids(t.pid):
            break
        time.sleep(0.05)
    assert child_pids(t.pid) == set(), "the copy outlived the download"
    assert_running_free(t)
    log = [l for l in s.requests(1) if l["path"].endswith("/dump")]
    assert log[0]["status"] == 200 and log[0]["aborted"] is True, log


@needs_dumper
def test_snapshot_falls_back_to_the_freeze(serve, target, tmp_path):
    """A target that cannot fork (seccomp) is dumped frozen; the log says why."""
    s = serve()
    t = target("snaptarget", "seccomp")  # its filter is in place when it says ready
    r = curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=1", out=tmp_path / "f.core")
    assert r.status == 200 and r.headers["x-dump-snapshot"] == "1"
    out = gdb(TARGETS / "snaptarget", tmp_path / "f.core", "bt")
    assert "#0" in out and "main" in out, out[-2000:]
    (tmp_path / "f.core").unlink()
    log = [l for l in s.requests(1) if l["path"].endswith("/dump")][0]
    snap = log["dump"]["snapshot"]
    assert snap["used"] is False and re.search(r"seccomp", snap["reason"]), log
    assert child_pids(t.pid) == set()
    assert proc_state(t.pid) not in ("t", "T", None)


@needs_dumper
def test_snapshot_off_and_bad_values(serve, target, tmp_path):
    s = serve()
    t = dumptarget(target, 1, 8)
    r = curl(f"{s.url}/api/processes/{t.pid}/dump?dumpType=0&snapshot=0", out=tmp_path / "p.core")
    assert r.status == 200 and r.headers["x-dump-snapshot"] == "0"
    out = gdb(DUMPTARGET, tmp_path / "p.core", "bt", "print/x dump_marker")
    assert "main_tick_loop" in out and f"$1 = {MARKER:#x}" in out, out[-2000:]
    (tmp_path / "p.core").unlink()
    log = [l for l in s.requests(1) if l["path"].endswith("/dump")][0]
    assert log["dump"]["snapshot"] is None and log["dump"]["type"] == "mini", log
    for bad in ("2", "yes", "", "1x"):
        r = curl(f"{s.url}/api/processes/{t.pid}/dump?snapshot={bad}")
        assert r.status == 400 and "invalid snapshot" in r.jq(".error"), (bad, r)
    r = curl(f"{s.url}/api/processes/{t.pid}/dump?snapshot=1", "-X", "POST",
             out=tmp_path / "q.core")
    assert r.status == 200 and r.headers["x-dump-snapshot"] == "1"
    (tmp_path / "q.core").unlink()
    assert_running_free(t)


@needs_dumper
def test_max_dumps(serve, target):
    s = serve("--max-dumps", "1")
    a = dumptarget(target, 1, 256)
    b = dumptarget(target, 1, 1)
    stalled = StalledDownload(s.url, f"/api/processes/{a.pid}/dump?dumpType=2")
    r = curl(f"{s.url}/api/processes/{b.pid}/dump")
    assert r.status == 503 and "--max-dumps" in r.jq(".error")
    stalled.close()


@needs_dumper
def test_sigterm_during_a_dump_releases_the_target(serve, target):
    s = serve()
    t = dumptarget(target, 2, 256)
    stalled = StalledDownload(s.url, f"/api/processes/{t.pid}/dump?dumpType=2")
    assert s.stop(signal.SIGTERM) == 0
    stalled.close()
    assert_running_free(t)


# --- events (need the tracer: userspace/trace/) --------------------------------------

needs_tracer = pytest.mark.skipif(run_td("trace", "--help").rc != 0,
                                  reason="the tracer is not in this tree")


class EventStream:
    """curl -N on /api/events; lines are read as they come."""

    def __init__(self, url, query):
        self.proc = subprocess.Popen(["curl", "-sSN", "-u", f"{USER}:{PASSWORD}",
                                      f"{url}/api/events?{query}"],
                                     stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_for(self, pred, timeout=20):
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(l is not None and pred(l) for l in self.lines) or None in self.lines,
                timeout)
            found = [l for l in self.lines if l is not None and pred(l)]
        assert found, f"no such event in {self.lines}"
        return found[0]

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


@needs_tracer
def test_events_stream(serve, target):
    s = serve()
    t = proctree(target)
    other = target("modlib")
    ev = EventStream(s.url, f"pid={t.pid}&type=signal,exit&timeout=30s")
    try:
        start = ev.wait_for(lambda l: l["type"] == "start")
        assert start["classes"] == ["signal", "exit"] and start["pids"] == [t.pid]
        os.kill(other.pid, signal.SIGUSR2)  # not a watched process: filtered out
        assert curl(f"{s.url}/api/processes/{t.pid}", "-X", "DELETE").status == 200
        sig = ev.wait_for(lambda l: l["type"] == "signal" and l["pid"] == t.pid)
        assert sig["signal"] == "SIGTERM" and sig["sender"]["pid"] == s.proc.pid
        ex = ev.wait_for(lambda l: l["type"] == "exit" and l["pid"] == t.pid)
        assert ex["signal"] == "SIGTERM"
        assert all(l is None or l.get("pid") in (None, *t.tree) for l in ev.lines)
        assert {l["type"] for l in ev.lines if l} <= {"start", "signal", "signal_deliver",
                                                     "exit"}
    finally:
        ev.close()


@needs_tracer
def test_events_limit_and_bad_queries(serve, target):
    s = serve()
    t = proctree(target)
    # limit ends the stream: the response is complete (curl exits 0)
    ev = EventStream(s.url, f"pid={t.pid}&type=signal&limit=1")
    ev.wait_for(lambda l: l["type"] == "start")
    os.kill(t.pid, signal.SIGCONT)
    ev.wait_for(lambda l: l["type"] == "signal")
    assert ev.proc.wait(timeout=20) == 0
    ev.close()
    for q, status in [("pid=abc", 400), ("pid=0", 400), ("type=bogus", 400),
                      ("type=latency", 400), ("type=cpu", 400), ("timeout=x", 400),
                      ("limit=0", 400),
                      ("pid=2147483", 404)]:
        r = curl(f"{s.url}/api/events?{q}")
        assert r.status == status and r.jq(".status") == status, (q, r)


@needs_tracer
def test_events_of_every_process(serve, target):
    s = serve()
    ev = EventStream(s.url, "type=exit&timeout=30s")
    try:
        start = ev.wait_for(lambda l: l["type"] == "start")
        assert start["all"] is True and start["pids"] == []
        t = target("modlib")
        os.kill(t.pid, signal.SIGKILL)
        t.proc.wait(timeout=10)
        ex = ev.wait_for(lambda l: l["type"] == "exit" and l["pid"] == t.pid)
        assert ex["signal"] == "SIGKILL"
    finally:
        ev.close()


@needs_tracer
def test_events_streams_are_bounded_and_freed(serve, target):
    s = serve()
    t = target("modlib")
    streams = [EventStream(s.url, f"pid={t.pid}&type=exit") for _ in range(4)]
    for e in streams:
        e.wait_for(lambda l: l["type"] == "start")
    r = curl(f"{s.url}/api/events?pid={t.pid}")
    assert r.status == 503
    for e in streams:
        e.close()
    # each stream ends (and unloads its tracer) once its client is gone
    for _ in range(100):
        r = curl(f"{s.url}/api/events?pid={t.pid}&timeout=100ms")
        if r.status == 200:
            break
        time.sleep(0.1)
    assert r.status == 200
    assert json.loads(r.body.decode().splitlines()[0])["type"] == "start"


@pytest.mark.skipif(not CHROMIUM, reason="chromium not installed (make test-deps)")
def test_page_with_basic_auth(serve, target, tmp_path):
    """The browser asks for credentials once; the page's own API calls carry them."""
    s = serve()
    t = target("modlib")
    dt = DevTools(tmp_path)
    try:
        dt.open(f"{s.url}/#/processes/{t.pid}", credentials=(USER, PASSWORD))
        dt.wait(f"document.getElementById('detail').dataset.pid === '{t.pid}'")
        assert dt.eval("document.querySelectorAll('#threads tbody tr').length") >= 2
        assert dt.auth_challenges >= 1
        log = s.requests(5)
        api = [l for l in log if l["path"].startswith("/api/")]
        assert api and all(l["status"] == 200 and l["user"] == USER for l in api), log
        assert any(l["path"] == "/" and l["status"] == 401 for l in log)
    finally:
        dt.close()
