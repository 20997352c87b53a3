//! Accounts over HTTP: registration by SMS code, login, logout, throttling, password reset and
//! change, profile — with the rules of SECURITY A2, A3, A4.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use app::ports::DevOutboxRepo;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{PASSWORD, TestApp};
use time::Duration;

const PHONE: &str = "13800138000";

#[tokio::test]
async fn register_login_profile_logout() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.register(&app, PHONE).await;
    c.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);
    // One signature, the configured one, once (the gateway adds it; no text carries its own).
    let code = app.db.db.recent_messages(5).await.unwrap().into_iter().find(|m| m.recipient == PHONE).unwrap();
    assert!(
        code.body.starts_with("【电子签章】您正在注册账号") && code.body.matches('【').count() == 1,
        "{}",
        code.body
    );

    let reply = c.login(PHONE, PASSWORD).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.json()["user"]["phone_masked"], "138****8000");

    let me = c.get("/api/v1/me").await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json()["phone_masked"], "138****8000");
    assert!(!me.body.contains(PHONE), "full phone number never shown");

    c.call(Method::PUT, "/api/v1/me", Some(json!({"name": "李雷", "email": "li@example.com"})))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let me = c.get("/api/v1/me").await.json();
    assert_eq!((me["name"].as_str(), me["email"].as_str()), (Some("李雷"), Some("li@example.com")));

    let old_cookie = c.session_cookie().unwrap();
    c.call(Method::DELETE, "/api/v1/session", None).await.assert_status(StatusCode::NO_CONTENT);
    c.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);
    // Replaying the cookie of the ended session does not bring it back.
    c.cookies.insert("sid".into(), old_cookie);
    c.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registration_rejects_bad_input_beside_each_field() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let reply = c
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"phone": "1234", "code": "12", "password": "123456", "password_confirm": "x"})),
        )
        .await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "validation_failed");
    assert_eq!(reply.fields(), ["phone", "code", "password"]);
    assert!(reply.body.contains("请输入正确的11位手机号"));

    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    let weak = c
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"phone": PHONE, "code": code, "password": "password1", "password_confirm": "password1"})),
        )
        .await;
    assert_eq!(weak.fields(), ["password"]);
    let mismatch = c
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"phone": PHONE, "code": code, "password": PASSWORD, "password_confirm": "other"})),
        )
        .await;
    assert_eq!(mismatch.fields(), ["password_confirm"]);
    // Neither attempt used up the code.
    let ok = c
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"phone": PHONE, "code": code, "password": PASSWORD, "password_confirm": PASSWORD})),
        )
        .await;
    ok.assert_status(StatusCode::CREATED);

    let again = c.send_code(PHONE, "register").await;
    again.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("该手机号已注册"));
}

#[tokio::test]
async fn sms_codes_are_single_use_bound_and_expire() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    let body = |code: &str| json!({"phone": PHONE, "code": code, "password": PASSWORD, "password_confirm": PASSWORD});

    // After ten minutes the code is dead.
    app.advance(Duration::minutes(10));
    let late = c.call(Method::POST, "/api/v1/accounts", Some(body(&code))).await;
    assert_eq!(late.fields(), ["code"]);

    // A register code cannot reset a password, and a code for one number does not work for another.
    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    let reset = c.call(Method::POST, "/api/v1/password-resets", Some(body(&code))).await;
    assert_eq!(reset.fields(), ["code"]);
    let other = c
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"phone": "13900139000", "code": code, "password": PASSWORD, "password_confirm": PASSWORD})),
        )
        .await;
    assert_eq!(other.fields(), ["code"]);

    // Used once, then never again.
    c.call(Method::POST, "/api/v1/accounts", Some(body(&code))).await.assert_status(StatusCode::CREATED);
    let replay = c.call(Method::POST, "/api/v1/password-resets", Some(body(&code))).await;
    assert_eq!(replay.fields(), ["code"]);
}

#[tokio::test]
async fn the_fifth_wrong_guess_kills_the_code() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = |code: &str| json!({"phone": PHONE, "code": code, "password": PASSWORD, "password_confirm": PASSWORD});
    for _ in 0..5 {
        assert_eq!(c.call(Method::POST, "/api/v1/accounts", Some(body(wrong))).await.fields(), ["code"]);
    }
    let right_too_late = c.call(Method::POST, "/api/v1/accounts", Some(body(&code))).await;
    assert_eq!(right_too_late.fields(), ["code"], "the right code no longer works");
}

#[tokio::test]
async fn sends_are_limited_per_number_and_per_client() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    let soon = c.send_code(PHONE, "register").await;
    soon.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(soon.code(), "sms_too_frequent");
    assert_eq!(soon.header("retry-after"), Some("60"));

    for _ in 0..9 {
        app.advance(Duration::seconds(61));
        c.send_code(PHONE, "register").await.assert_status(StatusCode::ACCEPTED);
    }
    app.advance(Duration::seconds(61));
    let eleventh = c.send_code(PHONE, "register").await;
    assert_eq!((eleventh.status, eleventh.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "sms_daily_limit"));
    assert_eq!(app.sms_count(PHONE).await, 10, "the gateway never received more than ten");

    // One client address cycling through numbers hits its own cap.
    let mut bomber = app.client_from("198.51.100.7");
    let mut accepted = 0;
    for n in 0..50 {
        if bomber.send_code(&format!("137{n:08}"), "register").await.status == StatusCode::ACCEPTED {
            accepted += 1;
        }
    }
    assert_eq!(accepted, domain::sms::HOURLY_SENDS_PER_IP);
}

#[tokio::test]
async fn reset_for_an_unknown_number_looks_the_same_but_sends_nothing() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.send_code("13700137000", "reset_password").await.assert_status(StatusCode::ACCEPTED);
    assert_eq!(app.sms_count("13700137000").await, 0);
}

#[tokio::test]
async fn login_failures_are_throttled_and_reset_by_sms_unlocks() {
    let app = TestApp::new().await;
    let mut owner = app.client();
    owner.register(&app, PHONE).await;

    // Ten wrong passwords from ten addresses lock the account for the window...
    for i in 0..10 {
        let mut attacker = app.client_from(&format!("203.0.113.{i}"));
        let reply = attacker.login(PHONE, "wrong password guess").await;
        assert_eq!((reply.status, reply.code().as_str()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    }
    let mut attacker = app.client_from("203.0.113.99");
    let locked = attacker.login(PHONE, PASSWORD).await;
    assert_eq!((locked.status, locked.code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "login_throttled"));
    assert!(locked.header("retry-after").is_some());
    // ...even for the right password, so guesses past the limit are never evaluated.
    owner.login(PHONE, PASSWORD).await.assert_status(StatusCode::TOO_MANY_REQUESTS);

    // The owner gets in at once through the SMS reset path.
    app.advance(Duration::seconds(61));
    owner.send_code(PHONE, "reset_password").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    let new_password = "新的 密码 also long enough";
    let body = json!({"phone": PHONE, "code": code, "password": new_password, "password_confirm": new_password});
    owner.call(Method::POST, "/api/v1/password-resets", Some(body)).await.assert_status(StatusCode::NO_CONTENT);
    owner.login(PHONE, new_password).await.assert_status(StatusCode::OK);

    // And the lock lifts by itself after the window.
    for _ in 0..10 {
        attacker.login(PHONE, "wrong again").await;
    }
    attacker.login(PHONE, new_password).await.assert_status(StatusCode::TOO_MANY_REQUESTS);
    app.advance(Duration::minutes(16));
    attacker.login(PHONE, new_password).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn one_client_address_is_throttled_across_accounts() {
    let app = TestApp::new().await;
    let mut sprayer = app.client_from("203.0.113.50");
    for n in 0..50 {
        sprayer.login(&format!("136{n:08}"), "Spring2026!").await.assert_status(StatusCode::UNAUTHORIZED);
    }
    let blocked = sprayer.login("13600000099", "Spring2026!").await;
    assert_eq!(blocked.code(), "login_throttled");
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_absolute_lifetime() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    app.advance(Duration::minutes(29));
    c.get("/api/v1/me").await.assert_status(StatusCode::OK);
    app.advance(Duration::minutes(29));
    c.get("/api/v1/me").await.assert_status(StatusCode::OK);
    app.advance(Duration::minutes(31));
    c.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);

    let mut busy = app.user("13900139000").await;
    // 25 × 29 min of steady use passes the 12 h absolute limit.
    for _ in 0..25 {
        app.advance(Duration::minutes(29));
        busy.get("/api/v1/me").await;
    }
    busy.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn session_cookie_is_fresh_at_login_and_hardened() {
    let app = TestApp::with_config(|c| c.secure_cookies = true).await;
    let mut c = app.client();
    c.register(&app, PHONE).await;
    let first = c.login(PHONE, PASSWORD).await;
    let cookie = first.set_cookies().into_iter().find(|c| c.starts_with("__Host-sid=")).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain="), "__Host- cookies carry no Domain");
    let token = cookie.split(['=', ';']).nth(1).unwrap().to_owned();
    assert!(token.len() >= 43, "at least 256 bits, base64url");
    let second = c.login(PHONE, PASSWORD).await;
    let again = second.set_cookies().into_iter().find(|c| c.starts_with("__Host-sid=")).unwrap();
    assert_ne!(again.split(['=', ';']).nth(1).unwrap(), token, "a new session id at every login");
    assert!(!first.body.contains(&token), "the token never appears in a body");
}

#[tokio::test]
async fn changing_the_password_needs_the_old_one_and_ends_other_sessions() {
    let app = TestApp::new().await;
    let mut laptop = app.user(PHONE).await;
    let mut phone = app.client_from("192.0.2.77");
    phone.login(PHONE, PASSWORD).await.assert_status(StatusCode::OK);

    let new_password = "另一个 足够长的 新密码 2026";
    let wrong = laptop
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"old_password": "not it", "new_password": new_password, "new_password_confirm": new_password})),
        )
        .await;
    assert_eq!(wrong.fields(), ["old_password"]);
    let weak = laptop
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"old_password": PASSWORD, "new_password": "12345678", "new_password_confirm": "12345678"})),
        )
        .await;
    assert_eq!(weak.fields(), ["new_password"]);

    let old_cookie = laptop.session_cookie().unwrap();
    let ok = laptop
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"old_password": PASSWORD, "new_password": new_password, "new_password_confirm": new_password})),
        )
        .await;
    ok.assert_status(StatusCode::OK);
    assert_ne!(laptop.session_cookie().unwrap(), old_cookie, "the session is replaced");
    laptop.get("/api/v1/me").await.assert_status(StatusCode::OK);
    phone.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);

    let mut replay = app.client();
    replay.cookies.insert("sid".into(), old_cookie);
    replay.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);

    app.client().login(PHONE, PASSWORD).await.assert_status(StatusCode::UNAUTHORIZED);
    app.client().login(PHONE, new_password).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_password_reset_ends_every_session() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let mut other = app.client();
    app.advance(Duration::seconds(61));
    other.send_code(PHONE, "reset_password").await.assert_status(StatusCode::ACCEPTED);
    let code = app.last_code(PHONE).await;
    let pw = "重置后的 新密码 足够长";
    other
        .call(
            Method::POST,
            "/api/v1/password-resets",
            Some(json!({"phone": PHONE, "code": code, "password": pw, "password_confirm": pw})),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    c.get("/api/v1/me").await.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn profile_is_validated() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let reply = c.call(Method::PUT, "/api/v1/me", Some(json!({"name": "李雷1", "email": "not-an-email"}))).await;
    reply.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["name", "email"]);
    assert!(reply.body.contains("请输入正确的邮箱地址"));
}

#[tokio::test]
async fn bad_json_gets_a_stable_error_code() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let token = c.csrf().await;
    let reply = c
        .send(
            Method::POST,
            "/api/v1/session",
            support::Payload::Form(vec![("phone".into(), "1".into())]),
            &[("x-csrf-token", &token)],
        )
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "json_content_type_required")
    );
    let reply = c.call(Method::POST, "/api/v1/session", Some(json!({"phone": 13_800_138_000_u64}))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "json_invalid");
}

/// 个人信息导出 (PIPL Art. 45): one JSON file of everything held, the password asked again
/// because it holds full ID numbers.
#[tokio::test]
async fn the_applicant_exports_everything_held_about_them() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    c.call(Method::POST, "/api/v1/addresses", Some(support::address_body("科技园1栋101"))).await;
    let application = support::complete_application(&mut c, "personal", &support::resident_id(41)).await;
    c.order(application, "export-order-0001", support::pickup_order_body()).await.assert_status(StatusCode::CREATED);

    let wrong = c.submit("/account/export", &[("password", "not my password")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("登录密码不正确"));
    let file = c.submit("/account/export", &[("password", PASSWORD)]).await;
    file.assert_status(StatusCode::OK);
    assert!(file.header("content-disposition").unwrap().starts_with("attachment; filename=\"personal-data-"));
    let data: serde_json::Value = serde_json::from_slice(&file.bytes).unwrap();
    assert_eq!(data["account"]["phone"], PHONE);
    assert_eq!(data["addresses"][0]["detail"], "科技园1栋101");
    let held = &data["applications"][0];
    assert_eq!(held["holder_id_number"], support::resident_id(41), "their own number, in full");
    assert_eq!(held["documents"].as_array().unwrap().len(), 7);
    let order = &data["orders"][0];
    assert_eq!(
        (order["status"].as_str(), order["history"][0]["label"].as_str()),
        (Some("pending_payment"), Some("待支付"))
    );
    assert!(order["fees_fen"]["total"].as_i64().unwrap() > 0);
    assert_eq!(data["consents"]["sensitive_personal_information"]["given"], true);
}

/// 注销账户 (PIPL Art. 47), SMS-confirmed: refused while an order is under way; with orders
/// behind it the account is closed and its orders restricted until a date the page names; the
/// login, addresses and drafts with their photos are gone, and the number can register again.
#[tokio::test]
async fn closing_the_account_deletes_what_may_go_and_restricts_what_must_stay() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    c.call(Method::POST, "/api/v1/addresses", Some(support::address_body("科技园1栋101"))).await;
    let ordered = support::complete_application(&mut c, "personal", &support::resident_id(42)).await;
    let order = c.order(ordered, "close-order-0001", support::pickup_order_body()).await.json()["id"].as_i64().unwrap();
    let draft = c
        .call(Method::POST, "/api/v1/applications", Some(json!({"subject_kind": "personal", "business": "new"})))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    c.upload(&format!("/api/v1/applications/{draft}/documents/holder_id_front"), "p.png", &support::png(20, 20))
        .await
        .assert_status(StatusCode::CREATED);
    let blobs_before = std::fs::read_dir(app.uploads.path()).unwrap().count();

    app.advance(Duration::seconds(61)); // codes are a minute apart; the last was at registration
    let sent = c.submit("/account/close/code", &[]).await;
    assert_eq!(sent.header("location"), Some("/account?notice=close_code_sent#close"));
    let code = app.last_code(PHONE).await;
    let refused = c.submit("/account/close", &[("code", &code)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("未完成的订单"), "{}", refused.body);
    c.call(Method::POST, &format!("/api/v1/orders/{order}/cancel"), None).await.assert_status(StatusCode::OK);
    let wrong = c.submit("/account/close", &[("code", "000000")]).await;
    assert!(wrong.body.contains("验证码错误"), "{}", wrong.body);
    let closed = c.submit("/account/close", &[("code", &code)]).await;
    closed.assert_status(StatusCode::OK);
    assert!(
        closed.body.contains("账户已注销") && closed.body.contains("data-testid=\"restricted-until\""),
        "{}",
        closed.body
    );
    assert!(closed.set_cookies().iter().any(|c| c.contains("Max-Age=0")), "signed out");

    // The login is gone, the number free again; the order stays, restricted.
    assert_eq!(app.client().login(PHONE, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(std::fs::read_dir(app.uploads.path()).unwrap().count(), blobs_before - 1, "the draft's photo went");
    let count = |sql: &'static str| app.db.scalar(sql);
    assert_eq!(count("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM applications").await, 1, "only the ordered one");
    assert_eq!(count("SELECT COUNT(*) FROM addresses").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM users WHERE phone = '13800138000'").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM users WHERE restricted_until IS NOT NULL").await, 1);
    app.advance(Duration::seconds(61));
    let mut again = app.client();
    again.register(&app, PHONE).await;
}

/// Without any order nothing must be kept: the account and all of it are deleted.
#[tokio::test]
async fn an_account_without_orders_is_deleted_outright() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    c.call(Method::POST, "/api/v1/addresses", Some(support::address_body("科技园1栋101"))).await;
    app.advance(Duration::seconds(61)); // codes are a minute apart; the last was at registration
    let sent = c.submit("/account/close/code", &[]).await;
    assert_eq!(sent.header("location"), Some("/account?notice=close_code_sent#close"));
    let code = app.last_code(PHONE).await;
    let closed = c.submit("/account/close", &[("code", &code)]).await;
    assert!(closed.body.contains("已删除") && !closed.body.contains("restricted-until"), "{}", closed.body);
    assert_eq!(app.client().login(PHONE, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
}

/// A number can be closed, registered again and closed again; the export's password check
/// counts against the login throttle.
#[tokio::test]
async fn a_number_closed_twice_and_the_export_password_throttled() {
    let app = TestApp::new().await;
    for round in 0..2 {
        let mut c = app.user(PHONE).await;
        let application = support::complete_application(&mut c, "personal", &support::resident_id(60 + round)).await;
        let order = c.order(application, &format!("twice-order-000{round}"), support::pickup_order_body()).await.json()
            ["id"]
            .as_i64()
            .unwrap();
        c.call(Method::POST, &format!("/api/v1/orders/{order}/cancel"), None).await.assert_status(StatusCode::OK);
        if round == 1 {
            for _ in 0..10 {
                c.submit("/account/export", &[("password", "a wrong guess")]).await;
            }
            let throttled = c.submit("/account/export", &[("password", PASSWORD)]).await;
            assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "{}", throttled.body);
        }
        app.advance(Duration::seconds(61));
        c.submit("/account/close/code", &[]).await;
        let code = app.last_code(PHONE).await;
        let closed = c.submit("/account/close", &[("code", &code)]).await;
        assert!(closed.body.contains("data-testid=\"restricted-until\""), "round {round}: {}", closed.body);
        app.advance(Duration::seconds(61));
    }
}
