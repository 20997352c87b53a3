//! Accounts, sessions, SMS codes and the login throttle.

use super::{Books, IssuedCode, lock};
use crate::StoreError;
use crate::ports::{
    NewSmsCode, SessionRecord, SessionRepo, SmsCodeRecord, SmsCodeRepo, ThrottleRepo, UserDirectory, UserRecord,
    UserRepo,
};
use async_trait::async_trait;
use domain::{Email, Phone, SmsCodeId, SmsPurpose, UserId};
use time::OffsetDateTime;

#[async_trait]
impl UserDirectory for Books {
    async fn user_by_phone(&self, phone: &Phone) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.state).users.iter().find(|u| u.phone == *phone).cloned())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(lock(&self.state).users.iter().find(|u| u.id == id).cloned())
    }
}

#[async_trait]
impl UserRepo for Books {
    async fn close_user(
        &self,
        id: UserId,
        _closed_phone: &str,
        _restricted_until: Option<OffsetDateTime>,
        _now: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.users.retain(|u| u.id != id);
        state.sessions.retain(|s| s.user_id != id);
        Ok(Vec::new())
    }

    async fn create_user(&self, phone: &Phone, password_hash: &str, now: OffsetDateTime) -> Result<UserId, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if state.users.iter().any(|u| u.phone == *phone) {
            return Err(StoreError::Duplicate(crate::Unique::UserPhone));
        }
        let id = UserId(state.users.iter().map(|u| u.id.0).max().unwrap_or(0) + 1);
        let user = UserRecord {
            id,
            phone: phone.clone(),
            password_hash: password_hash.into(),
            name: None,
            email: None,
            created_at: now,
        };
        state.users.push(user);
        Ok(id)
    }

    async fn create_user_with_code(
        &self,
        phone: &Phone,
        password_hash: &str,
        code_id: SmsCodeId,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>, StoreError> {
        {
            let state = lock(&self.state);
            if state.users.iter().any(|u| u.phone == *phone) {
                return Err(StoreError::Duplicate(crate::Unique::UserPhone));
            }
            if !state.codes.iter().any(|c| c.record.id == code_id && !c.used) {
                return Ok(None);
            }
        }
        let id = self.create_user(phone, password_hash, now).await?;
        if let Some(code) = lock(&self.state).codes.iter_mut().find(|c| c.record.id == code_id) {
            code.used = true;
        }
        Ok(Some(id))
    }

    async fn update_profile(
        &self,
        id: UserId,
        name: Option<&str>,
        email: Option<&Email>,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some(user) = state.users.iter_mut().find(|u| u.id == id) {
            user.name = name.map(str::to_owned);
            user.email = email.map(|e| e.as_str().to_owned());
        }
        Ok(())
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<&str>,
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        if let Some(user) = state.users.iter_mut().find(|u| u.id == id) {
            user.password_hash = password_hash.into();
        }
        state.sessions.retain(|s| s.user_id != id || Some(s.token_digest.as_str()) == keep);
        Ok(())
    }
}

#[async_trait]
impl SessionRepo for Books {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.sessions.push(session.clone());
        Ok(())
    }

    async fn session_with_user(&self, digest: &str) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let state = lock(&self.state);
        let Some(session) = state.sessions.iter().find(|s| s.token_digest == digest) else { return Ok(None) };
        Ok(state.users.iter().find(|u| u.id == session.user_id).map(|u| (session.clone(), u.clone())))
    }

    async fn touch_session(&self, digest: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(session) = lock(&self.state).sessions.iter_mut().find(|s| s.token_digest == digest) {
            session.last_seen_at = now;
        }
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        lock(&self.state).sessions.retain(|s| s.token_digest != digest);
        Ok(())
    }
}

#[async_trait]
impl SmsCodeRepo for Books {
    async fn insert_sms_code(&self, code: &NewSmsCode<'_>) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let phone = code.phone.as_str().to_owned();
        for earlier in state.codes.iter_mut().filter(|c| c.phone == phone && c.purpose == code.purpose) {
            earlier.used = true;
        }
        let id = i64::try_from(state.codes.len()).unwrap_or(0) + 1;
        let record = SmsCodeRecord {
            id: SmsCodeId(id),
            code_mac: code.code_mac.clone(),
            expires_at: code.expires_at,
            wrong_guesses: 0,
        };
        state.codes.push(IssuedCode {
            phone,
            purpose: code.purpose,
            record,
            client: code.client.to_owned(),
            sent_at: code.created_at,
            used: false,
        });
        Ok(())
    }

    async fn active_sms_code(
        &self,
        phone: &Phone,
        purpose: SmsPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<SmsCodeRecord>, StoreError> {
        let state = lock(&self.state);
        let active = state.codes.iter().rev().find(|c| c.phone == phone.as_str() && c.purpose == purpose && !c.used);
        Ok(active.map(|c| c.record.clone()).filter(|r| r.expires_at > now))
    }

    async fn record_wrong_guess(&self, id: SmsCodeId, kill_at: i64, _now: OffsetDateTime) -> Result<i64, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(code) = state.codes.iter_mut().find(|c| c.record.id == id) else { return Ok(0) };
        code.record.wrong_guesses += 1;
        if code.record.wrong_guesses >= kill_at {
            code.used = true;
        }
        Ok(code.record.wrong_guesses)
    }

    async fn consume_sms_code(&self, id: SmsCodeId, _now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        let Some(code) = state.codes.iter_mut().find(|c| c.record.id == id && !c.used) else { return Ok(false) };
        code.used = true;
        Ok(true)
    }

    async fn sms_sends_to_phone_since(
        &self,
        phone: &Phone,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        let state = lock(&self.state);
        Ok(state.codes.iter().filter(|c| c.phone == phone.as_str() && c.sent_at >= since).map(|c| c.sent_at).collect())
    }

    async fn sms_sends_from_client_since(&self, client: &str, since: OffsetDateTime) -> Result<i64, StoreError> {
        let state = lock(&self.state);
        let sends = state.codes.iter().filter(|c| c.client == client && c.sent_at >= since).count();
        Ok(i64::try_from(sends).unwrap_or(i64::MAX))
    }
}

#[async_trait]
impl ThrottleRepo for Books {
    async fn record_failure(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.write()?;
        state.failures.push((key.to_owned(), now));
        Ok(())
    }

    async fn failures_since(&self, key: &str, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
        let state = lock(&self.state);
        Ok(state.failures.iter().filter(|(k, at)| k == key && *at >= since).map(|(_, at)| *at).collect())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.state).failures.retain(|(k, _)| k != key);
        Ok(())
    }
}
