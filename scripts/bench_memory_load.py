"""Load half of scripts/bench-memory: what logins and image bombs do to the service's memory.

Usage: bench_memory_load.py BASE_URL PID [SECONDS]

1. Eight clients log in continuously for SECONDS (30): peak RSS, RSS a minute later, the
   answers (a 503 "busy" counts as refused, never as a failed login), and the p99 of another
   user's page meanwhile against idle.
2. Eight image bombs uploaded at once (8192×8192 PNGs inside the 10 MB limit, 8-bit RGB,
   16-bit RGBA): the slowest answer and the RSS growth.
Standard library only; the client is ours, the numbers are the server's (/proc/PID/status).
"""

import struct
import sys
import threading
import time
import zlib

from benchlib import PASSWORD, Client, register

BASE, PID = sys.argv[1], int(sys.argv[2])
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0


def rss_mb():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def login(c, phone):
    c.jar.clear()
    c.refresh_csrf()
    status, _ = c.call("POST", "/api/v1/session", {"phone": phone, "password": PASSWORD})
    if status == 200 or status == 204:
        c.refresh_csrf()
    return status


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def page_times(c, stop, out):
    while not stop.is_set():
        started = time.perf_counter()
        c.call("GET", "/api/v1/orders")
        out.append(time.perf_counter() - started)
        time.sleep(0.02)


def logins():
    phones = [f"1390000{n:04d}" for n in range(8)]
    clients = [register(BASE, p, f"198.51.100.{n + 1}") for n, p in enumerate(phones)]
    reader = register(BASE, "13900009999", "198.51.100.99")
    login(reader, "13900009999")
    idle = []
    stop = threading.Event()
    t = threading.Thread(target=page_times, args=(reader, stop, idle))
    t.start()
    time.sleep(5)
    stop.set()
    t.join()

    before = rss_mb()
    answers, peak, busy = {}, before, []
    stop = threading.Event()
    lock = threading.Lock()

    def hammer(c, phone):
        while not stop.is_set():
            status = login(c, phone)
            with lock:
                answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=hammer, args=(c, p)) for c, p in zip(clients, phones)]
    threads.append(threading.Thread(target=page_times, args=(reader, stop, busy)))
    for t in threads:
        t.start()
    deadline = time.time() + SECONDS
    while time.time() < deadline:
        peak = max(peak, rss_mb())
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    time.sleep(60)
    after = rss_mb()
    print(f"logins, 8 clients for {SECONDS:.0f} s      answers {dict(sorted(answers.items()))}")
    print(f"  RSS before / peak / a minute after   {before:7.1f} / {peak:7.1f} / {after:7.1f} MB"
          f"   targets: peak ≤ 200 MB, after < 100 MB")
    ratio = percentile(busy, 0.99) / percentile(idle, 0.99)
    print(f"  another user's page p99 idle / during  {percentile(idle, 0.99) * 1000:6.1f} / "
          f"{percentile(busy, 0.99) * 1000:6.1f} ms   ratio {ratio:.2f}   target ≤ 2")
    return reader


def png_bomb(side, depth, color):
    channels = {2: 3, 6: 4}[color]
    row = b"\x00" + bytes(side * channels * depth // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, depth, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def multipart(data):
    boundary = "bench-boundary-5f1d"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bomb.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def bombs(c):
    version = c.call("GET", "/api/v1/consent")[1]["version"]
    assert c.call("POST", "/api/v1/consent", {"version": version, "agree": True})[0] == 204
    status, draft = c.call("POST", "/api/v1/applications", {"subject_kind": "enterprise", "business": "new"})
    assert status == 201, (status, draft)
    kinds = ["license", "holder_id_front", "holder_id_back", "agent_id_front"]
    files = [png_bomb(8192, 8, 2), png_bomb(8192, 16, 6)]
    print(f"image bombs: 8192×8192 PNGs of {len(files[0]) // 1024} KB (RGB8) and {len(files[1]) // 1024} KB (RGBA16)")
    before, peak, answers, slowest = rss_mb(), rss_mb(), [], 0.0
    lock = threading.Lock()

    def upload(n):
        nonlocal slowest
        body, content_type = multipart(files[n % 2])
        started = time.perf_counter()
        status, reply = c.call("PUT", f"/api/v1/applications/{draft['id']}/documents/{kinds[n % 4]}",
                               raw=body, content_type=content_type)
        took = time.perf_counter() - started
        code = reply.get("fields", [{}])[0].get("code", reply.get("code")) if isinstance(reply, dict) else status
        with lock:
            answers.append((status, code))
            slowest = max(slowest, took)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mb())
        time.sleep(0.02)
    print(f"  8 in parallel: answers {sorted(set(answers))}, slowest {slowest:.2f} s (target ≤ 2 s), "
          f"RSS growth {peak - before:.1f} MB (target ≤ 256 MB)")


if __name__ == "__main__":
    reader = logins()
    bombs(reader)
