//! The back office over HTTP: staff log in with password + TOTP; the role × route policy denies
//! by default; reviewers claim, approve (pinning documents) or reject with reasons the applicant
//! sees; ID images need a reason and every view is audited; nobody reviews their own order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::{Method, StatusCode};
use domain::staff::{Role, Roles};
use support::{Client, TestApp, complete_application, pickup_order_body, resident_id};
use time::Duration;
use web::Access;

/// An order in 审核中 (paid, as the payment path would leave it) and its applicant.
async fn order_in_review(app: &TestApp, phone: &str, n: u32) -> (Client, i64) {
    let mut c = app.user(phone).await;
    let application = complete_application(&mut c, "personal", &resident_id(n)).await;
    let reply = c.order(application, &format!("review-order-{n:04}"), pickup_order_body()).await;
    let id = reply.json()["id"].as_i64().unwrap();
    app.mark_paid(id).await;
    (c, id)
}

async fn send(c: &mut Client, method: &Method, path: &str) -> support::Reply {
    if *method == Method::GET { c.get(path).await } else { c.submit(path, &[]).await }
}

#[tokio::test]
async fn every_back_office_route_admits_exactly_the_roles_its_policy_names_on_sqlite() {
    the_policy_holds(TestApp::new().await).await;
}

#[tokio::test]
async fn every_back_office_route_admits_exactly_the_roles_its_policy_names_on_postgres() {
    if let Some(db) = store::testing::TestDb::postgres().await {
        the_policy_holds(TestApp::on(db).await).await;
    }
}

async fn the_policy_holds(app: TestApp) {
    let (_, order) = order_in_review(&app, "13800138100", 100).await;
    let policy = web::admin_policy();
    assert!(policy.len() >= 10);
    let mut anonymous = app.client();
    for (i, role) in Role::ALL.iter().enumerate() {
        let mut staff = app.staff(&format!("{}{i}", role.as_str()), role.as_str(), None).await;
        for (method, path, access) in &policy {
            if *path == "/admin/logout" || *access == Access::Public {
                continue;
            }
            let path = path.replace("{id}", &order.to_string()).replace("{kind}", "application_form");
            let reply = send(&mut staff, method, &path).await;
            let admitted = match access {
                Access::Roles(roles) => roles.contains(role),
                _ => true,
            };
            if admitted {
                assert_ne!(reply.status, StatusCode::FORBIDDEN, "{role:?} must reach {method} {path}");
                assert_ne!(reply.header("location"), Some("/admin/login"), "{role:?} {method} {path}");
            } else {
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role:?} must not reach {method} {path}");
                assert!(reply.body.contains("无权访问"));
            }
            let anon = send(&mut anonymous, method, &path).await;
            assert_eq!(anon.header("location"), Some("/admin/login"), "anonymous {method} {path}");
        }
    }
    // An applicant's session is not a staff session.
    let mut applicant = app.user("13800138101").await;
    assert_eq!(applicant.get("/admin/review").await.header("location"), Some("/admin/login"));
}

#[tokio::test]
async fn login_needs_the_password_then_a_fresh_totp_code() {
    let app = TestApp::new().await;
    let created = app.app.add_staff("li.si", "李四", Roles::of(&[Role::Reviewer]), None, None).await.unwrap();
    let mut c = app.client();
    let wrong = c.submit("/admin/login", &[("username", "li.si"), ("password", "not it")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("用户名或密码错误"), "{}", wrong.body);
    let page = c.submit("/admin/login", &[("username", "li.si"), ("password", &created.initial_password)]).await;
    assert!(page.body.contains("设置身份验证器") && page.body.contains("<svg"), "first login enrolls");
    // The password alone opens nothing.
    assert_eq!(c.get("/admin/review").await.header("location"), Some("/admin/login"));
    let bad = c.submit("/admin/totp", &[("code", "000000")]).await;
    assert!(bad.body.contains("动态验证码不正确"), "{}", bad.body);
    let secret = page.body.split("data-testid=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let code = app::App::totp_code(&secret, app.clock_now()).unwrap();
    let ok = c.submit("/admin/totp", &[("code", &code)]).await;
    assert_eq!(ok.header("location"), Some("/admin"));
    let cookie = ok.set_cookies().into_iter().find(|c| c.starts_with("ssid=")).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    // The printed password opens only the page that replaces it.
    assert_eq!(c.get("/admin/review").await.header("location"), Some("/admin/password"));
    let initial = created.initial_password.as_str();
    let wrong = c
        .submit(
            "/admin/password",
            &[
                ("current", "nope"),
                ("password", support::STAFF_PASSWORD),
                ("password_confirm", support::STAFF_PASSWORD),
            ],
        )
        .await;
    assert!(wrong.body.contains("当前密码不正确"));
    let same = c
        .submit("/admin/password", &[("current", initial), ("password", initial), ("password_confirm", initial)])
        .await;
    assert!(same.body.contains("新密码不能与初始密码相同"), "{}", same.body);
    let set = c
        .submit(
            "/admin/password",
            &[
                ("current", initial),
                ("password", support::STAFF_PASSWORD),
                ("password_confirm", support::STAFF_PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.header("location"), Some("/admin"));
    assert!(c.get("/admin/review").await.body.contains("审核队列"));

    // Next login: the initial password is dead; with their own, a code, no QR; the same code
    // cannot be used twice.
    let mut again = app.client();
    let dead = again.submit("/admin/login", &[("username", "li.si"), ("password", initial)]).await;
    assert_eq!(dead.status, StatusCode::UNAUTHORIZED);
    let page = again.submit("/admin/login", &[("username", "li.si"), ("password", support::STAFF_PASSWORD)]).await;
    assert!(page.body.contains("动态验证码") && !page.body.contains("<svg"));
    let replay = again.submit("/admin/totp", &[("code", &code)]).await;
    assert!(replay.body.contains("已使用"), "a code works once");
    app.advance(Duration::seconds(30));
    let next = app::App::totp_code(&secret, app.clock_now()).unwrap();
    assert_eq!(again.submit("/admin/totp", &[("code", &next)]).await.header("location"), Some("/admin"));

    // Staff sessions end after 15 idle minutes (applicants get 30).
    app.advance(Duration::minutes(16));
    assert_eq!(c.get("/admin").await.header("location"), Some("/admin/login"));
}

#[tokio::test]
async fn a_reviewer_rejects_with_reasons_the_applicant_sees_then_approves_the_fix() {
    let app = TestApp::new().await;
    let (mut applicant, order) = order_in_review(&app, "13800138102", 102).await;
    let mut reviewer = app.staff("zhao.liu", "reviewer", None).await;
    let mut other = app.staff("qian.qi", "reviewer", None).await;

    let queue = reviewer.get("/admin/review").await;
    assert!(queue.body.contains("data-testid=\"queue-item\"") && queue.body.contains("个人新办"));
    let case = reviewer.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains("110") || case.body.contains("440"), "masked ID shown");
    assert!(!case.body.contains(&resident_id(102)), "never the full ID number");

    reviewer.submit(&format!("/admin/orders/{order}/claim"), &[]).await;
    let blocked = other.submit(&format!("/admin/orders/{order}/approve"), &[]).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT, "claimed by someone else");
    assert!(blocked.body.contains("其他审核员"));

    let empty = reviewer.submit(&format!("/admin/orders/{order}/reject"), &[("note", "")]).await;
    assert_eq!(empty.status, StatusCode::CONFLICT);
    let rejected = reviewer
        .submit(
            &format!("/admin/orders/{order}/reject"),
            &[("reasons", "经办人身份证照片不清晰"), ("reasons", "证件已过期"), ("note", "请重新拍摄")],
        )
        .await;
    assert_eq!(rejected.header("location"), Some(format!("/admin/orders/{order}?notice=rejected").as_str()));
    let seen = applicant.get(&format!("/api/v1/orders/{order}")).await.json();
    assert_eq!(seen["status"], "rejected");
    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains("经办人身份证照片不清晰；证件已过期；请重新拍摄"), "the applicant sees the reasons");
    let sms = {
        use app::ports::DevOutboxRepo;
        app.db.db.recent_messages(20).await.unwrap()
    };
    assert!(sms.iter().any(|m| m.recipient == "13800138102" && m.body.contains("审核未通过：经办人身份证照片不清晰")));

    applicant.call(Method::POST, &format!("/api/v1/orders/{order}/resubmit"), None).await.assert_status(StatusCode::OK);
    let approved = reviewer.submit(&format!("/admin/orders/{order}/approve"), &[]).await;
    assert_eq!(approved.header("location"), Some(format!("/admin/orders/{order}?notice=approved").as_str()));
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "processing");
    let pins = {
        use app::ports::ReviewRepo;
        app.db.db.review_pins(domain::OrderId(order)).await.unwrap()
    };
    assert_eq!(pins.len(), 7, "every document of a personal application is pinned: {pins:?}");
    let again = reviewer.submit(&format!("/admin/orders/{order}/approve"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "not in review any more");

    let log = app.app.audit_log(&admin(), Some(domain::OrderId(order)), 50).await.unwrap();
    let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["order.claim", "order.claim", "order.reject", "order.claim", "order.approve"], "{log:#?}");
}

fn admin() -> app::staff::CurrentStaff {
    app::staff::CurrentStaff {
        id: domain::StaffId(0),
        username: "root".into(),
        name: "root".into(),
        phone: None,
        roles: Roles::of(&[Role::Admin]),
        session_digest: String::new(),
        must_change_password: false,
    }
}

#[tokio::test]
async fn identity_images_need_a_reason_and_every_view_is_audited() {
    let app = TestApp::new().await;
    let (_, order) = order_in_review(&app, "13800138103", 103).await;
    let mut reviewer = app.staff("sun.ba", "reviewer", None).await;
    let no_reason = reviewer.get(&format!("/admin/orders/{order}/documents/holder_id_front")).await;
    assert_eq!(no_reason.status, StatusCode::CONFLICT);
    assert!(no_reason.body.contains("查看原因"));
    let image = reviewer.get(&format!("/admin/orders/{order}/documents/holder_id_front?reason=核对持有人身份")).await;
    image.assert_status(StatusCode::OK);
    assert!(image.bytes.starts_with(&[0xFF, 0xD8]), "the decrypted, re-encoded photo");
    let form = reviewer.get(&format!("/admin/orders/{order}/documents/application_form")).await;
    form.assert_status(StatusCode::OK);
    let log = app.app.audit_log(&admin(), Some(domain::OrderId(order)), 10).await.unwrap();
    let views: Vec<&str> = log.iter().filter(|e| e.action == "document.view").map(|e| e.detail.as_str()).collect();
    assert_eq!(views, ["《“数字证书与电子签章”业务申请表》：", "身份证人像面（法定代表人/本人）：核对持有人身份"]);
    // The audit log names the order by its number.
    let order_no = app.app.audited_order_no(&admin(), domain::OrderId(order)).await.unwrap().unwrap();
    let page = app.staff("shen.ji", "admin,reviewer", None).await.get("/admin/audit").await.body;
    assert!(page.contains(&format!("href=\"/admin/orders/{order}\">{order_no}</a>")), "{page}");
    let admin_only = app.staff("guan.ji", "admin", None).await.get("/admin/audit").await.body;
    assert!(
        admin_only.contains(&order_no) && !admin_only.contains(&format!("/admin/orders/{order}\"")),
        "{admin_only}"
    );
}

/// An uploaded PDF reaches the reviewer only as a download (their own viewer, never our origin);
/// photos, re-encoded by us, open in the browser; both under a sandbox policy.
#[tokio::test]
async fn uploaded_pdfs_are_served_to_staff_only_as_attachments() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138105").await;
    let application = complete_application(&mut c, "personal", &resident_id(105)).await;
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    c.upload(&format!("/api/v1/applications/{application}/documents/application_form"), "form.pdf", pdf)
        .await
        .assert_status(StatusCode::CREATED);
    let order = c.order(application, "review-order-pdf1", pickup_order_body()).await.json()["id"].as_i64().unwrap();
    app.mark_paid(order).await;
    let mut reviewer = app.staff("sun.jiu", "reviewer", None).await;
    let form = reviewer.get(&format!("/admin/orders/{order}/documents/application_form")).await;
    form.assert_status(StatusCode::OK);
    assert_eq!(form.header("content-type"), Some("application/pdf"));
    assert!(form.header("content-disposition").unwrap().starts_with("attachment;"), "{:?}", form.headers);
    let policies: Vec<_> = form.headers.get_all("content-security-policy").iter().collect();
    assert!(policies.iter().any(|p| p.to_str().ok() == Some("sandbox")), "{policies:?}");
    assert!(policies.iter().any(|p| p.to_str().unwrap().contains("frame-ancestors 'none'")), "ours stays too");
    let photo = reviewer.get(&format!("/admin/orders/{order}/documents/service_agreement")).await;
    assert_eq!(photo.header("content-disposition"), Some("inline"));
}

#[tokio::test]
async fn nobody_reviews_their_own_order() {
    let app = TestApp::new().await;
    let (_, order) = order_in_review(&app, "13800138104", 104).await;
    let mut reviewer = app.staff("zhou.jiu", "reviewer", Some("13800138104")).await;
    let case = reviewer.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains("不能由您审核") && !case.body.contains("data-testid=\"review-actions\""));
    let approve = reviewer.submit(&format!("/admin/orders/{order}/approve"), &[]).await;
    assert_eq!(approve.status, StatusCode::CONFLICT);
    assert!(approve.body.contains("不能审核本人提交的订单"));
}

#[tokio::test]
async fn an_admin_creates_staff_and_reads_the_audit_log() {
    let app = TestApp::new().await;
    let mut admin = app.staff("wu.shi", "admin", None).await;
    let created = admin
        .submit(
            "/admin/staff",
            &[("username", "zheng.yi"), ("name", "郑一"), ("roles", "reviewer"), ("roles", "finance")],
        )
        .await;
    created.assert_status(StatusCode::OK);
    assert!(created.body.contains("已创建账号 <strong>zheng.yi</strong>") && created.body.contains("初始密码"));
    let taken =
        admin.submit("/admin/staff", &[("username", "zheng.yi"), ("name", "郑一"), ("roles", "reviewer")]).await;
    assert!(taken.body.contains("该用户名已被使用"));
    let none = admin.submit("/admin/staff", &[("username", "zheng.er"), ("name", "郑二")]).await;
    assert!(none.body.contains("请至少选择一个角色"));
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("创建员工") && audit.body.contains("zheng.yi（审核员、财务）"), "{}", audit.body);
    assert!(audit.body.contains("登录"));
}

/// An approved order (待处理) with the given delivery.
async fn approved_order(app: &TestApp, reviewer: &mut Client, phone: &str, n: u32, courier: bool) -> (Client, i64) {
    let mut c = app.user(phone).await;
    let application = complete_application(&mut c, "personal", &resident_id(n)).await;
    let body = if courier {
        let address =
            c.call(Method::POST, "/api/v1/addresses", Some(support::address_body("科技园1栋101"))).await.json()["id"]
                .as_i64()
                .unwrap();
        serde_json::json!({"delivery": "courier", "address_id": address, "invoice_kind": "none"})
    } else {
        pickup_order_body()
    };
    let id = c.order(application, &format!("fulfil-order-{n:04}"), body).await.json()["id"].as_i64().unwrap();
    app.mark_paid(id).await;
    let approved = reviewer.submit(&format!("/admin/orders/{id}/approve"), &[]).await;
    assert_eq!(approved.header("location"), Some(format!("/admin/orders/{id}?notice=approved").as_str()));
    (c, id)
}

fn key_fields() -> [(&'static str, &'static str); 4] {
    [("key_type", "main"), ("serial", "4A3F001B9C77"), ("valid_from", "2026-11-26"), ("valid_to", "2027-11-25")]
}

#[tokio::test]
async fn a_couriered_key_is_recorded_shipped_and_received() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("rev.a", "reviewer", None).await;
    let mut maker = app.staff("make.a", "fulfilment", None).await;
    let (mut applicant, order) = approved_order(&app, &mut reviewer, "13800138110", 110, true).await;
    let list = maker.get("/admin/fulfilment").await;
    assert!(list.body.contains("data-testid=\"fulfilment-item\"") && list.body.contains("未登记"));

    let early = maker
        .submit(&format!("/admin/orders/{order}/ship"), &[("courier", "顺丰速运"), ("tracking_no", "SF1234567890")])
        .await;
    assert!(early.body.contains("请先登记制证信息"), "nothing leaves before the key is recorded");
    // The accepted format is on the form before anything is refused.
    let case = maker.get(&format!("/admin/orders/{order}")).await;
    assert!(case.body.contains("6–64 位字母或数字"), "{}", case.body);
    // A refused serial: the case page again, the error beside the field, nothing typed lost.
    let bad = maker
        .submit(
            &format!("/admin/orders/{order}/key"),
            &[
                ("key_type", "secondary"),
                ("serial", "4A-3F-00"),
                ("valid_from", "2026-11-26"),
                ("valid_to", "2027-11-25"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = bad.body.split("<label for=\"serial\">").nth(1).unwrap().split("</div>").next().unwrap();
    assert!(field.contains("value=\"4A-3F-00\"") && field.contains("class=\"field-error\""), "{field}");
    assert!(bad.body.contains("value=\"2026-11-26\"") && bad.body.contains("value=\"2027-11-25\""));
    assert!(bad.body.contains("<option value=\"secondary\" selected>"), "the chosen medium stays");
    assert!(bad.body.contains("data-testid=\"key-form\""), "on the case page, not an error page");
    let recorded = maker.submit(&format!("/admin/orders/{order}/key"), &key_fields()).await;
    assert_eq!(recorded.header("location"), Some(format!("/admin/orders/{order}?notice=key_recorded").as_str()));
    let wrong = maker.submit(&format!("/admin/orders/{order}/ready"), &[]).await;
    assert!(wrong.body.contains("配送方式是快递"));
    let shipped = maker
        .submit(&format!("/admin/orders/{order}/ship"), &[("courier", "顺丰速运"), ("tracking_no", "sf 1234 567 890")])
        .await;
    assert_eq!(shipped.header("location"), Some(format!("/admin/orders/{order}?notice=shipped").as_str()));
    let label = maker.get(&format!("/admin/orders/{order}/packing-list")).await;
    assert!(
        label.body.contains("4A3F001B9C77") && label.body.contains("快递面单") && label.body.contains("SF1234567890")
    );

    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains("待收货") && page.body.contains("顺丰速运 运单号 <strong>SF1234567890</strong>"));
    let sms = {
        use app::ports::DevOutboxRepo;
        app.db.db.recent_messages(20).await.unwrap()
    };
    assert!(sms.iter().any(|m| m.recipient == "13800138110" && m.body.contains("已发货：顺丰速运 SF1234567890")));
    let done = applicant.call(Method::POST, &format!("/api/v1/orders/{order}/confirm-receipt"), None).await;
    assert_eq!(done.json()["status"], "completed");
    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains("证书序列号 4A3F001B9C77"));
    let log = app.app.audit_log(&admin(), Some(domain::OrderId(order)), 20).await.unwrap();
    let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["order.claim", "order.approve", "order.key_recorded", "order.ship"]);
}

#[tokio::test]
async fn an_unconfirmed_delivery_completes_by_itself_after_ten_days() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("rev.b", "reviewer", None).await;
    let mut maker = app.staff("make.b", "fulfilment", None).await;
    let (_applicant, order) = approved_order(&app, &mut reviewer, "13800138111", 111, true).await;
    maker.submit(&format!("/admin/orders/{order}/key"), &key_fields()).await;
    maker
        .submit(&format!("/admin/orders/{order}/ship"), &[("courier", "中国邮政EMS"), ("tracking_no", "EA123456789CN")])
        .await;
    app.advance(Duration::days(9));
    assert_eq!(app.app.fulfilment().auto_complete_orders().await.unwrap(), 0);
    app.advance(Duration::days(2));
    assert_eq!(app.app.fulfilment().auto_complete_orders().await.unwrap(), 1);
    // The applicant's session is long gone; log in again to look.
    let mut again = app.client();
    again.login("13800138111", support::PASSWORD).await;
    let order_json = again.get(&format!("/api/v1/orders/{order}")).await.json();
    assert_eq!(order_json["status"], "completed");
    assert_eq!(order_json["timeline"].as_array().unwrap().last().unwrap()["actor"], "system");
}

#[tokio::test]
async fn a_pickup_is_handed_over_only_against_the_code() {
    let app = TestApp::new().await;
    let mut reviewer = app.staff("rev.c", "reviewer", None).await;
    let mut maker = app.staff("make.c", "fulfilment", None).await;
    let (mut applicant, order) = approved_order(&app, &mut reviewer, "13800138112", 112, false).await;
    maker.submit(&format!("/admin/orders/{order}/key"), &key_fields()).await;
    let ready = maker.submit(&format!("/admin/orders/{order}/ready"), &[]).await;
    assert_eq!(ready.header("location"), Some(format!("/admin/orders/{order}?notice=ready").as_str()));
    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(page.body.contains("待自提"), "{}", page.body);
    let code = page.body.split("class=\"pickup-code\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let sms = {
        use app::ports::DevOutboxRepo;
        app.db.db.recent_messages(20).await.unwrap()
    };
    let told = sms.iter().find(|m| m.recipient == "13800138112" && m.body.contains(&format!("取件码 {code}"))).unwrap();
    // Where and when, not only the hall's name (the seeded demo point out of the box).
    assert!(told.body.contains("样板路 100 号") && told.body.contains("开放时间 工作日 9:00"), "{}", told.body);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = maker.submit(&format!("/admin/orders/{order}/hand-over"), &[("code", wrong)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("data-testid=\"code-error\">取件码不正确"), "{}", refused.body);
    assert!(refused.body.contains(&format!("value=\"{wrong}\"")), "what was typed stays");
    let handed = maker.submit(&format!("/admin/orders/{order}/hand-over"), &[("code", &code)]).await;
    assert_eq!(handed.header("location"), Some(format!("/admin/orders/{order}?notice=handed_over").as_str()));
    assert_eq!(applicant.get(&format!("/api/v1/orders/{order}")).await.json()["status"], "completed");
    let page = applicant.get(&format!("/orders/{order}")).await;
    assert!(!page.body.contains(&code), "the code is not shown once used");
    let receipt = applicant.call(Method::POST, &format!("/api/v1/orders/{order}/confirm-receipt"), None).await;
    assert_eq!(receipt.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_admin_reprices_the_catalog_and_new_orders_use_it() {
    let app = TestApp::new().await;
    let mut boss = app.staff("guan.yi", "admin", None).await;
    let catalog = boss.get("/admin/catalog").await;
    assert!(catalog.body.contains("data-testid=\"packages\""));
    let bad = boss.submit("/admin/catalog/packages/1", &[("price", "-3"), ("active", "1")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请填写大于 0 的价格"));
    // Personal packages: make the first one cost 188.80 yuan.
    let public = app.client().get("/api/v1/catalog").await.json();
    let personal =
        public["packages"].as_array().unwrap().iter().find(|p| p["subject_kind"] == "personal").unwrap()["id"]
            .as_i64()
            .unwrap();
    let saved =
        boss.submit(&format!("/admin/catalog/packages/{personal}"), &[("price", "188.80"), ("active", "1")]).await;
    assert_eq!(saved.header("location"), Some("/admin/catalog?notice=catalog_saved"));
    boss.submit("/admin/catalog/fees", &[("courier", "12"), ("pickup", "0"), ("service", "1.5")]).await;
    let point = boss
        .submit(
            "/admin/catalog/pickup-points",
            &[
                ("name", "鼓楼服务大厅"),
                ("address", "福州市鼓楼区五四路 158 号"),
                ("phone", "0591-88888888"),
                ("hours", "工作日 9:00–17:00"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(point.header("location"), Some("/admin/catalog?notice=catalog_saved"));
    let bad_point = boss
        .submit("/admin/catalog/pickup-points", &[("name", "x"), ("address", "短"), ("phone", "abc"), ("hours", "")])
        .await;
    assert!(bad_point.body.contains("请填写完整的自提点地址") && bad_point.body.contains("联系电话"));

    let public = app.client().get("/api/v1/catalog").await.json();
    assert!(public.to_string().contains("鼓楼服务大厅"), "{public}");
    let mut c = app.user("13800138130").await;
    let application = complete_application(&mut c, "personal", &resident_id(130)).await;
    let order = c.order(application, "reprice-0001", pickup_order_body()).await.json();
    assert_eq!(order["fees"]["package_fen"], 18_880);
    assert_eq!(order["fees"]["service_fen"], 150);
    assert_eq!(order["fees"]["total_fen"], 19_030);

    let home = boss.get("/admin").await;
    assert!(home.body.contains("data-testid=\"dashboard\"") && home.body.contains("待支付"));
    // Every state is listed, zero included, and the 工作台 leads to 文档模板 too.
    let overview = home.body.split("data-testid=\"dashboard\"").nth(1).unwrap();
    for status in domain::OrderStatus::ALL {
        assert!(overview.contains(&format!("<th>{}</th>", status.label())), "{}", status.label());
    }
    assert!(home.body.contains("href=\"/admin/templates\">文档模板</a></li>"));
    // 无权访问 fits a phone and keeps the back-office bar.
    let denied = app.staff("fang.ke", "reviewer", None).await.get("/admin/catalog").await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert!(denied.body.contains("name=\"viewport\"") && denied.body.contains("admin-bar"));
    let log = app.app.audit_log(&admin(), None, 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"catalog.package")
            && actions.contains(&"catalog.fees")
            && actions.contains(&"catalog.pickup_point")
    );
}

#[tokio::test]
async fn a_full_id_number_is_shown_only_for_a_stated_reason_and_audited() {
    let app = TestApp::new().await;
    let (_, order) = order_in_review(&app, "13800138131", 131).await;
    let mut reviewer = app.staff("rev.d", "reviewer", None).await;
    let case = reviewer.get(&format!("/admin/orders/{order}")).await;
    assert!(!case.body.contains(&resident_id(131)));
    let no_reason = reviewer.submit(&format!("/admin/orders/{order}/reveal"), &[("reason", "")]).await;
    assert!(no_reason.body.contains("请填写查看原因"));
    let shown = reviewer.submit(&format!("/admin/orders/{order}/reveal"), &[("reason", "与身份证照片核对")]).await;
    shown.assert_status(StatusCode::OK);
    assert!(shown.body.contains(&resident_id(131)), "the full number, this once");
    assert_eq!(shown.header("cache-control"), Some("no-store"));
    let log = app.app.audit_log(&admin(), Some(domain::OrderId(order)), 10).await.unwrap();
    assert!(log.iter().any(|e| e.action == "id_number.reveal" && e.detail == "与身份证照片核对"));
}

#[tokio::test]
async fn an_admin_changes_roles_and_a_disabled_account_is_out_at_once() {
    let app = TestApp::new().await;
    let mut boss = app.staff("guan.er", "admin", None).await;
    let mut worker = app.staff("gong.ren", "reviewer", None).await;
    assert_eq!(worker.get("/admin/fulfilment").await.status, StatusCode::FORBIDDEN);
    let id = app.app.staff_list(&admin()).await.unwrap().into_iter().find(|s| s.username == "gong.ren").unwrap().id;
    let saved = boss.submit(&format!("/admin/staff/{id}"), &[("roles", "reviewer"), ("roles", "fulfilment")]).await;
    assert_eq!(saved.header("location"), Some("/admin/staff?notice=staff_saved"));
    assert!(boss.get("/admin/staff?notice=staff_saved").await.body.contains("已保存员工的角色"), "saying so");
    assert_eq!(worker.get("/admin/fulfilment").await.status, StatusCode::OK, "the new role applies at once");
    let disabled = boss.submit(&format!("/admin/staff/{id}"), &[("roles", "reviewer"), ("disabled", "1")]).await;
    assert_eq!(disabled.header("location"), Some("/admin/staff?notice=staff_disabled"));
    assert_eq!(worker.get("/admin/review").await.header("location"), Some("/admin/login"), "sessions end");
    let me = app.app.staff_list(&admin()).await.unwrap().into_iter().find(|s| s.username == "guan.er").unwrap().id;
    let lockout = boss.submit(&format!("/admin/staff/{me}"), &[("roles", "reviewer")]).await;
    assert!(lockout.body.contains("不能停用自己的账号"));
}

#[tokio::test]
async fn an_admin_replaces_a_blank_form_with_a_pdf_and_can_go_back() {
    let app = TestApp::new().await;
    let mut boss = app.staff("guan.san", "admin", None).await;
    let builtin = app.client().get("/templates/application_form").await;
    assert_eq!(builtin.header("content-type"), Some("text/html; charset=utf-8"));
    let png = boss.submit_file("/admin/templates/application_form", &support::png(8, 8)).await;
    assert!(png.body.contains("请上传 PDF 格式的模板"), "{}", png.body);
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let saved = boss.submit_file("/admin/templates/application_form", pdf).await;
    assert_eq!(saved.header("location"), Some("/admin/templates?notice=catalog_saved"), "{}", saved.body);
    let served = app.client().get("/templates/application_form").await;
    assert_eq!(served.header("content-type"), Some("application/pdf"));
    assert!(served.bytes.starts_with(b"%PDF"));
    assert_eq!(boss.submit_file("/admin/templates/license", pdf).await.status, StatusCode::NOT_FOUND, "only the forms");
    boss.submit("/admin/templates/application_form/delete", &[]).await;
    let back = app.client().get("/templates/application_form").await;
    assert_eq!(back.header("content-type"), Some("text/html; charset=utf-8"));
}
