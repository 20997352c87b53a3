//! The HTML journey without JavaScript: every form works with plain posts, keeps what was typed,
//! and explains problems in Chinese beside the field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use support::{PASSWORD, TestApp};

const PHONE: &str = "13800138000";

#[tokio::test]
async fn home_page_explains_the_service_and_offers_register_and_login() {
    let app = TestApp::new().await;
    let home = app.client().get("/").await;
    home.assert_status(StatusCode::OK);
    for text in [
        "电子签章（含数字证书）在线申请",
        "首页",
        "在线补办/新办",
        "个人中心",
        "我的订单",
        "收货地址",
        "我的账户",
        "href=\"/register\"",
        "href=\"/login\"",
        "客服热线",
    ] {
        assert!(home.body.contains(text), "home page lacks {text}");
    }
    assert!(home.header("set-cookie").is_some_and(|c| c.starts_with("anon=")), "an anonymous cookie binds the forms");
}

#[tokio::test]
async fn register_with_forms_then_log_in_and_out() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let sent = c.submit("/register", &[("action", "send_code"), ("phone", PHONE)]).await;
    sent.assert_status(StatusCode::OK);
    assert!(sent.body.contains("验证码已发送至 138****8000"));
    assert!(sent.body.contains(&format!("value=\"{PHONE}\"")), "the number stays in the form");

    let code = app.last_code(PHONE).await;
    let mismatch = c
        .submit(
            "/register",
            &[
                ("action", "submit"),
                ("phone", PHONE),
                ("code", &code),
                ("password", PASSWORD),
                ("password_confirm", "不一样"),
            ],
        )
        .await;
    mismatch.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("两次输入的密码不一致"));
    assert!(!mismatch.body.contains(PASSWORD), "passwords are never echoed back");

    let done = c
        .submit(
            "/register",
            &[("phone", PHONE), ("code", &code), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(done.header("location"), Some("/login?notice=registered"));
    assert!(c.get("/login?notice=registered").await.body.contains("注册成功"));

    let wrong = c.submit("/login", &[("phone", PHONE), ("password", "不对的密码"), ("next", "/addresses")]).await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("手机号或密码错误"));

    let ok = c.submit("/login", &[("phone", PHONE), ("password", PASSWORD), ("next", "/addresses")]).await;
    assert_eq!((ok.status, ok.header("location")), (StatusCode::SEE_OTHER, Some("/addresses")));
    let open_redirect =
        c.submit("/login", &[("phone", PHONE), ("password", PASSWORD), ("next", "//evil.example")]).await;
    assert_eq!(open_redirect.header("location"), Some("/"));
    assert!(c.get("/").await.body.contains("138****8000"), "the header shows who is logged in");

    let out = c.submit("/logout", &[]).await;
    assert_eq!(out.header("location"), Some("/login?notice=logged_out"));
    assert_eq!(c.get("/account").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn forgot_password_with_forms() {
    let app = TestApp::new().await;
    app.client().register(&app, PHONE).await;
    app.advance(time::Duration::seconds(61));
    let mut c = app.client();
    c.submit("/forgot-password", &[("action", "send_code"), ("phone", PHONE)]).await.assert_status(StatusCode::OK);
    let code = app.last_code(PHONE).await;
    let new_password = "忘记之后 重新设置的 密码";
    let done = c
        .submit(
            "/forgot-password",
            &[("phone", PHONE), ("code", &code), ("password", new_password), ("password_confirm", new_password)],
        )
        .await;
    assert_eq!(done.header("location"), Some("/login?notice=password_reset"));
    c.submit("/login", &[("phone", PHONE), ("password", new_password)]).await.assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn too_frequent_codes_are_explained_on_the_form() {
    let app = TestApp::new().await;
    let mut c = app.client();
    c.submit("/register", &[("action", "send_code"), ("phone", PHONE)]).await.assert_status(StatusCode::OK);
    let again = c.submit("/register", &[("action", "send_code"), ("phone", PHONE)]).await;
    again.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(again.body.contains("验证码发送过于频繁"));
    let bad = c.submit("/register", &[("action", "send_code"), ("phone", "12345")]).await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请输入正确的11位手机号"));
}

#[tokio::test]
async fn account_page_edits_profile_and_changes_password() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let page = c.get("/account").await;
    assert!(page.body.contains("138****8000") && page.body.contains("修改密码"));

    let bad = c.submit("/account/profile", &[("name", "韩梅梅"), ("email", "坏邮箱")]).await;
    bad.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请输入正确的邮箱地址") && bad.body.contains("value=\"韩梅梅\""));
    c.submit("/account/profile", &[("name", "韩梅梅"), ("email", "han@example.com")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    let saved = c.get("/account?notice=profile_saved").await;
    assert!(saved.body.contains("个人信息已保存") && saved.body.contains("value=\"han@example.com\""));
    assert!(saved.body.contains("韩梅梅"), "the header greets by name");

    let wrong_old = c
        .submit(
            "/account/password",
            &[
                ("old_password", "不是原密码"),
                ("new_password", "新的 足够长 密码"),
                ("new_password_confirm", "新的 足够长 密码"),
            ],
        )
        .await;
    wrong_old.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_old.body.contains("原密码不正确"));

    let mut elsewhere = app.client_from("192.0.2.200");
    elsewhere.login(PHONE, PASSWORD).await.assert_status(StatusCode::OK);
    let changed = c
        .submit(
            "/account/password",
            &[
                ("old_password", PASSWORD),
                ("new_password", "新的 足够长 密码"),
                ("new_password_confirm", "新的 足够长 密码"),
            ],
        )
        .await;
    assert_eq!(changed.header("location"), Some("/account?notice=password_changed"));
    assert!(c.get("/account?notice=password_changed").await.body.contains("其他设备上的登录已全部退出"));
    assert_eq!(elsewhere.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn personal_center_pages_render_for_the_user() {
    let app = TestApp::new().await;
    let mut c = app.user(PHONE).await;
    let orders = c.get("/orders").await;
    for tab in ["待支付", "审核中", "待处理", "待收货", "已完成", "审核不通过", "已取消"] {
        assert!(orders.body.contains(tab), "orders page lacks tab {tab}");
    }
    let apply = c.get("/apply").await;
    assert!(apply.body.contains("企业") && apply.body.contains("个人") && apply.body.contains("补办"));
    assert_eq!(c.get("/no-such-page").await.status, StatusCode::NOT_FOUND);
}

/// The manual's left menu: 企业/个人 × 新办/补办, 个人中心 with one entry per order state,
/// 收货地址, 我的账户 with 个人信息 and 修改密码; each business entry arrives with its choice made.
#[tokio::test]
async fn the_left_menu_is_the_manuals() {
    let app = TestApp::new().await;
    let mut c = app.user("13800138000").await;
    let page = c.get("/orders").await.body;
    let menu = page.split("<aside class=\"sidenav\"").nth(1).unwrap().split("</aside>").next().unwrap();
    for (label, href) in [
        ("企业新办", "/apply?subject_kind=enterprise&amp;business=new"),
        ("企业补办", "/apply?subject_kind=enterprise&amp;business=replacement"),
        ("个人新办", "/apply?subject_kind=personal&amp;business=new"),
        ("个人补办", "/apply?subject_kind=personal&amp;business=replacement"),
        ("待支付订单", "/orders?status=pending_payment"),
        ("审核中订单", "/orders?status=under_review"),
        ("待处理订单", "/orders?status=processing"),
        ("待收货订单", "/orders?status=delivering"),
        ("收货地址", "/addresses"),
        ("个人信息", "/account#profile"),
        ("修改密码", "/account#password"),
    ] {
        assert!(menu.contains(&format!("href=\"{href}\">{label}</a>")), "{label}: {menu}");
    }
    let apply = c.get("/apply?subject_kind=enterprise&business=replacement").await.body;
    assert!(apply.contains("value=\"enterprise\" checked") && apply.contains("value=\"replacement\" checked"));
    assert!(apply.contains("<aside class=\"sidenav\""), "the entry page has the menu too");
    let odd = c.get("/apply?subject_kind=robot&business=x").await.body;
    assert!(!odd.contains(" checked>"), "nothing chosen for values that do not exist");
}
