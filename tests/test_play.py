"""play: the local page, served on loopback only, driven by a real browser that types."""
import http.client
import json
import signal
import subprocess
import sys
import threading

import pytest

from browser import needs_playwright, typing_browser
from grader.playground.server import PlayServer, trace_json
from grader.playground.session import Session
from submissions import with_hooks, write_submission
from test_explain import FAST

HOSTILE_REASON = '<img src=x onerror=alert(1)><script>alert(2)</script>\x1b[31m'


@pytest.fixture
def serve(shipped_model):
    """A playground for a submission body, on a free port of 127.0.0.1; closed after the test."""
    running = []

    def start(tmp_path, body: str) -> PlayServer:
        session = Session(write_submission(tmp_path, body), limits=FAST, model=shipped_model, alternatives=26)
        server = PlayServer(session, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        return server
    yield start
    for server in running:
        server.shutdown()
        server.server_close()
        server.session.close()


def call(server, method, path, body=None, headers=None, token=None):
    """A request for path below the server's token (or the token given)."""
    conn = http.client.HTTPConnection(*server.server_address, timeout=120)
    host = {"Host": f"127.0.0.1:{server.server_address[1]}"}
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, f"/{server.token if token is None else token}{path}", data,
                 {**host, "Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    return response, response.read()


def test_loopback_only_and_a_strict_page(tmp_path, serve):
    server = serve(tmp_path, with_hooks())
    assert server.server_address[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
    response, page = call(server, "GET", "/")
    assert response.status == 200 and b'<script src="play.js">' in page
    csp = response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert b"http" not in page and b"//" not in page.replace(b"<!DOCTYPE", b"")  # nothing remote
    assert call(server, "GET", "/", headers={"Host": "evil.example:80"})[0].status == 403
    assert call(server, "POST", "/ask", {"request": "a"}, {"Content-Type": "text/plain"})[0].status == 403
    assert call(server, "POST", "/nope", {"request": "a"})[0].status == 400
    assert call(server, "POST", "/forward", {"context": "a1"})[0].status == 400
    assert call(server, "POST", "/ask", {"request": "a\nb"})[0].status == 400


def test_only_the_printed_address_with_its_token_is_served(tmp_path, serve):
    """Another user of the machine reaches the port, not the token (red team: uid 65534 asked)."""
    server = serve(tmp_path, with_hooks())
    assert server.url == f"http://127.0.0.1:{server.server_address[1]}/{server.token}/"
    assert len(server.token) >= 40 and server.token != serve(tmp_path, with_hooks()).token
    wrong = server.token[:-1] + ("A" if server.token[-1] != "A" else "B")
    for token in ("", "ask", wrong, server.token[:-1], server.token + "x"):
        assert call(server, "GET", "/", token=token)[0].status == 403
        assert call(server, "GET", "/play.js", token=token)[0].status == 403
        response, body = call(server, "POST", "/ask", {"request": "pearl"}, token=token)
        assert response.status == 403 and b"names" not in body
    conn = http.client.HTTPConnection(*server.server_address, timeout=120)
    conn.request("POST", "/ask", json.dumps({"request": "pearl"}),
                 {"Host": f"127.0.0.1:{server.server_address[1]}", "Content-Type": "application/json"})
    assert conn.getresponse().status == 403  # the red team's request, as it was sent
    conn.close()
    response, _ = call(server, "GET", "/")
    assert response.getheader("Referrer-Policy") == "no-referrer"


def test_an_answer_with_its_distributions_and_forward_pass(tmp_path, serve, shipped_model):
    server = serve(tmp_path, with_hooks())
    response, body = call(server, "POST", "/ask", {"request": "a b"})
    answer = json.loads(body)
    assert response.status == 200 and answer["answer"].startswith("OK: ")
    assert answer["prefixes"] == [["a", "a"], ["b", "b"]] and 0 < answer["leak"] < 1
    for name in answer["names"]:
        for step in name["steps"]:
            assert len(step["distribution"]) == 27 and sum(p for _, p in step["distribution"]) == pytest.approx(1)
    step = answer["names"][0]["steps"][0]
    forward = json.loads(call(server, "POST", "/forward", {"context": step["context"]})[1])
    letters = "abcdefghijklmnopqrstuvwxyz"
    drawn = (letters + "~").index(step["token"]) if step["token"] != "<end>" else 26
    assert forward["probabilities"][drawn] == pytest.approx(step["probability"], abs=1e-4)
    assert len(forward["attention"]) == 4 and len(forward["attention"][0]) == len(step["context"]) + 1


def test_a_busy_sandbox_does_not_stop_the_page(tmp_path, serve):
    server = serve(tmp_path, with_hooks())
    done = {}
    with server.session.lock:  # as when a hook is still running
        asking = threading.Thread(target=lambda: done.update(r=call(server, "POST", "/ask", {"request": "a"})))
        asking.start()
        assert call(server, "GET", "/")[0].status == 200
        assert asking.is_alive()  # still waiting for the sandbox
    asking.join()
    assert done["r"][0].status == 200


def test_hook_strings_are_cleaned():
    from grader.grading.explain import SampleTrace, Trace
    trace = Trace("bot.py", "", "request", "", "", 0, 0.5, "a\x1b", ["a\x1b"], ["a"], 1, 0,
                  [SampleTrace(0, "REFUSE: x", "refused", "is_safe_request", "", ())], 0.0, "", ["bad\x07"])
    sent = json.dumps(trace_json(trace), ensure_ascii=False)
    assert "\x1b" not in sent and "\x07" not in sent  # shown as escapes instead
    assert trace_json(trace)["request"] == "a\\u001b" and trace_json(trace)["notes"] == ["bad\\u0007"]


@needs_playwright()
def test_a_browser_types_a_request_and_sees_why(tmp_path, serve):
    server = serve(tmp_path, with_hooks(output_patterns='["^pears?$"]'))
    with typing_browser() as page:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=yes]")
        page.keyboard.type("a b")  # the request box has the focus
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-answers='1']", timeout=60_000)
        log = page.inner_text("#log")
        assert "Bot: OK: " in log and "decided by" in log and "P(leak)" in log and "'a' -> 'a'" in log
        page.wait_for_selector("#distribution")
        assert page.locator("#distribution .bar").count() == 27
        assert "(drawn)" in page.inner_text("#distribution")
        page.wait_for_selector("#step table")  # the forward pass: attention of each head
        assert "embedding" in page.inner_text("#step") and "MLP" in page.inner_text("#step")
        for _ in range(10):  # keyboard alone: Tab to the first letter, then the second, Enter
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.path') !== null"):
                break
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.locator(".path button").nth(1).get_attribute("aria-pressed") == "true"
        assert page.errors == []


@needs_playwright()
def test_a_hostile_or_slow_bot_neither_hangs_nor_injects(tmp_path, serve):
    body = with_hooks(f"if prefixes == ['zz']:\n    while True:\n        pass\nreturn {HOSTILE_REASON!r}")
    server = serve(tmp_path, body)
    with typing_browser() as page:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=yes]")
        for n, text in enumerate(["zz", "ab"], 1):
            page.fill("#request", text)
            page.keyboard.press("Enter")
            page.wait_for_selector(f"body[data-answers='{n}']", timeout=60_000)
        log = page.inner_text("#log")
        assert "took longer than 1 s" in log  # the hanging hook timed out
        assert "<img src=x onerror=alert(1)><script>alert(2)</script>" in log  # shown as text
        assert page.locator("#log img, #log script").count() == 0 and page.errors == []
        write_submission(tmp_path, with_hooks(prelude="import os"))  # the gate refuses the edit
        page.fill("#request", "ab")
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-answers='3']", timeout=60_000)
        assert "Not answered: the integrity gate refuses this file" in page.inner_text("#log")


def test_the_command_prints_its_loopback_url_and_stops_on_ctrl_c(spawn):
    proc = spawn([sys.executable, "-m", "grader", "play", "starter/bot.py", "--port", "0"],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = line.split()[1]
    assert line.startswith("playground: http://127.0.0.1:") and url.endswith("/")
    address, token = url.removeprefix("http://").rstrip("/").split("/")
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    for path, status in ((f"/{token}/", 200), ("/", 403)):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == status
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
