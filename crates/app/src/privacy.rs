//! 我的账户 → 个人信息导出 and 注销账户 (PIPL Art. 45 and 47): the applicant takes away
//! everything held about them in one machine-readable file, and closes the account — deleted
//! outright when nothing must be kept, otherwise closed and restricted to what the law requires,
//! for as long as it requires it, which the applicant is told.

use domain::OrderStatus;
use domain::sms::{SmsCode, SmsPurpose};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::applications::{AGENT_ID, HOLDER_ID};
use crate::sessions::CurrentUser;
use crate::{App, Error};

/// How long certification records are kept after the certificate expires (电子签名法 第二十四条:
/// 至少在电子签名认证证书失效后五年).
const KEPT_AFTER_CERTIFICATE: time::Duration = time::Duration::days(5 * 366);

/// What closing did, for the page that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// Nothing had to be kept: the account and all of it are gone.
    Deleted,
    /// Orders are kept, restricted to legal duties, until this date (China time).
    Restricted { until: time::Date, orders: usize },
}

impl App {
    /// Everything held about the user, as JSON: account, addresses, applications with the full
    /// ID numbers (their own), documents (metadata; each file downloads from its application),
    /// orders with fees, delivery, invoice and history, payments and refunds, consents given.
    /// Asks for the password again: the file holds full ID numbers.
    pub async fn export_personal_data(&self, user: &CurrentUser, password: &str) -> Result<Value, Error> {
        self.check_password_again(user, password).await?;
        let record = self.store.user_by_id(user.id).await?.ok_or(Error::Unauthenticated)?;
        let addresses: Vec<Value> = self
            .store
            .list_addresses(user.id)
            .await?
            .into_iter()
            .map(|a| {
                json!({ "recipient": a.recipient, "phone": a.phone, "region": a.region_name,
                        "detail": a.detail, "default": a.is_default })
            })
            .collect();
        let mut applications = Vec::new();
        for a in self.store.applications(user.id).await? {
            let open = |sealed: &Option<String>, purpose: &str| -> Result<Option<String>, Error> {
                Ok(match sealed {
                    Some(s) => Some(self.keys.open(purpose, s)?),
                    None => None,
                })
            };
            let documents: Vec<Value> = self
                .store
                .documents(user.id, a.id)
                .await?
                .into_iter()
                .map(|d| {
                    json!({ "kind": d.kind.as_str(), "label": d.kind.label(), "content_type": d.content_type,
                            "size": d.size, "sha256": d.sha256, "uploaded_at": rfc3339(d.uploaded_at),
                            "download": format!("/api/v1/applications/{}/documents/{}", a.id.0, d.kind.as_str()) })
                })
                .collect();
            applications.push(json!({
                "id": a.id.0, "subject_kind": a.subject_kind.as_str(), "business": a.business.as_str(),
                "replacement_reason": a.replacement_reason.map(domain::application::ReplacementReason::as_str), "replaced_serial": a.replaced_serial,
                "company_name": a.company_name, "credit_code": a.credit_code,
                "holder_name": a.holder_name, "holder_id_number": open(&a.holder_id_sealed, HOLDER_ID)?,
                "agent_name": a.agent_name, "agent_id_number": open(&a.agent_id_sealed, AGENT_ID)?,
                "agent_phone": a.agent_phone, "agent_email": a.agent_email,
                "created_at": rfc3339(a.created_at), "updated_at": rfc3339(a.updated_at), "documents": documents,
            }));
        }
        let mut orders = Vec::new();
        for o in self.store.orders(user.id).await? {
            let events: Vec<Value> = self
                .store
                .order_events(o.id)
                .await?
                .into_iter()
                .map(|e| json!({ "to": e.to.as_str(), "label": e.to.label(), "reason": e.reason, "at": rfc3339(e.at) }))
                .collect();
            let payments: Vec<Value> = self
                .store
                .payments_of_order(o.id)
                .await?
                .into_iter()
                .map(|p| {
                    json!({ "channel": p.channel.as_str(), "out_trade_no": p.out_trade_no, "amount_fen": p.amount.fen(),
                                 "status": p.status.as_str() })
                })
                .collect();
            let refunds: Vec<Value> = self
                .store
                .refunds_of_order(o.id)
                .await?
                .into_iter()
                .map(|r| json!({ "amount_fen": r.amount.fen(), "reason": r.reason, "status": r.status.as_str() }))
                .collect();
            let n = &o.order;
            orders.push(json!({
                "order_no": n.order_no, "status": o.status.as_str(), "status_label": o.status.label(),
                "application_id": n.application_id.0, "subject_name": n.subject_name, "package": n.package_name,
                "delivery": n.delivery.as_str(), "ship_to": n.ship_to, "pickup_point": n.pickup_point,
                "invoice": n.invoice.as_ref().map(|i| json!({ "kind": i.kind, "title": i.title,
                    "taxpayer_no": i.taxpayer_no, "address_phone": i.address_phone, "bank_account": i.bank_account,
                    "delivery": i.delivery, "email": i.email, "ship_to": i.ship_to })),
                "fees_fen": { "package": n.fees.package.fen(), "delivery": n.fees.delivery.fen(),
                              "service": n.fees.service.fen(), "total": n.fees.total.fen() },
                "created_at": rfc3339(o.created_at), "history": events, "payments": payments, "refunds": refunds,
            }));
        }
        let consented = self.store.has_consent(user.id, domain::document::CONSENT_VERSION).await?;
        tracing::info!(user = %user.id, "personal data exported");
        Ok(json!({
            "exported_at": rfc3339(self.clock.now()),
            "account": { "phone": record.phone.as_str(), "name": record.name, "email": record.email,
                         "registered_at": rfc3339(record.created_at) },
            "addresses": addresses,
            "applications": applications,
            "orders": orders,
            "consents": { "sensitive_personal_information": { "version": domain::document::CONSENT_VERSION,
                                                              "given": consented } },
        }))
    }

    /// Sends the SMS code that confirms closing, to the account's own number.
    pub async fn send_closure_code(
        &self,
        user: &CurrentUser,
        client: &str,
    ) -> Result<crate::sms_codes::CodeSent, Error> {
        self.sms_codes.send(user.phone.as_str(), SmsPurpose::CloseAccount, client).await
    }

    /// 注销账户, confirmed by the SMS code. Refused while an order is still under way (it would
    /// be abandoned): the applicant completes or cancels it first. With orders behind it the
    /// account is closed and restricted until five years after the last certificate expires;
    /// without, deleted. Either way the login, addresses and drafts with their photos are gone.
    pub async fn close_account(&self, user: &CurrentUser, code: &str) -> Result<Closed, Error> {
        let orders = self.store.orders(user.id).await?;
        let under_way: Vec<&str> = orders
            .iter()
            .filter(|o| !matches!(o.status, OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Refunded))
            .map(|o| o.order.order_no.as_str())
            .collect();
        if !under_way.is_empty() {
            return Err(Error::Conflict {
                code: "orders_under_way",
                message: format!(
                    "您还有未完成的订单（{}），请等待订单完成或先取消订单后再注销账户",
                    under_way.join("、")
                ),
            });
        }
        let code = SmsCode::parse(code)
            .map_err(|e| Error::field("code", domain::field::Rejection::code(&e), &e.to_string()))?;
        self.sms_codes.consume(&user.phone, SmsPurpose::CloseAccount, &code).await?;
        let now = self.clock.now();
        let restricted_until = if orders.is_empty() {
            None
        } else {
            let mut last = now;
            for o in &orders {
                let expires = match self.store.fulfilment(o.id).await? {
                    Some(f) => f.key.valid_to.midnight().assume_offset(crate::applications::CST),
                    None => o.created_at,
                };
                last = last.max(expires);
            }
            Some(last + KEPT_AFTER_CERTIFICATE)
        };
        // Unique per account (the number may be closed again by a later account).
        let closed_phone =
            format!("closed:{}:{}", user.id.0, self.keys.blind_index("closed-account", user.phone.as_str()));
        let keys = match self.store.close_user(user.id, &closed_phone, restricted_until, now).await {
            Ok(keys) => keys,
            Err(crate::StoreError::Refused(crate::Refusal::OrdersUnderWay)) => {
                return Err(Error::Conflict {
                    code: "orders_under_way",
                    message: "您刚刚提交了新的订单，请等待订单完成或先取消订单后再注销账户".into(),
                });
            }
            Err(err) => return Err(err.into()),
        };
        for key in keys {
            if let Err(err) = self.files.delete(&key).await {
                tracing::warn!(error = %err, "blob of a closed account left for the sweep");
            }
        }
        tracing::info!(user = %user.id, restricted = restricted_until.is_some(), "account closed");
        Ok(match restricted_until {
            Some(until) => {
                Closed::Restricted { until: until.to_offset(crate::applications::CST).date(), orders: orders.len() }
            }
            None => Closed::Deleted,
        })
    }

    /// The password again, counted against the account's login throttle like a login (a
    /// borrowed session cannot guess its way to the ID numbers).
    async fn check_password_again(&self, user: &CurrentUser, password: &str) -> Result<(), Error> {
        let key = self.throttle.account_key(&user.phone);
        if let Some(wait) = self.throttle.wait(&key, self.policy.login_failures_per_account).await? {
            return Err(Error::RateLimited {
                code: "login_throttled",
                message: "密码错误次数过多，请稍后再试".into(),
                retry_after_secs: wait,
            });
        }
        let record = self.store.user_by_id(user.id).await?.ok_or(Error::Unauthenticated)?;
        if self.passwords.verify(password.to_owned(), Some(record.password_hash)).await? {
            Ok(())
        } else {
            self.throttle.fail(&key).await?;
            Err(Error::field("password", "password_wrong", "登录密码不正确"))
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
