//! Certificates issued for real: a station (here the software token behind the station's token
//! trait, SM2 and P-256) makes the key for an approved order, the desk certifies it through the
//! built-in CA under the subject it builds from the application, the applicant sees it in 我的证书
//! and downloads it, OpenSSL verifies it against `/pki/ca.pem` and the CRL; a second attempt
//! revokes the first, a 补办 revokes the certificate it replaces, and the user PIN reaches the
//! applicant only once the key is in their hands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use domain::certificate::KeyAlgorithm;
use station::soft::SoftToken;
use station::{Desk, Options};
use support::{Client, TestApp, complete_application, complete_application_starting, pickup_order_body};

/// An approved company order (待处理), collected at the pickup point.
async fn approved(
    app: &TestApp,
    reviewer: &mut Client,
    applicant: &mut Client,
    start: Option<serde_json::Value>,
    key: &str,
) -> i64 {
    let code = "91350100M000100Y43";
    let application = match start {
        Some(start) => complete_application_starting(applicant, "enterprise", code, start).await,
        None => complete_application(applicant, "enterprise", code).await,
    };
    let id = applicant.order(application, key, pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.mark_paid(id).await;
    reviewer.submit(&format!("/admin/orders/{id}/approve"), &[]).await;
    assert_eq!(applicant.get(&format!("/api/v1/orders/{id}")).await.json()["status"], "processing");
    id
}

/// The desk on a real socket, as a station reaches it.
async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    base
}

/// A station token created on the back-office page (shown once).
async fn station_token(maker: &mut Client) -> String {
    let page = maker.submit("/admin/station/tokens", &[("name", "一号制证台")]).await;
    page.assert_status(StatusCode::OK);
    let token = page.body.split("data-testid=\"station-token\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert!(token.starts_with("sdst_"), "{token}");
    assert!(!maker.get("/admin/station").await.body.contains(&token), "shown once, never again");
    token
}

fn openssl(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn fetch(base: &str, path: &str) -> Vec<u8> {
    reqwest::get(format!("{base}{path}")).await.unwrap().bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_station_makes_the_key_and_the_applicant_gets_a_certificate_openssl_verifies() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut reviewer = app.staff("rev.cert", "reviewer", None).await;
    let mut maker = app.staff("make.cert", "fulfilment", None).await;
    let mut applicant = app.user("13800138201").await;
    let order = approved(&app, &mut reviewer, &mut applicant, None, "cert-order-1").await;
    let case = maker.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains(&format!("sealdesk station --order {order}")), "the case page says how");

    let token = station_token(&mut maker).await;
    let tokens = tempfile::tempdir().unwrap();
    let mut key = SoftToken::open(tokens.path()).unwrap();
    let options = Options { algorithm: KeyAlgorithm::EcdsaP256, blank_so_pin: "12345678".into() };
    let wrong = Desk::new(&base, "sdst_not-a-token").unwrap();
    let refused = station::produce(&wrong, &mut key, order, &options).await.unwrap_err();
    assert!(refused.to_string().contains("工作站令牌无效"), "{refused}");
    let desk = Desk::new(&base, &token).unwrap();
    let first = station::produce(&desk, &mut key, order, &options).await.unwrap();
    assert!(first.subject.contains("organizationIdentifier=NTRCN-91350100M000100Y43"), "{}", first.subject);
    assert!(first.subject.contains("CN=示例科技有限公司"));

    // A second attempt (the key was lost on the bench, say) revokes the first certificate.
    let second = station::produce(&desk, &mut key, order, &options).await.unwrap();
    assert_ne!(first.serial, second.serial);
    let case = maker.get(&format!("/admin/orders/{order}")).await;
    let rows: Vec<&str> = case.body.split("data-testid=\"order-certificate\"").skip(1).collect();
    assert_eq!(rows.len(), 2, "both attempts are on the order");
    assert!(rows[0].contains(&second.serial) && rows[0].contains("有效"));
    assert!(rows[1].contains(&first.serial) && rows[1].contains("已吊销") && rows[1].contains("补办新证书替代"));

    // The applicant's 我的证书, the API and the downloads.
    let list = applicant.get("/api/v1/certificates").await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0]["serial"].as_str(), list[0]["status"].as_str()), (Some(second.serial.as_str()), Some("valid")));
    assert_eq!(list[1]["status"], "revoked");
    assert_eq!(list[0]["credit_code"], "91350100M000100Y43");
    let pem = applicant.get(&format!("/api/v1/certificates/{}", second.serial)).await;
    pem.assert_status(StatusCode::OK);
    assert!(pem.body.starts_with("-----BEGIN CERTIFICATE-----"));
    let page = applicant.get("/certificates").await;
    assert!(page.body.contains(&second.serial) && page.body.contains("有效") && page.body.contains("已吊销"));
    let detail = applicant.get(&format!("/certificates/{}", second.serial)).await;
    assert!(detail.body.contains("SHA-256 指纹") && detail.body.contains("Issuing CA"), "{}", detail.body);
    let der = applicant.get(&format!("/certificates/{}.cer", second.serial)).await;
    assert_eq!(der.header("content-type"), Some("application/pkix-cert"));
    let mut stranger = app.user("13800138202").await;
    stranger.get(&format!("/api/v1/certificates/{}", second.serial)).await.assert_status(StatusCode::NOT_FOUND);
    assert!(stranger.get("/api/v1/certificates").await.json().as_array().unwrap().is_empty());
    app.client().get("/api/v1/certificates").await.assert_status(StatusCode::UNAUTHORIZED);

    // OpenSSL, knowing nothing of us but /pki/ca.pem and the CRL, accepts the one and refuses the other.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), fetch(&base, "/pki/ca.pem").await).unwrap();
    std::fs::write(dir.path().join("crl.der"), fetch(&base, "/ca/ecdsa-p256.crl").await).unwrap();
    assert!(openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"], dir.path()).0);
    std::fs::write(dir.path().join("new.pem"), &pem.body).unwrap();
    let old = applicant.get(&format!("/api/v1/certificates/{}", first.serial)).await;
    std::fs::write(dir.path().join("old.pem"), &old.body).unwrap();
    let at = app.clock_now().unix_timestamp().to_string();
    let verify = |cert: &str| {
        openssl(&["verify", "-attime", &at, "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "-crl_check", cert], dir.path())
    };
    let (ok, out) = verify("new.pem");
    assert!(ok, "{out}");
    let (ok, out) = verify("old.pem");
    assert!(!ok && out.contains("revoked"), "{out}");

    // Handed over at the pickup point: only now does the user PIN reach the applicant.
    let pin_sms = |messages: &[app::ports::DevMessage]| messages.iter().any(|m| m.body.contains("用户 PIN"));
    let recent = || async {
        use app::ports::DevOutboxRepo;
        app.db.db.recent_messages(50).await.unwrap()
    };
    maker.submit(&format!("/admin/orders/{order}/ready"), &[]).await;
    assert!(!pin_sms(&recent().await), "no PIN while the key waits at the pickup point");
    let page = applicant.get(&format!("/orders/{order}")).await;
    let code = page.body.split("class=\"pickup-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    maker.submit(&format!("/admin/orders/{order}/hand-over"), &[("code", &code)]).await;
    assert!(pin_sms(&recent().await), "the PIN follows the handover");
    let log = app.app.audit_log(&support::admin_staff(), Some(domain::OrderId(order)), 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"certificate.issued") && actions.contains(&"certificate.revoked"), "{actions:?}");
}

#[tokio::test]
async fn a_replacement_revokes_the_certificate_it_replaces_and_sm2_keys_are_certified() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut reviewer = app.staff("rev.sm2", "reviewer", None).await;
    let mut maker = app.staff("make.sm2", "fulfilment", None).await;
    let mut applicant = app.user("13800138203").await;
    let desk = Desk::new(&base, &station_token(&mut maker).await).unwrap();
    let options = Options { algorithm: KeyAlgorithm::Sm2, blank_so_pin: "12345678".into() };
    let dir = tempfile::tempdir().unwrap();
    let mut key = SoftToken::open(dir.path()).unwrap();

    let order = approved(&app, &mut reviewer, &mut applicant, None, "sm2-order-1").await;
    let original = station::produce(&desk, &mut key, order, &options).await.unwrap();
    maker.submit(&format!("/admin/orders/{order}/ready"), &[]).await;
    let page = applicant.get(&format!("/orders/{order}")).await;
    let code = page.body.split("class=\"pickup-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    maker.submit(&format!("/admin/orders/{order}/hand-over"), &[("code", &code)]).await;
    let list = applicant.get("/api/v1/certificates").await.json();
    assert_eq!(list[0]["algorithm"], "sm2");

    // 补办 naming the certificate (as people type serials: lower case, with colons).
    let typed: String = original
        .serial
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let start = serde_json::json!({"subject_kind": "enterprise", "business": "replacement", "replacement_reason": "lost", "replaced_serial": typed});
    let replacement = approved(&app, &mut reviewer, &mut applicant, Some(start), "sm2-order-2").await;
    let mut new_key = SoftToken::open(&dir.path().join("second")).unwrap();
    let made = station::produce(&desk, &mut new_key, replacement, &options).await.unwrap();
    assert_eq!(made.revoked.as_deref(), Some(original.serial.as_str()), "issuing the new one revokes the old");
    let list = applicant.get("/api/v1/certificates").await.json();
    assert_eq!(list[0]["replaces_serial"].as_str(), Some(original.serial.as_str()));
    assert_eq!(
        (list[1]["status"].as_str(), list[1]["revocation_reason"].as_str()),
        (Some("revoked"), Some("superseded"))
    );
    let crl = fetch(&base, "/ca/sm2.crl").await;
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("sm2.crl"), crl).unwrap();
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", "sm2.crl", "-noout", "-text"], out.path());
    assert!(ok && text.contains(&original.serial) && text.contains("Superseded"), "{text}");

    // Staff find it by credit code and see both.
    let found = maker.get("/admin/certificates?q=91350100M000100Y43").await;
    assert_eq!(found.body.matches("data-testid=\"certificate-row\"").count(), 2);

    // A station cannot make a key for an order that is not 待处理.
    let refused = station::produce(&desk, &mut new_key, order, &options).await.unwrap_err();
    assert!(refused.to_string().contains("只有待处理的订单可以制证"), "{refused}");
}

#[tokio::test]
async fn a_revoked_station_token_and_a_forged_request_are_refused() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut reviewer = app.staff("rev.tok", "reviewer", None).await;
    let mut maker = app.staff("make.tok", "fulfilment", None).await;
    let mut applicant = app.user("13800138204").await;
    let order = approved(&app, &mut reviewer, &mut applicant, None, "tok-order-1").await;
    let token = station_token(&mut maker).await;
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!("{base}/api/v1/station/orders/{order}/certificate")).bearer_auth(&token).json(&body).send()
    };
    let garbage = post(serde_json::json!({"csr": "bm90IGEgcmVxdWVzdA==", "token_serial": "T1", "user_pin": "12345678", "so_pin": "1234567890123456"})).await.unwrap();
    assert_eq!(garbage.status(), 409);
    let body: serde_json::Value = garbage.json().await.unwrap();
    assert_eq!(body["code"], "certificate_request_refused");
    let not_json = http
        .post(format!("{base}/api/v1/station/orders/{order}/certificate"))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let page = maker.get("/admin/station").await;
    let id = page.body.split("/admin/station/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    maker.submit(&format!("/admin/station/tokens/{id}/revoke"), &[]).await;
    let after = http.get(format!("{base}/api/v1/station/orders/{order}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(after.status(), 401, "a revoked token opens nothing");
    // An applicant's session is no station token.
    let cookie = http.get(format!("{base}/api/v1/station/orders/{order}")).send().await.unwrap();
    assert_eq!(cookie.status(), 401);
    applicant.call(Method::GET, "/api/v1/certificates", None).await.assert_status(StatusCode::OK);
}

/// A company order with its key made on a software token; returns (order, serial).
async fn produced(app: &TestApp, base: &str, maker: &mut Client, applicant: &mut Client, key: &str) -> (i64, String) {
    let mut reviewer = app.staff(&format!("rev.{key}"), "reviewer", None).await;
    let order = approved(app, &mut reviewer, applicant, None, key).await;
    let desk = Desk::new(base, &station_token(maker).await).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut token = SoftToken::open(dir.path()).unwrap();
    let options = Options { algorithm: KeyAlgorithm::EcdsaP256, blank_so_pin: "12345678".into() };
    (order, station::produce(&desk, &mut token, order, &options).await.unwrap().serial)
}

#[tokio::test]
async fn holders_are_reminded_90_30_and_7_days_before_expiry_once_each() {
    use app::ports::{CertificateRepo, DevOutboxRepo};
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut maker = app.staff("make.rem", "fulfilment", None).await;
    let phone = "13800138205";
    let mut applicant = app.user(phone).await;
    let (_, serial) = produced(&app, &base, &mut maker, &mut applicant, "remindorder").await;
    let not_after = app.db.db.certificate(&serial).await.unwrap().unwrap().not_after;
    let reminders = || async {
        let messages = app.db.db.recent_messages(200).await.unwrap();
        messages.iter().filter(|m| m.recipient == phone && m.body.contains("到期")).count()
    };
    app.advance(not_after - app.clock_now() - time::Duration::days(91));
    app.app.remind_expiring_certificates().await.unwrap();
    assert_eq!(reminders().await, 0, "91 days before: nothing yet");
    for (days_left, expected) in [(90, 1), (60, 1), (29, 2), (8, 2), (6, 3), (1, 3), (-1, 3)] {
        app.advance(not_after - app.clock_now() - time::Duration::days(days_left));
        app.app.remind_expiring_certificates().await.unwrap();
        app.app.remind_expiring_certificates().await.unwrap();
        assert_eq!(reminders().await, expected, "{days_left} days left");
    }
    let messages = app.db.db.recent_messages(200).await.unwrap();
    assert!(messages.iter().any(|m| m.recipient == "agent@example.com" && m.body.contains(&serial)), "and by email");
    let mut again = app.client();
    again.login(phone, support::PASSWORD).await;
    let list = again.get("/api/v1/certificates").await.json();
    assert_eq!(list[0]["status"], "expired");
}

#[tokio::test]
async fn a_company_certificate_is_revoked_only_when_a_second_staff_member_approves() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut first = app.staff("make.one", "fulfilment", None).await;
    let mut second = app.staff("make.two", "fulfilment", None).await;
    let mut applicant = app.user("13800138206").await;
    let (order, serial) = produced(&app, &base, &mut first, &mut applicant, "twoperson").await;
    let asked = first
        .submit(
            &format!("/admin/certificates/{serial}/revoke"),
            &[("reason", "keyCompromise"), ("note", "客户报失 USB-Key")],
        )
        .await;
    assert!(asked.header("location").unwrap().contains("notice=revocation_requested"));
    assert_eq!(applicant.get("/api/v1/certificates").await.json()[0]["status"], "valid", "one person is not enough");
    let again = first
        .submit(&format!("/admin/certificates/{serial}/revoke"), &[("reason", "keyCompromise"), ("note", "再次")])
        .await;
    assert!(again.body.contains("已有待复核的吊销申请"));
    let own = first.submit(&format!("/admin/certificates/{serial}/approve-revocation"), &[]).await;
    assert!(own.body.contains("另一位工作人员复核"), "{}", own.body);
    let page = second.get("/admin/certificates").await;
    assert!(page.body.contains("data-testid=\"revocation-request\"") && page.body.contains("复核并吊销"));
    let approved = second.submit(&format!("/admin/certificates/{serial}/approve-revocation"), &[]).await;
    assert!(approved.header("location").unwrap().contains("notice=certificate_revoked"));
    let list = applicant.get("/api/v1/certificates").await.json();
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["revocation_reason"].as_str()),
        (Some("revoked"), Some("keyCompromise"))
    );
    assert!(!second.get("/admin/certificates").await.body.contains("data-testid=\"revocation-request\""), "settled");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), fetch(&base, "/ca/ecdsa-p256.crl").await).unwrap();
    let (_, text) = openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], dir.path());
    assert!(text.contains(&serial) && text.contains("Key Compromise"), "{text}");
    let log = app.app.audit_log(&support::admin_staff(), Some(domain::OrderId(order)), 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"certificate.revocation_requested") && actions.contains(&"certificate.revoked"));
    assert!(log.iter().any(|e| e.detail.contains("客户报失") && e.detail.contains("复核")), "{log:?}");
}

/// A token that breaks when the certificate is written to it (a key pulled out mid-way).
struct Breaking(SoftToken);

impl station::Token for Breaking {
    fn serial(&self) -> Result<String, station::StationError> {
        self.0.serial()
    }
    fn supports(&self, algorithm: KeyAlgorithm) -> bool {
        self.0.supports(algorithm)
    }
    fn initialise(&mut self, label: &str, blank: &str, pin: &str) -> Result<(), station::StationError> {
        self.0.initialise(label, blank, pin)
    }
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, station::StationError> {
        self.0.generate(algorithm)
    }
    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, station::StationError> {
        self.0.sign(message)
    }
    fn store_certificates(&mut self, _: &[u8], _: &[Vec<u8>]) -> Result<(), station::StationError> {
        Err(station::StationError::Token("介质已拔出".into()))
    }
    fn store_seal(&mut self, seal: &[u8]) -> Result<(), station::StationError> {
        self.0.store_seal(seal)
    }
    fn read_seal(&mut self) -> Result<Option<Vec<u8>>, station::StationError> {
        self.0.read_seal()
    }
    fn read_back(&mut self) -> Result<(Vec<u8>, Vec<u8>), station::StationError> {
        self.0.read_back()
    }
    fn set_so_pin(&mut self, blank: &str, so_pin: &str) -> Result<(), station::StationError> {
        self.0.set_so_pin(blank, so_pin)
    }
}

#[tokio::test]
async fn a_station_failing_mid_way_leaves_the_order_to_make_again_with_one_certificate_in_force() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut reviewer = app.staff("rev.fail", "reviewer", None).await;
    let mut maker = app.staff("make.fail", "fulfilment", None).await;
    let mut applicant = app.user("13800138207").await;
    let order = approved(&app, &mut reviewer, &mut applicant, None, "fail-order-1").await;
    let desk = Desk::new(&base, &station_token(&mut maker).await).unwrap();
    let options = Options { algorithm: KeyAlgorithm::EcdsaP256, blank_so_pin: "12345678".into() };
    let dir = tempfile::tempdir().unwrap();
    let mut broken = Breaking(SoftToken::open(dir.path()).unwrap());
    let err = station::produce(&desk, &mut broken, order, &options).await.unwrap_err();
    assert!(err.to_string().contains("介质已拔出"), "{err}");
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "processing", "still 待处理");
    // The same token again (re-initialised from the blank state), this time to the end.
    let mut token = SoftToken::open(dir.path()).unwrap();
    let made = station::produce(&desk, &mut token, order, &options).await.unwrap();
    let list = applicant.get("/api/v1/certificates").await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let in_force: Vec<&str> =
        list.iter().filter(|c| c["status"] == "valid").map(|c| c["serial"].as_str().unwrap()).collect();
    assert_eq!(in_force, [made.serial.as_str()], "never two certificates in force for one order");
    let crl = fetch(&base, "/ca/ecdsa-p256.crl").await;
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("crl.der"), crl).unwrap();
    let (_, text) = openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"], out.path());
    let first = list.iter().find(|c| c["status"] == "revoked").unwrap()["serial"].as_str().unwrap().to_owned();
    assert!(text.contains(&first), "the unfinished key's certificate is revoked: {text}");
}

#[tokio::test]
async fn the_seal_image_shows_the_approved_name_to_its_owner_and_the_reviewer_only() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("rev.seal", "reviewer", None).await;
    let mut applicant = app.user("13800138208").await;
    let order = approved(&app, &mut reviewer, &mut applicant, None, "seal-order-1").await;
    let own = applicant.get(&format!("/orders/{order}/seal.svg")).await;
    own.assert_status(StatusCode::OK);
    assert_eq!(own.header("content-type"), Some("image/svg+xml"));
    assert!(own.body.starts_with("<svg") && own.body.contains("width=\"40mm\""));
    let pieces: Vec<&str> = own.body.split("</text>").collect();
    let name: String = pieces[..pieces.len() - 1].iter().filter_map(|t| t.chars().last()).collect();
    assert_eq!(name, "示例科技有限公司", "the name along the arc, one character each");
    assert!(applicant.get(&format!("/orders/{order}")).await.body.contains("data-testid=\"seal-preview\""));
    let staff = reviewer.get(&format!("/admin/orders/{order}/seal.svg")).await;
    assert_eq!(staff.body, own.body, "the reviewer sees what the applicant sees");
    assert!(reviewer.get(&format!("/admin/orders/{order}")).await.body.contains("电子印章预览"));
    let mut stranger = app.user("13800138209").await;
    assert_eq!(stranger.get(&format!("/orders/{order}/seal.svg")).await.status, StatusCode::NOT_FOUND);
}

/// A seal file posted to the public verification page by someone who is not logged in.
async fn verify_publicly(app: &TestApp, file: &[u8]) -> support::Reply {
    let mut visitor = app.client();
    visitor.submit_file("/seals/verify", file).await
}

#[tokio::test]
async fn the_seal_made_with_the_certificate_is_on_the_token_downloads_and_verifies_until_revoked() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut first = app.staff("make.seal1", "fulfilment", None).await;
    let mut second = app.staff("make.seal2", "fulfilment", None).await;
    let mut applicant = app.user("13800138209").await;
    let mut reviewer = app.staff("rev.sealmade", "reviewer", None).await;
    let order = approved(&app, &mut reviewer, &mut applicant, None, "sealmade").await;
    let desk = Desk::new(&base, &station_token(&mut first).await).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut token = SoftToken::open(dir.path()).unwrap();
    let options = Options { algorithm: KeyAlgorithm::EcdsaP256, blank_so_pin: "12345678".into() };
    let made = station::produce(&desk, &mut token, order, &options).await.unwrap();
    assert!(made.seal, "the seal is written to the token with the certificate");
    let on_token = station::Token::read_seal(&mut token).unwrap().expect("the seal on the token");

    // 我的证书: the preview and the .esl, which is the file on the token.
    let serial = made.serial;
    let page = applicant.get(&format!("/certificates/{serial}")).await;
    assert!(page.body.contains("data-testid=\"seal-download\"") && page.body.contains(&format!("{serial}.png")));
    let picture = applicant.get(&format!("/certificates/{serial}.png")).await;
    picture.assert_status(StatusCode::OK);
    assert_eq!(picture.header("content-type"), Some("image/png"));
    let download = applicant.get(&format!("/certificates/{serial}.esl")).await;
    download.assert_status(StatusCode::OK);
    assert!(download.header("content-disposition").unwrap().contains(".esl"));
    assert_eq!(download.bytes, on_token, "the same seal, made once");
    let mut stranger = app.user("13800138210").await;
    stranger.get(&format!("/certificates/{serial}.esl")).await.assert_status(StatusCode::NOT_FOUND);

    // Anyone checks it, without logging in.
    let checked = verify_publicly(&app, &on_token).await;
    checked.assert_status(StatusCode::OK);
    assert!(checked.body.contains("电子印章有效"), "{}", checked.body);
    assert!(checked.body.contains("示例") || checked.body.contains("data-testid=\"seal-name\""));
    assert!(checked.body.contains("data:image/png;base64,"), "the picture is shown");
    assert!(!checked.body.contains("class=\"fail\""), "{}", checked.body);

    // A company's certificate revoked by two staff members: the seal no longer holds.
    let reason = [("reason", "keyCompromise"), ("note", "客户报失 USB-Key")];
    first.submit(&format!("/admin/certificates/{serial}/revoke"), &reason).await;
    second.submit(&format!("/admin/certificates/{serial}/approve-revocation"), &[]).await;
    let checked = verify_publicly(&app, &on_token).await;
    assert!(checked.body.contains("电子印章无效") && checked.body.contains("吊销，印章不可再用"), "{}", checked.body);

    // Not a seal: a clear refusal, never a 500.
    let refused = verify_publicly(&app, b"%PDF-1.7 not a seal").await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("无法读取该电子印章"), "{}", refused.body);
    let empty = verify_publicly(&app, b"").await;
    empty.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

/// A 印章采样表 as a phone photographs it: off-white paper, the stamp pressed in ink a little
/// darker than seal red, JPEG.
fn specimen_photo() -> Vec<u8> {
    let fonts = eseal::Fonts::system().unwrap();
    let drawing = domain::seal::SealDrawing::company("示例科技有限公司", None, domain::seal::SealSize::Mm40).unwrap();
    let stamp = image::load_from_memory(&eseal::picture::png(&drawing, &fonts).unwrap()).unwrap().to_rgba8();
    let mut paper = image::RgbImage::from_pixel(900, 1200, image::Rgb([238, 234, 226]));
    for (x, y, p) in stamp.enumerate_pixels() {
        let a = u16::from(p[3]);
        let under = *paper.get_pixel(200 + x, 300 + y);
        let mix = |paper: u8, ink: u16| u8::try_from((u16::from(paper) * (255 - a) + ink * a) / 255).unwrap();
        paper.put_pixel(200 + x, 300 + y, image::Rgb([mix(under[0], 190), mix(under[1], 30), mix(under[2], 40)]));
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&paper).unwrap();
    jpeg
}

#[tokio::test]
async fn the_reviewer_may_make_the_seal_from_the_stamped_specimen_sheet() {
    let app = TestApp::new().await;
    let base = serve(&app).await;
    let mut reviewer = app.staff("rev.scan", "reviewer", None).await;
    let mut maker = app.staff("make.scan", "fulfilment", None).await;
    let mut applicant = app.user("13800138211").await;
    let application = complete_application(&mut applicant, "enterprise", "91350100M000100Y43").await;
    let step = applicant.get(&format!("/applications/{application}/materials")).await;
    assert!(step.body.contains("data-testid=\"upload-seal_specimen\""), "offered on the materials step");
    applicant
        .upload(
            &format!("/api/v1/applications/{application}/documents/seal_specimen"),
            "specimen.jpg",
            &specimen_photo(),
        )
        .await
        .assert_status(StatusCode::CREATED);
    let order = applicant.order(application, "scan-order-1", pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.mark_paid(order).await;

    // The reviewer sees both, and chooses the stamp.
    let case = reviewer.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains("data-testid=\"seal-scan\"") && case.body.contains("按核准名称生成（已选用）"));
    let scan = reviewer.get(&format!("/admin/orders/{order}/seal-scan.png")).await;
    scan.assert_status(StatusCode::OK);
    let lifted = image::load_from_memory(&scan.bytes).unwrap().to_rgba8();
    assert!((460..=480).contains(&lifted.width()), "40 mm at 300 dpi: {}", lifted.width());
    assert_eq!(lifted.get_pixel(0, 0)[3], 0, "the paper is transparent");
    maker
        .submit(&format!("/admin/orders/{order}/seal-source"), &[("source", "scanned")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let chosen = reviewer.submit(&format!("/admin/orders/{order}/seal-source"), &[("source", "scanned")]).await;
    assert!(chosen.header("location").unwrap().contains("notice=seal_source_chosen"));
    assert!(reviewer.get(&format!("/admin/orders/{order}")).await.body.contains("取自印章采样表（已选用）"));
    let own = applicant.get(&format!("/orders/{order}/seal.png")).await;
    assert_eq!(own.bytes, scan.bytes, "the applicant sees the seal as it will be made");
    reviewer.submit(&format!("/admin/orders/{order}/approve"), &[]).await;

    // The seal made with the certificate carries the lifted stamp, and verifies.
    let desk = Desk::new(&base, &station_token(&mut maker).await).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut token = SoftToken::open(dir.path()).unwrap();
    let options = Options { algorithm: KeyAlgorithm::EcdsaP256, blank_so_pin: "12345678".into() };
    let made = station::produce(&desk, &mut token, order, &options).await.unwrap();
    let picture = applicant.get(&format!("/certificates/{}.png", made.serial)).await;
    assert_eq!(picture.bytes, scan.bytes);
    let file = station::Token::read_seal(&mut token).unwrap().unwrap();
    let checked = verify_publicly(&app, &file).await;
    assert!(checked.body.contains("电子印章有效"), "{}", checked.body);
}
