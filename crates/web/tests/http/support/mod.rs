//! Test harness: the real router over a fresh database, a clock the test moves, and a client that
//! keeps cookies like a browser and knows how to fetch its CSRF token.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use app::clock::ManualClock;
use app::crypto::Keys;
use app::ports::DevOutboxRepo;
use app::{App, Policy};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use store::DevOutbox;
use store::testing::TestDb;
use time::macros::datetime;
use tower::ServiceExt;
use web::WebConfig;

pub const PASSWORD: &str = "青山 绿水 2026 seal desk";
/// What test staff set as their own password after the first login.
pub const STAFF_PASSWORD: &str = "后台 工作 用的 密码 2026";

pub struct TestApp {
    pub app: App,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
    pub uploads: tempfile::TempDir,
    /// The payment simulators, when the app pays through them.
    pub pay: Option<Paying>,
}

/// The payment simulators serving beside the app on a real socket (notifications arrive over
/// HTTP, as from the real gateways).
pub struct Paying {
    pub alipay: paysim::alipay::AlipaySim,
    pub cpcn: paysim::cpcn::CpcnSim,
    pub base: String,
    /// The production clients, for signing test messages with the merchant's key.
    pub gateways: Vec<Arc<dyn payments::Gateway>>,
}

/// One set of simulator keys per test binary (RSA key generation is slow in debug builds).
pub fn sim_keys() -> paysim::SimKeys {
    static PEMS: std::sync::OnceLock<[String; 4]> = std::sync::OnceLock::new();
    let pems = PEMS.get_or_init(|| {
        let k = paysim::SimKeys::generate().unwrap();
        [&k.alipay_app, &k.alipay_gateway, &k.cpcn_institution, &k.cpcn_gateway].map(|k| k.to_pem().unwrap())
    });
    let key = |i: usize| payments::keys::SigningKey::from_pkcs8(&pems[i]).unwrap();
    paysim::SimKeys { alipay_app: key(0), alipay_gateway: key(1), cpcn_institution: key(2), cpcn_gateway: key(3) }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// The app over a given database (the store contract's PostgreSQL runs, for instance).
    pub async fn on(db: TestDb) -> Self {
        Self::build(db, |_| {}, None, Policy::default()).await
    }

    pub async fn with_config(tweak: impl FnOnce(&mut WebConfig)) -> Self {
        Self::build(TestDb::sqlite().await, tweak, None, Policy::default()).await
    }

    /// An app that pays through the simulators, which retry notifications on `schedule`.
    pub async fn paying(db: TestDb, schedule: &[std::time::Duration]) -> Self {
        Self::build(db, |_| {}, Some(schedule), Policy::default()).await
    }

    /// An app whose uploads are read by `reader` (a test double of the OCR engine).
    pub async fn reading(reader: Arc<dyn app::ports::OcrReader>, workers: usize, queue: usize) -> Self {
        Self::reading_within(reader, workers, queue, std::time::Duration::from_secs(5)).await
    }

    /// Reading documents with `reader`, each reading given `limit`.
    pub async fn reading_within(
        reader: Arc<dyn app::ports::OcrReader>,
        workers: usize,
        queue: usize,
        limit: std::time::Duration,
    ) -> Self {
        let mut t = Self::build(TestDb::sqlite().await, |_| {}, None, Policy::default()).await;
        let pool = app::recognition::OcrPool::new(reader, workers, queue, limit);
        t.app = t.app.clone().with_ocr(pool);
        let config = WebConfig { dev_mode: true, trust_forwarded_for: true, ..WebConfig::default() };
        t.router = web::router(t.app.clone(), config);
        t
    }

    /// Reads every photo waiting in the background queue (what the server's worker does).
    pub async fn read_queued(&self) {
        while self.app.run_reading_jobs().await.unwrap() > 0 {}
    }

    /// Paying through the simulators, under `policy`.
    pub async fn paying_with(db: TestDb, schedule: &[std::time::Duration], policy: Policy) -> Self {
        Self::build(db, |_| {}, Some(schedule), policy).await
    }

    async fn build(
        db: TestDb,
        tweak: impl FnOnce(&mut WebConfig),
        schedule: Option<&[std::time::Duration]>,
        policy: Policy,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-25 02:00 UTC)));
        let outbox = Arc::new(DevOutbox::new(db.db.clone(), clock.clone()));
        let uploads = tempfile::tempdir().unwrap();
        let files = Arc::new(store::LocalFileStore::new(uploads.path()).unwrap());
        let app = App::new(
            Arc::new(db.db.clone()),
            files,
            outbox.clone(),
            outbox,
            clock.clone(),
            Keys::new(vec![42; 32]).unwrap(),
            policy,
        );
        // The built-in CA, made afresh for each test (its files are needed only by the server).
        let ca = ca::BuiltInCa::generate("测试运营方", "http://127.0.0.1/ca", app::clock::Clock::now(clock.as_ref()))
            .unwrap();
        let now = app::clock::Clock::now(clock.as_ref());
        let maker = eseal::SoftSealMaker::generate(&ca, "测试运营方", seal_fonts(), now).await.unwrap();
        let app = app.with_ca(Arc::new(ca)).with_seal_maker(Arc::new(maker));
        let mut config = WebConfig { dev_mode: true, trust_forwarded_for: true, ..WebConfig::default() };
        tweak(&mut config);
        let Some(schedule) = schedule else {
            return Self { router: web::router(app.clone(), config), app, clock, db, uploads, pay: None };
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sim = paysim::simulated(&base, &sim_keys(), schedule).unwrap();
        // The simulated gateway keeps the application's time, so a day's bill holds that day.
        let sim_clock = clock.clone();
        sim.alipay.set_clock(Arc::new(move || app::clock::Clock::now(sim_clock.as_ref())));
        let app = app.with_gateways(app::payment::Gateways::new(sim.gateways.clone()));
        let router = web::router(app.clone(), config);
        let served = sim.router.clone().merge(router.clone());
        tokio::spawn(async move {
            axum::serve(listener, served.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
        });
        let pay = Paying { alipay: sim.alipay, cpcn: sim.cpcn, base, gateways: sim.gateways };
        Self { router, app, clock, db, uploads, pay: Some(pay) }
    }

    /// Another instance of the service over the same database and gateways (as a second
    /// process behind a load balancer would be).
    pub fn second_instance(&self) -> Router {
        let outbox = Arc::new(DevOutbox::new(self.db.db.clone(), self.clock.clone()));
        let files = Arc::new(store::LocalFileStore::new(self.uploads.path()).unwrap());
        let mut app = App::new(
            Arc::new(self.db.db.clone()),
            files,
            outbox.clone(),
            outbox,
            self.clock.clone(),
            Keys::new(vec![42; 32]).unwrap(),
            Policy::default(),
        );
        if let Some(pay) = &self.pay {
            app = app.with_gateways(app::payment::Gateways::new(pay.gateways.clone()));
        }
        web::router(app, WebConfig { dev_mode: true, trust_forwarded_for: true, ..WebConfig::default() })
    }

    pub fn pay(&self) -> &Paying {
        self.pay.as_ref().expect("an app built with TestApp::paying")
    }

    pub fn client(&self) -> Client {
        self.client_from("192.0.2.1")
    }

    /// A client whose requests come from `ip` (through the trusted proxy header).
    pub fn client_from(&self, ip: &str) -> Client {
        Client { router: self.router.clone(), cookies: BTreeMap::new(), csrf: None, ip: ip.into() }
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    /// The newest SMS code sent to `phone`, read from the dev outbox.
    pub async fn last_code(&self, phone: &str) -> String {
        let messages = self.db.db.recent_messages(50).await.unwrap();
        let message =
            messages.iter().find(|m| m.channel == "sms" && m.recipient == phone).expect("an sms to that phone");
        message.body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("a 6-digit code").to_owned()
    }

    pub async fn sms_count(&self, phone: &str) -> usize {
        self.db.db.recent_messages(500).await.unwrap().iter().filter(|m| m.recipient == phone).count()
    }

    /// Registers `phone` through the API and returns a logged-in client.
    pub async fn user(&self, phone: &str) -> Client {
        let mut client = self.client();
        client.register(self, phone).await;
        client.login(phone, PASSWORD).await.assert_status(StatusCode::OK);
        client
    }
}

pub struct Client {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    ip: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    /// The error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// Field names of a validation error.
    pub fn fields(&self) -> Vec<String> {
        self.json()["fields"]
            .as_array()
            .map(|a| a.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

pub enum Payload {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
}

impl Client {
    pub async fn send(&mut self, method: Method, path: &str, payload: Payload, extra: &[(&str, &str)]) -> Reply {
        let (body, content_type) = match payload {
            Payload::None => (Vec::new(), None),
            Payload::Json(value) => (value.to_string().into_bytes(), Some("application/json")),
            Payload::Form(pairs) => {
                (serde_urlencoded::to_string(pairs).unwrap().into_bytes(), Some("application/x-www-form-urlencoded"))
            }
        };
        let mut headers = extra.to_vec();
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        self.send_raw(method, path, body, &headers).await
    }

    /// The CSRF token for the current cookies (fetched once per session).
    pub async fn csrf(&mut self) -> String {
        if let Some(token) = &self.csrf {
            return token.clone();
        }
        let reply = self.send(Method::GET, "/api/v1/session", Payload::None, &[]).await;
        let token = reply.json()["csrf_token"].as_str().unwrap().to_owned();
        self.csrf = Some(token.clone());
        token
    }

    /// A second client with the same cookies (another tab of the same browser).
    pub fn clone_session(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: self.cookies.clone(),
            csrf: self.csrf.clone(),
            ip: self.ip.clone(),
        }
    }

    pub fn forget_csrf(&mut self) {
        self.csrf = None;
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, Payload::None, &[]).await
    }

    /// A JSON call with the CSRF header.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let token = self.csrf().await;
        let payload = body.map_or(Payload::None, Payload::Json);
        let reply = self.send(method, path, payload, &[("x-csrf-token", &token)]).await;
        if reply.set_cookies().iter().any(|c| c.starts_with("sid=") || c.starts_with("__Host-sid=")) {
            self.csrf = None;
        }
        reply
    }

    /// An HTML form post with the CSRF field.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf().await;
        let mut pairs: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        pairs.push(("_csrf".into(), token));
        let reply = self.send(Method::POST, path, Payload::Form(pairs), &[]).await;
        if reply.set_cookies().iter().any(|c| c.starts_with("sid=") || c.starts_with("__Host-sid=")) {
            self.csrf = None;
        }
        reply
    }

    pub async fn send_code(&mut self, phone: &str, purpose: &str) -> Reply {
        self.call(Method::POST, "/api/v1/sms-codes", Some(serde_json::json!({ "phone": phone, "purpose": purpose })))
            .await
    }

    pub async fn register(&mut self, app: &TestApp, phone: &str) {
        self.send_code(phone, "register").await.assert_status(StatusCode::ACCEPTED);
        let code = app.last_code(phone).await;
        let body =
            serde_json::json!({ "phone": phone, "code": code, "password": PASSWORD, "password_confirm": PASSWORD });
        self.call(Method::POST, "/api/v1/accounts", Some(body)).await.assert_status(StatusCode::CREATED);
    }

    pub async fn login(&mut self, phone: &str, password: &str) -> Reply {
        self.call(Method::POST, "/api/v1/session", Some(serde_json::json!({ "phone": phone, "password": password })))
            .await
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("sid").or_else(|| self.cookies.get("__Host-sid")).cloned()
    }
}

/// A valid address body.
pub fn address_body(detail: &str) -> Value {
    serde_json::json!({
        "recipient": "张三",
        "phone": "13912345678",
        "province_code": "440000",
        "city_code": "440300",
        "district_code": "440305",
        "detail": detail,
    })
}

/// A valid 18-digit resident ID for index `n` (check character per GB 11643).
pub fn resident_id(n: u32) -> String {
    let first17 = format!("44030519900101{:03}", n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(weights).map(|(d, w)| u32::from(d - b'0') * w).sum();
    format!("{first17}{}", char::from(b"10X98765432"[(sum % 11) as usize]))
}

/// Confirm-order body for pickup without an invoice.
pub fn pickup_order_body() -> serde_json::Value {
    serde_json::json!({"delivery": "pickup", "pickup_point_id": 1, "invoice_kind": "none"})
}

/// Starts an application and fills every step; `subject` is a credit code for companies or an
/// ID number for people. Returns the application id.
pub async fn complete_application(c: &mut Client, kind: &str, subject: &str) -> i64 {
    complete_application_starting(c, kind, subject, serde_json::json!({"subject_kind": kind, "business": "new"})).await
}

/// [`complete_application`] started with `start` (e.g. a 补办 naming the certificate it replaces).
pub async fn complete_application_starting(c: &mut Client, kind: &str, subject: &str, start: serde_json::Value) -> i64 {
    let draft = c.call(Method::POST, "/api/v1/applications", Some(start)).await;
    draft.assert_status(StatusCode::CREATED);
    let id = draft.json()["id"].as_i64().unwrap();
    let catalog = c.get("/api/v1/catalog").await.json();
    let package = catalog["packages"].as_array().unwrap().iter().find(|p| p["subject_kind"] == kind).unwrap()["id"]
        .as_i64()
        .unwrap();
    c.call(
        Method::PUT,
        &format!("/api/v1/applications/{id}/package"),
        Some(serde_json::json!({"package_id": package})),
    )
    .await
    .assert_status(StatusCode::OK);
    let holder = if kind == "enterprise" {
        serde_json::json!({"company_name": "示例科技有限公司", "credit_code": subject, "user_type": "enterprise", "holder_name": "王五", "holder_id_number": resident_id(1)})
    } else {
        serde_json::json!({"user_type": "individual", "holder_name": "李雷", "holder_id_number": subject})
    };
    c.call(Method::PUT, &format!("/api/v1/applications/{id}/subject"), Some(holder))
        .await
        .assert_status(StatusCode::OK);
    let agent = serde_json::json!({"name": "赵六", "id_number": resident_id(2), "phone": "13700137000", "email": "agent@example.com"});
    c.call(Method::PUT, &format!("/api/v1/applications/{id}/agent"), Some(agent)).await.assert_status(StatusCode::OK);
    c.give_consent().await;
    let documents = if kind == "enterprise" { &ALL_DOCUMENTS[..] } else { &ALL_DOCUMENTS[1..] };
    for document in documents {
        c.upload(&format!("/api/v1/applications/{id}/documents/{document}"), "photo.png", &png(32, 20))
            .await
            .assert_status(StatusCode::CREATED);
    }
    id
}

/// Every document kind; a company needs all, a person all but the license.
pub const ALL_DOCUMENTS: [&str; 8] = [
    "license",
    "holder_id_front",
    "holder_id_back",
    "agent_id_front",
    "agent_id_back",
    "application_form",
    "authorization",
    "service_agreement",
];

impl Client {
    /// 确认订单 with an idempotency key.
    pub async fn order(&mut self, application: i64, key: &str, body: serde_json::Value) -> Reply {
        let token = self.csrf().await;
        self.send(
            Method::POST,
            &format!("/api/v1/applications/{application}/order"),
            Payload::Json(body),
            &[("x-csrf-token", &token), ("idempotency-key", key)],
        )
        .await
    }
}

impl Client {
    /// `PUT` a multipart upload with one `file` field.
    pub async fn upload(&mut self, path: &str, filename: &str, bytes: &[u8]) -> Reply {
        let token = self.csrf().await;
        let boundary = "sealdesk-test-boundary-7c2f";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send_raw(Method::PUT, path, body, &[("x-csrf-token", &token), ("content-type", &content_type)]).await
    }

    /// A file posted from an HTML upload box: multipart with the CSRF token as the first field.
    pub async fn submit_file(&mut self, path: &str, bytes: &[u8]) -> Reply {
        let token = self.csrf().await;
        let boundary = "sealdesk-form-boundary-19ab";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send_raw(Method::POST, path, body, &[("content-type", &content_type)]).await
    }

    /// A request with a raw body and explicit headers; cookies are sent and kept like a browser.
    pub async fn send_raw(&mut self, method: Method, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("x-forwarded-for", &self.ip)
            .header(header::HOST, "localhost");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header(header::COOKIE, jar.join("; "));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = self.router.clone().oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let text = cookie.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }
    }

    pub async fn give_consent(&mut self) {
        let version = self.get("/api/v1/consent").await.json()["version"].as_str().unwrap().to_owned();
        self.call(Method::POST, "/api/v1/consent", Some(serde_json::json!({"version": version, "agree": true})))
            .await
            .assert_status(StatusCode::NO_CONTENT);
    }
}

/// A PNG photo of `width`×`height`.
/// What `probe` returns once `done` holds for it, asked every 20 ms for up to 5 s (work the
/// service finishes a moment after answering: an order moved by a notification, a message
/// delivered by the worker); after that, what it returns then, for the caller to assert on.
pub async fn eventually<T>(mut probe: impl AsyncFnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    for _ in 0..250 {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    probe().await
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x.to_le_bytes()[0], y.to_le_bytes()[0], 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// A well-formed PNG whose header claims `width`×`height` at `depth` bits of colour type
/// `color` (2 RGB, 6 RGBA), its one tiny IDAT chunk holding almost nothing: an image bomb's
/// header, a few hundred bytes on the wire.
pub fn png_claiming(width: u32, height: u32, depth: u8, color: u8) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut bytes = png(1, 1);
    // IHDR: width and height at 16..24, depth and colour type at 24 and 25, CRC at 29..33.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    bytes[24] = depth;
    bytes[25] = color;
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A staff member with `roles`, for calling use cases directly.
pub fn staff_with(roles: &[domain::staff::Role]) -> app::staff::CurrentStaff {
    app::staff::CurrentStaff {
        id: domain::StaffId(0),
        username: "root".into(),
        name: "root".into(),
        phone: None,
        roles: domain::staff::Roles::of(roles),
        session_digest: String::new(),
        must_change_password: false,
    }
}

pub fn finance_staff() -> app::staff::CurrentStaff {
    staff_with(&[domain::staff::Role::Finance])
}

pub fn admin_staff() -> app::staff::CurrentStaff {
    staff_with(&[domain::staff::Role::Admin])
}

/// Back-office helpers.
impl TestApp {
    /// Creates a staff account and logs it in through the pages (password, TOTP enrollment).
    pub async fn staff(&self, username: &str, roles: &str, phone: Option<&str>) -> Client {
        let roles = domain::staff::Roles::parse(roles).unwrap();
        let created = self.app.add_staff(username, "测试员工", roles, phone, None).await.unwrap();
        let mut c = self.client();
        let page = c.submit("/admin/login", &[("username", username), ("password", &created.initial_password)]).await;
        page.assert_status(StatusCode::OK);
        let secret = page
            .body
            .split("data-testid=\"totp-secret\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the enrollment page shows the secret")
            .to_owned();
        let code = App::totp_code(&secret, self.clock_now()).unwrap();
        let done = c.submit("/admin/totp", &[("code", &code)]).await;
        assert_eq!(done.header("location"), Some("/admin"), "{}", done.body);
        // The printed password must be replaced before anything else opens.
        assert_eq!(c.get("/admin").await.header("location"), Some("/admin/password"));
        let own = STAFF_PASSWORD;
        let set = c
            .submit(
                "/admin/password",
                &[("current", &created.initial_password), ("password", own), ("password_confirm", own)],
            )
            .await;
        assert_eq!(set.header("location"), Some("/admin"), "{}", set.body);
        c
    }

    pub fn clock_now(&self) -> time::OffsetDateTime {
        app::clock::Clock::now(self.clock.as_ref())
    }
}

impl TestApp {
    /// Moves an unpaid order to 审核中 as a confirmed payment would (for tests about what
    /// happens after payment).
    pub async fn mark_paid(&self, order: i64) {
        use app::ports::OrderRepo;
        let moved = self
            .db
            .db
            .transition_order(
                domain::OrderId(order),
                domain::OrderStatus::PendingPayment,
                domain::OrderStatus::UnderReview,
                domain::Actor::PaymentGateway,
                Some("支付成功"),
                self.clock_now(),
            )
            .await
            .unwrap();
        assert!(moved, "order {order} was not waiting for payment");
    }
}

/// The seal fonts, read once for all the tests in a binary.
fn seal_fonts() -> eseal::Fonts {
    static FONTS: std::sync::OnceLock<eseal::Fonts> = std::sync::OnceLock::new();
    FONTS.get_or_init(|| eseal::Fonts::system().expect("fonts-arphic-gbsn00lp (scripts/test installs it)")).clone()
}
