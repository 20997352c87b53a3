"""Filled applications and 确认订单 under load, for scripts/bench-web (standard library only).

  bench_web_orders.py fill BASE_URL PHONE N STATE
      A new applicant completes N personal applications through the API (package, subject,
      agent, seven documents) from 4 clients; their ids and the session go to the file STATE.
      Prints one line: applications/s.
  bench_web_orders.py place BASE_URL STATE COUNT [C]
      Places the orders of COUNT of STATE's applications from C (64) concurrent keep-alive
      clients. Prints one line: orders/s, p99 ms, non-201 answers, p50 ms.
"""

import http.client
import json
import queue
import sys
import threading
import time
import urllib.parse

from bench_web_seed import applicant, complete_application

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
SEEDERS = 4


def resident_id(n):
    """A distinct valid GB 11643 number per n < 3,000,000: Beijing Chaoyang, a birth day and a sequence."""
    day = time.gmtime(315532800 + (n // 900) * 86400)  # from 1980-01-01
    body = f"110105{day.tm_year:04d}{day.tm_mon:02d}{day.tm_mday:02d}{100 + n % 900:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


class Conn:
    """One keep-alive connection carrying the applicant's session cookie and CSRF token."""

    def __init__(self, base, cookie, csrf):
        url = urllib.parse.urlsplit(base)
        self.http = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.headers = {"cookie": cookie, "x-csrf-token": csrf, "x-forwarded-for": "198.51.100.201"}

    def call(self, method, path, body=None, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = dict(self.headers, **(headers or {}))
        if data is not None:
            sent["content-type"] = content_type
        self.http.request(method, path, body=data, headers=sent)
        reply = self.http.getresponse()
        text = reply.read()
        return reply.status, (json.loads(text) if text[:1] in (b"{", b"[") else text)


def run_all(threads):
    """Starts the threads, waits for all of them, and returns the seconds that took."""
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def seed(base, cookie, csrf, package, numbers, out):
    c = Conn(base, cookie, csrf)
    for n in numbers:
        out.append(complete_application(c, package, resident_id(n), "韩梅梅"))


def fill(base, phone, count, state):
    c, package = applicant(base, phone, "198.51.100.201")
    cookie = next(f"{k.name}={k.value}" for k in c.jar if "sid" in k.name)
    offset = int(phone[-2:]) * 20000  # distinct subjects per phone (one open order per subject)
    done = [[] for _ in range(SEEDERS)]
    seeders = [threading.Thread(target=seed, args=(base, cookie, c.csrf, package,
                                                   range(offset + i, offset + count, SEEDERS), done[i]))
               for i in range(SEEDERS)]
    took = run_all(seeders)
    apps = [a for part in done for a in part]
    assert len(apps) == count, f"seeded {len(apps)} of {count}"
    with open(state, "w") as f:
        json.dump({"cookie": cookie, "csrf": c.csrf, "applications": apps}, f)
    print(f"{count / took:.0f}")


def place_some(base, cookie, csrf, work, latencies, failures):
    c = Conn(base, cookie, csrf)
    order = {"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "none"}
    while True:
        try:
            app = work.get_nowait()
        except queue.Empty:
            return
        started = time.perf_counter()
        status, reply = c.call("POST", f"/api/v1/applications/{app}/order", order,
                               headers={"idempotency-key": f"bench-order-{app}"})
        latencies.append(time.perf_counter() - started)
        if status != 201:
            failures.append((status, reply))


def place(base, state, count, clients):
    with open(state) as f:
        saved = json.load(f)
    assert len(saved["applications"]) >= count, f"{state} holds {len(saved['applications'])} applications"
    work = queue.Queue()
    for app in saved["applications"][:count]:
        work.put(app)
    latencies, failures = [], []
    workers = [threading.Thread(target=place_some, args=(base, saved["cookie"], saved["csrf"], work, latencies, failures))
               for _ in range(clients)]
    took = run_all(workers)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    if failures:
        kinds = {}
        for status, reply in failures:
            key = f"{status} {reply.get('code') if isinstance(reply, dict) else str(reply)[:60]}"
            kinds[key] = kinds.get(key, 0) + 1
        print(f"refused: {kinds}", file=sys.stderr)
    print(f"{count / took:.0f} {p(0.99):.2f} {len(failures)} {p(0.5):.2f}")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "fill":
        fill(args[0], args[1], int(args[2]), args[3])
    elif mode == "place":
        place(args[0], args[1], int(args[2]), int(args[3]) if len(args) > 3 else 64)
    else:
        sys.exit(__doc__)
