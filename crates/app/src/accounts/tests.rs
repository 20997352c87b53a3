//! Applicant accounts against in-memory fakes: the login throttle per account and per client,
//! SMS codes under their limits and used once, sessions that time out, passwords that end
//! other sessions.

use std::sync::Arc;

use domain::sms::{DAILY_SENDS_PER_PHONE, MAX_WRONG_GUESSES, RESEND_INTERVAL_SECS};
use time::macros::datetime;

use super::*;
use crate::Policy;
use crate::clock::ManualClock;
use crate::fakes::{Books, Relay};

const PHONE: &str = "13912345678";
const PASSWORD: &str = "Kx7!mQ2pLs";

struct Desk {
    books: Arc<Books>,
    relay: Arc<Relay>,
    clock: Arc<ManualClock>,
    accounts: Accounts,
    sessions: Sessions,
    codes: SmsCodes,
    policy: Policy,
}

fn desk() -> Desk {
    let policy = Policy::default();
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-03 10:00 UTC)));
    let books = Arc::new(Books::default());
    let relay = Arc::new(Relay::default());
    let keys = Arc::new(Keys::new(vec![3; 32]).unwrap());
    let sessions = Sessions::new(books.clone(), keys.clone(), clock.clone(), &policy);
    let codes = SmsCodes::new(books.clone(), books.clone(), relay.clone(), keys.clone(), clock.clone());
    let throttle = Throttle::new(books.clone(), keys, clock.clone(), policy.login_window);
    let accounts = Accounts::new(
        AccountPorts {
            users: books.clone(),
            directory: books.clone(),
            sessions: sessions.clone(),
            codes: codes.clone(),
            throttle,
            passwords: Arc::new(PasswordPool::new(1, 8)),
            clock: clock.clone(),
        },
        LoginLimits { per_account: policy.login_failures_per_account, per_client: policy.login_failures_per_ip },
    );
    Desk { books, relay, clock, accounts, sessions, codes, policy }
}

impl Desk {
    /// The code the last SMS to `phone` carried.
    fn last_code(&self) -> String {
        let sent = self.relay.sms.lock().unwrap();
        let text = &sent.last().expect("an SMS was sent").1;
        text.chars().filter(char::is_ascii_digit).take(6).collect()
    }

    async fn register(&self) {
        self.codes.send(PHONE, SmsPurpose::Register, "10.0.0.1").await.unwrap();
        let form = Registration {
            phone: PHONE.into(),
            code: self.last_code(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
        };
        self.accounts.register(&form).await.unwrap();
    }

    async fn fail_logins(&self, n: i64, client: &str) {
        for _ in 0..n {
            let err = self.accounts.login(PHONE, "wrong-password", client).await.unwrap_err();
            assert!(matches!(err, Error::InvalidCredentials), "{err:?}");
        }
    }
}

#[tokio::test]
async fn too_many_failures_on_an_account_lock_it_until_the_window_passes_or_a_reset() {
    let d = desk();
    d.register().await;
    d.fail_logins(d.policy.login_failures_per_account, "10.0.0.1").await;
    let err = d.accounts.login(PHONE, PASSWORD, "10.0.0.2").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { code: "login_throttled", .. }), "even the right password: {err:?}");

    d.clock.advance(d.policy.login_window + time::Duration::seconds(1));
    d.accounts.login(PHONE, PASSWORD, "10.0.0.2").await.unwrap();

    d.fail_logins(d.policy.login_failures_per_account, "10.0.0.3").await;
    d.clock.advance(time::Duration::seconds(RESEND_INTERVAL_SECS));
    d.codes.send(PHONE, SmsPurpose::ResetPassword, "10.0.0.3").await.unwrap();
    let new = "Zq8#vN4tWr";
    let reset =
        PasswordReset { phone: PHONE.into(), code: d.last_code(), password: new.into(), password_confirm: new.into() };
    d.accounts.reset_password(&reset).await.unwrap();
    d.accounts.login(PHONE, new, "10.0.0.3").await.unwrap();
}

#[tokio::test]
async fn a_client_guessing_across_accounts_is_stopped_and_others_are_not() {
    let d = desk();
    d.register().await;
    for n in 0..d.policy.login_failures_per_ip {
        let phone = format!("1391234{n:04}");
        let err = d.accounts.login(&phone, "guess", "203.0.113.9").await.unwrap_err();
        assert!(matches!(err, Error::InvalidCredentials), "unknown numbers answer alike: {err:?}");
    }
    let err = d.accounts.login(PHONE, PASSWORD, "203.0.113.9").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
}

#[tokio::test]
async fn a_successful_login_forgets_the_accounts_earlier_failures() {
    let d = desk();
    d.register().await;
    d.fail_logins(d.policy.login_failures_per_account - 1, "10.0.0.1").await;
    d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
    d.fail_logins(d.policy.login_failures_per_account - 1, "10.0.0.1").await;
    d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
}

#[tokio::test]
async fn codes_are_sent_under_their_limits_and_a_reset_for_an_unknown_number_sends_nothing() {
    let d = desk();
    d.codes.send(PHONE, SmsPurpose::Register, "10.0.0.1").await.unwrap();
    let err = d.codes.send(PHONE, SmsPurpose::Register, "10.0.0.1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { code: "sms_too_frequent", .. }), "{err:?}");
    for _ in 1..DAILY_SENDS_PER_PHONE {
        d.clock.advance(time::Duration::seconds(RESEND_INTERVAL_SECS));
        d.codes
            .send(PHONE, SmsPurpose::Register, &format!("10.0.1.{}", d.relay.sms.lock().unwrap().len()))
            .await
            .unwrap();
    }
    d.clock.advance(time::Duration::seconds(RESEND_INTERVAL_SECS));
    let err = d.codes.send(PHONE, SmsPurpose::Register, "10.0.0.9").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { code: "sms_daily_limit", .. }), "{err:?}");

    let sent = d.relay.sms.lock().unwrap().len();
    let answer = d.codes.send("13700000000", SmsPurpose::ResetPassword, "10.0.0.8").await.unwrap();
    assert_eq!(answer.resend_after_secs, RESEND_INTERVAL_SECS, "the same answer as for an account");
    assert_eq!(d.relay.sms.lock().unwrap().len(), sent, "but nothing is sent");
    let err = d.codes.send("1370000", SmsPurpose::Register, "10.0.0.8").await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
}

#[tokio::test]
async fn a_code_dies_of_wrong_guesses_and_is_used_once() {
    let d = desk();
    d.codes.send(PHONE, SmsPurpose::Register, "10.0.0.1").await.unwrap();
    let right = d.last_code();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let form = |code: &str| Registration {
        phone: PHONE.into(),
        code: code.into(),
        password: PASSWORD.into(),
        password_confirm: PASSWORD.into(),
    };
    for _ in 0..MAX_WRONG_GUESSES {
        assert!(matches!(d.accounts.register(&form(wrong)).await.unwrap_err(), Error::Validation(_)));
    }
    assert!(matches!(d.accounts.register(&form(&right)).await.unwrap_err(), Error::Validation(_)), "killed");
    assert!(d.books.password_hash(domain::UserId(1)).is_none(), "no account was made");

    d.clock.advance(time::Duration::seconds(RESEND_INTERVAL_SECS));
    d.codes.send(PHONE, SmsPurpose::Register, "10.0.0.1").await.unwrap();
    let code = d.last_code();
    d.accounts.register(&form(&code)).await.unwrap();
    let err = d.accounts.register(&form(&code)).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "used once: {err:?}");
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old_and_a_new_password_ends_the_others() {
    let d = desk();
    d.register().await;
    let token = d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
    for _ in 0..5 {
        d.clock.advance(d.policy.session_idle - time::Duration::minutes(1));
        assert!(d.sessions.authenticate(&token.0).await.unwrap().is_some(), "kept alive by use");
    }
    d.clock.advance(d.policy.session_idle);
    assert!(d.sessions.authenticate(&token.0).await.unwrap().is_none(), "idle too long");

    let token = d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
    let steps = d.policy.session_absolute.whole_minutes() / 20;
    for _ in 0..steps {
        d.clock.advance(time::Duration::minutes(20));
        d.sessions.authenticate(&token.0).await.unwrap();
    }
    d.clock.advance(time::Duration::minutes(20));
    assert!(d.sessions.authenticate(&token.0).await.unwrap().is_none(), "too old, however busy");

    let phone_token = d.accounts.login(PHONE, PASSWORD, "10.0.0.1").await.unwrap();
    let laptop_token = d.accounts.login(PHONE, PASSWORD, "10.0.0.2").await.unwrap();
    let laptop = d.sessions.authenticate(&laptop_token.0).await.unwrap().unwrap();
    let change = PasswordChange {
        old_password: PASSWORD.into(),
        new_password: "Zq8#vN4tWr".into(),
        new_password_confirm: "Zq8#vN4tWr".into(),
    };
    let fresh = d.accounts.change_password(&laptop, &change).await.unwrap();
    assert!(d.sessions.authenticate(&phone_token.0).await.unwrap().is_none(), "the other device is logged out");
    assert!(d.sessions.authenticate(&fresh.0).await.unwrap().is_some());
    assert_eq!(d.books.session_count(laptop.id), 1);
    let wrong_old = PasswordChange { old_password: "nope".into(), ..change };
    let me = d.sessions.authenticate(&fresh.0).await.unwrap().unwrap();
    assert!(matches!(d.accounts.change_password(&me, &wrong_old).await.unwrap_err(), Error::Validation(_)));
}
