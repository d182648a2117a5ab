#!/usr/bin/env python3
"""A stand-in for the native conference demo's signalling API, to exercise
the browser side of test 4 (wasm/www/conference.js) before the real demo
(crate `conference`) is merged. NOT the real test 4: here the "native
participant" is a second Chromium page (wasm/tests/mock/native.js) running
the same WebAssembly module, and this server only relays.

    python3 wasm/tests/mock_conference.py [--port N]

Serves wasm/www (as serve.py does) plus the contract:

    GET  /session   -> {session_id, suite, ratchet_bits, codec, members, roster_version}
    POST /join      {name, identity, offer} -> {id, answer, roster_version}
    GET  /poll?id=  -> {announcements: [{from, data}], members, roster_version}  (<= 1 s)
    POST /announce  {from, announcements: [{to, data}]}
    GET  /report    -> {native_id: {sender_id: [sha256 hex, ...]}}

and, for the stand-in page only:

    POST /mock/register {identity}         -> {id}
    GET  /mock/offer?id=  (<= 1 s)         -> {joiner: {id, identity}, offer} or {}
    POST /mock/answer {joiner, answer}
    POST /mock/report {id, received: {sender_id: [...]}}
    GET  /mock/*.html|js                    wasm/tests/mock/
"""
import argparse
import json
import os
import secrets
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve  # noqa: E402

HERE = Path(__file__).resolve().parent


class State:
    def __init__(self):
        self.lock = threading.Condition()
        self.session_id = secrets.token_hex(8)
        self.members = []   # [{id, identity, name, native}]
        self.queues = {}    # id -> [{from, data}]
        self.offers = []    # [{joiner, offer}] for the stand-in
        self.answers = {}   # joiner id -> answer sdp
        self.reports = {}   # native id -> {sender id: [hex]}
        self.roster_version = 0  # one more at every membership change

    def add(self, identity, name, native):
        member = {"id": secrets.token_hex(4), "identity": identity, "name": name, "native": native}
        self.members.append(member)
        self.roster_version += 1
        self.queues[member["id"]] = []
        self.lock.notify_all()
        return member

    def public_members(self):
        return [{"id": m["id"], "identity": m["identity"]} for m in self.members]


STATE = State()


class Handler(serve.Handler):
    def _json(self, value, code=200):
        body = json.dumps(value).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        s = STATE
        if url.path == "/session":
            with s.lock:
                return self._json({"session_id": s.session_id, "suite": 4, "ratchet_bits": 8,
                                   "codec": "vp8", "members": s.public_members(),
                                   "roster_version": s.roster_version})
        if url.path == "/poll":
            with s.lock:
                s.lock.wait_for(lambda: s.queues.get(q.get("id")), timeout=1.0)
                queued, s.queues[q.get("id")] = s.queues.get(q.get("id"), []), []
                return self._json({"announcements": queued, "members": s.public_members(),
                                   "roster_version": s.roster_version})
        if url.path == "/report":
            with s.lock:
                return self._json(s.reports)
        if url.path == "/mock/offer":
            with s.lock:
                s.lock.wait_for(lambda: s.offers, timeout=1.0)
                return self._json(s.offers.pop(0) if s.offers else {})
        if url.path.startswith("/mock/"):
            self.directory = str(HERE / "mock")
            self.path = self.path[len("/mock"):]
        return super().do_GET()

    def do_POST(self):
        url = urlparse(self.path)
        body = self._body()
        s = STATE
        with s.lock:
            if url.path == "/mock/register":
                return self._json({"id": s.add(body["identity"], "stand-in", True)["id"]})
            if url.path == "/join":
                member = s.add(body["identity"], body.get("name", "browser"), False)
                version = s.roster_version  # the roster with the joiner, as conference/ answers
                s.offers.append({"joiner": {"id": member["id"], "identity": member["identity"]},
                                 "offer": body["offer"], "roster_version": version})
                s.lock.notify_all()
                if not s.lock.wait_for(lambda: member["id"] in s.answers, timeout=15):
                    return self._json({"error": "no participant answered"}, 504)
                return self._json({"id": member["id"], "answer": s.answers.pop(member["id"]),
                                   "roster_version": version})
            if url.path == "/mock/answer":
                s.answers[body["joiner"]] = body["answer"]
                s.lock.notify_all()
                return self._json({})
            if url.path == "/announce":
                for a in body.get("announcements", []):
                    s.queues.setdefault(a["to"], []).append({"from": body["from"], "data": a["data"]})
                s.lock.notify_all()
                return self._json({})
            if url.path == "/mock/report":
                s.reports[body["id"]] = body["received"]
                return self._json({})
        self.send_error(404)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    import functools
    import http.server
    handler = functools.partial(Handler, directory=str(HERE.parent / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
