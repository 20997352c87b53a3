"""What the benchmark scripts share: a small HTTP client of our API (standard library only)."""

import http.cookiejar
import json
import urllib.error
import urllib.request

PASSWORD = "青山 绿水 2026 bench desk"


class Client:
    def __init__(self, base, ip):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.ip = ip
        self.csrf = None
        self.extra_headers = {}

    def call(self, method, path, body=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("x-forwarded-for", self.ip)
        if data is not None:
            request.add_header("content-type", content_type)
        if self.csrf:
            request.add_header("x-csrf-token", self.csrf)
        for name, value in self.extra_headers.items():
            request.add_header(name, value)
        try:
            with self.opener.open(request, timeout=60) as reply:
                text = reply.read()
                return reply.status, json.loads(text) if text.startswith(b"{") or text.startswith(b"[") else text
        except urllib.error.HTTPError as err:
            text = err.read()
            try:
                return err.code, json.loads(text)
            except ValueError:
                return err.code, text

    def refresh_csrf(self):
        self.csrf = self.call("GET", "/api/v1/session")[1]["csrf_token"]


def register(base, phone, ip):
    """A new account through the API, its SMS code read from the dev outbox; logged out."""
    c = Client(base, ip)
    c.refresh_csrf()
    status, _ = c.call("POST", "/api/v1/sms-codes", {"phone": phone, "purpose": "register"})
    assert status == 202, status
    outbox = c.call("GET", "/api/v1/dev/outbox")[1]
    body = next(m["body"] for m in outbox if m["recipient"] == phone)
    code = next(w for w in "".join(ch if ch.isdigit() else " " for ch in body).split() if len(w) == 6)
    status, reply = c.call(
        "POST", "/api/v1/accounts", {"phone": phone, "code": code, "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert status == 201, (status, reply)
    return c
