//! 数字证书: certificates issued through the desk — certified by the CA for the key a station
//! generated on the USB-Key, under the subject the desk builds from the approved application —
//! what their holders see (我的证书) and download, what staff search and revoke, and what the CA
//! publishes to anyone (each issuing CA's revocation list, the chains).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::application::SubjectKind;
use domain::certificate::{self, Holder, KeyAlgorithm, RevocationReason, Status, Subject};
use domain::pricing::KeyType;
use domain::staff::Role;
use domain::{CreditCode, OrderId, OrderStatus, PersonName, ResidentId, StaffId};

use crate::ca::{CaError, CertificateAuthority, Issuance, IssuedCertificate};
use crate::ports::{AuditEntry, CertificateRecord, IssuedForOrder, OrderRecord, Revocation, RevocationRequest};
use crate::sessions::CurrentUser;
use crate::staff::CurrentStaff;
use crate::station::PinReport;
use crate::{App, Error};

/// The purpose the person identifier in certificates is keyed under.
const PERSON_IDENTIFIER: &str = "certificate-person-identifier";

/// A certificate with where it stands now.
#[derive(Debug, Clone)]
pub struct CertificateView {
    pub record: CertificateRecord,
    pub status: Status,
}

impl CertificateView {
    /// The certificate as PEM.
    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.record.der)
    }
}

/// `der` as a PEM block with `label`.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// What the desk certifies for an order: the subject it builds, the medium and the years of the
/// package, and the certificate a 补办 names as replaced.
pub(crate) struct Certifying {
    pub(crate) subject: Subject,
    pub(crate) key_type: KeyType,
    pub(crate) years: u8,
    pub(crate) replaces: Option<String>,
}

/// Where a staff member's revocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoking {
    Revoked,
    /// A company certificate: another staff member must approve.
    AwaitingApproval,
}

/// What the station gets back: the certificate and its chain to write to the token.
#[derive(Debug, Clone)]
pub struct Produced {
    pub certificate: IssuedCertificate,
    /// The certificate it revoked because the new one replaces it, if any.
    pub revoked: Option<String>,
    /// The electronic seal made for the certificate (the `.esl` file), to be written to the
    /// token beside it; `None` when no seal maker is configured or it failed (the seal is then
    /// made when the applicant first downloads it).
    pub seal: Option<Vec<u8>>,
}

impl App {
    /// The same app, certifying through `ca`.
    #[must_use]
    pub fn with_ca(mut self, ca: Arc<dyn CertificateAuthority>) -> Self {
        self.ca = Some(ca);
        self
    }

    fn authority(&self) -> Result<&Arc<dyn CertificateAuthority>, Error> {
        self.ca.as_ref().ok_or(Error::Unavailable { code: "ca_unavailable", message: "未配置证书服务".into() })
    }

    /// The current revocation list of `algorithm`'s issuing CA (DER), made now.
    pub async fn revocation_list(&self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, Error> {
        let ca = self.ca.as_ref().ok_or(Error::NotFound)?;
        ca.crl(algorithm, self.clock.now()).await.map_err(ca_error)
    }

    /// The root certificate of `algorithm` (DER), for relying parties' trust stores.
    pub async fn root_certificate(&self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, Error> {
        let ca = self.ca.as_ref().ok_or(Error::NotFound)?;
        let chain = ca.chain(algorithm).await.map_err(ca_error)?;
        chain.last().cloned().ok_or(Error::NotFound)
    }

    /// Every issuing CA and root, PEM: what `openssl verify -CAfile` needs.
    pub async fn ca_chains_pem(&self) -> Result<String, Error> {
        let ca = self.ca.as_ref().ok_or(Error::NotFound)?;
        let mut out = String::new();
        for algorithm in KeyAlgorithm::ALL {
            for der in ca.chain(algorithm).await.map_err(ca_error)? {
                out.push_str(&pem("CERTIFICATE", &der));
            }
        }
        Ok(out)
    }

    /// The identifier a person's certificate names them by (its `serialNumber`).
    pub(crate) fn person_identifier(&self, id: &ResidentId) -> String {
        person_identifier(&self.keys, id)
    }

    /// What the desk certifies for an order, from its approved application (read once).
    pub(crate) async fn certifying(&self, order: &OrderRecord) -> Result<Certifying, Error> {
        let application =
            self.store.application(order.order.user_id, order.order.application_id).await?.ok_or(Error::NotFound)?;
        let package = match application.package_id {
            Some(id) => self.store.all_packages().await?.into_iter().find(|p| p.id == id),
            None => None,
        };
        let package = package.ok_or_else(|| incomplete("申请未选择套餐"))?;
        let years = u8::try_from(package.years.clamp(1, 10)).unwrap_or(1);
        let holder = match application.subject_kind {
            SubjectKind::Enterprise => Holder::Company {
                name: application.company_name.clone().ok_or_else(|| incomplete("申请缺少企业名称"))?,
                credit_code: application
                    .credit_code
                    .as_deref()
                    .and_then(|c| CreditCode::parse(c).ok())
                    .ok_or_else(|| incomplete("申请缺少有效的统一社会信用代码"))?,
            },
            SubjectKind::Personal => {
                let sealed = application.holder_id_sealed.as_deref().ok_or_else(|| incomplete("申请缺少身份证号"))?;
                let number = self.keys.open(crate::applications::HOLDER_ID, sealed)?;
                let today = self.clock.now().to_offset(time::macros::offset!(+8)).date();
                Holder::Person {
                    name: application
                        .holder_name
                        .as_deref()
                        .and_then(|n| PersonName::parse(n).ok())
                        .ok_or_else(|| incomplete("申请缺少持有人姓名"))?,
                    id: ResidentId::parse(&number, today).map_err(|_| incomplete("申请中的身份证号无效"))?,
                }
            }
        };
        Ok(Certifying {
            subject: Subject::for_holder(&holder, |person| self.person_identifier(person)),
            key_type: package.key_type,
            years,
            replaces: application.replaced_serial.as_deref().and_then(certificate::normalize_serial),
        })
    }

    /// 制证: certifies the key in `request_der` (a PKCS#10 request the station's token signed)
    /// for the order, which must be 待处理. The subject and validity come from the approved
    /// application and its package, never from the request. A certificate already in force for
    /// the order (an earlier attempt) is revoked first, so an order never has two; a 补办's new
    /// certificate revokes the one it replaces.
    pub async fn issue_for_order(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        request_der: &[u8],
        pins: &PinReport<'_>,
    ) -> Result<Produced, Error> {
        staff.require(&[Role::Fulfilment])?;
        let ca = self.authority()?;
        let pins = self.seal_pins(id, pins)?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        if order.status != OrderStatus::Processing {
            return Err(Error::Conflict {
                code: "order_state_conflict",
                message: format!("订单当前为“{}”，只有待处理的订单可以制证", order.status.label()),
            });
        }
        let Certifying { subject, key_type, years, replaces } = self.certifying(&order).await?;
        if let Some(earlier) = self.store.certificate_in_force(id).await? {
            self.revoke_recorded(Some(staff.id), &earlier, RevocationReason::Superseded, "重新制证").await?;
        }
        let now = self.clock.now();
        let (not_before, not_after) = certificate::validity(now, years);
        let issuance = Issuance {
            profile: crate::ca::CertificateProfile::Holder,
            request_der: request_der.to_vec(),
            subject: subject.clone(),
            not_before,
            not_after,
        };
        let issued = ca.issue(&issuance).await.map_err(ca_error)?;
        let replaces = match replaces {
            Some(serial) => self.replaced_certificate(&serial, id).await?,
            None => None,
        };
        let record = CertificateRecord {
            serial: issued.serial.clone(),
            algorithm: issued.algorithm,
            order_id: id,
            user_id: order.order.user_id,
            subject: issued.subject.clone(),
            issuer: issued.issuer.clone(),
            credit_code: subject.credit_code().map(str::to_owned),
            fingerprint: issued.fingerprint.clone(),
            not_before: issued.not_before,
            not_after: issued.not_after,
            der: issued.der.clone(),
            issued_by: Some(staff.id),
            issued_at: now,
            replaces_serial: replaces.as_ref().map(|r| r.serial.clone()),
            revocation: None,
        };
        let detail = format!("{} {} {}", issued.algorithm.as_str(), issued.serial, issued.subject);
        let audit = AuditEntry {
            at: now,
            staff_id: Some(staff.id),
            action: "certificate.issued".into(),
            order_id: Some(id),
            detail,
        };
        let issued_for = IssuedForOrder { certificate: &record, key_type, pins: &pins, audit: &audit };
        let recorded = self.store.record_issued(&issued_for).await;
        if !matches!(recorded, Ok(true)) {
            // The order moved (or the write failed) while the CA was certifying: the new
            // certificate must not stay valid unrecorded.
            if let Err(err) =
                ca.revoke(issued.algorithm, &issued.serial, RevocationReason::CessationOfOperation, now).await
            {
                tracing::error!(serial = %issued.serial, error = %err, "an unrecorded certificate could not be revoked");
            }
            recorded?;
            return Err(Error::Conflict {
                code: "order_state_conflict",
                message: "订单状态已变化，请刷新后查看".into(),
            });
        }
        let mut revoked = None;
        if let Some(old) = replaces {
            let why = format!("补办，由 {} 替代", issued.serial);
            self.revoke_recorded(Some(staff.id), &old, RevocationReason::Superseded, &why).await?;
            revoked = Some(old.serial);
        }
        let seal = if self.seal_maker.is_some() {
            match self.seal_for(&record).await {
                Ok(seal) => Some(seal.der),
                Err(err) => {
                    tracing::warn!(serial = %issued.serial, error = %err, "the seal could not be made with the certificate");
                    None
                }
            }
        } else {
            None
        };
        Ok(Produced { certificate: issued, revoked, seal })
    }

    /// The certificate of ours (still in force) with the serial a 补办 order names.
    async fn replaced_certificate(&self, serial: &str, order: OrderId) -> Result<Option<CertificateRecord>, Error> {
        Ok(self.store.certificate(serial).await?.filter(|c| c.revocation.is_none() && c.order_id != order))
    }

    /// Revokes at the CA, then records it (both idempotent, so a retry after a failure between
    /// them finishes the job).
    async fn revoke_recorded(
        &self,
        staff: Option<StaffId>,
        certificate: &CertificateRecord,
        reason: RevocationReason,
        why: &str,
    ) -> Result<(), Error> {
        let ca = self.authority()?;
        let now = self.clock.now();
        match ca.revoke(certificate.algorithm, &certificate.serial, reason, now).await {
            Ok(()) | Err(CaError::Unknown) => {}
            Err(err) => return Err(ca_error(err)),
        }
        let revocation = Revocation { at: now, reason, by: staff };
        let audit = AuditEntry {
            at: now,
            staff_id: staff,
            action: "certificate.revoked".into(),
            order_id: Some(certificate.order_id),
            detail: format!("{} {}：{why}", certificate.serial, reason.label()),
        };
        self.store.record_revoked(&certificate.serial, &revocation, &audit).await?;
        Ok(())
    }

    /// Staff revoke a certificate with a reason (audited). A person's certificate is revoked at
    /// once; a company's — which signs for the company — only when a second staff member approves
    /// ([`App::approve_revocation`]).
    pub async fn revoke_certificate(
        &self,
        staff: &CurrentStaff,
        serial: &str,
        reason: RevocationReason,
        note: &str,
    ) -> Result<Revoking, Error> {
        staff.require(&[Role::Fulfilment, Role::Admin])?;
        let serial = certificate::normalize_serial(serial).ok_or(Error::NotFound)?;
        let record = self.store.certificate(&serial).await?.ok_or(Error::NotFound)?;
        if record.revocation.is_some() {
            return Err(Error::Conflict { code: "already_revoked", message: "该证书已吊销".into() });
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 200 {
            return Err(Error::field("note", "note_invalid", "请填写吊销说明（1–200 字）"));
        }
        if record.credit_code.is_none() {
            self.revoke_recorded(Some(staff.id), &record, reason, note).await?;
            return Ok(Revoking::Revoked);
        }
        let now = self.clock.now();
        let request = RevocationRequest {
            serial: serial.clone(),
            reason,
            note: note.to_owned(),
            requested_by: staff.id,
            requested_at: now,
        };
        let audit = AuditEntry {
            at: now,
            staff_id: Some(staff.id),
            action: "certificate.revocation_requested".into(),
            order_id: Some(record.order_id),
            detail: format!("{serial} {}：{note}", reason.label()),
        };
        if !self.store.request_revocation(&request, &audit).await? {
            return Err(Error::Conflict {
                code: "revocation_pending", message: "该证书已有待复核的吊销申请".into()
            });
        }
        Ok(Revoking::AwaitingApproval)
    }

    /// A second staff member approves a company certificate's revocation: it is revoked now.
    pub async fn approve_revocation(&self, staff: &CurrentStaff, serial: &str) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment, Role::Admin])?;
        let serial = certificate::normalize_serial(serial).ok_or(Error::NotFound)?;
        let request = self.store.revocation_request(&serial).await?.ok_or(Error::NotFound)?;
        if request.requested_by == staff.id {
            return Err(Error::Conflict {
                code: "second_approver_required",
                message: "企业证书的吊销须由另一位工作人员复核".into(),
            });
        }
        let record = self.store.certificate(&serial).await?.ok_or(Error::NotFound)?;
        let asked = self.staff_name(request.requested_by).await?;
        let why = format!("{}（{asked}申请，{}复核）", request.note, staff.name);
        self.revoke_recorded(Some(staff.id), &record, request.reason, &why).await
    }

    /// Company certificates' revocations waiting for a second staff member.
    pub async fn revocation_requests(&self, staff: &CurrentStaff) -> Result<Vec<RevocationRequest>, Error> {
        staff.require(&[Role::Fulfilment, Role::Admin])?;
        Ok(self.store.revocation_requests().await?)
    }

    /// Reminds holders of certificates about to expire, 90, 30 and 7 days before, once each (by
    /// SMS and email, through the outbox). Returns how many certificates were looked at.
    pub async fn remind_expiring_certificates(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let until = now + time::Duration::days(certificate::REMINDER_DAYS[0]);
        let expiring = self.store.certificates_expiring(now, until, 1000).await?;
        let mut messages = Vec::new();
        for c in &expiring {
            let Some(days) = certificate::reminder_due(c.not_after, now) else { continue };
            let Some(order) = self.store.order_by_id(c.order_id).await? else { continue };
            let left = (c.not_after - now).whole_days().max(0);
            let date = c.not_after.to_offset(time::macros::offset!(+8)).date();
            let sms = format!("您的数字证书（序列号 {}）将于 {date} 到期，还剩 {left} 天，请及时办理续期。", c.serial);
            let text = format!(
                "您的数字证书将于 {date} 到期（还剩 {left} 天）：\n\n{}\n序列号 {}\n\n到期后证书将无法用于签名，请及时在线办理续期。",
                c.subject, c.serial
            );
            let tell = crate::notifications::Tell {
                key: format!("certificate:{}:expiry-{days}", c.serial),
                sms: &sms,
                subject: "【电子签章】数字证书即将到期",
                text: &text,
            };
            messages.extend(self.notifier.applicant_messages(&order, &tell).await?);
        }
        if !messages.is_empty() {
            self.store.enqueue_notifications(&messages, now).await?;
            self.notifier.deliver_now().await;
        }
        Ok(expiring.len())
    }

    pub(crate) fn certificate_view(&self, record: CertificateRecord) -> CertificateView {
        let status = Status::of(record.not_after, record.revocation.is_some(), self.clock.now());
        CertificateView { record, status }
    }

    /// 我的证书: the user's certificates, newest first.
    pub async fn my_certificates(&self, user: &CurrentUser) -> Result<Vec<CertificateView>, Error> {
        let records = self.store.certificates_of_user(user.id).await?;
        Ok(records.into_iter().map(|r| self.certificate_view(r)).collect())
    }

    /// One of the user's certificates; not found when it is someone else's.
    pub async fn my_certificate(&self, user: &CurrentUser, serial: &str) -> Result<CertificateView, Error> {
        let serial = certificate::normalize_serial(serial).ok_or(Error::NotFound)?;
        let record = self.store.certificate(&serial).await?.filter(|c| c.user_id == user.id).ok_or(Error::NotFound)?;
        Ok(self.certificate_view(record))
    }

    /// The certificates issued for an order (the user's own, or for staff).
    pub async fn order_certificates(&self, staff: &CurrentStaff, id: OrderId) -> Result<Vec<CertificateView>, Error> {
        staff.require(&[Role::Fulfilment, Role::Reviewer, Role::Admin])?;
        let records = self.store.certificates_of_order(id).await?;
        Ok(records.into_iter().map(|r| self.certificate_view(r)).collect())
    }

    /// Certificates by serial, company name or credit code, for staff.
    pub async fn search_certificates(&self, staff: &CurrentStaff, query: &str) -> Result<Vec<CertificateView>, Error> {
        staff.require(&[Role::Fulfilment, Role::Reviewer, Role::Admin])?;
        let query: String = query.trim().chars().take(100).collect();
        let records = self.store.search_certificates(&query, 100).await?;
        Ok(records.into_iter().map(|r| self.certificate_view(r)).collect())
    }

    /// One certificate for staff.
    pub async fn staff_certificate(&self, staff: &CurrentStaff, serial: &str) -> Result<CertificateView, Error> {
        staff.require(&[Role::Fulfilment, Role::Reviewer, Role::Admin])?;
        let serial = certificate::normalize_serial(serial).ok_or(Error::NotFound)?;
        let record = self.store.certificate(&serial).await?.ok_or(Error::NotFound)?;
        Ok(self.certificate_view(record))
    }
}

/// `SD` and 24 base32 letters and digits of a keyed MAC of the ID number: the same person gets the
/// same identifier on every certificate, and nobody without the desk's key can find the ID number
/// from it (ID numbers are few enough to try every one against a plain hash). Base32 has no run
/// of decimal digits an ID-number scan would mistake for one.
fn person_identifier(keys: &crate::crypto::Keys, id: &ResidentId) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mac = keys.mac(PERSON_IDENTIFIER, &[id.as_str().as_bytes()]);
    let mut out = String::from("SD");
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in &mac[..15] {
        bits = (bits << 8) | u32::from(*byte);
        count += 8;
        while count >= 5 {
            count -= 5;
            out.push(char::from(ALPHABET[((bits >> count) & 31) as usize]));
        }
        bits &= (1 << count) - 1;
    }
    out
}

fn incomplete(what: &str) -> Error {
    Error::Conflict { code: "application_incomplete", message: format!("{what}，无法制证") }
}

pub(crate) fn ca_error(err: CaError) -> Error {
    match err {
        CaError::Unknown => Error::NotFound,
        CaError::BadRequest(why) => Error::Conflict {
            code: "certificate_request_refused",
            message: format!("证书请求不能受理：{why}"),
        },
        CaError::Unavailable(why) => {
            tracing::error!(error = %why, "certificate authority failed");
            Error::Unavailable {
                code: "ca_unavailable", message: "证书服务暂时不可用，请稍后再试".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_identifier_is_stable_keyed_and_never_looks_like_an_id_number() {
        let today = time::macros::date!(2026 - 12 - 01);
        let keys = crate::crypto::Keys::new(vec![1; 32]).unwrap();
        let other_keys = crate::crypto::Keys::new(vec![2; 32]).unwrap();
        let id = ResidentId::parse("11010519491231002X", today).unwrap();
        let first = person_identifier(&keys, &id);
        assert_eq!(first.len(), 26);
        assert_eq!(person_identifier(&keys, &id), first, "the same on every certificate");
        assert_ne!(person_identifier(&other_keys, &id), first, "keyed by the desk");
        for n in 0..2000_u32 {
            let candidate = format!("1101051949{:04}{:03}", 1231 - (n % 28), n % 1000);
            let Ok(id) = ResidentId::parse(&format!("{candidate}{}", check_digit(&candidate)), today) else { continue };
            let identifier = person_identifier(&keys, &id);
            assert!(!identifier.contains(id.as_str()));
            let longest_digits = identifier.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0);
            assert!(longest_digits < 17, "{identifier}");
        }
    }

    fn check_digit(first17: &str) -> char {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
        char::from(b"10X98765432"[(sum % 11) as usize])
    }
}
