"""The cluster test (scripts/cluster-test): N sealdesk instances behind nginx on PostgreSQL and S3
(scripts/cluster up), applicants registering, applying with uploads, ordering and paying through
the simulator at the same time, then a staff member approving, producing and handing over every
order, while one instance is killed with SIGKILL and restarted, twice.
Then the books are checked in PostgreSQL and the bucket: nothing lost, nothing twice.

Clients behave as people do: a 502/503 or a dropped connection is tried again (and counted in the
figures; nginx itself passes a request that never reached a dead instance on to the next one). Any
other failure, and any 500 at all, fails the test. Order confirmation is sent twice with one
idempotency key, as a client that never saw the answer would, and must give one order.
"""

import http.cookiejar
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

# At most 20: every applicant comes from 127.0.0.1, and SMS codes are limited per client address.
APPLICANTS = int(os.environ.get("CLUSTER_APPLICANTS", "18"))
INSTANCES = int(os.environ.get("CLUSTER_INSTANCES", "3"))
RETRYABLE = {502, 503, 504}
T0 = time.time()

lock = threading.Lock()
seen = {"requests": 0, "retried": 0, "server_errors": [], "statuses": {}}


def note(key, value=1):
    with lock:
        seen[key] = seen.get(key, 0) + value


class Client:
    """One applicant's browser: cookies, the CSRF token, retries on a dead instance."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def send(self, method, path, body=None, headers=None, retry=True, raw=None, content_type=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        time.sleep(random.uniform(0.02, 0.15))  # a person between two clicks
        for attempt in range(8):
            request = urllib.request.Request(self.base + path, data=data, method=method)
            request.add_header("Content-Type", content_type or "application/json")
            if self.csrf:
                request.add_header("X-CSRF-Token", self.csrf)
            for k, v in (headers or {}).items():
                request.add_header(k, v)
            note("requests")
            try:
                with self.opener.open(request, timeout=30) as response:
                    status, text = response.status, response.read()
            except urllib.error.HTTPError as err:
                status, text = err.code, err.read()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status, text = None, b""
            with lock:
                seen["statuses"][status] = seen["statuses"].get(status, 0) + 1
            if status is not None and status >= 500 and status not in RETRYABLE:
                with lock:
                    seen["server_errors"].append(f"{method} {path} → {status}: {text[:200]!r}")
            if (status is None or status in RETRYABLE) and retry:
                note("retried")
                time.sleep(0.3 * (attempt + 1))
                continue
            return status, text
        raise RuntimeError(f"{method} {path}: no instance answered after retries")

    def json(self, method, path, body=None, headers=None, expect=(200,), retry=True):
        status, text = self.send(method, path, body, headers, retry)
        if status not in expect:
            raise RuntimeError(f"{method} {path} → {status}: {text[:300]!r}")
        return json.loads(text) if text else None

    def refresh_csrf(self):
        self.csrf = self.json("GET", "/api/v1/session")["csrf_token"]


def png(width, height, seed, noisy=False):
    """A valid PNG (zlib-compressed RGB rows); `noisy` ones do not compress (a real photo's size)."""
    import struct
    import zlib

    rng = random.Random(seed)
    raw = b"".join(b"\x00" + (rng.randbytes(width * 3) if noisy else
                               b"".join(bytes(((x * 7 + y * 3 + seed) % 256, (y * 5) % 256, 90)) for x in range(width)))
                   for y in range(height))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def resident_id(n):
    first17 = f"44030519900101{n % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def upload(client, path, photo):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    status, text = client.send("PUT", path, raw=body, content_type=f"multipart/form-data; boundary={boundary}")
    if status != 201:
        raise RuntimeError(f"upload {path} → {status}: {text[:200]!r}")


def applicant(base, n, results):
    phone = f"1390013{n:04d}"
    password = "集群 测试 用的 密码 2026"
    c = Client(base)
    c.refresh_csrf()
    # 429 only when a retried request finds the code it sent before (resend waits a minute).
    c.json("POST", "/api/v1/sms-codes", {"phone": phone, "purpose": "register"}, expect=(202, 429))
    outbox = c.json("GET", "/api/v1/dev/outbox")
    body = next(m["body"] for m in outbox if m["recipient"] == phone)
    code = next(w for w in "".join(ch if ch.isdigit() else " " for ch in body).split() if len(w) == 6)
    account = {"phone": phone, "code": code, "password": password, "password_confirm": password}
    # After a retry: 409 (the first attempt made the account), or 422 (it used the code with it).
    c.json("POST", "/api/v1/accounts", account, expect=(201, 409, 422))
    session = c.json("POST", "/api/v1/session", {"phone": phone, "password": password})
    c.csrf = session["csrf_token"]
    # The session made through one instance is good on every other (nginx spreads the requests).
    for _ in range(INSTANCES * 2):
        c.json("GET", "/api/v1/me")
    draft = c.json("POST", "/api/v1/applications", {"subject_kind": "personal", "business": "new"}, expect=(201,))
    app_id = draft["id"]
    catalog = c.json("GET", "/api/v1/catalog")
    package = next(p["id"] for p in catalog["packages"] if p["subject_kind"] == "personal")
    c.json("PUT", f"/api/v1/applications/{app_id}/package", {"package_id": package})
    c.json("PUT", f"/api/v1/applications/{app_id}/subject",
           {"user_type": "individual", "holder_name": "李雷", "holder_id_number": resident_id(100 + n)})
    c.json("PUT", f"/api/v1/applications/{app_id}/agent",
           {"name": "赵六", "id_number": resident_id(500 + n), "phone": "13700137000", "email": "agent@example.com"})
    consent = c.json("GET", "/api/v1/consent")
    c.json("POST", "/api/v1/consent", {"version": consent["version"], "agree": True}, expect=(204,))
    for kind in ["holder_id_front", "holder_id_back", "agent_id_front", "agent_id_back",
                 "authorization", "service_agreement"]:
        upload(c, f"/api/v1/applications/{app_id}/documents/{kind}", png(40, 24, n))
    # One upload of a real photo's size (≈ 1 MB), which nginx buffers to disk on its way.
    upload(c, f"/api/v1/applications/{app_id}/documents/application_form", png(600, 560, n, noisy=True))
    key = f"cluster-{n}-{uuid.uuid4().hex[:8]}"
    order = c.json("POST", f"/api/v1/applications/{app_id}/order",
                   {"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "none"},
                   headers={"Idempotency-Key": key}, expect=(201, 200))
    # The same confirmation sent again (a client that never saw the answer) is the same order.
    again = c.json("POST", f"/api/v1/applications/{app_id}/order",
                   {"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "none"},
                   headers={"Idempotency-Key": key}, expect=(201, 200))
    assert again["id"] == order["id"], "an idempotent retry made a second order"
    c.json("POST", f"/api/v1/orders/{order['id']}/payments", {"method": "alipay_qr"}, expect=(200, 201))
    trade = order["order_no"] + "A"
    c.send("GET", f"/sim/alipay/qr/{trade}")
    status, _ = c.send("POST", f"/sim/alipay/cashier/{trade}/pay", raw=b"", content_type="application/x-www-form-urlencoded")
    if status not in (200, 303):
        raise RuntimeError(f"paying {trade} → {status}")
    deadline = time.time() + 120
    while time.time() < deadline:
        state = c.json("GET", f"/api/v1/orders/{order['id']}")["status"]
        if state == "under_review":
            break
        if state == "pending_payment":
            c.send("POST", f"/api/v1/orders/{order['id']}/payments/refresh")
        time.sleep(0.5)
    else:
        raise RuntimeError(f"order {order['order_no']} never reached 审核中")
    with lock:
        results.append((order["id"], order["order_no"]))


def totp(secret_base32, at=None):
    """RFC 6238 (SHA-1, 6 digits, 30 s), as the authenticator app computes it."""
    import base64
    import hashlib
    import hmac
    import struct

    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Staff(Client):
    """A back-office browser: HTML forms with the page's CSRF token."""

    def page(self, path):
        status, text = self.send("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} → {status}")
        text = text.decode()
        self.csrf = text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        return text

    def submit(self, path, fields, expect=(200,)):
        import urllib.parse

        body = urllib.parse.urlencode([("_csrf", self.csrf), *fields]).encode()
        status, text = self.send("POST", path, raw=body, content_type="application/x-www-form-urlencoded")
        if status not in expect:
            raise RuntimeError(f"POST {path} → {status}: {text[:300]!r}")
        return text.decode()


def staff_work(base, state, orders):
    """A reviewer-and-producer approves each paid order, records its key, readies it for pickup
    and hands it over against the code the applicant was sent."""
    binary = open(f"{state}/bin").read().strip()
    created = subprocess.run([binary, "--config", f"{state}/sealdesk.toml", "staff", "add", "--username", "ops.cluster",
                              "--name", "集群测试", "--roles", "reviewer,fulfilment"],
                             check=True, capture_output=True, text=True).stdout
    initial = next(line.split(": ", 1)[1].strip() for line in created.splitlines() if line.startswith("initial password"))
    s = Staff(base)
    s.page("/admin/login")
    enrol = s.submit("/admin/login", [("username", "ops.cluster"), ("password", initial)])
    secret = enrol.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0]
    s.csrf = enrol.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    s.submit("/admin/totp", [("code", totp(secret))])
    s.page("/admin/password")
    own = "集群 后台 自己的 密码 2026"
    s.submit("/admin/password", [("current", initial), ("password", own), ("password_confirm", own)])
    day = time.strftime("%Y-%m-%d")
    next_year = time.strftime("%Y-%m-%d", time.localtime(time.time() + 360 * 86400))
    for order_id, order_no in orders:
        s.page(f"/admin/orders/{order_id}")
        s.submit(f"/admin/orders/{order_id}/claim", [])
        s.submit(f"/admin/orders/{order_id}/approve", [])
        s.submit(f"/admin/orders/{order_id}/key",
                 [("key_type", "main"), ("serial", f"CL{order_id:08d}AA"), ("valid_from", day), ("valid_to", next_year)])
        s.submit(f"/admin/orders/{order_id}/ready", [])
        outbox = s.json("GET", "/api/v1/dev/outbox")
        text = next(m["body"] for m in outbox if order_no in m["body"] and "取件码" in m["body"])
        code = text.split("取件码 ", 1)[1][:6]
        s.submit(f"/admin/orders/{order_id}/hand-over", [("code", code)])


def chaos(pids, ports, stop, log):
    """Kills one instance with SIGKILL and restarts it on its port, twice."""
    state = os.environ.get("SEALDESK_CLUSTER_DIR", "/tmp/sealdesk-cluster")
    binary = open(f"{state}/bin").read().strip()
    victim = 1 if len(pids) > 1 else 0
    for round_no in range(2):
        time.sleep(0.5 + random.random())
        if stop.is_set():
            log.append("the applicants finished before the next kill")
            return
        os.kill(pids[victim], signal.SIGKILL)
        log.append(f"killed instance {victim + 1} (pid {pids[victim]}) with SIGKILL at {time.time() - T0:.1f} s")
        time.sleep(1.5)
        out = open(f"{state}/logs/instance-{victim + 1}-restart-{round_no}.log", "w")
        child = subprocess.Popen([binary, "--config", f"{state}/sealdesk.toml", "serve", "--addr",
                                  f"127.0.0.1:{ports[victim]}"], stdout=out, stderr=subprocess.STDOUT)
        pids[victim] = child.pid
        open(f"{state}/instance-{victim + 1}.pid", "w").write(str(child.pid))
        log.append(f"restarted instance {victim + 1} (pid {child.pid}) at {time.time() - T0:.1f} s")


def sql(url, query):
    return subprocess.run(["psql", url, "-qtAc", query], check=True, capture_output=True, text=True).stdout.strip()


def database_figures(url):
    """What the database has done so far: transactions, rows written, WAL, size."""
    commits, inserted, updated, deleted = map(int, sql(url, "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted "
                                                          "FROM pg_stat_database WHERE datname = current_database()").split("|"))
    wal = sql(url, "SELECT pg_current_wal_lsn()")
    size = int(sql(url, "SELECT pg_database_size(current_database())"))
    return {"commits": commits, "inserted": inserted, "updated": updated, "deleted": deleted, "wal": wal, "size": size}


def held_rows(url):
    """Rows and their bytes (without indexes) per table, exactly (the statistics views lag)."""
    tables = sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'").split()
    held = {}
    for t in tables:
        rows, size = sql(url, f'SELECT COUNT(*), COALESCE(SUM(pg_column_size(t.*)), 0) FROM "{t}" t').split("|")
        held[t] = (int(rows), int(size))
    return held


def capacity_figures(url, before, rows_before, state, applicants, requests):
    """The per-application costs the capacity model in docs/deploy.md is built from."""
    after = database_figures(url)
    wal = int(float(sql(url, f"SELECT pg_wal_lsn_diff('{after['wal']}', '{before['wal']}')")))
    rows = held_rows(url)
    grown = {t: n - rows_before.get(t, (0, 0))[0] for t, (n, _) in rows.items() if n - rows_before.get(t, (0, 0))[0] > 0}
    row_bytes = sum(b for _, b in rows.values()) - sum(b for _, b in rows_before.values())
    bucket = 0
    for root, _, files in os.walk(f"{state}/s3/uploads"):
        bucket += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    per = lambda v: v / max(applicants, 1)  # noqa: E731
    print(f"capacity, per application (end to end: register, apply, 7 uploads, order, pay, approve, produce, hand over; "
          f"{applicants} applications, start-up and background jobs included):")
    print(f"  database: {per(after['commits'] - before['commits']):.0f} transactions, "
          f"{per(after['inserted'] - before['inserted']):.0f} rows inserted, {per(after['updated'] - before['updated']):.0f} updated, "
          f"{per(after['deleted'] - before['deleted']):.0f} deleted, {per(wal) / 1024:.0f} KiB of WAL, "
          f"{per(after['size'] - before['size']) / 1024:.0f} KiB of database growth")
    print(f"  rows kept: {per(sum(grown.values())):.0f} of {per(row_bytes) / 1024:.1f} KiB (row data, without indexes) — " + ", ".join(f"{t} {per(n):.1f}" for t, n in sorted(grown.items(), key=lambda kv: -kv[1])))
    print(f"  bucket: {per(bucket) / 1024:.0f} KiB in {per(grown.get('documents', 0)):.1f} documents (this test's small uploads; "
          f"see docs/deploy.md for photos)")
    print(f"  HTTP: {per(requests):.0f} API requests (a browser adds pages and assets)")


def stop_instances(state):
    """SIGTERM every instance and wait: their database sessions end and flush their statistics."""
    pids = []
    for name in os.listdir(state):
        if name.startswith("instance-") and name.endswith(".pid"):
            pid = int(open(os.path.join(state, name)).read().strip())
            try:
                os.kill(pid, signal.SIGTERM)
                pids.append(pid)
            except ProcessLookupError:
                pass
    deadline = time.time() + 20
    for pid in pids:
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    time.sleep(1.5)


def main():
    up = subprocess.run(["scripts/cluster", "up", str(INSTANCES)], check=True, capture_output=True, text=True)
    sys.stderr.write(up.stderr[-2000:])
    values = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
    base = values["URL"]
    pids = [int(p) for p in values["SEALDESK_PIDS"].split(",")]
    ports = [int(p) for p in values["SEALDESK_PORTS"].split(",")]
    state = os.environ.get("SEALDESK_CLUSTER_DIR", "/tmp/sealdesk-cluster")
    admin = open(f"{state}/admin_url").read().strip()
    db_url = admin.rsplit("/", 1)[0] + "/" + open(f"{state}/database").read().strip()
    print(f"cluster: {INSTANCES} instances behind nginx at {base}; {APPLICANTS} applicants")
    time.sleep(1.5)  # the instances' start-up statistics reach pg_stat_database
    figures_before, rows_before = database_figures(db_url), held_rows(db_url)

    results, failures, log, stop = [], [], [], threading.Event()
    global T0
    started = T0 = time.time()
    killer = threading.Thread(target=chaos, args=(pids, ports, stop, log))
    killer.start()

    def run(n):
        time.sleep(n * 0.15)  # applicants arrive over a few seconds
        try:
            applicant(base, n, results)
        except Exception as err:  # noqa: BLE001 — every failure is reported below
            with lock:
                failures.append(f"applicant {n}: {err}")

    workers = [threading.Thread(target=run, args=(n,)) for n in range(APPLICANTS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    killer.join()
    # Staff work once the instance is back (an approval whose answer was lost would be a
    # conflict to sort out by hand, as it would be for a person).
    try:
        staff_work(base, state, sorted(results))
    except Exception as err:  # noqa: BLE001 — reported below
        failures.append(f"staff: {err}")
    elapsed = time.time() - started
    for line in log:
        print(f"chaos: {line}")

    # The books, straight from PostgreSQL and the bucket.
    orders = int(sql(db_url, "SELECT COUNT(*) FROM orders"))
    paid = int(sql(db_url, "SELECT COUNT(*) FROM payments WHERE status = 'paid'"))
    twice = int(sql(db_url, "SELECT COUNT(*) FROM (SELECT order_id FROM payments WHERE status = 'paid' GROUP BY order_id HAVING COUNT(*) > 1) t"))
    completed = int(sql(db_url, "SELECT COUNT(*) FROM orders WHERE status = 'completed'"))
    duplicate_events = int(sql(db_url, "SELECT COUNT(*) FROM (SELECT order_id, to_status FROM order_events GROUP BY order_id, to_status HAVING COUNT(*) > 1) t"))
    documents = sql(db_url, "SELECT file_key FROM documents").split()
    objects = set(os.listdir(f"{state}/s3/uploads/blobs")) if os.path.isdir(f"{state}/s3/uploads/blobs") else set()
    missing = [k for k in documents if k not in objects]
    notifications = int(sql(db_url, "SELECT COUNT(*) FROM notifications"))
    dup_notifications = int(sql(db_url, "SELECT COUNT(*) FROM (SELECT dedupe_key FROM notifications GROUP BY dedupe_key HAVING COUNT(*) > 1) t"))

    print(f"orders: {orders} placed by {APPLICANTS} applicants, {completed} approved, produced and handed over, "
          f"{paid} payments applied, "
          f"{twice} orders paid twice, {duplicate_events} states entered twice in a history")
    print(f"uploads: {len(documents)} document rows, {len(missing)} without their object in the bucket "
          f"({len(objects)} objects)")
    print(f"notifications: {notifications} queued, {dup_notifications} duplicated")
    print(f"requests: {seen['requests']} ({seen['retried']} retried after a 502/503 or a dropped connection), "
          f"statuses {dict(sorted((str(k), v) for k, v in seen['statuses'].items()))}, {elapsed:.1f} s")
    stop_instances(state)
    capacity_figures(db_url, figures_before, rows_before, state, orders, seen["requests"])
    problems = list(failures) + seen["server_errors"]
    if orders != APPLICANTS or completed != APPLICANTS or paid != APPLICANTS:
        problems.append(f"expected {APPLICANTS} orders, each paid once and completed")
    if twice or duplicate_events or missing or dup_notifications:
        problems.append("something was lost or applied twice")
    if len(log) < 4:
        problems.append("the instance was not killed and restarted twice while applicants worked (raise CLUSTER_APPLICANTS)")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems[:20]))
        kept = f"{state}-logs-{int(time.time())}"
        subprocess.run(["cp", "-r", f"{state}/logs", kept], check=False)
        subprocess.run(["scripts/cluster", "down"], check=False)
        print(f"the instances' and nginx's logs are kept in {kept}")
        sys.exit(1)
    subprocess.run(["scripts/cluster", "down"], check=True)
    print("cluster test passed")


if __name__ == "__main__":
    main()
