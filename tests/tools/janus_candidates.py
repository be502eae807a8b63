#!/usr/bin/env python3
"""Asks a Janus for its ICE candidates over its HTTP API: creates a session, attaches
janus.plugin.echotest, sends an offer (one audio m-line, ICE credentials, a sha-256
fingerprint) and prints the a=candidate lines of the answer (half-trickle: they are in the SDP).
Every request and the wait for the answer are bounded. Usage: janus_candidates.py URL [SECONDS]
Exit 0 with the candidate lines on stdout; 1 with the reason on stderr."""
import json
import random
import sys
import time
import urllib.request

OFFER = "\r\n".join([
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=msid-semantic: WMS",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:nD1a",
    "a=ice-pwd:natdiagjanustestpassword01",
    "a=ice-options:trickle",
    "a=fingerprint:sha-256 " + ":".join("%02X" % b for b in range(32)),
    "a=setup:actpass",
    "a=mid:0",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:111 opus/48000/2",
    "",
])


def call(url, body, timeout):
    body = dict(body, transaction="%016x" % random.getrandbits(64))
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def main():
    base = sys.argv[1].rstrip("/")
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    deadline = time.monotonic() + budget
    session = call(base, {"janus": "create"}, 3)["data"]["id"]
    handle = call("%s/%d" % (base, session), {"janus": "attach", "plugin": "janus.plugin.echotest"}, 3)["data"]["id"]
    ack = call("%s/%d/%d" % (base, session, handle),
               {"janus": "message", "body": {"audio": True, "video": False}, "jsep": {"type": "offer", "sdp": OFFER}}, 3)
    if ack.get("janus") not in ("ack", "event"):
        sys.exit("janus refused the offer: %s" % json.dumps(ack))
    events = [ack]
    # The answer comes as an event on the session's long poll; bounded by the budget.
    while time.monotonic() < deadline:
        if any("jsep" in e for e in events):
            break
        left = max(1, int(deadline - time.monotonic()))
        with urllib.request.urlopen("%s/%d?maxev=5" % (base, session), timeout=left + 2) as response:
            got = json.loads(response.read())
        events.extend(got if isinstance(got, list) else [got])
    answers = [e["jsep"]["sdp"] for e in events if "jsep" in e]
    if not answers:
        sys.exit("no answer from janus within %.0f s: %s" % (budget, json.dumps(events)[:500]))
    for line in answers[0].split("\r\n"):
        if line.startswith("a=candidate:"):
            print(line)
    try:
        call("%s/%d" % (base, session), {"janus": "destroy"}, 3)
    except Exception:  # the answer is what was asked for; a failed goodbye changes nothing
        pass


if __name__ == "__main__":
    main()
