//! The main journeys in headless Chromium against the real binary on a real port: register with
//! the code read from the dev outbox, log in, addresses, password change; apply and pay through
//! the Alipay simulator; and a company replacement paid through CPCN, rejected by a reviewer who
//! enrolled TOTP on first login, fixed, resubmitted, approved, produced and handed over against
//! the pickup code — with the messages in the dev outbox and every step in the audit log.
//!
//! Needs Debian's `chromium` and `chromium-driver` (the README's test command installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../ocr/examples/accuracy/synth.rs"]
mod synth;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use thirtyfour::WindowHandle;
use thirtyfour::prelude::*;

const PHONE: &str = "13800138000";
const PASSWORD: &str = "浏览器 测试 用的 密码 2026";
const NEW_PASSWORD: &str = "改过之后的 新密码 也够长";

/// Kills the child when the test ends, pass or fail.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `sealdesk serve` on a free port in a fresh data dir; returns its base URL.
fn start_server(data_dir: &std::path::Path) -> (Guard, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("SEALDESK_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sealdesk");
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("running at"))
        .expect("sealdesk prints its address");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();
    (Guard(child), url)
}

fn start_chromedriver() -> (Guard, String) {
    let port = free_port();
    let guard = Guard(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver not found: install Debian packages chromium and chromium-driver (scripts/test does)"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (guard, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start");
}

async fn browser(driver_url: &str, profile: &std::path::Path) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-quic",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display())).unwrap();
    WebDriver::new(driver_url, caps).await.expect("start a chromium session")
}

async fn fill(driver: &WebDriver, css: &str, text: &str) {
    let input = driver.find(By::Css(css)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// Waits (up to 15 s) until an element matching `css` contains `expected`, riding out page loads
/// that replace the element under our feet. Returns its text.
async fn wait_for(driver: &WebDriver, css: &str, expected: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        seen.clear();
        if let Ok(elements) = driver.find_all(By::Css(css)).await {
            for element in elements {
                if let Ok(text) = element.text().await {
                    if text.contains(expected) {
                        return text;
                    }
                    seen.push(text);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {css} containing {expected:?}; saw {seen:?}");
}

/// Picks an option once the cascade has loaded it.
/// Clicks 去支付 on the pay page: the payment opens in a new page, and this one shows the dialog
/// asking how it went. Returns the new page, switched to; [`back_to`] closes it.
async fn pay_in_new_page(driver: &WebDriver) -> WebDriverResult<(WindowHandle, WindowHandle)> {
    let ours = driver.window().await?;
    let before = driver.windows().await?;
    driver.find(By::Css("[data-testid=pay-form] button[type=submit]")).await?.click().await?;
    let started = std::time::Instant::now();
    let popup = loop {
        if let Some(new) = driver.windows().await?.into_iter().find(|w| !before.contains(w)) {
            break new;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "去支付 opened no new page");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(driver.find(By::Css("[data-testid=after-pay]")).await?.is_displayed().await?, "the dialog is open");
    driver.switch_to_window(popup.clone()).await?;
    Ok((ours, popup))
}

/// Closes the payment page and returns to ours.
async fn back_to(driver: &WebDriver, (ours, popup): (WindowHandle, WindowHandle)) -> WebDriverResult<()> {
    driver.switch_to_window(popup).await?;
    driver.close_window().await?;
    driver.switch_to_window(ours).await
}

async fn choose(driver: &WebDriver, select: &str, value: &str) {
    let option = driver.query(By::Css(format!("{select} option[value='{value}']"))).first().await.unwrap();
    option.click().await.unwrap();
}

/// Runs `journey` in a fresh Chromium against a fresh server (with that server's data directory),
/// quits the browser whatever happens, and hands back the data directory for checks after.
async fn in_browser(
    journey: impl AsyncFnOnce(&WebDriver, &str, &std::path::Path) -> WebDriverResult<()>,
) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let (server, base) = start_server(data.path());
    let (chromedriver, driver_url) = start_chromedriver();
    let driver = browser(&driver_url, profile.path()).await;
    let result = journey(&driver, &base, data.path()).await;
    let _ = driver.quit().await;
    drop((server, chromedriver));
    result.unwrap();
    data
}

#[tokio::test]
async fn register_login_add_address_change_password() {
    in_browser(async |driver: &WebDriver, base: &str, _: &std::path::Path| journey(driver, base).await).await;
}

/// Registers `phone` with `password` through the pages and logs in.
async fn register_and_login(driver: &WebDriver, base: &str, phone: &str, password: &str) -> WebDriverResult<()> {
    driver.goto(format!("{base}/register")).await?;
    fill(driver, "#f-phone", phone).await;
    driver.find(By::Css("[data-send-code]")).await?.click().await?;
    wait_for(driver, "[data-code-status]", "验证码已发送").await;
    driver.goto(format!("{base}/dev/outbox")).await?;
    let body = wait_for(driver, "[data-testid=outbox-message] .message-body", "验证码").await;
    let code: String = body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("code").to_owned();
    driver.goto(format!("{base}/register")).await?;
    fill(driver, "#f-phone", phone).await;
    fill(driver, "#f-code", &code).await;
    fill(driver, "#f-password", password).await;
    fill(driver, "#f-password_confirm", password).await;
    driver.find(By::Css("form[data-code-form] button[value=submit]:not(.offscreen)")).await?.click().await?;
    wait_for(driver, ".notice", "注册成功").await;
    fill(driver, "#f-phone", phone).await;
    fill(driver, "#f-password", password).await;
    driver.find(By::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
    wait_for(driver, "[data-testid=current-user]", &phone[7..]).await;
    Ok(())
}

#[tokio::test]
async fn a_person_pays_with_alipay_after_a_failed_attempt_and_receives_the_key_by_courier() {
    let data = in_browser(apply_journey).await;
    assert_no_plaintext(data.path());
}

/// After the journey, neither the database files nor the upload store hold the ID number in
/// plaintext, and no upload is a readable image (SECURITY E2).
fn assert_no_plaintext(dir: &std::path::Path) {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        let id = b"11010519491231002X";
        assert!(!bytes.windows(id.len()).any(|w| w == id), "plaintext ID number in {}", path.display());
        if path.parent().is_some_and(|p| p.ends_with("uploads")) {
            assert!(
                !bytes.starts_with(&[0xFF, 0xD8]) && !bytes.starts_with(b"\x89PNG"),
                "readable image in {}",
                path.display()
            );
        }
    }
    assert!(files >= 8, "the database and the uploads were scanned ({files} files)");
}

/// Registers `phone` and fills a personal new application through 其他材料, up to 确认订单.
async fn personal_application(driver: &WebDriver, base: &str, phone: &str) -> WebDriverResult<()> {
    register_and_login(driver, base, phone, PASSWORD).await?;
    driver.find(By::LinkText("在线补办/新办")).await?.click().await?;
    driver.find(By::Css("input[name=subject_kind][value=personal]")).await?.click().await?;
    driver.find(By::Css("input[name=business][value=new]")).await?.click().await?;
    driver.find(By::Css("form[action='/apply'] button[type=submit]")).await?.click().await?;

    wait_for(driver, "h1", "个人新办").await;
    driver.find(By::Css("input[name=package_id]")).await?.click().await?;
    driver.find(By::Css("form[data-step=package] button[type=submit]")).await?.click().await?;

    wait_for(driver, "h2", "本人身份信息").await;
    choose(driver, "#f-user_type", "individual").await;
    fill(driver, "#f-holder_name", "李雷").await;
    fill(driver, "#f-holder_id_number", "11010519491231002X").await;
    driver.find(By::Css("form[data-step=subject] button[type=submit]")).await?.click().await?;

    wait_for(driver, "h2", "经办人信息").await;
    fill(driver, "#f-name", "李雷").await;
    fill(driver, "#f-id_number", "11010519491231002X").await;
    fill(driver, "#f-phone", "13900139000").await;
    fill(driver, "#f-email", "lilei@example.com").await;
    driver.find(By::Css("form[data-step=agent] button[type=submit]")).await?.click().await?;

    upload_everything(driver, base).await?;
    driver.find(By::Css("form[data-step=materials] button[type=submit]")).await?.click().await?;

    wait_for(driver, "h2", "核对申请信息").await;
    Ok(())
}

async fn apply_journey(driver: &WebDriver, base: &str, data: &std::path::Path) -> WebDriverResult<()> {
    personal_application(driver, base, "13900139000").await?;
    let facts = wait_for(driver, ".facts", "110***********002X").await;
    assert!(!facts.contains("11010519491231002X"), "the ID number is masked");
    // 确认订单 as in the manual: one 应付总额, following the delivery chosen; out of the box the
    // pickup point is a complete demo (address, phone, hours).
    driver.find(By::Css("input[name=delivery][value=pickup]")).await?.click().await?;
    assert_eq!(wait_for(driver, "[data-testid=total]", "¥200.00").await.trim(), "¥200.00");
    wait_for(driver, "[data-show-for='delivery=pickup']", "样板路 100 号").await;
    // 快递 to a new address, added right here through the cascading selects.
    driver.find(By::Css("input[name=delivery][value=courier]")).await?.click().await?;
    assert_eq!(wait_for(driver, "[data-testid=total]", "¥215.00").await.trim(), "¥215.00");
    fill(driver, "#f-new_recipient", "李雷").await;
    fill(driver, "#f-new_phone", "13900139000").await;
    choose(driver, "#f-new_province_code", "440000").await;
    choose(driver, "#f-new_city_code", "440300").await;
    choose(driver, "#f-new_district_code", "440305").await;
    fill(driver, "#f-new_detail", "科技园1栋101").await;
    driver.find(By::Css("form[data-step=confirm] button[type=submit]")).await?.click().await?;

    wait_for(driver, ".notice", "订单已提交").await;
    wait_for(driver, "[data-testid=order-status]", "待支付").await;
    wait_for(driver, "[data-testid=order-total]", "¥215.00").await;

    // 去支付 → 支付宝 in a new page: the first attempt fails at the cashier, and back here
    // 【支付失败】 leads to the unpaid orders; the second pays, and 【支付成功】 leads to the order.
    driver.find(By::Css("[data-testid=pay]")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-amount]", "¥215.00").await;
    driver.find(By::Css("input[name=method][value=alipay_page]")).await?.click().await?;
    let cashier = pay_in_new_page(driver).await?;
    wait_for(driver, "header", "支付宝收银台").await;
    wait_for(driver, ".amount", "215.00").await;
    driver.find(By::Css("form[action$='/fail'] button")).await?.click().await?;
    wait_for(driver, "main", "付款失败（模拟）").await;
    back_to(driver, cashier).await?;
    driver.find(By::Css("[data-testid=after-pay] [data-testid=paid-failed]")).await?.click().await?;
    wait_for(driver, "main", "待支付").await;
    assert!(driver.current_url().await?.as_str().ends_with("/orders?status=pending_payment"));
    driver.find(By::Css("main a[href^='/orders/']")).await?.click().await?;
    driver.find(By::Css("[data-testid=pay]")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-form]", "选择支付方式").await;
    let cashier = pay_in_new_page(driver).await?;
    wait_for(driver, "header", "支付宝收银台").await;
    driver.find(By::Css("form[action$='/pay'] button")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-result]", "支付成功").await;
    back_to(driver, cashier).await?;
    driver.find(By::Css("[data-testid=after-pay] [data-testid=paid-done]")).await?.click().await?;
    wait_for(driver, "[data-testid=order-status]", "审核中").await;
    wait_for(driver, ".timeline", "支付宝支付成功").await;

    let order: i64 = driver.current_url().await?.path().trim_start_matches("/orders/").parse().unwrap();

    // Staff approve it, record the key and ship it; the applicant confirms receipt.
    let password = add_staff(data, "li.shen", "reviewer,fulfilment");
    staff_login(driver, base, "li.shen", &password).await?;
    driver.goto(format!("{base}/admin/orders/{order}")).await?;
    driver.find(By::Css("form[action$='/approve'] button")).await?.click().await?;
    driver.accept_alert().await?;
    wait_for(driver, ".notice", "已审核通过").await;
    // The key is made on the production station: a station token from the back office, and
    // SoftHSM2 as the blank USB-Key; the certificate comes from the desk's CA.
    driver.goto(format!("{base}/admin/station")).await?;
    fill(driver, "#name", "一号制证台").await;
    driver.find(By::Css("form[action='/admin/station/tokens'] button")).await?.click().await?;
    let token = wait_for(driver, "[data-testid=station-token]", "sdst_").await;
    let hsm = SoftHsm::new();
    let serial = hsm.make_key(base, &token, order);
    driver.goto(format!("{base}/admin/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-certificates]", &serial).await;
    choose(driver, "#courier", "顺丰速运").await;
    fill(driver, "#tracking_no", "SF1234567890").await;
    driver.find(By::Css("[data-testid=ship-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已发货").await;

    driver.goto(format!("{base}/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-status]", "待收货").await;
    wait_for(driver, "[data-testid=shipment]", "SF1234567890").await;
    driver.find(By::Css("form[action$='/confirm-receipt'] button")).await?.click().await?;
    driver.accept_alert().await?;
    wait_for(driver, "[data-testid=order-status]", "已完成").await;
    driver.goto(format!("{base}/orders?status=completed")).await?;
    wait_for(driver, "[data-testid=order]", "个人新办").await;

    // 我的证书 shows it; the user PIN arrived by SMS only now, and opens the key.
    driver.goto(format!("{base}/certificates")).await?;
    let shown = wait_for(driver, "[data-testid=certificate]", &serial).await;
    assert!(shown.contains("有效") && shown.contains("CN=李雷"), "{shown}");
    driver.goto(format!("{base}/dev/outbox")).await?;
    let outbox = wait_for(driver, "main", "用户 PIN 为").await;
    let pin: String = outbox.split("用户 PIN 为 ").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    hsm.check_key(&pin, &serial, base).await;

    // The person's seal: written to the token beside the certificate, the same file 我的证书
    // downloads; the desk's command and the public page both find it valid — until the
    // certificate is revoked.
    let on_token = hsm.read_seal();
    let downloaded = download_seal(driver, base, &serial).await?;
    assert_eq!(std::fs::read(&downloaded).unwrap(), std::fs::read(&on_token).unwrap(), "one seal");
    let (code, printed) = seal_verify(&on_token, base);
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("结论：电子印章有效") && printed.contains("李雷"), "{printed}");
    let verdict = verify_in_browser(driver, base, &on_token, "电子印章").await?;
    assert!(verdict.contains("电子印章有效"), "{verdict}");
    wait_for(driver, "[data-testid=seal-name]", "李雷").await;
    driver.goto(format!("{base}/admin/certificates?q={serial}")).await?;
    choose(driver, "[data-testid=certificate-row] select[name=reason]", "keyCompromise").await;
    fill(driver, "[data-testid=certificate-row] input[name=note]", "客户报失 USB-Key").await;
    driver.find(By::Css("[data-testid=certificate-row] form button")).await?.click().await?;
    wait_for(driver, ".notice", "吊销").await;
    let verdict = verify_in_browser(driver, base, &on_token, "电子印章").await?;
    assert!(verdict.contains("电子印章无效"), "{verdict}");
    wait_for(driver, "[data-testid=seal-checks]", "吊销，印章不可再用").await;
    let (code, printed) = seal_verify(&on_token, base);
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("[失败] 证书吊销状态"), "{printed}");
    Ok(())
}

/// `sealdesk seal verify FILE --server BASE`: its exit status and output.
fn seal_verify(file: &std::path::Path, base: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .arg("seal")
        .arg("verify")
        .arg(file)
        .args(["--server", base])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The certificate's page shows the seal's picture (decoded by the browser); the `.esl` is
/// downloaded with the browser's session, as its download link would; returns where it is.
async fn download_seal(driver: &WebDriver, base: &str, serial: &str) -> WebDriverResult<std::path::PathBuf> {
    driver.goto(format!("{base}/certificates/{serial}")).await?;
    wait_for(driver, "main", "电子印章").await;
    let mut width = 0;
    for _ in 0..50 {
        let script = "return document.querySelector('[data-testid=seal-preview]').naturalWidth";
        width = driver.execute(script, Vec::new()).await?.json().as_u64().unwrap_or(0);
        if width > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(width > 200, "the seal's picture shows ({width} px)");
    let cookies = driver.get_all_cookies().await?;
    let cookie = cookies.iter().map(|c| format!("{}={}", c.name, c.value)).collect::<Vec<_>>().join("; ");
    let response = reqwest::Client::new()
        .get(format!("{base}/certificates/{serial}.esl"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let path = std::env::temp_dir().join(format!("sealdesk-browser-{}-{serial}.esl", std::process::id()));
    std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
    Ok(path)
}

/// Uploads the seal file on the public 验证电子印章 page; the verdict shown.
async fn verify_in_browser(
    driver: &WebDriver,
    base: &str,
    file: &std::path::Path,
    expected: &str,
) -> WebDriverResult<String> {
    driver.goto(format!("{base}/seals/verify")).await?;
    driver.find(By::Css("[data-testid=seal-file]")).await?.send_keys(file.to_string_lossy()).await?;
    driver.find(By::Css("[data-testid=seal-verify]")).await?.click().await?;
    Ok(wait_for(driver, "[data-testid=seal-verdict]", expected).await)
}

/// SoftHSM2 in a directory of its own, standing in for the blank USB-Key on the station.
struct SoftHsm {
    dir: tempfile::TempDir,
}

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

impl SoftHsm {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        let conf = format!(
            "directories.tokendir = {}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().display()
        );
        std::fs::write(dir.path().join("softhsm2.conf"), conf).unwrap();
        Self { dir }
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SOFTHSM2_CONF", self.dir.path().join("softhsm2.conf"));
        command
    }

    /// Runs `sealdesk station` for the order; returns the certificate's serial.
    fn make_key(&self, base: &str, token: &str, order: i64) -> String {
        let out = self
            .command(env!("CARGO_BIN_EXE_sealdesk"))
            .args(["station", "--server", base, "--order", &order.to_string(), "--module", SOFTHSM])
            .env("SEALDESK_STATION_TOKEN", token)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout.split("证书序列号 ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
    }

    /// Checks the token with OpenSC's pkcs11-tool, not our code: the private key never leaves it,
    /// the certificate on it is the issued one, and OpenSSL verifies that against the desk's
    /// published chain and CRL.
    async fn check_key(&self, pin: &str, serial: &str, base: &str) {
        let listed = self.command("pkcs11-tool").args(["--module", SOFTHSM, "-L"]).output().unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let label = listed
            .lines()
            .find_map(|l| {
                l.trim().strip_prefix("token label").map(|r| r.trim_start_matches([' ', ':']).trim().to_owned())
            })
            .filter(|l| l.starts_with("sealdesk"))
            .unwrap_or_else(|| panic!("no sealdesk token: {listed}"));
        let objects = self
            .command("pkcs11-tool")
            .args(["--module", SOFTHSM, "--token-label", &label, "--login", "--pin", pin, "--list-objects"])
            .output()
            .unwrap();
        let objects = String::from_utf8_lossy(&objects.stdout).into_owned();
        assert!(objects.contains("Private Key Object; EC") && objects.contains("never extractable"), "{objects}");
        assert!(!objects.contains(", extractable"), "{objects}");
        let cert = self.dir.path().join("cert.der");
        let read = self
            .command("pkcs11-tool")
            .args([
                "--module",
                SOFTHSM,
                "--token-label",
                &label,
                "--read-object",
                "--type",
                "cert",
                "--id",
                "5344",
                "-o",
            ])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
        let get = |path: &'static str| async move {
            reqwest::get(format!("{base}{path}")).await.unwrap().bytes().await.unwrap()
        };
        std::fs::write(self.dir.path().join("ca.pem"), get("/pki/ca.pem").await).unwrap();
        std::fs::write(self.dir.path().join("crl.der"), get("/ca/ecdsa-p256.crl").await).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(self.dir.path()).output().unwrap();
            (
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            )
        };
        assert!(openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]).0);
        assert!(openssl(&["x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem"]).0);
        let (_, printed) = openssl(&["x509", "-in", "cert.pem", "-noout", "-serial"]);
        assert!(printed.contains(serial), "{printed}");
        let (ok, out) = openssl(&["verify", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "-crl_check", "cert.pem"]);
        assert!(ok, "{out}");
    }

    /// The electronic seal on the token, read with OpenSC's pkcs11-tool (a public data object).
    fn read_seal(&self) -> std::path::PathBuf {
        let path = self.dir.path().join("seal.esl");
        let read = self
            .command("pkcs11-tool")
            .args([
                "--module",
                SOFTHSM,
                "--read-object",
                "--type",
                "data",
                "--application-label",
                "GB/T 38540 electronic seal",
                "-o",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            read.status.success(),
            "{}{}",
            String::from_utf8_lossy(&read.stdout),
            String::from_utf8_lossy(&read.stderr)
        );
        path
    }
}

/// Uploads a photo into every box of the holder, agent and materials steps, ticking the separate
/// consent (which must start unchecked) when it is asked for.
async fn upload_everything(driver: &WebDriver, base: &str) -> WebDriverResult<()> {
    wait_for(driver, "h2", "上传签字盖章的材料").await;
    let photo = std::env::temp_dir().join(format!("sealdesk-browser-{}.png", std::process::id()));
    image::RgbImage::from_pixel(64, 40, image::Rgb([200, 60, 60])).save(&photo).unwrap();
    let photo = photo.to_string_lossy().into_owned();
    for step in ["subject", "agent", "materials"] {
        let url = driver.current_url().await?;
        let id = url.path().split('/').nth(2).unwrap().to_owned();
        driver.goto(format!("{base}/applications/{id}/{step}")).await?;
        if let Ok(consent) = driver.find(By::Css("[data-testid=consent] input[name=agree]")).await {
            assert!(!consent.is_selected().await?, "the consent box starts unchecked");
            consent.click().await?;
            driver.find(By::Css("[data-testid=consent] button")).await?.click().await?;
            wait_for(driver, "h2", "上传证件照片").await;
        }
        let mut kinds = Vec::new();
        for form in driver.find_all(By::Css("form.upload")).await? {
            kinds.push(form.attr("data-testid").await?.unwrap_or_default());
        }
        for kind in kinds {
            let form = driver.find(By::Css(format!("[data-testid={kind}]"))).await?;
            form.find(By::Css("input[type=file]")).await?.send_keys(&photo).await?;
            form.find(By::Css("button")).await?.click().await?;
            wait_for(driver, &format!("[data-testid={kind}] .upload-status"), "已上传").await;
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_company_replacement_is_paid_rejected_fixed_approved_and_handed_over() {
    let data = in_browser(async |driver: &WebDriver, base: &str, data: &std::path::Path| {
        rejection_journey(driver, base, data).await?;
        every_page_fits_a_phone(driver, base, data).await
    })
    .await;
    assert_no_plaintext(data.path());
}

const WIDTH_CHECK: &str = "const over = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 4); return [document.documentElement.scrollWidth, window.innerWidth, over.join(', ')];";

/// At 390 px (a phone), 360 px, a tablet's 768 px and a laptop's 1366 px, no page — the
/// applicant's and the back office's, with the journey's data in them — is wider than the screen.
async fn every_page_fits_a_phone(driver: &WebDriver, base: &str, data: &std::path::Path) -> WebDriverResult<()> {
    driver.goto(format!("{base}/orders")).await?;
    let order = driver
        .find(By::Css("main a[href^='/orders/']"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default()
        .trim_start_matches("/orders/")
        .to_owned();
    driver.goto(format!("{base}/api/v1/orders/{order}")).await?;
    let detail: serde_json::Value = serde_json::from_str(&driver.find(By::Css("body")).await?.text().await?).unwrap();
    let application = detail["application_id"].as_i64().unwrap();
    let mut pages: Vec<String> = [
        "/",
        "/apply",
        "/apply?subject_kind=enterprise&business=replacement",
        "/orders",
        "/orders?status=completed",
        "/addresses",
        "/addresses/new",
        "/account",
        "/dev/outbox",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    pages.push(format!("/orders/{order}"));
    for step in ["package", "subject", "agent", "materials"] {
        pages.push(format!("/applications/{application}/{step}"));
    }
    let password = add_staff(data, "quan.neng", "reviewer,fulfilment,finance,admin");
    staff_login(driver, base, "quan.neng", &password).await?;
    for page in [
        "/admin",
        "/admin/review",
        "/admin/fulfilment",
        "/admin/finance",
        "/admin/catalog",
        "/admin/templates",
        "/admin/staff",
        "/admin/audit",
        "/admin/finance/orders",
        "/admin/finance/orders?go=1",
    ] {
        pages.push(page.to_owned());
    }
    let day = app::clock::Clock::now(&app::clock::SystemClock).to_offset(time::macros::offset!(+8)).date();
    pages.push(format!("/admin/finance/takings?from={day}&to={day}"));
    pages.push(format!("/admin/orders/{order}"));
    pages.push(format!("/admin/finance/orders/{order}"));
    // On a phone the left menu folds into 菜单; opened, 企业补办 arrives with its choice made.
    driver.set_window_rect(0, 0, 390, 844).await?;
    driver.goto(format!("{base}/orders")).await?;
    let company_replacement = "a[href='/apply?subject_kind=enterprise&business=replacement']";
    assert!(!driver.find(By::Css(company_replacement)).await?.is_displayed().await?, "folded");
    driver.find(By::Css(".sidenav-fold > summary")).await?.click().await?;
    driver.find(By::Css(company_replacement)).await?.click().await?;
    assert!(driver.find(By::Css("input[name=business][value=replacement]")).await?.is_selected().await?);
    let mut too_wide = Vec::new();
    for width in [390, 360, 768, 1366] {
        driver.set_window_rect(0, 0, width, 844).await?;
        for page in &pages {
            driver.goto(format!("{base}{page}")).await?;
            if let Some(problem) = too_wide_now(driver).await? {
                too_wide.push(format!("{page} at {width}: {problem}"));
            }
        }
    }
    // The login pages, signed out.
    driver.delete_all_cookies().await?;
    for page in ["/login", "/register", "/forgot-password", "/admin/login"] {
        driver.goto(format!("{base}{page}")).await?;
        if let Some(problem) = too_wide_now(driver).await? {
            too_wide.push(format!("{page}: {problem}"));
        }
    }
    assert!(too_wide.is_empty(), "wider than the screen: {too_wide:#?}");
    driver.set_window_rect(0, 0, 1280, 900).await?;
    Ok(())
}

/// `Some(what sticks out)` when the page scrolls sideways.
async fn too_wide_now(driver: &WebDriver) -> WebDriverResult<Option<String>> {
    let answer = driver.execute(WIDTH_CHECK, Vec::new()).await?;
    let answer = answer.json();
    let (scroll, inner) = (answer[0].as_f64().unwrap_or(f64::MAX), answer[1].as_f64().unwrap_or(0.0));
    Ok((scroll > inner).then(|| format!("{scroll} > {inner}: {}", answer[2].as_str().unwrap_or_default())))
}

/// Creates a staff account with the CLI against the running server's data directory; returns
/// its initial password.
fn add_staff(data: &std::path::Path, username: &str, roles: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sealdesk"))
        .args(["staff", "add", "--username", username, "--name", "沈审核", "--roles", roles, "--data-dir"])
        .arg(data)
        .env_remove("SEALDESK_DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout.lines().find_map(|l| l.strip_prefix("initial password: ")).unwrap().trim().to_owned()
}

/// Logs a staff member in through /admin, enrolling the authenticator from the QR page's secret.
async fn staff_login(driver: &WebDriver, base: &str, username: &str, password: &str) -> WebDriverResult<()> {
    driver.goto(format!("{base}/admin/login")).await?;
    fill(driver, "#username", username).await;
    fill(driver, "#password", password).await;
    driver.find(By::Css("[data-testid=admin-login] button[type=submit]")).await?.click().await?;
    let secret = wait_for(driver, "[data-testid=totp-secret]", "").await;
    assert!(driver.find(By::Css(".qr-code svg")).await.is_ok(), "the enrollment page shows a QR code");
    let now = app::clock::Clock::now(&app::clock::SystemClock);
    let code = app::App::totp_code(&secret, now).unwrap();
    fill(driver, "#code", &code).await;
    driver.find(By::Css("[data-testid=admin-totp] button[type=submit]")).await?.click().await?;
    // The printed password is replaced before anything else opens.
    wait_for(driver, "h1", "设置您自己的密码").await;
    fill(driver, "#current", password).await;
    fill(driver, "#password", "后台 自己的 新密码 2026").await;
    fill(driver, "#password_confirm", "后台 自己的 新密码 2026").await;
    driver.find(By::Css("[data-testid=admin-password] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h1", "工作台").await;
    Ok(())
}

/// Uploads `path` in the step page's box for document `kind` and waits for 材料已上传.
async fn upload_on_step(driver: &WebDriver, kind: &str, path: &str) -> WebDriverResult<()> {
    let form = driver.find(By::Css(format!("[data-testid=upload-{kind}]"))).await?;
    form.find(By::Css("input[type=file]")).await?.send_keys(path).await?;
    form.find(By::Css("button")).await?.click().await?;
    wait_for(driver, ".notice", "材料已上传").await;
    Ok(())
}

/// 修改订单 on the rejected order's page: a clear license photo, then 下一步 on 其他材料.
async fn fix_and_resubmit(driver: &WebDriver, base: &str) -> WebDriverResult<()> {
    driver.find(By::LinkText("修改订单")).await?.click().await?;
    wait_for(driver, "h2", "企业信息").await;
    let photo = std::env::temp_dir().join(format!("sealdesk-browser-clear-{}.png", std::process::id()));
    image::RgbImage::from_pixel(80, 50, image::Rgb([20, 120, 200])).save(&photo).unwrap();
    upload_on_step(driver, "license", photo.to_string_lossy().as_ref()).await?;

    // The manual: once the corrected materials are in, 下一步 (on 其他材料) resubmits.
    wait_for(driver, "[data-testid=editing-order]", "正在修改已退回的订单").await;
    let application = driver.current_url().await?.path().split('/').nth(2).unwrap().to_owned();
    driver.goto(format!("{base}/applications/{application}/materials")).await?;
    driver.find(By::Css("form[data-step=materials] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已重新提交").await;
    wait_for(driver, "[data-testid=order-status]", "审核中").await;
    Ok(())
}

async fn rejection_journey(driver: &WebDriver, base: &str, data: &std::path::Path) -> WebDriverResult<()> {
    register_and_login(driver, base, "13700137000", PASSWORD).await?;
    driver.goto(format!("{base}/apply")).await?;
    driver.find(By::Css("input[name=subject_kind][value=enterprise]")).await?.click().await?;
    driver.find(By::Css("input[name=business][value=replacement]")).await?.click().await?;
    driver.find(By::Css("input[name=replacement_reason][value=lost]")).await?.click().await?;
    driver.find(By::Css("form[action='/apply'] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h1", "企业补办（遗失）").await;
    driver.find(By::Css("input[name=package_id]")).await?.click().await?;
    driver.find(By::Css("form[data-step=package] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "企业信息").await;
    fill(driver, "#f-company_name", "示例科技有限公司").await;
    fill(driver, "#f-credit_code", "91350100M000100Y43").await;
    choose(driver, "#f-user_type", "enterprise").await;
    fill(driver, "#f-holder_name", "王五").await;
    fill(driver, "#f-holder_id_number", "11010519491231002X").await;
    driver.find(By::Css("form[data-step=subject] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "经办人信息").await;
    fill(driver, "#f-name", "赵六").await;
    fill(driver, "#f-id_number", "11010519491231002X").await;
    fill(driver, "#f-phone", "13700137000").await;
    fill(driver, "#f-email", "zhao@example.com").await;
    driver.find(By::Css("form[data-step=agent] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "上传").await;
    upload_everything(driver, base).await?;
    driver.find(By::Css("form[data-step=materials] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "核对申请信息").await;
    driver.find(By::Css("input[name=delivery][value=pickup]")).await?.click().await?;
    driver.find(By::Css("form[data-step=confirm] button[type=submit]")).await?.click().await?;
    wait_for(driver, "[data-testid=order-status]", "待支付").await;

    let url = driver.current_url().await?;
    let order: i64 = url.path().trim_start_matches("/orders/").parse().unwrap();

    // 去支付 → 中金支付 with a chosen bank.
    driver.find(By::Css("[data-testid=pay]")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-form]", "选择支付方式").await;
    driver.find(By::Css("input[name=method][value=cpcn_bank]")).await?.click().await?;
    choose(driver, "#bank_id", "105").await;
    let bank = pay_in_new_page(driver).await?;
    wait_for(driver, "main", "中国建设银行").await;
    driver.find(By::Css("form[action$='/pay'] button")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-result]", "支付成功").await;
    back_to(driver, bank).await?;
    driver.find(By::Css("[data-testid=after-pay] [data-testid=paid-done]")).await?.click().await?;
    wait_for(driver, "[data-testid=order-status]", "审核中").await;
    assert!(driver.current_url().await?.as_str().contains(&format!("/orders/{order}")));

    // The reviewer, enrolled on first login, sends it back with a reason.
    let password = add_staff(data, "shen.he", "reviewer,fulfilment");
    staff_login(driver, base, "shen.he", &password).await?;
    driver.find(By::LinkText("审核队列")).await?.click().await?;
    wait_for(driver, "[data-testid=queue-item]", "企业补办").await;
    driver.goto(format!("{base}/admin/orders/{order}")).await?;
    wait_for(driver, "[data-testid=case-status]", "审核中").await;
    driver.find(By::Css("input[name=reasons][value='营业执照照片不清晰']")).await?.click().await?;
    fill(driver, "#note", "请重新拍摄上传").await;
    driver.find(By::Css("[data-testid=reject-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已退回申请人修改").await;

    driver.goto(format!("{base}/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-status]", "审核不通过").await;
    wait_for(driver, "[data-testid=rejected]", "营业执照照片不清晰；请重新拍摄上传").await;

    fix_and_resubmit(driver, base).await?;

    // Approved, produced, readied for pickup, handed over against the code.
    driver.goto(format!("{base}/admin/orders/{order}")).await?;
    driver.find(By::Css("form[action$='/approve'] button")).await?.click().await?;
    driver.accept_alert().await?;
    wait_for(driver, ".notice", "已审核通过").await;
    // Produced on the desk's own software token (development), an SM2 key.
    choose(driver, "#algorithm", "sm2").await;
    driver.find(By::Css("[data-testid=soft-key-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "证书已签发").await;
    let serial = wait_for(driver, "[data-testid=order-certificate]", "有效").await;
    driver.find(By::Css("[data-testid=ready-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已通知申请人到自提点领取").await;

    driver.goto(format!("{base}/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-status]", "待自提").await;
    let code = driver.find(By::Css(".pickup-code")).await?.text().await?;
    driver.goto(format!("{base}/admin/orders/{order}")).await?;
    fill(driver, "#code", &code).await;
    driver.find(By::Css("[data-testid=handover-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已交付").await;
    driver.goto(format!("{base}/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-status]", "已完成").await;
    driver.goto(format!("{base}/certificates")).await?;
    let shown = wait_for(driver, "[data-testid=certificate]", "SM2").await;
    let serial = serial.split_whitespace().next().unwrap();
    assert!(shown.contains(serial) && shown.contains("有效") && shown.contains("NTRCN-"), "{shown}");
    // The company's round seal, bound to its SM2 certificate: downloaded and checked publicly.
    let seal = download_seal(driver, base, serial).await?;
    let on_token = data.join(format!("soft-tokens/order-{order}/seal.esl"));
    assert_eq!(std::fs::read(&seal).unwrap(), std::fs::read(on_token).unwrap(), "the seal is on the soft token too");
    let verdict = verify_in_browser(driver, base, &seal, "电子印章").await?;
    assert!(verdict.contains("电子印章有效"), "{verdict}");
    wait_for(driver, "[data-testid=seal-checks]", "SM2/SM3 签名有效").await;

    // The messages the applicant got, in the dev outbox; every step in the audit log.
    driver.goto(format!("{base}/dev/outbox")).await?;
    wait_for(driver, "body", "审核未通过：营业执照照片不清晰").await;
    wait_for(driver, "body", "已审核通过").await;
    wait_for(driver, "body", &format!("取件码 {code}")).await;
    let password = add_staff(data, "guan.li", "admin");
    staff_login(driver, base, "guan.li", &password).await?;
    driver.goto(format!("{base}/admin/audit")).await?;
    for action in ["审核不通过", "审核通过", "签发证书", "通知自提", "交付", "领取订单"] {
        wait_for(driver, "[data-testid=audit-log]", action).await;
    }
    Ok(())
}

async fn journey(driver: &WebDriver, base: &str) -> WebDriverResult<()> {
    // Register: the code button works in place (app.js) and the code is read from the dev outbox.
    driver.goto(format!("{base}/")).await?;
    driver.find(By::LinkText("注册")).await?.click().await?;
    fill(driver, "#f-phone", PHONE).await;
    driver.find(By::Css("[data-send-code]")).await?.click().await?;
    wait_for(driver, "[data-code-status]", "验证码已发送").await;
    assert!(driver.find(By::Css("[data-send-code]")).await?.text().await?.contains("秒后重新获取"), "countdown runs");

    driver.goto(format!("{base}/dev/outbox")).await?;
    let body = wait_for(driver, "[data-testid=outbox-message] .message-body", "验证码").await;
    let code: String =
        body.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("code in the outbox").to_owned();

    driver.goto(format!("{base}/register")).await?;
    fill(driver, "#f-phone", PHONE).await;
    fill(driver, "#f-code", &code).await;
    fill(driver, "#f-password", PASSWORD).await;
    fill(driver, "#f-password_confirm", PASSWORD).await;
    driver.find(By::Css("#f-password_confirm")).await?.send_keys(Key::Enter).await?;
    // Enter submits the registration, not the code button.
    wait_for(driver, ".notice", "注册成功").await;

    // Log in.
    fill(driver, "#f-phone", PHONE).await;
    fill(driver, "#f-password", PASSWORD).await;
    driver.find(By::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
    wait_for(driver, "[data-testid=current-user]", "138****8000").await;

    // Add an address through the cascading selects.
    driver.goto(format!("{base}/addresses")).await?;
    driver.find(By::LinkText("新增收货地址")).await?.click().await?;
    fill(driver, "#f-recipient", "张三").await;
    fill(driver, "#f-phone", "13912345678").await;
    choose(driver, "#f-province_code", "440000").await;
    choose(driver, "#f-city_code", "440300").await;
    choose(driver, "#f-district_code", "440305").await;
    fill(driver, "#f-detail", "科技园南区1栋101").await;
    driver.find(By::Css("form[data-region-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "收货地址已保存").await;
    let row = wait_for(driver, "[data-testid=address]", "广东省深圳市南山区").await;
    assert!(row.contains("139****5678") && row.contains("默认"), "{row}");

    // Change the password, then log out and in with the new one.
    driver.find(By::LinkText("我的账户")).await?.click().await?;
    fill(driver, "#f-old_password", PASSWORD).await;
    fill(driver, "#f-new_password", NEW_PASSWORD).await;
    fill(driver, "#f-new_password_confirm", NEW_PASSWORD).await;
    driver.find(By::Css("form[action='/account/password'] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "密码已修改").await;

    driver.find(By::Css("form[action='/logout'] button")).await?.click().await?;
    wait_for(driver, ".notice", "您已安全退出").await;
    fill(driver, "#f-phone", PHONE).await;
    fill(driver, "#f-password", PASSWORD).await;
    driver.find(By::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
    // The old password no longer works.
    wait_for(driver, ".alert", "手机号或密码错误").await;
    fill(driver, "#f-password", NEW_PASSWORD).await;
    driver.find(By::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
    wait_for(driver, "[data-testid=current-user]", "138****8000").await;
    Ok(())
}

#[tokio::test]
async fn finance_and_an_admin_work_the_back_office() {
    in_browser(back_office_journey).await;
}

/// A file for an upload field, in the journey's own directory (removed with it).
fn temp_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Fails unless the current page fits 360, 390, 768 and 1366 px without scrolling sideways.
async fn fits_every_width(driver: &WebDriver, what: &str) -> WebDriverResult<()> {
    let mut too_wide = Vec::new();
    for width in [360, 390, 768, 1366] {
        driver.set_window_rect(0, 0, width, 900).await?;
        if let Some(problem) = too_wide_now(driver).await? {
            too_wide.push(format!("{what} at {width}: {problem}"));
        }
    }
    driver.set_window_rect(0, 0, 1280, 900).await?;
    assert!(too_wide.is_empty(), "wider than the screen: {too_wide:#?}");
    Ok(())
}

/// The applicant's part: a personal application with an e-invoice by email, paid with Alipay.
/// Returns the order's number and id.
async fn order_with_invoice_and_pay(driver: &WebDriver, base: &str) -> WebDriverResult<(String, String)> {
    personal_application(driver, base, "13600136000").await?;
    driver.find(By::Css("input[name=delivery][value=pickup]")).await?.click().await?;
    choose(driver, "#f-invoice_kind", "normal").await;
    fill(driver, "#f-invoice_title", "李雷").await;
    choose(driver, "#f-invoice_delivery", "email").await;
    fill(driver, "#f-invoice_email", "lilei@example.com").await;
    driver.find(By::Css("form[data-step=confirm] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "订单已提交").await;
    let order_no = wait_for(driver, "h1", "订单 ").await.trim_start_matches("订单 ").trim().to_owned();
    let order = driver.current_url().await?.path().trim_start_matches("/orders/").to_owned();
    driver.find(By::Css("[data-testid=pay]")).await?.click().await?;
    driver.find(By::Css("input[name=method][value=alipay_page]")).await?.click().await?;
    let cashier = pay_in_new_page(driver).await?;
    wait_for(driver, "header", "支付宝收银台").await;
    driver.find(By::Css("form[action$='/pay'] button")).await?.click().await?;
    wait_for(driver, "[data-testid=pay-result]", "支付成功").await;
    back_to(driver, cashier).await?;
    driver.find(By::Css("[data-testid=after-pay] [data-testid=paid-done]")).await?.click().await?;
    wait_for(driver, "[data-testid=order-status]", "审核中").await;
    Ok((order_no, order))
}

/// An applicant orders with an e-invoice and pays with Alipay; finance finds the order, issues
/// the invoice, refunds, voids the invoice with a red-letter one, reads the takings, checks an
/// uploaded bill and resolves its difference; an admin reads the audit in words and disables the
/// finance account; the applicant sees the refund and both invoices. Every page fits 360–1366 px.
async fn back_office_journey(driver: &WebDriver, base: &str, data: &std::path::Path) -> WebDriverResult<()> {
    let (order_no, order) = order_with_invoice_and_pay(driver, base).await?;
    let files = tempfile::tempdir().unwrap();

    // Finance finds the order again by the applicant's phone.
    let password = add_staff(data, "cai.wu", "finance");
    staff_login(driver, base, "cai.wu", &password).await?;
    driver.goto(format!("{base}/admin/finance")).await?;
    fill(driver, "form[action='/admin/finance/orders'] input[name=q]", "13600136000").await;
    driver.find(By::Css("form[action='/admin/finance/orders'] button")).await?.click().await?;
    wait_for(driver, "[data-testid=search-results]", &order_no).await;
    fits_every_width(driver, "订单查询").await?;
    driver.find(By::LinkText(&order_no)).await?.click().await?;
    wait_for(driver, "h1", &order_no).await;
    wait_for(driver, "[data-testid=finance-payments]", "支付宝").await;

    // The e-invoice, then the refund, then the red-letter invoice that voids it.
    fill(driver, "#invoice_no", "24442000000012345678").await;
    driver.find(By::Css("#file")).await?.send_keys(temp_file(files.path(), "invoice.pdf", PDF)).await?;
    driver.find(By::Css("[data-testid=invoice-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "发票已开具并发送给申请人").await;
    fill(driver, "#reason", "申请人放弃办理").await;
    driver.find(By::Css("[data-testid=refund-form] button[type=submit]")).await?.click().await?;
    driver.accept_alert().await?;
    wait_for(driver, ".notice", "退款已提交").await;
    wait_for(driver, "[data-testid=red-invoice-due]", "请在税务平台开具红字发票").await;
    fits_every_width(driver, "订单财务").await?;
    fill(driver, "#red_invoice_no", "24442000000099999999").await;
    driver.find(By::Css("#red-file")).await?.send_keys(temp_file(files.path(), "red.pdf", PDF)).await?;
    driver.find(By::Css("[data-testid=red-invoice-form] button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "红字发票已登记").await;
    wait_for(driver, "[data-testid=red-invoice]", "24442000000099999999").await;

    // 今日收款: received, refunded, net — and the range report.
    driver.goto(format!("{base}/admin/finance")).await?;
    wait_for(driver, "[data-testid=today-net]", "¥0.00").await;
    wait_for(driver, "[data-testid=today-refunded]", "¥200.00（1 笔）").await;
    fits_every_width(driver, "财务").await?;
    let day = app::clock::Clock::now(&app::clock::SystemClock).to_offset(time::macros::offset!(+8)).date();
    driver.goto(format!("{base}/admin/finance/takings?from={day}&to={day}")).await?;
    wait_for(driver, "[data-testid=takings-rows]", &order_no).await;
    fits_every_width(driver, "收款统计").await?;

    // A bill that says the payment was a yuan less: the difference is listed, alerted, resolved.
    let out_trade_no = format!("{order_no}A");
    let bill = format!(
        "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,订单金额（元）\nT1\t,{out_trade_no}\t,交易\t,电子签章\t,199.00\t\nT1\t,{out_trade_no}\t,退款\t,电子签章\t,-200.00\t\n"
    );
    driver.goto(format!("{base}/admin/finance")).await?;
    // (A date input's typing order follows the browser's locale; its value is ISO everywhere.)
    driver
        .execute("document.querySelector('#bill-day').value = arguments[0];", vec![serde_json::json!(day.to_string())])
        .await?;
    driver.find(By::Css("#bill-file")).await?.send_keys(temp_file(files.path(), "bill.csv", bill.as_bytes())).await?;
    driver.find(By::Css("[data-testid=bill-check] button[type=submit]")).await?.click().await?;
    wait_for(driver, "[data-testid=bill-result]", "金额不一致（1）").await;
    fits_every_width(driver, "对账结果").await?;
    driver.goto(format!("{base}/admin/finance")).await?;
    wait_for(driver, "[data-testid=finance-alert]", "金额不符").await;
    fill(driver, "[data-testid=finance-alert] input[name=note]", "已与支付宝核实，系统记录无误").await;
    driver.find(By::Css("[data-testid=finance-alert] button")).await?.click().await?;
    wait_for(driver, ".notice", "已标记为已处理").await;
    wait_for(driver, "[data-testid=finance-alert]", "已与支付宝核实").await;
    driver.find(By::Css("form[action='/admin/logout'] button")).await?.click().await?;

    // The admin reads the audit in words, with the order's number, and disables the account.
    let password = add_staff(data, "guan.cai", "admin");
    staff_login(driver, base, "guan.cai", &password).await?;
    driver.goto(format!("{base}/admin/audit")).await?;
    for words in ["开具发票", "申请退款", "红冲发票", "处理财务提醒", order_no.as_str()] {
        wait_for(driver, "[data-testid=audit-log]", words).await;
    }
    let log = driver.find(By::Css("[data-testid=audit-log]")).await?.text().await?;
    assert!(!log.contains("invoice.") && !log.contains("refund."), "no internal codes: {log}");
    fits_every_width(driver, "审计日志").await?;
    driver.goto(format!("{base}/admin/staff")).await?;
    let mut rows = driver.find_all(By::Css("[data-testid=staff-row]")).await?.into_iter();
    let row = loop {
        let row = rows.next().expect("cai.wu is listed");
        if row.text().await?.contains("cai.wu") {
            break row;
        }
    };
    row.find(By::Css("input[name=disabled]")).await?.click().await?;
    row.find(By::Css("button[type=submit]")).await?.click().await?;
    wait_for(driver, ".notice", "已停用该员工").await;
    fits_every_width(driver, "员工与角色").await?;

    // The applicant: the refund as good news, the voided invoice and the red-letter one.
    driver.goto(format!("{base}/orders/{order}")).await?;
    wait_for(driver, "[data-testid=order-status]", "已退款").await;
    wait_for(driver, "[data-testid=refund]", "退款 ¥200.00").await;
    wait_for(driver, "[data-testid=invoice-issued]", "（已红冲作废）").await;
    wait_for(driver, "[data-testid=red-invoice]", "红字发票号码 24442000000099999999").await;
    fits_every_width(driver, "订单详情").await?;
    Ok(())
}

#[tokio::test]
async fn photos_read_in_the_background_fill_the_form_by_themselves() {
    in_browser(async |driver: &WebDriver, base: &str, _: &std::path::Path| reading_journey(driver, base).await).await;
}

/// Photos of the OCR benchmark's **held-out** families in its held-out font — layouts and a font
/// the extraction was never tuned on — photographed as the benchmark does (background, angle,
/// light, JPEG), written where the browser can pick them: `(path, what the document says)`.
/// The seeds are fixed; the benchmark (`scripts/bench-ocr`) measures the rate over many.
fn held_out_photo(
    kind: ocr::Kind,
    seed: u64,
) -> (tempfile::TempPath, std::collections::BTreeMap<&'static str, String>) {
    let (photo, truth) = synth::held_out_photo(kind, seed);
    let file = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap().into_temp_path();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 88).encode_image(&photo).unwrap();
    std::fs::write(&file, bytes).unwrap();
    (file, truth.fields)
}

fn path_of(file: &tempfile::TempPath) -> String {
    file.to_string_lossy().into_owned()
}

/// Waits (up to 60 s: the real models read on a shared machine) until the field holds a value.
async fn wait_for_value(driver: &WebDriver, css: &str) -> WebDriverResult<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Some(value) = driver.find(By::Css(css)).await?.value().await?.filter(|v| !v.is_empty()) {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} was never filled in");
}

/// A company's license, its representative's and its agent's ID cards, photographed (held-out
/// layouts and font) and uploaded: each upload answers at once, the page says it is reading, and
/// the fields fill themselves in (marked 请核对) — the full ID numbers in the applicant's own form,
/// masked everywhere after.
async fn reading_journey(driver: &WebDriver, base: &str) -> WebDriverResult<()> {
    let (license, company) = held_out_photo(ocr::Kind::License, LICENSE_SEED);
    let (holder_card, holder) = held_out_photo(ocr::Kind::IdFront, HOLDER_SEED);
    let (agent_card, agent) = held_out_photo(ocr::Kind::IdFront, AGENT_SEED);
    register_and_login(driver, base, "13500135000", PASSWORD).await?;
    driver.goto(format!("{base}/apply?subject_kind=enterprise&business=new")).await?;
    driver.find(By::Css("form[action='/apply'] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h1", "企业新办").await;
    driver.find(By::Css("input[name=package_id]")).await?.click().await?;
    driver.find(By::Css("form[data-step=package] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "企业信息").await;

    upload_on_step(driver, "license", &path_of(&license)).await?;
    assert_eq!(wait_for_value(driver, "#f-credit_code").await?, company["credit_code"]);
    assert_eq!(wait_for_value(driver, "#f-company_name").await?, company["company_name"]);
    assert_eq!(wait_for_value(driver, "#f-holder_name").await?, company["legal_representative"]);
    wait_for(driver, "[data-testid=check-credit_code]", "请核对").await;
    // The photo is shown beside the fields read from it.
    let shown = driver
        .execute(
            "const img = document.querySelector('[data-testid=photo-license]'); return img ? img.naturalWidth : 0;",
            Vec::new(),
        )
        .await?;
    assert!(shown.json().as_u64().unwrap_or(0) > 0, "the license photo is shown");
    wait_for(driver, "[data-testid=form-success]", "已根据上传的证件照片预填").await;

    let consent = driver.find(By::Css("[data-testid=consent] input[name=agree]")).await?;
    consent.click().await?;
    driver.find(By::Css("[data-testid=consent] button")).await?.click().await?;
    wait_for(driver, "h2", "上传证件照片").await;
    upload_on_step(driver, "holder_id_front", &path_of(&holder_card)).await?;
    assert_eq!(wait_for_value(driver, "#f-holder_id_number").await?, holder["id_number"], "in full, to check");
    wait_for(driver, "[data-testid=check-holder_id_number]", "请核对").await;

    choose(driver, "#f-user_type", "enterprise").await;
    // The applicant corrects one reading (a branch, say) and keeps the others.
    let branch = format!("{}北京分公司", company["company_name"]);
    fill(driver, "#f-company_name", &branch).await;
    driver.find(By::Css("form[data-step=subject] button[type=submit]")).await?.click().await?;
    wait_for(driver, "h2", "经办人信息").await;
    upload_on_step(driver, "agent_id_front", &path_of(&agent_card)).await?;
    assert_eq!(wait_for_value(driver, "#f-name").await?, agent["name"]);
    assert_eq!(wait_for_value(driver, "#f-id_number").await?, agent["id_number"], "in full, to check");
    wait_for(driver, "[data-testid=check-id_number]", "请核对").await;

    // The production measure of OCR accuracy: per field, kept or corrected.
    let application = driver.current_url().await?.path().split('/').nth(2).unwrap().to_owned();
    driver.goto(format!("{base}/metrics")).await?;
    let metrics = driver.find(By::Css("body")).await?.text().await?;
    for line in [
        r#"sealdesk_ocr_field_outcomes_total{field="credit_code",outcome="accepted"} 1"#,
        r#"sealdesk_ocr_field_outcomes_total{field="holder_id_number",outcome="accepted"} 1"#,
        r#"sealdesk_ocr_field_outcomes_total{field="company_name",outcome="corrected"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // Once saved, the numbers are masked — in the form and on every other page.
    driver.goto(format!("{base}/applications/{application}/subject")).await?;
    let page = driver.find(By::Css("main")).await?.text().await?;
    assert!(!page.contains(&holder["id_number"]), "once saved, the number is masked: {page}");
    let input = driver.find(By::Css("#f-holder_id_number")).await?;
    assert_eq!(input.value().await?.unwrap_or_default(), "", "once saved, the number is not put back in the form");
    let number = &holder["id_number"];
    let placeholder = input.attr("placeholder").await?.unwrap_or_default();
    assert!(placeholder.contains(&format!("{}***********{}", &number[..3], &number[14..])), "{placeholder}");
    let api = driver.execute(
        "return fetch('/api/v1/applications/' + arguments[0]).then(r => r.text());",
        vec![serde_json::Value::String(application.clone())],
    );
    let api = api.await?.json().as_str().unwrap_or_default().to_owned();
    assert!(!api.is_empty() && !api.contains(&holder["id_number"]), "the API masks it too: {api}");
    Ok(())
}

/// Seeds of the held-out photos the journey uploads (whatever they draw: company or 个体工商户,
/// any distortion); see [`held_out_photo`].
const LICENSE_SEED: u64 = 1;
const HOLDER_SEED: u64 = 2;
const AGENT_SEED: u64 = 3;
