//! Application drafts (在线补办/新办): business type, package, certificate holder and agent,
//! saved step by step. ID numbers are sealed before they reach the store and only ever come back
//! masked; a credit code that fails its checksum is kept with a warning for the reviewer.

use domain::application::{Business, ReplacementReason, SubjectKind, UserType};
use domain::document::DocumentKind;
use domain::{ApplicationId, CreditCode, Email, FieldErrors, PackageId, PersonName, Phone, ResidentId};
use time::{Date, UtcOffset};

use crate::ports::{
    AgentFields, ApplicationRecord, Catalog, DocumentRecord, NewApplication, PackageRecord, SubjectFields,
};
use crate::sessions::CurrentUser;
use crate::{App, Error};

pub(crate) const HOLDER_ID: &str = "application.holder_id";
pub(crate) const AGENT_ID: &str = "application.agent_id";
/// China Standard Time, for "today" in birth-date checks.
pub(crate) const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Step 1 as submitted.
#[derive(Debug, Clone, Default)]
pub struct StartForm {
    pub subject_kind: String,
    pub business: String,
    pub replacement_reason: String,
    pub replaced_serial: String,
}

/// The holder step as submitted (company fields only for enterprises).
#[derive(Debug, Clone, Default)]
pub struct SubjectForm {
    pub company_name: String,
    pub credit_code: String,
    pub user_type: String,
    pub holder_name: String,
    /// Empty keeps the number already on file.
    pub holder_id_number: String,
}

/// The agent step as submitted.
#[derive(Debug, Clone, Default)]
pub struct AgentForm {
    pub name: String,
    /// Empty keeps the number already on file.
    pub id_number: String,
    pub phone: String,
    pub email: String,
}

/// An application as its owner sees it: ID numbers masked.
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub record: ApplicationRecord,
    pub package: Option<PackageRecord>,
    pub holder_id_masked: Option<String>,
    pub agent_id_masked: Option<String>,
    /// Problems that do not block the applicant but are shown to them and the reviewer.
    pub warnings: Vec<String>,
    /// Uploaded documents (metadata).
    pub documents: Vec<DocumentRecord>,
}

impl ApplicationView {
    /// Steps still missing before the order can be confirmed.
    pub fn missing_steps(&self) -> Vec<domain::application::Step> {
        use domain::application::Step;
        let r = &self.record;
        let mut missing = Vec::new();
        if r.package_id.is_none() {
            missing.push(Step::Package);
        }
        if r.holder_id_sealed.is_none() {
            missing.push(Step::Subject);
        }
        if r.agent_id_sealed.is_none() {
            missing.push(Step::Agent);
        }
        if !self.missing_documents().is_empty() {
            missing.push(Step::Materials);
        }
        missing
    }

    /// Documents this application needs that are not uploaded yet.
    pub fn missing_documents(&self) -> Vec<DocumentKind> {
        DocumentKind::ALL
            .iter()
            .copied()
            .filter(|k| {
                k.applies_to(self.record.subject_kind)
                    && !k.is_optional()
                    && !self.documents.iter().any(|d| d.kind == *k)
            })
            .collect()
    }

    /// The agent's phone as every surface shows it (`137****7000`).
    pub fn agent_phone_masked(&self) -> Option<String> {
        self.record.agent_phone.as_deref().map(|p| domain::mask::mask_middle(p, 3, 4))
    }

    /// The uploaded document of a kind, if any.
    pub fn document(&self, kind: DocumentKind) -> Option<&DocumentRecord> {
        self.documents.iter().find(|d| d.kind == kind)
    }
}

impl App {
    /// What applicants choose from (in production without the demonstration pickup point).
    pub async fn catalog(&self) -> Result<Catalog, Error> {
        let mut catalog = self.store.catalog().await?;
        if self.policy.hide_demo_pickup_points {
            catalog.pickup_points.retain(|p| !p.is_demo());
        }
        Ok(catalog)
    }

    pub async fn start_application(&self, user: &CurrentUser, form: &StartForm) -> Result<ApplicationView, Error> {
        let mut errors = FieldErrors::new();
        let subject_kind = SubjectKind::parse(&form.subject_kind);
        if subject_kind.is_none() {
            errors.add("subject_kind", "subject_kind_invalid", "请选择企业或个人");
        }
        let business = Business::parse(&form.business);
        if business.is_none() {
            errors.add("business", "business_invalid", "请选择新办或补办");
        }
        let (mut reason, mut serial) = (None, None);
        if business == Some(Business::Replacement) {
            reason = ReplacementReason::parse(&form.replacement_reason);
            if reason.is_none() {
                errors.add("replacement_reason", "replacement_reason_required", "请选择补办原因（遗失、损坏或其他）");
            }
            // Serials as certificate viewers print them (`3a:f0:…`, `3a f0 …`) are taken as typed.
            let s: String = form.replaced_serial.trim().chars().filter(|c| !matches!(c, ':' | ' ')).collect();
            if s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                errors.add(
                    "replaced_serial",
                    "replaced_serial_invalid",
                    "原证书序列号只能包含字母、数字和“-”，最多64位",
                );
            } else if !s.is_empty() {
                serial = Some(s.to_ascii_uppercase());
            }
        }
        let (Some(subject_kind), Some(business)) = (subject_kind, business) else { return Err(errors.into()) };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let new = NewApplication { subject_kind, business, replacement_reason: reason, replaced_serial: serial };
        let id = self.store.create_application(user.id, &new, self.clock.now()).await?;
        self.application(user, id).await
    }

    pub async fn applications(&self, user: &CurrentUser) -> Result<Vec<ApplicationView>, Error> {
        let catalog = self.store.catalog().await?;
        let mut views = Vec::new();
        for record in self.store.applications(user.id).await? {
            let documents = self.store.documents(user.id, record.id).await?;
            views.push(self.view(record, &catalog, documents)?);
        }
        Ok(views)
    }

    pub async fn application(&self, user: &CurrentUser, id: ApplicationId) -> Result<ApplicationView, Error> {
        Ok(self.application_and_catalog(user, id).await?.0)
    }

    /// The application and the catalog it was read against (the one 确认订单 prices with).
    pub(crate) async fn application_and_catalog(
        &self,
        user: &CurrentUser,
        id: ApplicationId,
    ) -> Result<(ApplicationView, Catalog), Error> {
        let record = self.store.application(user.id, id).await?.ok_or(Error::NotFound)?;
        let catalog = self.catalog().await?;
        let documents = self.store.documents(user.id, id).await?;
        Ok((self.view(record, &catalog, documents)?, catalog))
    }

    /// The package is part of what was paid for: it cannot change once an order exists.
    pub async fn choose_package(
        &self,
        user: &CurrentUser,
        id: ApplicationId,
        package: i64,
    ) -> Result<ApplicationView, Error> {
        let current = self.application(user, id).await?;
        if self.store.open_order_for_application(id).await?.is_some() {
            return Err(Error::Conflict {
                code: "package_locked",
                message: "订单已提交，套餐不能再更改；如需更换请取消订单后重新申请".into(),
            });
        }
        let catalog = self.store.catalog().await?;
        let valid = catalog
            .packages
            .iter()
            .any(|p| p.id == PackageId(package) && p.subject_kind == current.record.subject_kind);
        if !valid {
            return Err(Error::field("package_id", "package_invalid", "请选择一个有效的套餐"));
        }
        self.store.set_application_package(user.id, id, PackageId(package), self.clock.now()).await?;
        self.application(user, id).await
    }

    pub async fn save_subject(
        &self,
        user: &CurrentUser,
        id: ApplicationId,
        form: &SubjectForm,
    ) -> Result<ApplicationView, Error> {
        let current = self.application(user, id).await?;
        self.ensure_editable(id).await?;
        let kind = current.record.subject_kind;
        let mut errors = FieldErrors::new();
        let (mut company_name, mut credit_code) = (None, None);
        if kind == SubjectKind::Enterprise {
            company_name = check_company_name(&mut errors, &form.company_name);
            credit_code = errors.check("credit_code", CreditCode::parse(&form.credit_code));
        }
        let user_type = UserType::parse(&form.user_type).filter(|t| kind.user_types().contains(t));
        if user_type.is_none() {
            errors.add("user_type", "user_type_invalid", "请选择用户类型");
        }
        let holder_name = errors.check("holder_name", PersonName::parse(&form.holder_name));
        let holder_id = self.id_number(
            &mut errors,
            "holder_id_number",
            &form.holder_id_number,
            current.record.holder_id_sealed.as_deref(),
            HOLDER_ID,
        );
        let (Some(user_type), Some(holder_name), Some(holder_id)) = (user_type, holder_name, holder_id) else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let fields = SubjectFields {
            company_name,
            credit_code_checksum_ok: credit_code.as_ref().map(CreditCode::checksum_ok),
            credit_code: credit_code.map(|c| c.as_str().to_owned()),
            user_type,
            holder_name: holder_name.as_str().to_owned(),
            holder_id_sealed: self.keys.seal(HOLDER_ID, holder_id.as_str())?,
            holder_id_index: self.keys.blind_index("resident_id", holder_id.as_str()),
        };
        self.store.set_application_subject(user.id, id, &fields, self.clock.now()).await?;
        let mut saved = vec![("holder_name", fields.holder_name.as_str()), ("holder_id_number", holder_id.as_str())];
        if let (Some(name), Some(code)) = (&fields.company_name, &fields.credit_code) {
            saved.extend([("company_name", name.as_str()), ("credit_code", code.as_str())]);
        }
        self.record_field_sources(id, domain::application::Step::Subject, &saved).await?;
        self.application(user, id).await
    }

    pub async fn save_agent(
        &self,
        user: &CurrentUser,
        id: ApplicationId,
        form: &AgentForm,
    ) -> Result<ApplicationView, Error> {
        let current = self.application(user, id).await?;
        self.ensure_editable(id).await?;
        let mut errors = FieldErrors::new();
        let name = errors.check("name", PersonName::parse(&form.name));
        let id_number = self.id_number(
            &mut errors,
            "id_number",
            &form.id_number,
            current.record.agent_id_sealed.as_deref(),
            AGENT_ID,
        );
        let phone = errors.check("phone", Phone::parse(&form.phone));
        let email = errors.check("email", Email::parse(&form.email));
        let (Some(name), Some(id_number), Some(phone), Some(email)) = (name, id_number, phone, email) else {
            return Err(errors.into());
        };
        let fields = AgentFields {
            name: name.as_str().to_owned(),
            id_sealed: self.keys.seal(AGENT_ID, id_number.as_str())?,
            id_index: self.keys.blind_index("resident_id", id_number.as_str()),
            phone: phone.as_str().to_owned(),
            email: email.as_str().to_owned(),
        };
        self.store.set_application_agent(user.id, id, &fields, self.clock.now()).await?;
        self.record_field_sources(
            id,
            domain::application::Step::Agent,
            &[("name", name.as_str()), ("id_number", id_number.as_str())],
        )
        .await?;
        self.application(user, id).await
    }

    pub async fn discard_application(&self, user: &CurrentUser, id: ApplicationId) -> Result<(), Error> {
        self.application(user, id).await?;
        // Orders keep a reference to their application, so only never-ordered drafts go.
        if !self.store.orders(user.id).await?.iter().all(|o| o.order.application_id != id) {
            return Err(submitted_draft());
        }
        if self.store.delete_application(user.id, id).await? { Ok(()) } else { Err(Error::NotFound) }
    }

    /// A typed ID number, or the one on file when the field is left empty.
    fn id_number(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        typed: &str,
        on_file: Option<&str>,
        purpose: &str,
    ) -> Option<ResidentId> {
        match on_file {
            Some(sealed) if typed.trim().is_empty() => {
                let plain = self.keys.open(purpose, sealed).ok()?;
                ResidentId::parse(&plain, self.today()).ok()
            }
            _ => errors.check(field, ResidentId::parse(typed, self.today())),
        }
    }

    fn today(&self) -> Date {
        self.clock.now().to_offset(CST).date()
    }

    pub(crate) fn view(
        &self,
        record: ApplicationRecord,
        catalog: &Catalog,
        documents: Vec<DocumentRecord>,
    ) -> Result<ApplicationView, Error> {
        let mask = |sealed: &Option<String>, purpose: &str| -> Result<Option<String>, Error> {
            sealed
                .as_deref()
                .map(|s| self.keys.open(purpose, s).map(|plain| domain::mask::mask_middle(&plain, 3, 4)))
                .transpose()
                .map_err(Error::from)
        };
        let mut warnings = Vec::new();
        if record.credit_code_checksum_ok == Some(false) {
            warnings.push(
                "统一社会信用代码未通过校验，请再次核对；如确认无误可继续提交，审核人员会与营业执照比对。".to_owned(),
            );
        }
        Ok(ApplicationView {
            package: record.package_id.and_then(|id| catalog.packages.iter().find(|p| p.id == id).cloned()),
            holder_id_masked: mask(&record.holder_id_sealed, HOLDER_ID)?,
            agent_id_masked: mask(&record.agent_id_sealed, AGENT_ID)?,
            warnings,
            documents,
            record,
        })
    }
}

fn check_company_name(errors: &mut FieldErrors, input: &str) -> Option<String> {
    let name = input.trim();
    let len = name.chars().count();
    if len == 0 {
        errors.add("company_name", "company_name_required", "请输入企业名称（与营业执照一致）");
        None
    } else if len > 100 || name.chars().any(char::is_control) {
        errors.add("company_name", "company_name_invalid", "企业名称不能超过100个字，且不能包含特殊控制字符");
        None
    } else {
        Some(name.to_owned())
    }
}

fn submitted_draft() -> Error {
    Error::Conflict { code: "application_submitted", message: "该申请已提交过订单，不能删除".into() }
}
