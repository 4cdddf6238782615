#!/usr/bin/env python3
"""Webhook delivery latency on loopback: from a change's answer to the event's arrival.

    python3 end2end/webhook-latency.py [KEYWARD_BIN] [EVENTS]

Starts KEYWARD_BIN (default ./target/release/keyward) on a fresh SQLite database with loopback
destinations allowed, sets an owner up, registers an endpoint on a receiver in this process, then
creates EVENTS keys (default 200) one after another, a little apart, and prints the p50 and p99 of
the time from each create's answer to its `key.created` delivery. Each instance looks for due
deliveries every half second, which bounds what this can show.
"""
import http.server, json, os, socket, subprocess, sys, tempfile, threading, time, urllib.parse, urllib.request

binary = sys.argv[1] if len(sys.argv) > 1 else "./target/release/keyward"
events = int(sys.argv[2]) if len(sys.argv) > 2 else 200
arrived = {}


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        at = time.monotonic()
        data = json.loads(body)
        if data["type"] == "key.created":
            arrived[data["data"]["target"]["id"]] = at
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
data = tempfile.mkdtemp()
port = free_port()
base = f"http://127.0.0.1:{port}"
env = dict(os.environ, DATABASE_URL=f"sqlite://{data}/keyward.db", KEYWARD_LISTEN=f"127.0.0.1:{port}",
           KEYWARD_LOG="warn", KEYWARD_WEBHOOK_ALLOW_PRIVATE="true", LEPTOS_HASH_FILES="false",
           KEYWARD_OWNER_PASSWORD="measuring webhook latency")
subprocess.run([binary, "create-owner", "--organization", "Bench", "--name", "Bench", "--email", "bench@keyward.test"],
               env=env, check=True, capture_output=True)
server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz")
            break
        except OSError:
            time.sleep(0.1)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def fn(function, **form):
        request = urllib.request.Request(f"{base}/api/{function}", data=urllib.parse.urlencode(form).encode(),
                                         headers={"Origin": base, "Accept": "application/json"})
        return json.load(opener.open(request))

    fn("sign_in", email="bench@keyward.test", password="measuring webhook latency")
    fn("change_plan", plan="enterprise")
    project = fn("list_projects")[0]["id"]
    token = fn("create_key", name="admin", project_id=project, environment="production",
               scopes="api_keys.read api_keys.create webhooks.manage", expiration="never")["token"]

    def api(path, body):
        request = urllib.request.Request(f"{base}/api/v1{path}", data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))

    api("/webhooks", {"url": f"http://127.0.0.1:{receiver.server_port}/hooks", "events": ["key.created"]})
    sent = {}
    for i in range(events):
        created = api("/keys", {"name": f"latency {i}"})
        sent[created["key"]["id"]] = time.monotonic()
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    while len(arrived) < events and time.monotonic() < deadline:
        time.sleep(0.1)
    latencies = sorted((arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived)
    if len(latencies) < events:
        sys.exit(f"only {len(latencies)} of {events} events arrived")
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"webhook delivery on loopback, {events} key.created events: p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, "
          f"max {latencies[-1]:.0f} ms (the worker looks every 500 ms)")
finally:
    server.terminate()
    server.wait()
