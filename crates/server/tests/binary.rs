//! The `sealdesk` binary as an operator meets it: it starts on a printed address in a fresh data
//! directory, serves health, readiness and metrics, keeps secrets out of its output, refuses a
//! production start it cannot honour, and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sealdesk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealdesk"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SEALDESK_")) {
        command.env_remove(key);
    }
    command
}

/// Starts `serve` and returns the child with the base URL it printed.
fn serve(
    data_dir: &std::path::Path,
    extra_env: &[(&str, &str)],
) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut command = sealdesk();
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("sealdesk is running at http://127.0.0.1:"), "{line}");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();
    (child, url, stdout)
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn serves_a_fresh_instance_and_stops_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("fresh");
    let (mut child, base, _stdout) = serve(&dir, &[]);

    assert_eq!(get(&format!("{base}/healthz")).await, (200, "ok".into()));
    assert_eq!(get(&format!("{base}/readyz")).await, (200, "ready".into()));
    let (status, home) = get(&format!("{base}/")).await;
    assert!(status == 200 && home.contains("在线申请"));
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    assert!(metrics.contains("http_requests_total") && metrics.contains("route=\"/healthz\""), "{metrics}");

    assert!(dir.join("sealdesk.db").exists(), "embedded database in the data dir");
    let key = dir.join("secret.key");
    #[cfg(unix)]
    for key in [key, dir.join("dev-keys/alipay-app.pem"), dir.join("dev-keys/cpcn-gateway.pem")] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600,
            "the generated key {} is private",
            key.display()
        );
    }
    // The payment simulators answer beside the site, and a cashier URL for nothing is refused.
    let (status, page) = get(&format!("{base}/sim/alipay/cashier/SD1A")).await;
    assert!(status == 404 && page.contains("ACQ.TRADE_NOT_EXIST"), "{status} {page}");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(code.success(), "clean exit on SIGTERM: {code:?}");
}

/// Fetches `url` as bytes and lets OpenSSL (`x509` or `crl`) print what it holds.
async fn openssl_reads(url: &str, kind: &str) -> (Vec<u8>, String) {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let bytes = response.bytes().await.unwrap().to_vec();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let out = Command::new("openssl")
        .arg(kind)
        .args(["-inform", "DER", "-noout", "-text", "-in"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{url}: {}", String::from_utf8_lossy(&out.stderr));
    (bytes, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn publishes_its_ca_roots_and_revocation_lists_and_keeps_its_ca_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("ca-instance");
    let (mut child, base, _stdout) = serve(&dir, &[]);
    let (root, text) = openssl_reads(&format!("{base}/ca/sm2-root.crt"), "x509").await;
    assert!(text.contains("SM2 Root CA") && text.contains("CA:TRUE"), "{text}");
    let (_, text) = openssl_reads(&format!("{base}/ca/ecdsa-p256-root.crt"), "x509").await;
    assert!(text.contains("ECC Root CA"), "{text}");
    for algorithm in ["sm2", "ecdsa-p256"] {
        let (_, text) = openssl_reads(&format!("{base}/ca/{algorithm}.crl"), "crl").await;
        assert!(text.contains("Issuing CA") && text.contains("No Revoked Certificates"), "{text}");
    }
    assert_eq!(get(&format!("{base}/ca/rsa.crl")).await.0, 404);
    assert_eq!(get(&format!("{base}/ca/sm2-root.pem")).await.0, 404);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ca/sm2-issuing.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the sealed CA key is private");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut again, base, _stdout) = serve(&dir, &[]);
    let (same, _) = openssl_reads(&format!("{base}/ca/sm2-root.crt"), "x509").await;
    assert_eq!(same, root, "the same CA after a restart");
    again.kill().unwrap();
    again.wait().unwrap();
}

/// Runs `program` with SoftHSM2 kept in `dir`; its standard output.
fn softhsm(dir: &std::path::Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).env("SOFTHSM2_CONF", dir.join("softhsm2.conf")).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn keeps_its_p256_issuing_key_on_a_pkcs11_token_and_signs_there() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    let hsm = tempfile::tempdir().unwrap();
    std::fs::create_dir(hsm.path().join("tokens")).unwrap();
    let conf = format!(
        "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
        hsm.path().display()
    );
    std::fs::write(hsm.path().join("softhsm2.conf"), conf).unwrap();
    softhsm(
        hsm.path(),
        "softhsm2-util",
        &["--init-token", "--free", "--label", "sealdesk-ca", "--so-pin", "12345678", "--pin", "20261201"],
    );
    std::fs::write(hsm.path().join("pin"), "20261201\n").unwrap();
    let config = hsm.path().join("sealdesk.toml");
    let table = format!(
        "[ca_hsm]\nmodule = \"{MODULE}\"\ntoken_label = \"sealdesk-ca\"\npin_file = \"{}/pin\"\n",
        hsm.path().display()
    );
    std::fs::write(&config, table).unwrap();
    let softhsm_conf = hsm.path().join("softhsm2.conf").to_string_lossy().into_owned();
    let env = [("SEALDESK_CONFIG", config.to_str().unwrap()), ("SOFTHSM2_CONF", softhsm_conf.as_str())];
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("hsm-instance");
    let files = tempfile::tempdir().unwrap();
    for start in ["created", "restarted"] {
        let (mut child, base, _stdout) = serve(&dir, &env);
        // The CRL is signed by the issuing key, that is, on the token.
        let chain = reqwest::get(format!("{base}/pki/ca.pem")).await.unwrap().text().await.unwrap();
        let issuing = chain.split_inclusive("-----END CERTIFICATE-----\n").nth(2).unwrap();
        std::fs::write(files.path().join("issuing.pem"), issuing).unwrap();
        let crl = reqwest::get(format!("{base}/ca/ecdsa-p256.crl")).await.unwrap().bytes().await.unwrap();
        std::fs::write(files.path().join("crl.der"), &crl).unwrap();
        let out = Command::new("openssl")
            .args(["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuing.pem", "-noout"])
            .current_dir(files.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(said.contains("verify OK"), "{start}: {said}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(!dir.join("ca/ecdsa-p256-issuing.key").exists(), "no copy of the key on disk");
    // OpenSC, not our code: the key is on the token, never extractable, and is the issuing CA's.
    let label = std::fs::read_to_string(dir.join("ca/ecdsa-p256-issuing.hsm")).unwrap();
    let objects = softhsm(
        hsm.path(),
        "pkcs11-tool",
        &["--module", MODULE, "--token-label", "sealdesk-ca", "--login", "--pin", "20261201", "--list-objects"],
    );
    assert!(objects.contains(label.trim()) && objects.contains("never extractable"), "{objects}");
    let public = files.path().join("token-public.der");
    softhsm(
        hsm.path(),
        "pkcs11-tool",
        &[
            "--module",
            MODULE,
            "--token-label",
            "sealdesk-ca",
            "--read-object",
            "--type",
            "pubkey",
            "--label",
            label.trim(),
            "-o",
            public.to_str().unwrap(),
        ],
    );
    let out = Command::new("openssl")
        .args(["x509", "-in", "issuing.pem", "-noout", "-pubkey"])
        .current_dir(files.path())
        .output()
        .unwrap();
    std::fs::write(files.path().join("cert-public.pem"), &out.stdout).unwrap();
    let out = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", "cert-public.pem", "-outform", "DER"])
        .current_dir(files.path())
        .output()
        .unwrap();
    assert_eq!(out.stdout, std::fs::read(&public).unwrap(), "the issuing CA certifies the token's key");
}

#[test]
fn config_shows_settings_but_never_secrets() {
    let secret = "ab".repeat(32);
    let output = sealdesk()
        .args(["config"])
        .env("SEALDESK_SECRET_KEY", &secret)
        .env("SEALDESK_DATABASE_URL", "postgres://app:hunter2@db/sealdesk")
        .env("SEALDESK_HOTLNE", "typo")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stdout.contains("secret_key = [redacted]") && stdout.contains("database_url = [redacted]"), "{stdout}");
    assert!(!stdout.contains(&secret) && !stdout.contains("hunter2") && !stderr.contains("hunter2"));
    assert!(stderr.contains("SEALDESK_HOTLNE"), "unknown variables are reported: {stderr}");
}

#[test]
fn migrate_prepares_the_database() {
    let data = tempfile::tempdir().unwrap();
    let output = sealdesk().args(["migrate", "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("migrations applied"));
    assert!(data.path().join("sealdesk.db").exists());
}

/// Runs a command that must finish by itself; kills it and fails after ten seconds.
fn run_briefly(command: &mut Command) -> (bool, String) {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status.success(), stderr)
}

#[test]
fn production_mode_refuses_to_swallow_verification_codes() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stderr) = run_briefly(
        sealdesk()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("SEALDESK_MODE", "production")
            .env("SEALDESK_SECRET_KEY", "cd".repeat(32)),
    );
    assert!(!ok);
    assert!(stderr.contains("SMS gateway"), "{stderr}");
}

#[tokio::test]
async fn the_company_seal_is_drawn_at_the_diameter_set_and_an_uncommon_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stderr) = run_briefly(
        sealdesk()
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("SEALDESK_SEAL_DIAMETER_MM", "45"),
    );
    assert!(!ok);
    assert!(stderr.contains("seal_diameter_mm") && stderr.contains("38, 40 or 42"), "{stderr}");
    let shown = sealdesk()
        .args(["config", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("SEALDESK_SEAL_DIAMETER_MM", "42")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("seal_diameter_mm = 42"));
}

#[test]
fn production_mode_refuses_to_start_without_a_hotline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealdesk.toml");
    std::fs::write(
        &file,
        "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"plain\"\nfrom = \"x <noreply@example.cn>\"\n[sms]\nprovider = \"aliyun\"\naccess_key_id = \"LTAIkey\"\naccess_key_secret = \"s\"\ntemplate_code = \"SMS_1\"\n",
    )
    .unwrap();
    let (ok, stderr) = run_briefly(
        sealdesk()
            .args(["--config"])
            .arg(&file)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("SEALDESK_MODE", "production")
            .env("SEALDESK_SECRET_KEY", "cd".repeat(32)),
    );
    assert!(!ok);
    assert!(stderr.contains("hotline"), "{stderr}");
}

#[test]
fn message_relays_are_shown_without_their_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealdesk.toml");
    std::fs::write(
        &file,
        "[smtp]\nhost = \"smtp.example.cn\"\nport = 587\nsecurity = \"starttls\"\nusername = \"u\"\npassword = \"smtp-hunter2\"\nfrom = \"x <noreply@example.cn>\"\n[sms]\nprovider = \"aliyun\"\naccess_key_id = \"LTAIkey\"\naccess_key_secret = \"sms-hunter2\"\nsign_name = \"电子签章\"\ntemplate_code = \"SMS_1\"\n",
    )
    .unwrap();
    let output = sealdesk().args(["--config"]).arg(&file).args(["config"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("smtp = smtp.example.cn:587 starttls") && stdout.contains("password=[redacted]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sms = aliyun https://dysmsapi.aliyuncs.com/ key_id=LTAIkey secret=[redacted]"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"));
}

#[test]
fn real_gateways_need_readable_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealdesk.toml");
    std::fs::write(
        &file,
        "payment_simulators = false\n[alipay]\ngateway = \"https://openapi.alipay.com/gateway.do\"\napp_id = \"2021000000000009\"\nseller_id = \"2088000000000009\"\napp_private_key_file = \"/nonexistent/app.pem\"\nalipay_public_key_file = \"/nonexistent/alipay.pem\"\n",
    )
    .unwrap();
    let config = sealdesk().args(["--config"]).arg(&file).args(["config"]).output().unwrap();
    let stdout = String::from_utf8(config.stdout).unwrap();
    assert!(stdout.contains("payment_simulators = false"), "{stdout}");
    assert!(stdout.contains("alipay = https://openapi.alipay.com/gateway.do app_id=2021000000000009"), "{stdout}");
    let (ok, stderr) = run_briefly(
        sealdesk().args(["--config"]).arg(&file).args(["serve", "--addr", "127.0.0.1:0", "--data-dir"]).arg(dir.path()),
    );
    assert!(!ok);
    assert!(stderr.contains("cannot read key file /nonexistent/app.pem"), "{stderr}");
}

#[test]
fn bad_settings_are_explained() {
    let output = sealdesk().args(["config"]).env("SEALDESK_ADDR", "not an address").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid settings"));
}

#[test]
fn settings_come_from_the_file_then_the_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealdesk.toml");
    std::fs::write(&file, "hotline = \"400-111-2222\"\noperator = \"测试运营方\"\ndata_dir = \"/srv/from-file\"\nunpaid_order_ttl_minutes = 90\n").unwrap();
    let output = sealdesk()
        .args(["--config"])
        .arg(&file)
        .args(["config", "--data-dir", "/srv/from-flag"])
        .env("SEALDESK_OPERATOR", "环境变量运营方")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("hotline = 400-111-2222"), "from the file: {stdout}");
    assert!(stdout.contains("operator = 环境变量运营方"), "the environment wins over the file: {stdout}");
    assert!(stdout.contains("data_dir = /srv/from-flag"), "a flag wins over both: {stdout}");
    assert!(stdout.contains("unpaid_order_ttl_minutes = 90"));

    std::fs::write(&file, "hotlien = \"typo\"\n").unwrap();
    let output = sealdesk().args(["--config"]).arg(&file).arg("config").output().unwrap();
    assert!(!output.status.success(), "an unknown key in the file is an error, not silently ignored");
}

/// `s3s-fs` on a free port with a bucket `uploads`: (child, its root directory, endpoint).
/// `None` when it is not installed (only outside CI: `SEALDESK_REQUIRE_S3=1` fails instead).
fn s3_server() -> Option<(Child, tempfile::TempDir, String)> {
    if Command::new("s3s-fs").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var("SEALDESK_REQUIRE_S3").is_err(), "s3s-fs is missing: scripts/test installs it");
        return None;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("uploads")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("s3s-fs")
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", "k", "--secret-key", "s3-hunter2"])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((child, root, format!("http://127.0.0.1:{port}")))
}

#[test]
fn local_uploads_move_to_object_storage_verified_and_resumable() {
    let Some((mut server, root, endpoint)) = s3_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("data/uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::write(uploads.join("aaa111.bin"), b"sealed blob one").unwrap();
    std::fs::write(uploads.join("bbb222.bin"), b"sealed blob two").unwrap();
    std::fs::write(dir.path().join("secret"), "s3-hunter2\n").unwrap();
    let file = dir.path().join("sealdesk.toml");
    std::fs::write(
        &file,
        format!(
            "[s3]\nendpoint = \"{endpoint}\"\nbucket = \"uploads\"\naccess_key_id = \"k\"\nsecret_access_key_file = \"{}\"\nprefix = \"blobs\"\n",
            dir.path().join("secret").display()
        ),
    )
    .unwrap();
    let migrate = || {
        let output = sealdesk()
            .args(["--config"])
            .arg(&file)
            .args(["files", "migrate", "--to", "s3", "--data-dir"])
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(migrate().contains("copied 2, already in the bucket 0, different in the bucket 0"));
    assert_eq!(std::fs::read(root.path().join("uploads/blobs/aaa111.bin")).unwrap(), b"sealed blob one");
    assert!(migrate().contains("copied 0, already in the bucket 2"), "run again: resumed, nothing twice");
    let shown = sealdesk().args(["--config"]).arg(&file).args(["config"]).output().unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains(&format!("s3 = {endpoint} bucket=uploads")) && !shown.contains("hunter2"), "{shown}");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn a_second_instance_on_one_sqlite_file_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let (mut first, _, _stdout) = serve(data.path(), &[]);
    let second = sealdesk()
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert!(!second.status.success(), "refused");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("another sealdesk instance is serving the SQLite database"), "{said}");
    // Once the first has gone, the data directory serves again.
    let (mut again, base, _stdout) = serve(data.path(), &[]);
    let _ = again.kill();
    let _ = again.wait();
    assert!(base.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn keeps_its_seal_maker_key_private_and_refuses_what_is_not_a_seal() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("seal-instance");
    let (mut child, base, _stdout) = serve(&dir, &[]);
    let certificate = std::fs::read(dir.join("seal-maker/maker.der")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("seal-maker/maker.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the sealed seal-maker key is private");
    }
    let not_a_seal = data.path().join("not-a-seal.esl");
    std::fs::write(&not_a_seal, b"%PDF-1.7").unwrap();
    let out = sealdesk().args(["seal", "verify"]).arg(&not_a_seal).args(["--server", &base]).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{printed}");
    assert!(printed.contains("不是可读取的电子印章"), "{printed}");
    let out = sealdesk().args(["seal", "verify"]).arg(&not_a_seal).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server URL, or --ca FILE"));
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut again, _, _stdout) = serve(&dir, &[]);
    assert_eq!(std::fs::read(dir.join("seal-maker/maker.der")).unwrap(), certificate, "the same maker after a restart");
    again.kill().unwrap();
    again.wait().unwrap();
}
