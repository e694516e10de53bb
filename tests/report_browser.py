"""Open an HTML file in headless Chromium over the DevTools protocol (stdlib only).

`inspect_page(path, screenshot)` loads `file://path` with networking off, waits until every
`.plotly-chart` holds a drawn SVG (or a timeout), and returns console errors, exceptions, dialogs,
requests to anything other than file:/data:/about:, the chart boxes and some DOM text. A tiny
WebSocket client (RFC 6455, masked text frames out, unmasked frames in) is enough for CDP.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*")


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _WebSocket:
    def __init__(self, url: str, timeout: float = 60.0):
        assert url.startswith("ws://")
        host_port, _, path = url[5:].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake failed")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def send(self, text: str) -> None:
        data = text.encode()
        header = bytearray([0x81])
        n = len(data)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("websocket closed by peer")
            if opcode in (0x9, 0xA):
                continue
            parts.append(payload)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    dom: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    drawn_after_s: float | None = None


CHART_JS = """JSON.stringify(Array.from(document.querySelectorAll('.plotly-chart')).map(d => {
  const svg = d.querySelector('svg.main-svg'); const r = svg ? svg.getBoundingClientRect() : null;
  return {id: d.id, drawn: !!svg, width: r ? r.width : 0, height: r ? r.height : 0,
          traces: d.querySelectorAll('.trace, .scatterlayer .trace, .funnellayer .trace').length};
}))"""
DOM_JS = """JSON.stringify({title: document.title,
  h1: (document.querySelector('h1') || {}).textContent || '',
  scripts_with_src: document.querySelectorAll('script[src]').length,
  body_text: document.body.innerText,
  svg_text: Array.from(document.querySelectorAll('svg text')).map(t => t.textContent),
  wide_tables: Array.from(document.querySelectorAll('div.scroll'))
    .filter(d => d.scrollWidth > d.clientWidth + 1 && d.offsetParent !== null)
    .map(d => (d.previousElementSibling || {}).textContent || d.id || ''),
  height: document.documentElement.scrollHeight})"""


class _Session:
    def __init__(self, ws: _WebSocket):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, expression: str) -> object:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float = 30.0) -> int:
    marker = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker.is_file():
            lines = marker.read_text().split("\n")
            if lines and lines[0].strip():
                return int(lines[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _record(session: _Session, report: PageReport) -> None:
    for msg in session.events:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report.console_errors.append(json.dumps(params.get("args", []))[:500])
        elif method == "Runtime.exceptionThrown":
            report.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            report.console_errors.append(params["entry"].get("text", "")[:500])
        elif method == "Page.javascriptDialogOpening":
            report.dialogs.append(params.get("message", ""))
            session.call("Page.handleJavaScriptDialog", accept=True)
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:", "blob:")):
                report.external_requests.append(url)
    session.events.clear()


def inspect_page(html_path: Path, screenshot: Path | None = None, timeout: float = 60.0,
                 extra_js: dict[str, str] | None = None, poll_s: float = 0.25) -> PageReport:
    """Load the page in headless Chromium and report what a user (and the console) would see.
    `extra_js` (name -> expression) are evaluated once the charts are drawn, into `extra`;
    `drawn_after_s` is the time from navigation until every chart was drawn (to `poll_s`)."""
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium not installed")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                             "--window-size=1280,1000", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = PageReport()
    try:
        port = _devtools_port(profile, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.loads(resp.read())
        page = next(t for t in targets if t.get("type") == "page")
        session = _Session(_WebSocket(page["webSocketDebuggerUrl"], timeout=timeout))
        for domain in ("Page", "Runtime", "Log", "Network"):
            session.call(f"{domain}.enable")
        started = time.monotonic()
        session.call("Page.navigate", url=html_path.resolve().as_uri())
        end = started + timeout
        while time.monotonic() < end:
            _record(session, report)
            state = session.evaluate("document.readyState")
            charts = json.loads(session.evaluate(CHART_JS) or "[]") if state == "complete" else []
            if state == "complete" and all(c["drawn"] for c in charts):
                report.drawn_after_s = time.monotonic() - started
                break
            time.sleep(poll_s)
        _record(session, report)
        report.charts = json.loads(session.evaluate(CHART_JS) or "[]")
        report.dom = json.loads(session.evaluate(DOM_JS) or "{}")
        report.extra = {name: session.evaluate(js) for name, js in (extra_js or {}).items()}
        if screenshot is not None:
            height = min(int(report.dom.get("height", 1000)), 16000)
            session.call("Emulation.setDeviceMetricsOverride", width=1280, height=height,
                         deviceScaleFactor=1, mobile=False)
            shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        _record(session, report)
        session.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    return report
