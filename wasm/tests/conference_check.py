"""Test 4: a browser participant in the native conference demo.

The page (wasm/www/conference.js) joins over the demo's HTTP API, exchanges
HPKE key announcements, publishes VP8, shows the native participants'
video and compares the SHA-256 of the frames it sent with /report. This
module opens it in the running Chromium and checks its result:

- against the real demo: `browser.py --conference URL`, URL being where
  `conference --signal ADDR --www wasm/www` serves (same origin);
- against wasm/tests/mock_conference.py, whose "native participant" is a
  second Chromium page (a check of the browser side only, reported as
  such).
"""
import json
import time
import urllib.request


def run(report, browser, www_url, conference_url, mock=False):
    name = "test 4 (MOCK native side)" if mock else "test 4"
    base = conference_url.rstrip("/")
    standin = None
    browser.console = []
    if mock:
        standin = browser.open_tab(f"{base}/mock/native.html", "stand-in")
        # A member before the browser reads /session, as the demo's native
        # participants are: one that registers later is a join the browser
        # would date at its own join's roster version.
        deadline = time.time() + 30
        while not json.load(urllib.request.urlopen(f"{base}/session", timeout=5)).get("members"):
            if time.time() > deadline:
                report.check(f"{name}: the stand-in registers", False, "not within 30 s", browser.console)
                browser.call("Target.closeTarget", targetId=standin)
                return
            time.sleep(0.2)
    try:
        r = browser.run(f"{base}/conference.html?seconds=6", 90, keep_console=True)
    finally:
        if standin:
            browser.call("Target.closeTarget", targetId=standin)
    console = browser.console
    if not r.get("ok"):
        report.check(f"{name}: the browser joins", False, r.get("error"), console)
        return
    report.check(
        f"{name}: the browser joins and exchanges key announcements",
        bool(r["members"]) and len(r["opened"]) >= len(r["members"]) and not r["refused"],
        f"id {r['id']}, members {r['members']}, opened {r['opened']}, refused {r['refused']}",
        console)
    natives = r["natives"]
    report.check(
        f"{name}: native participants decrypted our frames byte-exact",
        bool(natives) and all(n["decrypted"] >= 10 and n["unknown"] == 0 for n in natives.values()),
        f"sent {r['sent']} frames; per native participant {json.dumps(natives)}",
        console)
    shown = {t: x for t, x in r["receive"].items() if x["frames"] > 0}
    report.check(
        f"{name}: the browser shows the native participants' video",
        bool(shown) and all(
            x["width"] > 0 and x["inbound"]["framesDecoded"] > 5
            and x["drops"].get("authenticationFailed", 0) == 0 for x in shown.values())
        and {x["peer"] for x in shown.values()} >= set(natives),
        json.dumps(r["receive"]),
        console)
