//! Server-side sessions (SECURITY A4, A5): 256-bit random tokens, stored as digests, with idle and
//! absolute timeouts; a new token at login and at every privilege change.

use std::sync::Arc;

use domain::{Phone, UserId};
use time::{Duration, OffsetDateTime};

use crate::Error;
use crate::clock::Clock;
use crate::crypto::{Keys, random_token, token_digest};
use crate::ports::{SessionRecord, SessionRepo};

/// Touch the session row at most this often, to keep reads read-only.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The user behind a valid session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: UserId,
    pub phone: Phone,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Digest of the session token that authenticated this request.
    pub session_digest: String,
}

impl CurrentUser {
    /// What the page header shows: the profile name, else the masked phone number.
    pub fn display_name(&self) -> String {
        self.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| self.phone.masked())
    }
}

/// A freshly issued session token: goes into the cookie, never into a URL or a log.
#[derive(Clone)]
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// Applicants' sessions: started at login, checked on every request, ended at logout.
#[derive(Clone)]
pub struct Sessions {
    repo: Arc<dyn SessionRepo>,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    /// Idle timeout (SECURITY A5: ≤ 30 min).
    idle: Duration,
    /// Absolute lifetime (SECURITY A5: ≤ 12 h).
    absolute: Duration,
}

impl Sessions {
    pub fn new(repo: Arc<dyn SessionRepo>, keys: Arc<Keys>, clock: Arc<dyn Clock>, policy: &crate::Policy) -> Self {
        Self { repo, keys, clock, idle: policy.session_idle, absolute: policy.session_absolute }
    }

    pub(crate) async fn start(&self, user: UserId) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        let token = random_token();
        self.repo
            .create_session(&SessionRecord {
                token_digest: token_digest(&token),
                user_id: user,
                created_at: now,
                last_seen_at: now,
                expires_at: now + self.absolute,
            })
            .await?;
        Ok(SessionToken(token))
    }

    /// The user of a session token, or `None` when it is unknown, idle too long or too old.
    pub async fn authenticate(&self, token: &str) -> Result<Option<CurrentUser>, Error> {
        let digest = token_digest(token);
        let Some((session, user)) = self.repo.session_with_user(&digest).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if self.session_expired(&session, now) {
            self.repo.delete_session(&digest).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.repo.touch_session(&digest, now).await?;
        }
        Ok(Some(CurrentUser {
            id: user.id,
            phone: user.phone,
            name: user.name,
            email: user.email,
            session_digest: digest,
        }))
    }

    fn session_expired(&self, session: &SessionRecord, now: OffsetDateTime) -> bool {
        now >= session.expires_at || now - session.last_seen_at >= self.idle
    }

    /// Ends the session (logout).
    pub async fn end_session(&self, user: &CurrentUser) -> Result<(), Error> {
        Ok(self.repo.delete_session(&user.session_digest).await?)
    }

    /// The CSRF token for a visitor, bound to their session token (or, before login, to their
    /// anonymous cookie). Derived, not stored: a new session means a new token.
    pub fn csrf_token(&self, binding: &str) -> String {
        self.keys.mac_token("csrf", &[binding.as_bytes()])
    }
}
