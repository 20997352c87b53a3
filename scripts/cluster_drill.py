"""The restore drill (scripts/cluster-drill): a cluster takes applicants' orders and uploads; a
backup is made (pg_dump, the bucket's objects, the secret key); the cluster is gone; a fresh
cluster is started from the backup alone, and every applicant logs in there and finds the same
orders, in the same states, and downloads the same documents, byte for byte."""

import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import cluster_test  # noqa: E402 — the applicant journey and the client

APPLICANTS = 3
PASSWORD = "集群 测试 用的 密码 2026"


def up(extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    out = subprocess.run(["scripts/cluster", "up", "2"], check=True, capture_output=True, text=True, env=env).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)["URL"]


def what_each_applicant_sees(base):
    """Per applicant: their orders (number, state) and the SHA-256 of every document."""
    seen = {}
    for n in range(APPLICANTS):
        phone = f"1390013{n:04d}"
        c = cluster_test.Client(base)
        c.refresh_csrf()
        c.csrf = c.json("POST", "/api/v1/session", {"phone": phone, "password": PASSWORD})["csrf_token"]
        orders = sorted((o["order_no"], o["status"]) for o in c.json("GET", "/api/v1/orders"))
        digests = []
        for application in c.json("GET", "/api/v1/applications"):
            for doc in c.json("GET", f"/api/v1/applications/{application['id']}/documents"):
                status, body = c.send("GET", f"/api/v1/applications/{application['id']}/documents/{doc['kind']}")
                assert status == 200, f"{phone} {doc['kind']}: {status}"
                digests.append((doc["kind"], hashlib.sha256(body).hexdigest()))
        seen[phone] = (orders, sorted(digests))
    return seen


def main():
    base = up()
    print(f"drill: a 2-instance cluster at {base} takes {APPLICANTS} applicants' orders and uploads")
    results = []
    for n in range(APPLICANTS):
        cluster_test.applicant(base, n, results)
    before = what_each_applicant_sees(base)
    backup = tempfile.mkdtemp(prefix="sealdesk-backup-")
    subprocess.run(["scripts/cluster", "backup", backup], check=True)
    subprocess.run(["scripts/cluster", "down"], check=True)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(backup) for f in fs)
    print(f"drill: backup of {size // 1024} KiB in {backup}; the cluster, its database and its bucket are gone")

    base = up({"SEALDESK_CLUSTER_RESTORE": backup})
    after = what_each_applicant_sees(base)
    subprocess.run(["scripts/cluster", "down"], check=True)
    subprocess.run(["rm", "-rf", backup], check=True)
    orders = sum(len(o) for o, _ in after.values())
    documents = sum(len(d) for _, d in after.values())
    if after != before:
        for phone in before:
            if before[phone] != after.get(phone):
                print(f"FAILED for {phone}:\n  before {before[phone]}\n  after  {after.get(phone)}")
        sys.exit(1)
    print(f"drill: the restored cluster serves the same {orders} orders (same states) and the same "
          f"{documents} documents, byte for byte, to the same {APPLICANTS} applicants")


if __name__ == "__main__":
    main()
