//! Applicant accounts: registration by SMS-verified mobile number, login with throttling,
//! password reset and change, profile.

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::Keys;
use crate::passwords::PasswordPool;
use crate::ports::{ThrottleRepo, UserDirectory, UserRepo};
use crate::sessions::{CurrentUser, SessionToken, Sessions};
use crate::sms_codes::SmsCodes;
use crate::{Error, StoreError};
use domain::password::PasswordError;
use domain::{Email, FieldErrors, NewPassword, PersonName, Phone, SmsCode, SmsPurpose};

/// Registration form.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub phone: String,
    pub code: String,
    pub password: String,
    pub password_confirm: String,
}

/// Password-reset form (same fields as registration).
pub type PasswordReset = Registration;

/// Password-change form of a logged-in user.
#[derive(Debug, Clone, Default)]
pub struct PasswordChange {
    pub old_password: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

/// Profile form: both fields optional; empty clears them.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub name: String,
    pub email: String,
}

/// The account as its owner sees it.
#[derive(Debug, Clone)]
pub struct Profile {
    pub phone_masked: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub registered_at: time::OffsetDateTime,
}

/// Failed logins counted per subject (an account, a client address, a staff username) within a
/// sliding window; the table keeps a keyed hash of the subject, never the number or address.
#[derive(Clone)]
pub struct Throttle {
    repo: Arc<dyn ThrottleRepo>,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    /// Window in which failures are counted.
    window: time::Duration,
}

impl Throttle {
    pub fn new(repo: Arc<dyn ThrottleRepo>, keys: Arc<Keys>, clock: Arc<dyn Clock>, window: time::Duration) -> Self {
        Self { repo, keys, clock, window }
    }

    /// What the throttle table keeps for a login subject (`login:phone:…`, `login:client:…`,
    /// `staff-login:…`): a keyed hash, so the table names no phone number or address.
    pub(crate) fn key(&self, subject: &str) -> String {
        format!("t:{}", self.keys.blind_index("login-throttle", subject))
    }

    /// The throttle key of an account's logins (and of its password checked again).
    pub(crate) fn account_key(&self, phone: &Phone) -> String {
        self.key(&format!("login:phone:{}", phone.as_str()))
    }

    /// `Some(seconds to wait)` when `key` has `limit` failures within the window.
    pub(crate) async fn wait(&self, key: &str, limit: i64) -> Result<Option<i64>, Error> {
        let now = self.clock.now();
        let failures = self.repo.failures_since(key, now - self.window).await?;
        if i64::try_from(failures.len()).unwrap_or(i64::MAX) < limit {
            return Ok(None);
        }
        let wait = failures.first().map_or(0, |first| (*first + self.window - now).whole_seconds());
        Ok(Some(wait.max(1)))
    }

    pub(crate) async fn fail(&self, key: &str) -> Result<(), Error> {
        Ok(self.repo.record_failure(key, self.clock.now()).await?)
    }

    pub(crate) async fn clear(&self, key: &str) -> Result<(), Error> {
        Ok(self.repo.clear_failures(key).await?)
    }
}

/// Applicant accounts: registration, login, password reset and change, the profile. It holds
/// only the ports it needs, so its rules are tested against in-memory fakes.
#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepo>,
    directory: Arc<dyn UserDirectory>,
    sessions: Sessions,
    codes: SmsCodes,
    throttle: Throttle,
    passwords: Arc<PasswordPool>,
    clock: Arc<dyn Clock>,
    limits: LoginLimits,
}

/// Failures before logins are refused unevaluated until the window passes.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account: i64,
    pub per_client: i64,
}

/// The ports and services an [`Accounts`] works with.
pub struct AccountPorts {
    pub users: Arc<dyn UserRepo>,
    pub directory: Arc<dyn UserDirectory>,
    pub sessions: Sessions,
    pub codes: SmsCodes,
    pub throttle: Throttle,
    pub passwords: Arc<PasswordPool>,
    pub clock: Arc<dyn Clock>,
}

impl Accounts {
    pub fn new(ports: AccountPorts, limits: LoginLimits) -> Self {
        let AccountPorts { users, directory, sessions, codes, throttle, passwords, clock } = ports;
        Self { users, directory, sessions, codes, throttle, passwords, clock, limits }
    }

    /// Creates an account after checking the SMS code. The caller then logs in.
    pub async fn register(&self, form: &Registration) -> Result<(), Error> {
        let (phone, code, password) = parse_phone_code_password(form)?;
        let code_id = self.codes.check(&phone, SmsPurpose::Register, &code).await?;
        // The slow hash first; the code is used only together with the account's creation.
        let hash = self.passwords.hash(password.expose().to_owned()).await?;
        match self.users.create_user_with_code(&phone, &hash, code_id, self.clock.now()).await {
            Ok(Some(_)) => {
                tracing::info!("account registered");
                Ok(())
            }
            Ok(None) => Err(crate::sms_codes::invalid_code()),
            Err(StoreError::Duplicate(crate::Unique::UserPhone)) => {
                Err(Error::field("phone", "phone_registered", "该手机号已注册，请直接登录或找回密码"))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Checks phone + password and starts a new session. Failures are counted per account and per
    /// client address; past the limit, attempts are refused unevaluated until the window passes or
    /// the owner resets the password by SMS (which clears the account's count).
    pub async fn login(&self, phone: &str, password: &str, client: &str) -> Result<SessionToken, Error> {
        let Ok(phone) = Phone::parse(phone) else {
            return Err(Error::field("phone", "phone_invalid", "请输入正确的11位手机号"));
        };
        if password.is_empty() {
            return Err(Error::field("password", "password_required", "请输入密码"));
        }
        let account_key = self.throttle.account_key(&phone);
        let client_key = self.throttle.key(&format!("login:client:{client}"));
        for (key, limit) in [(&account_key, self.limits.per_account), (&client_key, self.limits.per_client)] {
            if let Some(wait) = self.throttle.wait(key, limit).await? {
                tracing::warn!(
                    throttle = if key == &account_key { "account" } else { "client" },
                    "login refused while throttled"
                );
                return Err(Error::RateLimited {
                    code: "login_throttled",
                    message: format!(
                        "登录失败次数过多，请{}分钟后再试，或通过“忘记密码”用短信验证码重置密码",
                        (wait + 59) / 60
                    ),
                    retry_after_secs: wait,
                });
            }
        }
        let user = self.directory.user_by_phone(&phone).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        // Busy is answered before anything is counted: it is no failed attempt.
        let verified = self.passwords.verify(password.to_owned(), hash).await?;
        match user {
            Some(user) if verified => {
                self.throttle.clear(&account_key).await?;
                tracing::info!(user = %user.id, "login succeeded");
                self.sessions.start(user.id).await
            }
            _ => {
                self.throttle.fail(&account_key).await?;
                self.throttle.fail(&client_key).await?;
                tracing::warn!(account = %phone, "login failed");
                Err(Error::InvalidCredentials)
            }
        }
    }

    /// Sets a new password after checking an SMS code, ends every session of the account and
    /// lifts a login throttle on it.
    pub async fn reset_password(&self, form: &PasswordReset) -> Result<(), Error> {
        let (phone, code, password) = parse_phone_code_password(form)?;
        self.codes.consume(&phone, SmsPurpose::ResetPassword, &code).await?;
        let Some(user) = self.directory.user_by_phone(&phone).await? else {
            // Unreachable in practice (no code is sent to unknown numbers), and must look the same.
            return Err(Error::field("code", "sms_code_wrong", "验证码错误或已过期，请重新获取"));
        };
        let hash = self.passwords.hash(password.expose().to_owned()).await?;
        self.users.set_password(user.id, &hash, None, self.clock.now()).await?;
        self.throttle.clear(&self.throttle.account_key(&phone)).await?;
        tracing::info!(user = %user.id, "password reset by sms");
        Ok(())
    }

    /// Changes the password of a logged-in user. Ends all their other sessions and replaces the
    /// current one; returns the new session token.
    pub async fn change_password(&self, user: &CurrentUser, form: &PasswordChange) -> Result<SessionToken, Error> {
        let mut errors = FieldErrors::new();
        if form.old_password.is_empty() {
            errors.add("old_password", "password_required", "请输入原密码");
        }
        let new = check_new_password(
            &mut errors,
            ("new_password", "new_password_confirm"),
            NewPassword::parse(&form.new_password, &form.new_password_confirm, &[user.phone.as_str()]),
        );
        let new = new.filter(|_| errors.is_empty()).ok_or(errors)?;
        let record = self.directory.user_by_id(user.id).await?.ok_or(Error::Unauthenticated)?;
        if !self.passwords.verify(form.old_password.clone(), Some(record.password_hash)).await? {
            self.throttle.fail(&self.throttle.account_key(&user.phone)).await?;
            return Err(Error::field("old_password", "old_password_wrong", "原密码不正确"));
        }
        let hash = self.passwords.hash(new.expose().to_owned()).await?;
        self.users.set_password(user.id, &hash, None, self.clock.now()).await?;
        tracing::info!(user = %user.id, "password changed; sessions ended");
        self.sessions.start(user.id).await
    }

    pub async fn profile(&self, user: &CurrentUser) -> Result<Profile, Error> {
        let record = self.directory.user_by_id(user.id).await?.ok_or(Error::Unauthenticated)?;
        Ok(Profile {
            phone_masked: record.phone.masked(),
            name: record.name,
            email: record.email,
            registered_at: record.created_at,
        })
    }

    pub async fn update_profile(&self, user: &CurrentUser, form: &ProfileUpdate) -> Result<(), Error> {
        let mut errors = FieldErrors::new();
        let name = if form.name.trim().is_empty() { None } else { errors.check("name", PersonName::parse(&form.name)) };
        let email = if form.email.trim().is_empty() { None } else { errors.check("email", Email::parse(&form.email)) };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        self.users
            .update_profile(user.id, name.as_ref().map(PersonName::as_str), email.as_ref(), self.clock.now())
            .await?;
        Ok(())
    }
}

/// The phone number, SMS code and new password of a registration or reset; the phone number
/// itself counts as a weak password.
fn parse_phone_code_password(form: &Registration) -> Result<(Phone, SmsCode, NewPassword), Error> {
    let mut errors = FieldErrors::new();
    let phone = errors.check("phone", Phone::parse(&form.phone));
    let code = errors.check("code", SmsCode::parse(&form.code));
    let password = check_new_password(
        &mut errors,
        ("password", "password_confirm"),
        NewPassword::parse(&form.password, &form.password_confirm, &[form.phone.as_str()]),
    );
    match (phone, code, password) {
        (Some(phone), Some(code), Some(password)) => Ok((phone, code, password)),
        _ => Err(errors.into()),
    }
}

/// Records a password error beside the password field, or beside the confirmation when the two
/// did not match.
fn check_new_password(
    errors: &mut FieldErrors,
    (field, confirm_field): (&'static str, &'static str),
    parsed: Result<NewPassword, PasswordError>,
) -> Option<NewPassword> {
    let target = if matches!(parsed, Err(PasswordError::Mismatch)) { confirm_field } else { field };
    errors.check(target, parsed)
}

#[cfg(test)]
mod tests;
