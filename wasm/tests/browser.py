#!/usr/bin/env python3
"""framecrypt's browser tests: real headless Chromium over the DevTools
protocol (Python `websocket-client`), pages served from 127.0.0.1.

    python3 wasm/tests/browser.py --url http://127.0.0.1:PORT/ [options]

Runs the cases of wasm/www/test.js and checks their measurements:

  1. two peer connections, VP8 and H.264, the same key at both ends: the
     remote video matches the local fake camera (PSNR of the pictures);
  2. a receiver with a wrong key, one without a key, one without any
     transform: no correct picture, and the worker counts the failures by
     reason;
  3. a ratchet step, then a new generation mid-call: the current receiver
     goes on, a receiver kept on the old key stops;
  4. (with --conference URL) the browser joins the native conference demo;
     the case conference-mock runs the same page against
     wasm/tests/mock_conference.py, whose native side is a stand-in.

Prints one line per check, the page's console output for any case that
fails, and a summary line; exits 1 if anything failed.
"""
import argparse
import contextlib
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

# PSNR over the fake camera's detail (calls.js psnr): a decoded picture
# that is the camera's is far above MATCH_DB (45-60 dB measured); a
# missing or garbage picture far below MISMATCH_DB (0-12 dB). Every check
# prints the measured values.
MATCH_DB = 30.0
MISMATCH_DB = 20.0

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--window-size=1280,900",
]


class Browser:
    """A Chromium process and a websocket to one of its pages."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="framecrypt-chromium-")
        args = [binary, *CHROMIUM_FLAGS, "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 20
        while not port_file.exists() or not port_file.read_text().strip():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id = 0
        self.console = []
        self.sessions = {}
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call("Page.enable")

    def call(self, method, session=None, **params):
        self.next_id += 1
        my_id = self.next_id
        msg = {"id": my_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        who = self.sessions.get(msg.get("sessionId"), "")
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.console.append(f"{who}console.{p.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.console.append(f"{who}exception: {d.get('exception', {}).get('description', d.get('text'))}")
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            self.console.append(f"{who}log.{e.get('level')}: {e.get('text')} {e.get('url', '')}")

    def open_tab(self, url, label):
        """Opens `url` in another tab whose console output joins this one's, prefixed."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.sessions[session] = f"[{label}] "
        self.call("Runtime.enable", session=session)
        self.call("Log.enable", session=session)
        self.call("Page.navigate", session=session, url=url)
        return target

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    def run(self, url, timeout, keep_console=False):
        """Opens `url` and waits for the page's `window.__result`."""
        if not keep_console:
            self.console = []
        self.call("Page.navigate", url=url)
        deadline = time.time() + timeout
        while time.time() < deadline:
            result = self.evaluate("JSON.stringify(window.__result ?? null)")
            if result and result != "null":
                return json.loads(result)
            time.sleep(0.25)
        return {"ok": False, "error": f"no result within {timeout} s"}

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except Exception:
            os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.profile, ignore_errors=True)


@contextlib.contextmanager
def mock_conference():
    """Runs wasm/tests/mock_conference.py; yields its URL."""
    here = Path(__file__).resolve().parent
    proc = subprocess.Popen([sys.executable, str(here / "mock_conference.py")], stdout=subprocess.PIPE,
                            text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail, console=None):
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
            if console is not None:
                print("    --- page console ---")
                for line in console[-80:]:
                    print(f"    {line}")
                print("    --- end of console ---")


def drops(stats, tag):
    return stats["transforms"].get(tag, {}).get("drops", {})


def drop_log(stats, tag):
    """The drops worker.js logged for transform `tag` (a few per reason: KID, CTR, ...)."""
    return stats["transforms"].get(tag, {}).get("dropLog")


def logged_drops(log, first_only=False):
    """A drop log as text for a check's detail (only its first entry if `first_only`), or ''."""
    if not log:
        return ""
    return f", first drop {json.dumps(log[0])}" if first_only else f", drops {json.dumps(log)}"


def check_codec_case(report, result, console, codec, legacy=False):
    label = f"{codec}{' via createEncodedStreams' if legacy else ''}"
    if not result.get("ok"):
        report.check(f"test 1 ({label})", False, result.get("error"), console)
        return
    calls, stats = result["calls"], result["stats"]
    right = calls["right"]
    sent = stats["senders"]["alice"]
    report.check(
        f"test 1 ({label}): remote video is the camera",
        result["flowing"] and right["median"] >= MATCH_DB and stats["receivers"]["right"]["failures"] == 0,
        f"PSNR median {right['median']} dB (samples {right['psnr']}), "
        f"{right['inbound']['framesDecoded']} of {right['inbound']['framesReceived']} frames decoded by {right['inbound'].get('decoder')}, "
        f"{stats['receivers']['right']['ok']} frames authenticated, "
        f"{sent['frames']} protected ({sent['keyframes']} keyframes)"
        f"{logged_drops(drop_log(stats, 'right'))}",
        console)
    mismatches = sum(t.get("typeMismatch", 0) for t in stats["transforms"].values())
    report.check(
        f"test 1 ({label}): frame types agree with the clear bytes",
        mismatches == 0 and sent["keyframes"] > 0,
        f"{mismatches} mismatches, {sent['keyframes']} keyframes protected",
        console)
    report.check(
        f"test 1 ({label}): no WebAssembly allocation per frame",
        result["heapDelta"] == 0 and result["framesDuringHeapCheck"] > 0,
        f"{result['heapDelta']} heap allocations during {result['framesDuringHeapCheck']} frames",
        console)
    if legacy:
        return
    wrong, nokey, raw = calls["wrong"], calls["nokey"], calls["raw"]
    rw, rn = stats["receivers"]["wrong"], stats["receivers"]["nokey"]
    report.check(
        f"test 2 ({label}): wrong key shows no picture, failures counted",
        wrong["median"] < MISMATCH_DB and rw["ok"] == 0 and rw["authenticationFailed"] > 0
        and drops(stats, "wrong").get("authenticationFailed", 0) > 0,
        f"PSNR median {wrong['median']} dB, {rw['authenticationFailed']} authentication failures, "
        f"dropped {drops(stats, 'wrong')}{logged_drops(drop_log(stats, 'wrong'), first_only=True)}",
        console)
    report.check(
        f"test 2 ({label}): no key shows no picture, failures counted",
        nokey["median"] < MISMATCH_DB and rn["ok"] == 0 and rn["unknownKeyId"] > 0,
        f"PSNR median {nokey['median']} dB, {rn['unknownKeyId']} unknown-KID failures, "
        f"dropped {drops(stats, 'nokey')}{logged_drops(drop_log(stats, 'nokey'), first_only=True)}",
        console)
    report.check(
        f"test 2 ({label}): without a transform the wire is no picture",
        raw["median"] < MISMATCH_DB,
        f"PSNR median {raw['median']} dB with {raw['inbound']['framesDecoded']} frames 'decoded' "
        f"(framesDecoded is no proof)",
        console)


def check_rotation(report, result, console):
    if not result.get("ok"):
        report.check("test 3", False, result.get("error"), console)
        return
    p0, p1, p2 = result["phases"]
    cur1, st1 = p1["receivers"]["current"], p1["receivers"]["stale"]
    report.check(
        "test 3: after a ratchet step both receivers follow",
        p1["sender"]["step"] == 1 and cur1["median"] >= MATCH_DB and st1["median"] >= MATCH_DB
        and cur1["stats"].get("step") == 1 and st1["stats"].get("step") == 1
        and cur1["framesInPhase"] > 0 and st1["framesInPhase"] > 0,
        f"step {p1['sender']['step']}: current {cur1['median']} dB at step {cur1['stats'].get('step')}, "
        f"stale {st1['median']} dB at step {st1['stats'].get('step')}",
        console)
    cur2, st2 = p2["receivers"]["current"], p2["receivers"]["stale"]
    report.check(
        "test 3: after a new generation the current receiver goes on",
        p2["sender"]["generation"] == 1 and cur2["median"] >= MATCH_DB
        and cur2["stats"].get("generation") == 1 and cur2["framesInPhase"] > 0
        and cur2["decodedInPhase"] > 0,
        f"generation {p2['sender']['generation']}: {cur2['median']} dB, "
        f"{cur2['framesInPhase']} frames restored, {cur2['decodedInPhase']} decoded in the phase",
        console)
    report.check(
        "test 3: the receiver kept on the old key stops",
        st2["framesInPhase"] == 0 and st2["decodedInPhase"] == 0
        and st2["drops"].get("unknownKeyId", 0) > 0,
        f"{st2['framesInPhase']} frames restored, {st2['decodedInPhase']} decoded, "
        f"dropped {st2['drops']}, picture {st2['median']} dB"
        f"{logged_drops(st2.get('dropLog'), first_only=True)}",
        console)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="where wasm/www is served")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--only", action="append", help="run only these cases (codec-vp8, codec-h264, "
                    "legacy, rotation, demo, bench, conference, conference-mock)")
    ap.add_argument("--screenshot", help="write a PNG of the demo page here")
    ap.add_argument("--bench", help="run the speed case and write its JSON here")
    ap.add_argument("--conference", help="the conference demo's signalling URL (test 4)")
    args = ap.parse_args()
    base = args.url.rstrip("/")
    wanted = set(args.only or ["codec-vp8", "codec-h264", "legacy", "rotation", "demo", "conference",
                               "conference-mock"])
    if args.bench:
        wanted.add("bench")
    report = Report()
    started = time.time()
    browser = Browser(args.chromium)
    try:
        if "codec-vp8" in wanted:
            r = browser.run(f"{base}/test.html?case=codec&codec=VP8", 60)
            check_codec_case(report, r, browser.console, "VP8")
        if "codec-h264" in wanted:
            r = browser.run(f"{base}/test.html?case=codec&codec=H264", 60)
            check_codec_case(report, r, browser.console, "H.264")
        if "legacy" in wanted:
            r = browser.run(f"{base}/test.html?case=codec&codec=VP8&legacy=1", 60)
            check_codec_case(report, r, browser.console, "VP8", legacy=True)
        if "rotation" in wanted:
            r = browser.run(f"{base}/test.html?case=rotation", 90)
            check_rotation(report, r, browser.console)
        if "demo" in wanted:
            r = browser.run(f"{base}/demo.html?auto=1", 60)
            ok = r.get("ok") and r.get("match", 0) >= MATCH_DB and r.get("wire", 99) < MISMATCH_DB
            report.check("demo page: decrypted video beside the wire, keys rotated", bool(ok),
                         f"decrypted {r.get('match')} dB, wire {r.get('wire')} dB, "
                         f"after rotation {r.get('afterRotation')}", browser.console)
            if ok and args.screenshot:
                browser.screenshot(args.screenshot)
                print(f"  screenshot: {args.screenshot}")
        if "bench" in wanted:
            r = browser.run(f"{base}/test.html?case=bench", 120)
            ok = r.get("ok") and all(x["intact"] and x["heapDelta"] == 0 for x in r.get("results", []))
            report.check("speed case", bool(ok), json.dumps(r.get("results", r.get("error"))), browser.console)
            Path(args.bench).write_text(json.dumps(r, indent=2) + "\n")
        if "conference" in wanted and args.conference:
            import conference_check
            conference_check.run(report, browser, base, args.conference)
        elif "conference-mock" in wanted:
            print("  note: test 4 runs against wasm/tests/mock_conference.py, not the native demo")
            import conference_check
            with mock_conference() as url:
                conference_check.run(report, browser, base, url, mock=True)
    finally:
        browser.close()
    total = report.passed + len(report.failed)
    summary = f"browser tests: {report.passed}/{total} checks passed in {time.time() - started:.0f} s"
    if report.failed:
        print(f"{summary}; FAILED: {', '.join(report.failed)}")
        sys.exit(1)
    print(summary)


if __name__ == "__main__":
    main()
