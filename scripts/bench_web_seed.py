"""Seeds scripts/bench-web's service through the API: one applicant with 50 orders (each a
complete personal application: package, subject, agent, seven documents, then 确认订单).

Usage: bench_web_seed.py BASE_URL  — prints the applicant's session cookie (name=value).
"""

import sys

from benchlib import PASSWORD, register

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(n):
    """A valid GB 11643 number: Beijing Chaoyang, born 1990-01-01, sequence n."""
    body = f"11010519900101{n:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]
    return body + check


def png():
    """A small, valid RGB PNG (uploads are decoded and re-encoded, so it must be a real one)."""
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    width, height = 32, 20
    raw = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 7 % 256, y * 11 % 256, 90))
                   for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def multipart(data):
    boundary = "bench-seed-7f3a"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


KINDS = ["holder_id_front", "holder_id_back", "agent_id_front", "agent_id_back",
         "application_form", "authorization", "service_agreement"]
AGENT = {"name": "赵六", "id_number": resident_id(500), "phone": "13700137000", "email": "agent@example.com"}


def complete_application(c, package, holder_id, holder_name):
    """A personal application filled through the API (package, subject, agent, seven documents)
    by a client with `call(method, path, body, raw=, content_type=)`; returns its id."""
    status, draft = c.call("POST", "/api/v1/applications", {"subject_kind": "personal", "business": "new"})
    assert status == 201, (status, draft)
    app = draft["id"]
    assert c.call("PUT", f"/api/v1/applications/{app}/package", {"package_id": package})[0] == 200
    subject = {"user_type": "individual", "holder_name": holder_name, "holder_id_number": holder_id}
    assert c.call("PUT", f"/api/v1/applications/{app}/subject", subject)[0] == 200
    assert c.call("PUT", f"/api/v1/applications/{app}/agent", AGENT)[0] == 200
    body, content_type = multipart(png())
    for kind in KINDS:
        status, reply = c.call("PUT", f"/api/v1/applications/{app}/documents/{kind}", raw=body,
                               content_type=content_type)
        assert status == 201, (kind, status, reply)
    return app


def applicant(base, phone, ip):
    """A new applicant, signed in, consent given; returns the client and a personal package's id."""
    c = register(base, phone, ip)
    status, reply = c.call("POST", "/api/v1/session", {"phone": phone, "password": PASSWORD})
    assert status == 200, (status, reply)
    c.refresh_csrf()
    version = c.call("GET", "/api/v1/consent")[1]["version"]
    assert c.call("POST", "/api/v1/consent", {"version": version, "agree": True})[0] == 204
    package = next(p for p in c.call("GET", "/api/v1/catalog")[1]["packages"] if p["subject_kind"] == "personal")["id"]
    return c, package


def main(base, orders):
    c, package = applicant(base, "13900005000", "198.51.100.200")
    for n in range(orders):
        app = complete_application(c, package, resident_id(100 + n), "李雷")
        order = {"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "none"}
        c.extra_headers = {"idempotency-key": f"bench-seed-order-{n:04d}"}
        status, reply = c.call("POST", f"/api/v1/applications/{app}/order", order)
        c.extra_headers = {}
        assert status == 201, (status, reply)
    cookie = next(f"{k.name}={k.value}" for k in c.jar if "sid" in k.name)
    print(cookie)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50)
