//! Back-office staff (SECURITY A5, B2, E3): accounts created from the CLI or by an admin, login
//! with password then TOTP (enrolled by QR code at the first login), shorter sessions than
//! applicants, and an audit log of what staff do and which personal data they see.

use domain::staff::{Role, Roles, Username};
use domain::{FieldErrors, OrderId, StaffId};
use rand::Rng;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use totp_rs::{Builder, Secret, Totp};

use crate::clock::Clock;
use crate::crypto::{random_token, token_digest};
use crate::ports::{AuditEntry, AuditLog, NewStaff, StaffRecord, StaffSessionRecord};
use crate::{App, Error, StoreError};

/// Staff sessions end after 15 idle minutes or 8 hours (applicants: 30 minutes, 12 hours).
pub const STAFF_IDLE: Duration = Duration::minutes(15);
pub const STAFF_ABSOLUTE: Duration = Duration::hours(8);
/// Failed logins per account within the window before it is paused.
const STAFF_FAILURES: usize = 5;
const STAFF_WINDOW: Duration = Duration::minutes(15);
const TOTP_PURPOSE: &str = "staff-totp";
const STAGE_PASSWORD: &str = "password";
const STAGE_FULL: &str = "full";

/// A staff member behind a fully authenticated session.
#[derive(Debug, Clone)]
pub struct CurrentStaff {
    pub id: StaffId,
    pub username: String,
    pub name: String,
    pub phone: Option<String>,
    pub roles: Roles,
    pub session_digest: String,
    /// Still on the printed initial password: only the password page is open.
    pub must_change_password: bool,
}

impl CurrentStaff {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }

    /// `Err(Forbidden)` unless one of `roles` is held.
    pub fn require(&self, roles: &[Role]) -> Result<(), Error> {
        if self.roles.any(roles) { Ok(()) } else { Err(Error::Forbidden) }
    }
}

/// Where a password login stands.
#[derive(Debug)]
pub enum StaffLogin {
    /// First login: scan this, then give a code. `token` is the half-authenticated session.
    Enroll { token: String, otpauth_url: String, secret_base32: String },
    /// Give the current code.
    Code { token: String },
}

/// What the CLI prints once.
#[derive(Debug)]
pub struct CreatedStaff {
    pub id: StaffId,
    pub username: String,
    pub initial_password: String,
}

/// 16 characters from an alphabet without look-alikes.
fn initial_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some("sealdesk"))
        .build()
        .map_err(|e| Error::Internal(StoreError::Other(format!("totp: {e}"))))
}

/// Writes what staff do to the audit log, stamped with the clock's time.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl AuditTrail {
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, clock }
    }

    pub(crate) async fn record(
        &self,
        staff: Option<StaffId>,
        action: &str,
        order: Option<OrderId>,
        detail: &str,
    ) -> Result<(), Error> {
        let entry = AuditEntry {
            at: self.clock.now(),
            staff_id: staff,
            action: action.into(),
            order_id: order,
            detail: detail.into(),
        };
        Ok(self.log.append_audit(&entry).await?)
    }
}

impl App {
    /// Creates a staff account with a random initial password (shown once).
    pub async fn add_staff(
        &self,
        username: &str,
        name: &str,
        roles: Roles,
        phone: Option<&str>,
        by: Option<&CurrentStaff>,
    ) -> Result<CreatedStaff, Error> {
        if let Some(admin) = by {
            admin.require(&[Role::Admin])?;
        }
        let mut errors = FieldErrors::new();
        let username = match Username::parse(username) {
            Ok(u) => Some(u),
            Err(message) => {
                errors.add("username", "username_invalid", message);
                None
            }
        };
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            errors.add("name", "name_invalid", "请填写姓名（不超过 30 个字）");
        }
        let phone = phone.map(str::trim).filter(|p| !p.is_empty()).and_then(|p| {
            let parsed = domain::Phone::parse(p).ok().map(|p| p.as_str().to_owned());
            if parsed.is_none() {
                errors.add("phone", "phone_invalid", "手机号格式不正确");
            }
            parsed
        });
        let Some(username) = username.filter(|_| errors.is_empty()) else { return Err(errors.into()) };
        let password = initial_password();
        let staff = NewStaff {
            username: username.as_str().to_owned(),
            name: name.to_owned(),
            phone,
            password_hash: self.passwords.hash(password.clone()).await?,
            roles,
        };
        let now = self.clock.now();
        let id = match self.store.create_staff(&staff, now).await {
            Ok(id) => id,
            Err(StoreError::Duplicate(crate::Unique::StaffUsername)) => {
                return Err(Error::field("username", "username_taken", "该用户名已被使用"));
            }
            Err(err) => return Err(err.into()),
        };
        self.audit(by.map(|s| s.id), "staff.create", None, &format!("{}（{}）", staff.username, roles.labels()))
            .await?;
        Ok(CreatedStaff { id, username: staff.username, initial_password: password })
    }

    /// All staff accounts (admin).
    pub async fn staff_list(&self, staff: &CurrentStaff) -> Result<Vec<StaffRecord>, Error> {
        staff.require(&[Role::Admin])?;
        Ok(self.store.list_staff().await?)
    }

    /// Changes a staff member's roles, or disables the account (ending its sessions). Admins
    /// cannot lock themselves out.
    pub async fn update_staff(
        &self,
        admin: &CurrentStaff,
        id: StaffId,
        roles: Roles,
        disabled: bool,
    ) -> Result<(), Error> {
        admin.require(&[Role::Admin])?;
        if id == admin.id && (disabled || !roles.contains(Role::Admin)) {
            return Err(Error::Conflict {
                code: "self_lockout",
                message: "不能停用自己的账号或取消自己的管理员角色".into(),
            });
        }
        let target = self.store.staff_by_id(id).await?.ok_or(Error::NotFound)?;
        self.store.update_staff(id, roles, disabled, self.clock.now()).await?;
        let state = if disabled { "，已停用" } else { "" };
        self.audit(Some(admin.id), "staff.update", None, &format!("{}：{}{state}", target.username, roles.labels()))
            .await
    }

    /// Step one: username and password. Never says which of the two was wrong.
    pub async fn staff_login(&self, username: &str, password: &str) -> Result<StaffLogin, Error> {
        let now = self.clock.now();
        let key = self.throttle.key(&format!("staff-login:{}", username.trim().to_ascii_lowercase()));
        let failures = self.store.failures_since(&key, now - STAFF_WINDOW).await?;
        if failures.len() >= STAFF_FAILURES {
            let until = failures.iter().min().map_or(now, |first| *first + STAFF_WINDOW);
            return Err(Error::RateLimited {
                code: "login_throttled",
                message: "登录失败次数过多，请 15 分钟后再试".into(),
                retry_after_secs: (until - now).whole_seconds().max(1),
            });
        }
        let record = match Username::parse(username) {
            Ok(u) => self.store.staff_by_username(u.as_str()).await?,
            Err(_) => None,
        };
        let hash = record.as_ref().filter(|s| !s.disabled).map(|s| s.password_hash.clone());
        if !self.passwords.verify(password.to_owned(), hash).await? {
            self.store.record_failure(&key, now).await?;
            self.audit(record.as_ref().map(|s| s.id), "staff.login_failed", None, username.trim()).await?;
            return Err(Error::InvalidCredentials);
        }
        let Some(staff) = record else { return Err(Error::InvalidCredentials) };
        self.store.clear_failures(&key).await?;
        let token = self.staff_session(staff.id, STAGE_PASSWORD).await?;
        if staff.totp_enabled {
            return Ok(StaffLogin::Code { token });
        }
        let secret = if let Some(sealed) = &staff.totp_secret {
            self.keys.open(TOTP_PURPOSE, sealed)?
        } else {
            let mut bytes = [0u8; 20];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let base32 = Secret::new(bytes.to_vec().into_boxed_slice()).to_base32();
            self.store.set_staff_totp(staff.id, Some(&self.keys.seal(TOTP_PURPOSE, &base32)?), false, now).await?;
            base32
        };
        let bytes = Secret::try_from_base32(&secret).map_err(|_| StoreError::Other("stored TOTP secret".into()))?;
        let otpauth_url = totp(bytes.as_bytes(), &staff.username)?
            .to_url()
            .map_err(|e| Error::Internal(StoreError::Other(format!("totp url: {e}"))))?;
        Ok(StaffLogin::Enroll { token, otpauth_url, secret_base32: secret })
    }

    /// Step two: the TOTP code (which also completes enrollment). Returns a new session token
    /// for the fully authenticated session; the half-authenticated one ends.
    pub async fn staff_second_factor(&self, token: &str, code: &str) -> Result<String, Error> {
        let digest = token_digest(token);
        let now = self.clock.now();
        let session = self
            .store
            .staff_session(&digest)
            .await?
            .filter(|s| s.stage == STAGE_PASSWORD && now < s.expires_at && now - s.last_seen_at < STAFF_IDLE)
            .ok_or(Error::Unauthenticated)?;
        let staff =
            self.store.staff_by_id(session.staff_id).await?.filter(|s| !s.disabled).ok_or(Error::Unauthenticated)?;
        let sealed = staff.totp_secret.as_deref().ok_or(Error::Unauthenticated)?;
        let secret = Secret::try_from_base32(self.keys.open(TOTP_PURPOSE, sealed)?)
            .map_err(|_| StoreError::Other("stored TOTP secret".into()))?;
        let key = self.throttle.key(&format!("staff-totp:{}", staff.id));
        if self.store.failures_since(&key, now - STAFF_WINDOW).await?.len() >= STAFF_FAILURES {
            self.store.delete_staff_session(&digest).await?;
            return Err(Error::RateLimited {
                code: "totp_throttled",
                message: "验证码错误次数过多，请 15 分钟后重新登录".into(),
                retry_after_secs: STAFF_WINDOW.whole_seconds(),
            });
        }
        let now_secs = u64::try_from(now.unix_timestamp()).unwrap_or_default();
        let step = totp(secret.as_bytes(), &staff.username)?.check(code.trim(), now_secs);
        let fresh = match step {
            Some(step) => self.store.use_totp_step(staff.id, i64::try_from(step).unwrap_or(i64::MAX)).await?,
            None => false,
        };
        if !fresh {
            self.store.record_failure(&key, now).await?;
            return Err(Error::field(
                "code",
                "totp_invalid",
                "动态验证码不正确或已使用，请输入身份验证器上的最新验证码",
            ));
        }
        if !staff.totp_enabled {
            self.store.set_staff_totp(staff.id, Some(sealed), true, now).await?;
        }
        self.store.clear_failures(&key).await?;
        self.store.delete_staff_session(&digest).await?;
        let full = self.staff_session(staff.id, STAGE_FULL).await?;
        self.audit(Some(staff.id), "staff.login", None, &staff.username).await?;
        Ok(full)
    }

    async fn staff_session(&self, staff: StaffId, stage: &str) -> Result<String, Error> {
        let now = self.clock.now();
        let token = random_token();
        self.store
            .create_staff_session(&StaffSessionRecord {
                token_digest: token_digest(&token),
                staff_id: staff,
                stage: stage.into(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + STAFF_ABSOLUTE,
            })
            .await?;
        Ok(token)
    }

    /// The staff member of a fully authenticated session token.
    pub async fn authenticate_staff(&self, token: &str) -> Result<Option<CurrentStaff>, Error> {
        let digest = token_digest(token);
        let Some(session) = self.store.staff_session(&digest).await? else { return Ok(None) };
        let now = self.clock.now();
        if now >= session.expires_at || now - session.last_seen_at >= STAFF_IDLE {
            self.store.delete_staff_session(&digest).await?;
            return Ok(None);
        }
        if session.stage != STAGE_FULL {
            return Ok(None);
        }
        let Some(staff) = self.store.staff_by_id(session.staff_id).await?.filter(|s| !s.disabled) else {
            return Ok(None);
        };
        if now - session.last_seen_at >= Duration::seconds(60) {
            self.store.touch_staff_session(&digest, now).await?;
        }
        Ok(Some(CurrentStaff {
            id: staff.id,
            username: staff.username,
            name: staff.name,
            phone: staff.phone,
            roles: staff.roles,
            session_digest: digest,
            must_change_password: staff.must_change_password,
        }))
    }

    /// Sets the staff member's own password (required after the first login).
    pub async fn change_staff_password(
        &self,
        staff: &CurrentStaff,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> Result<(), Error> {
        let record = self.store.staff_by_id(staff.id).await?.ok_or(Error::Unauthenticated)?;
        if !self.passwords.verify(current.to_owned(), Some(record.password_hash)).await? {
            return Err(Error::field("current", "password_wrong", "当前密码不正确"));
        }
        let new = domain::NewPassword::parse(new, confirm, &[staff.username.as_str(), staff.name.as_str()])
            .map_err(|e| Error::field("password", domain::field::Rejection::code(&e), &e.to_string()))?;
        if new.expose() == current {
            return Err(Error::field("password", "password_unchanged", "新密码不能与初始密码相同"));
        }
        let hash = self.passwords.hash(new.expose().to_owned()).await?;
        self.store.set_staff_password(staff.id, &hash, &staff.session_digest, self.clock.now()).await?;
        self.audit(Some(staff.id), "staff.password", None, &staff.username).await
    }

    pub async fn staff_logout(&self, staff: &CurrentStaff) -> Result<(), Error> {
        Ok(self.store.delete_staff_session(&staff.session_digest).await?)
    }

    /// Appends to the audit log.
    pub(crate) async fn audit(
        &self,
        staff: Option<StaffId>,
        action: &str,
        order: Option<OrderId>,
        detail: &str,
    ) -> Result<(), Error> {
        self.audit_trail.record(staff, action, order, detail).await
    }

    /// The audit log, newest first (admin), optionally for one order.
    pub async fn audit_log(
        &self,
        staff: &CurrentStaff,
        order: Option<OrderId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, Error> {
        staff.require(&[Role::Admin])?;
        Ok(self.store.audit_log(order, limit).await?)
    }

    /// A staff member's name by id (for queues and logs).
    pub async fn staff_name(&self, id: StaffId) -> Result<String, Error> {
        Ok(self.store.staff_by_id(id).await?.map(|s| s.name).unwrap_or_default())
    }

    /// An order's number, for the audit log (admins read it by number, not by row id).
    pub async fn audited_order_no(&self, staff: &CurrentStaff, id: domain::OrderId) -> Result<Option<String>, Error> {
        staff.require(&[Role::Admin])?;
        Ok(self.store.order_by_id(id).await?.map(|o| o.order.order_no))
    }

    /// The current TOTP code for a secret at `at` (tests and the dev tools).
    pub fn totp_code(secret_base32: &str, at: OffsetDateTime) -> Option<String> {
        let secret = Secret::try_from_base32(secret_base32).ok()?;
        let totp = totp(secret.as_bytes(), "x").ok()?;
        Some(totp.generate(u64::try_from(at.unix_timestamp()).ok()?).to_string())
    }
}
