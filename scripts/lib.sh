# Shared helpers for scripts/run, scripts/test and .ci/run. Source it; every step is idempotent.

# Runs a command as root (directly, or through sudo when we are not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian packages that are missing.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q "${missing[@]}" >&2; }
}

# What the build itself needs beyond the Rust toolchain: the CPCN client signs SHA1withRSA with the
# system OpenSSL (aws-lc-rs only verifies SHA-1).
ensure_build_deps() {
  ensure_apt pkg-config libssl-dev
}

# Python packages the tests drive (the SMTP sink), installed for the current user when missing.
ensure_pip() {
  local module=$1 package=$2
  python3 -c "import $module" 2>/dev/null && return 0
  echo "==> installing $package from PyPI" >&2
  # A Debian-managed Python refuses system-wide installs (PEP 668): then into the user's site.
  python3 -m pip install -q "$package" >&2 2>/dev/null ||
    python3 -m pip install -q --user --break-system-packages "$package" >&2
}

# cargo-deny for the license, ban and source checks, built once per machine (≈ 4 minutes).
ensure_cargo_deny() {
  command -v cargo-deny >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/cargo-deny" ] && { export PATH="$HOME/.cargo/bin:$PATH"; return 0; }
  echo "==> building cargo-deny 0.20.2 (once per machine)" >&2
  cargo install -q --locked cargo-deny --version 0.20.2 >&2
  export PATH="$HOME/.cargo/bin:$PATH"
}

# The S3 server the object-storage tests speak to: s3s-fs, built once per machine (≈ 5 minutes;
# newer releases need a newer Rust), kept in ~/.cargo/bin and reused by every later run.
ensure_s3s_fs() {
  command -v s3s-fs >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/s3s-fs" ] && { export PATH="$HOME/.cargo/bin:$PATH"; return 0; }
  echo "==> building the S3 test server (s3s-fs 0.14.1, once per machine)" >&2
  CARGO_TARGET_DIR="${TMPDIR:-/tmp}/sealdesk-s3s-fs-build" cargo install s3s-fs --version 0.14.1 --locked --features binary >&2
  export PATH="$HOME/.cargo/bin:$PATH"
}

pg_ok() {
  psql "$1" -qtAc 'select 1' >/dev/null 2>&1
}

# Makes a PostgreSQL server reachable for the store tests and exports SEALDESK_TEST_POSTGRES_URL.
# Uses the given URL, else a local server (started if installed but stopped, installed if absent).
ensure_postgres() {
  if [ -n "${SEALDESK_TEST_POSTGRES_URL:-}" ]; then
    command -v psql >/dev/null || ensure_apt postgresql-client
  else
    command -v psql >/dev/null || ensure_apt postgresql
    [ -d /etc/postgresql ] || ensure_apt postgresql
    local trust="postgres://postgres@127.0.0.1:5432/postgres"
    local password="postgres://postgres:sealdesk-test@127.0.0.1:5432/postgres"
    if ! pg_ok "$trust" && ! pg_ok "$password"; then
      local version
      version=$(ls /etc/postgresql | sort -V | tail -n1)
      echo "==> starting PostgreSQL $version" >&2
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
      for _ in $(seq 1 30); do pg_ok "$trust" || pg_ok "$password" && break; as_root su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
    fi
    if pg_ok "$trust"; then
      export SEALDESK_TEST_POSTGRES_URL="$trust"
    else
      # A stock Debian server asks for a password over TCP: give the postgres role a test-only one.
      pg_ok "$password" || as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'sealdesk-test'\"" >&2
      export SEALDESK_TEST_POSTGRES_URL="$password"
    fi
  fi
  pg_ok "$SEALDESK_TEST_POSTGRES_URL" || { echo "PostgreSQL at $SEALDESK_TEST_POSTGRES_URL is not reachable" >&2; return 1; }
  # Databases left by interrupted runs: only ours (the underscores escaped, LIKE would take them
  # for any character) and only those older than any run can be (a run at the same time keeps
  # its own), by the age of their files. Where that cannot be read (not a superuser), none.
  local stale="select datname from pg_database where datname like 'sealdesk\\_t\\_%'
    and (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - interval '3 hours'"
  psql "$SEALDESK_TEST_POSTGRES_URL" -qtAc "$stale" 2>/dev/null |
    while read -r db; do psql "$SEALDESK_TEST_POSTGRES_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null; done || true
}
