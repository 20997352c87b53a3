//! 在线补办/新办 in the browser: choose the business type, then fill 套餐, 主体 and 经办人 step by
//! step (each step saved as it is submitted, so a reload or a later visit resumes), then 确认订单.

use app::applications::{AgentForm, ApplicationView, StartForm, SubjectForm};
use app::orders::ConfirmForm;
use app::ports::{AddressRecord, Catalog, PackageRecord};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form as FormBody, Router};
use domain::application::{ReplacementReason, Step, SubjectKind, UserType};
use domain::document::{CONSENT_TEXT, CONSENT_VERSION, DocumentKind};
use domain::invoice::InvoiceDraft;
use domain::mask::mask_middle;
use domain::{AddressDraft, ApplicationId, Division, Divisions, FieldErrors, Money};
use serde::Deserialize;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{Form, NoticeQuery, PageError, PagePath, PageResult, render, see_other};
use crate::visitor::{PageUser, Visitor};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apply", get(apply_page).post(start))
        .route("/consent", post(give_consent))
        .route("/applications/{id}", get(resume))
        .route("/applications/{id}/{step}", get(step_page).post(save_step))
        .route("/applications/{id}/{step}/readings", get(step_readings))
        .route(
            "/applications/{id}/documents/{kind}",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(domain::document::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsentFields {
    version: String,
    agree: Option<String>,
    return_to: String,
}

/// The separate consent box: recorded, then back to the step that asked for it.
async fn give_consent(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<ConsentFields>,
) -> PageResult {
    state.app.give_consent(&user, &f.version, f.agree.is_some(), &visitor.client).await?;
    Ok(see_other(crate::html::safe_next(Some(&f.return_to))))
}

/// A file chosen in one of the upload boxes of a step.
async fn upload(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath((id, kind)): PagePath<(ApplicationId, String)>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let Some(document) = DocumentKind::parse(&kind) else { return Err(PageError::not_found()) };
    let bytes = crate::html::uploaded_file(multipart).await;
    let step = document.step();
    match state.app.upload_document(&user, id, &kind, bytes).await {
        Ok(_) => Ok(see_other(&format!("/applications/{}/{}?notice=document_uploaded", id.0, step.as_str()))),
        Err(err @ (app::Error::NotFound | app::Error::Unauthenticated)) => Err(err.into()),
        Err(err) => match state.app.application(&user, id).await {
            Ok(view) => {
                let mut form = prefill(&view, step);
                let status = form.fail(err);
                if let Some(message) = form.errors.message_for("file").map(str::to_owned) {
                    form.message = Some(format!("{}：{message}", document.label()));
                }
                show_step(&state, &visitor, &user, view, step, form, status).await
            }
            Err(err) => Err(err.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    layout: Layout,
    form: Form,
    reasons: &'static [ReplacementReason],
    drafts: Vec<ApplicationView>,
}

/// 在线补办/新办; the left menu's 企业补办, 个人新办, … arrive with their choice made
/// (`?subject_kind=enterprise&business=replacement`).
async fn apply_page(State(state): State<AppState>, visitor: Visitor, Query(chosen): Query<StartFields>) -> PageResult {
    let drafts = match &visitor.user {
        Some(user) => match state.app.applications(user).await {
            Ok(list) => list,
            Err(err) => return Err(err.into()),
        },
        None => Vec::new(),
    };
    let layout = Layout::new(&state, &visitor, "在线补办/新办", Nav::ApplyStart);
    let mut form = Form::default();
    if matches!(chosen.subject_kind.as_str(), "enterprise" | "personal") {
        form = form.with("subject_kind", chosen.subject_kind);
    }
    if matches!(chosen.business.as_str(), "new" | "replacement") {
        form = form.with("business", chosen.business);
    }
    Ok(render(StatusCode::OK, &ApplyPage { layout, form, reasons: ReplacementReason::ALL, drafts }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartFields {
    subject_kind: String,
    business: String,
    replacement_reason: String,
    replaced_serial: String,
}

async fn start(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    FormBody(f): FormBody<StartFields>,
) -> PageResult {
    let form = StartForm {
        subject_kind: f.subject_kind.clone(),
        business: f.business.clone(),
        replacement_reason: f.replacement_reason.clone(),
        replaced_serial: f.replaced_serial.clone(),
    };
    match state.app.start_application(&user, &form).await {
        Ok(view) => Ok(see_other(&format!("/applications/{}/package", view.record.id))),
        Err(err) => {
            let mut form = Form::default()
                .with("subject_kind", f.subject_kind)
                .with("business", f.business)
                .with("replacement_reason", f.replacement_reason)
                .with("replaced_serial", f.replaced_serial);
            let status = form.fail(err);
            let layout = Layout::new(&state, &visitor, "在线补办/新办", Nav::ApplyStart);
            Ok(render(status, &ApplyPage { layout, form, reasons: ReplacementReason::ALL, drafts: Vec::new() }))
        }
    }
}

#[derive(Template)]
#[template(path = "application_step.html")]
struct StepPage {
    layout: Layout,
    view: ApplicationView,
    step: Step,
    steps: &'static [Step],
    form: Form,
    packages: Vec<PackageRecord>,
    user_types: &'static [UserType],
    catalog: Catalog,
    addresses: Vec<AddressRecord>,
    idempotency_key: String,
    consented: bool,
    consent_text: &'static str,
    consent_version: &'static str,
    provinces: &'static [Division],
    cities: &'static [Division],
    counties: &'static [Division],
    /// 修改订单: the rejected order whose application this is.
    editing: Option<domain::OrderId>,
    /// Where the background reading of each photo stands.
    readings: Vec<app::recognition::ReadingProgress>,
}

impl StepPage {
    /// The documents uploaded on this step.
    fn uploads(&self) -> Vec<DocumentKind> {
        DocumentKind::ALL
            .iter()
            .copied()
            .filter(|k| k.step() == self.step && k.applies_to(self.view.record.subject_kind))
            .collect()
    }

    /// The reading of a photo on this step, while under way or when it failed.
    #[allow(clippy::trivially_copy_pass_by_ref)] // askama hands loop items over by reference
    fn reading(&self, kind: &DocumentKind) -> Option<&app::recognition::ReadingProgress> {
        self.readings.iter().find(|r| r.kind == kind.as_str() && (r.pending || r.failure.is_some()))
    }

    /// Whether a photo of this step is still being read (the page then asks until it is done).
    fn reading_pending(&self) -> bool {
        self.uploads().iter().any(|k| self.reading(k).is_some_and(|r| r.pending))
    }

    fn needs_consent(&self) -> bool {
        !self.consented && self.uploads().iter().any(|k| k.is_identity())
    }

    #[allow(clippy::trivially_copy_pass_by_ref)] // askama hands loop items over by reference
    fn uploaded(&self, kind: &DocumentKind) -> Option<String> {
        self.view.document(*kind).map(|d| {
            let kib = (d.size + 1023) / 1024;
            format!("已上传（{kib} KB）")
        })
    }

    /// Whether the uploaded document is a photo to show beside the fields read from it.
    #[allow(clippy::trivially_copy_pass_by_ref)] // askama hands loop items over by reference
    fn shows_photo(&self, kind: &DocumentKind) -> bool {
        is_read(*kind) && self.view.document(*kind).is_some_and(|d| d.content_type.starts_with("image/"))
    }

    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn accept(kind: &DocumentKind) -> &'static str {
        if kind.accepts_pdf() {
            "image/jpeg,image/png,image/webp,application/pdf"
        } else {
            "image/jpeg,image/png,image/webp"
        }
    }

    fn is_enterprise(&self) -> bool {
        self.view.record.subject_kind == SubjectKind::Enterprise
    }

    /// The fee breakdown for a delivery method, as the confirm step shows it.
    fn total_with(&self, courier: bool) -> String {
        let price = self.view.package.as_ref().map_or(Money::ZERO, |p| p.price);
        let fees = &self.catalog.fees;
        let delivery = if courier { fees.courier } else { fees.pickup };
        price
            .checked_add(delivery)
            .and_then(|t| t.checked_add(fees.service))
            .map_or_else(|_| "-".into(), |m| m.to_string())
    }

    #[allow(clippy::trivially_copy_pass_by_ref)] // askama hands loop items over by reference
    fn step_class(&self, step: &Step) -> &'static str {
        match step.position().cmp(&self.step.position()) {
            std::cmp::Ordering::Less => "done",
            std::cmp::Ordering::Equal => "current",
            std::cmp::Ordering::Greater => "",
        }
    }
}

async fn resume(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath(id): PagePath<ApplicationId>,
) -> PageResult {
    let view = state.app.application(&user, id).await?;
    let next = view.missing_steps().first().copied().unwrap_or(Step::Confirm);
    Ok(see_other(&format!("/applications/{}/{}", id.0, next.as_str())))
}

async fn step_page(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath((id, step)): PagePath<(ApplicationId, String)>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let Some(step) = Step::parse(&step) else {
        return Err(PageError::not_found());
    };
    let view = state.app.application(&user, id).await?;
    if step == Step::Confirm {
        // An application already ordered has its order page instead: 修改订单 ends with
        // 下一步 on 其他材料 (resubmitting), never with a second 确认订单.
        match state.app.open_order_of(&user, id).await {
            Ok(Some((order, _))) => return Ok(see_other(&format!("/orders/{}", order.0))),
            Ok(None) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let mut form = prefill(&view, step);
    form.notice = q.notice;
    if matches!(step, Step::Subject | Step::Agent) {
        // The owner's own editing form is the one place a full ID number read from their photo
        // is shown back (to check, not retype); the saved number stays masked.
        match state.app.own_readings_for_form(&user, id).await {
            Ok(readings) => fill_from_readings(&mut form, &view, step, &readings),
            Err(err) => return Err(err.into()),
        }
    }
    show_step(&state, &visitor, &user, view, step, form, StatusCode::OK).await
}

/// What the form of a step gets from the photos read in the background, for the page's script:
/// whether readings are still under way, which could not be read, and — once none is pending —
/// the values for the fields still empty (the full ID number too: this is the owner's own form)
/// with the notes to show. The script fills only fields the applicant has not typed in.
#[derive(serde::Serialize)]
struct StepReadings {
    pending: bool,
    failures: Vec<ReadingFailure>,
    fields: std::collections::BTreeMap<&'static str, String>,
    notes: Option<String>,
}

#[derive(serde::Serialize)]
struct ReadingFailure {
    kind: String,
    message: &'static str,
}

async fn step_readings(
    State(state): State<AppState>,
    PageUser(user, _): PageUser,
    PagePath((id, step)): PagePath<(ApplicationId, String)>,
) -> PageResult {
    use axum::response::IntoResponse;
    let Some(step @ (Step::Subject | Step::Agent)) = Step::parse(&step) else {
        return Err(PageError::not_found());
    };
    let (view, progress) = match (state.app.application(&user, id).await, state.app.reading_progress(&user, id).await) {
        (Ok(view), Ok(progress)) => (view, progress),
        (Err(err), _) | (_, Err(err)) => return Err(err.into()),
    };
    let on_step: Vec<_> =
        progress.into_iter().filter(|p| DocumentKind::parse(&p.kind).is_some_and(|k| k.step() == step)).collect();
    let pending = on_step.iter().any(|p| p.pending);
    let failures = on_step
        .iter()
        .filter_map(|p| p.failure.map(|message| ReadingFailure { kind: p.kind.clone(), message }))
        .collect();
    let mut answer = StepReadings { pending, failures, fields: std::collections::BTreeMap::new(), notes: None };
    if !pending {
        let readings = state.app.own_readings_for_form(&user, id).await?;
        let mut form = prefill(&view, step);
        fill_from_readings(&mut form, &view, step, &readings);
        answer.fields = form.prefilled_values();
        answer.notes = form.success;
    }
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], axum::Json(answer)).into_response())
}

/// Fills the fields the applicant left empty from what OCR read on their photos, and says so:
/// the reading is a suggestion to check, never saved until they save the step.
fn fill_from_readings(
    form: &mut Form,
    view: &ApplicationView,
    step: Step,
    readings: &std::collections::BTreeMap<String, app::ports::OcrReading>,
) {
    let field =
        |kind: &str, name: &str| readings.get(kind).and_then(|r| r.fields.get(name)).cloned().unwrap_or_default();
    let mut filled = false;
    let mut notes = Vec::new();
    // Values read without confidence are offered, never filled.
    let suggest = |kind: &str, name: &str, label: &str, notes: &mut Vec<String>| {
        if let Some(value) = readings.get(kind).and_then(|r| r.suggestions.get(name)) {
            let shown = if name == "id_number" { mask_middle(value, 3, 4) } else { value.clone() };
            notes.push(format!("{label}识别结果：{shown}，请核对"));
        }
    };
    if step == Step::Subject {
        if view.record.subject_kind == SubjectKind::Enterprise {
            filled |= form.prefill_from_photo("company_name", &field("license", "company_name"));
            filled |= form.prefill_from_photo("credit_code", &field("license", "credit_code"));
            filled |= form.prefill_from_photo("holder_name", &field("license", "legal_representative"));
            suggest("license", "company_name", "企业名称", &mut notes);
            suggest("license", "credit_code", "统一社会信用代码", &mut notes);
            suggest("license", "legal_representative", "法定代表人", &mut notes);
        }
        filled |= form.prefill_from_photo("holder_name", &field("holder_id_front", "name"));
        if view.holder_id_masked.is_none() {
            filled |= form.prefill_from_photo("holder_id_number", &field("holder_id_front", "id_number"));
        }
        suggest("holder_id_front", "name", "姓名", &mut notes);
        suggest("holder_id_front", "id_number", "身份证号码", &mut notes);
        for kind in ["license", "holder_id_front", "holder_id_back"] {
            notes.extend(readings.get(kind).map(|r| r.warnings.clone()).unwrap_or_default());
        }
    } else {
        filled |= form.prefill_from_photo("name", &field("agent_id_front", "name"));
        if view.agent_id_masked.is_none() {
            filled |= form.prefill_from_photo("id_number", &field("agent_id_front", "id_number"));
        }
        suggest("agent_id_front", "name", "经办人姓名", &mut notes);
        suggest("agent_id_front", "id_number", "经办人身份证号码", &mut notes);
        for kind in ["agent_id_front", "agent_id_back"] {
            notes.extend(readings.get(kind).map(|r| r.warnings.clone()).unwrap_or_default());
        }
    }
    if filled {
        notes.insert(0, "已根据上传的证件照片预填标有“请核对”的项目，请对照照片逐项核对后保存".to_owned());
    }
    if !notes.is_empty() {
        form.success = Some(notes.join("；"));
    }
}

fn prefill(view: &ApplicationView, step: Step) -> Form {
    let r = &view.record;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match step {
        Step::Package => Form::default().with("package_id", r.package_id.map(|p| p.0.to_string()).unwrap_or_default()),
        Step::Subject => Form::default()
            .with("company_name", text(&r.company_name))
            .with("credit_code", text(&r.credit_code))
            .with("user_type", r.user_type.map(|t| t.as_str().to_owned()).unwrap_or_default())
            .with("holder_name", text(&r.holder_name)),
        Step::Agent => Form::default()
            .with("name", text(&r.agent_name))
            .with("phone", text(&r.agent_phone))
            .with("email", text(&r.agent_email)),
        Step::Materials | Step::Confirm => {
            Form::default().with("delivery", "courier").with("invoice_kind", "none").with("invoice_delivery", "email")
        }
    }
}

async fn show_step(
    state: &AppState,
    visitor: &Visitor,
    user: &app::sessions::CurrentUser,
    view: ApplicationView,
    step: Step,
    form: Form,
    status: StatusCode,
) -> PageResult {
    let title = step.label();
    let (catalog, addresses) = match (state.app.catalog().await, state.app.address_book().list_addresses(user).await) {
        (Ok(c), Ok(a)) => (c, a),
        (Err(err), _) | (_, Err(err)) => return Err(err.into()),
    };
    let packages = catalog.packages.iter().filter(|p| p.subject_kind == view.record.subject_kind).cloned().collect();
    let consented = state.app.has_consent(user).await?;
    let editing = match state.app.open_order_of(user, view.record.id).await {
        Ok(Some((order, domain::OrderStatus::Rejected))) => Some(order),
        Ok(_) => None,
        Err(err) => return Err(err.into()),
    };
    let readings = state.app.reading_progress(user, view.record.id).await?;
    let notice = form.notice.clone();
    let divisions = Divisions::get();
    let (cities, counties) = divisions.choices(form.value("new_province_code"), form.value("new_city_code"));
    let page = StepPage {
        layout: Layout::new(state, visitor, title, Nav::Apply).with_notice(notice.as_deref()),
        user_types: view.record.subject_kind.user_types(),
        view,
        step,
        steps: Step::ALL,
        form,
        packages,
        catalog,
        addresses,
        idempotency_key: app::crypto::random_token(),
        consented,
        consent_text: CONSENT_TEXT,
        consent_version: CONSENT_VERSION,
        provinces: divisions.provinces(),
        cities,
        counties,
        editing,
        readings,
    };
    Ok(render(status, &page))
}

/// Every step's fields; each step reads the ones it owns.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StepFields {
    package_id: String,
    company_name: String,
    credit_code: String,
    user_type: String,
    holder_name: String,
    holder_id_number: String,
    name: String,
    id_number: String,
    phone: String,
    email: String,
    delivery: String,
    address_id: String,
    new_recipient: String,
    new_phone: String,
    new_province_code: String,
    new_city_code: String,
    new_district_code: String,
    new_detail: String,
    pickup_point_id: String,
    invoice_kind: String,
    invoice_title: String,
    invoice_taxpayer_no: String,
    invoice_address_phone: String,
    invoice_bank_account: String,
    invoice_delivery: String,
    invoice_email: String,
    invoice_address_id: String,
    idempotency_key: String,
}

async fn save_step(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath((id, step)): PagePath<(ApplicationId, String)>,
    FormBody(f): FormBody<StepFields>,
) -> PageResult {
    let Some(step) = Step::parse(&step) else {
        return Err(PageError::not_found());
    };
    let app = &state.app;
    let (result, next) = match step {
        Step::Package => {
            (app.choose_package(&user, id, f.package_id.parse().unwrap_or(-1)).await.map(|_| ()), Step::Subject)
        }
        Step::Subject => {
            let form = SubjectForm {
                company_name: f.company_name.clone(),
                credit_code: f.credit_code.clone(),
                user_type: f.user_type.clone(),
                holder_name: f.holder_name.clone(),
                holder_id_number: f.holder_id_number.clone(),
            };
            (app.save_subject(&user, id, &form).await.map(|_| ()), Step::Agent)
        }
        Step::Agent => {
            let form = AgentForm {
                name: f.name.clone(),
                id_number: f.id_number.clone(),
                phone: f.phone.clone(),
                email: f.email.clone(),
            };
            (app.save_agent(&user, id, &form).await.map(|_| ()), Step::Materials)
        }
        Step::Materials => match app.application(&user, id).await {
            Ok(view) if view.missing_documents().is_empty() => match app.open_order_of(&user, id).await {
                // 修改订单 done: 下一步 resubmits the order as it was (delivery, invoice) for review.
                Ok(Some((order, domain::OrderStatus::Rejected))) => match app.resubmit_order(&user, order).await {
                    Ok(_) => return Ok(see_other(&format!("/orders/{}?notice=order_resubmitted", order.0))),
                    Err(err) => (Err(err), step),
                },
                Ok(_) => (Ok(()), Step::Confirm),
                Err(err) => (Err(err), step),
            },
            Ok(view) => {
                let missing: Vec<&str> = view.missing_documents().iter().map(|k| k.label()).collect();
                let message = format!("还有材料未上传：{}", missing.join("、"));
                (Err(app::Error::Conflict { code: "documents_missing", message }), step)
            }
            Err(err) => (Err(err), step),
        },
        Step::Confirm => {
            let form = confirm_form(&f);
            match app.confirm_order(&user, id, &form, &f.idempotency_key).await {
                Ok(order) => return Ok(see_other(&format!("/orders/{}?notice=order_created", order.record.id))),
                // The new address's fields are named as on this form.
                Err(app::Error::Validation(errors)) => {
                    let mut named = FieldErrors::new();
                    for e in errors.iter() {
                        named.add(inline_field(e.field), e.code, e.message.clone());
                    }
                    (Err(app::Error::Validation(named)), step)
                }
                Err(err) => (Err(err), step),
            }
        }
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/applications/{}/{}", id.0, next.as_str()))),
        Err(err @ (app::Error::NotFound | app::Error::Unauthenticated)) => Err(err.into()),
        Err(err) => reshow(&state, &visitor, &user, id, step, f, err).await,
    }
}

/// The step again, with what was typed and the error beside its field.
async fn reshow(
    state: &AppState,
    visitor: &Visitor,
    user: &app::sessions::CurrentUser,
    id: ApplicationId,
    step: Step,
    f: StepFields,
    err: app::Error,
) -> PageResult {
    let view = state.app.application(user, id).await?;
    let mut form = refill(f);
    let status = form.fail(err);
    show_step(state, visitor, user, view, step, form, status).await
}

/// The address typed into 确认订单 when none of the saved ones fits.
fn inline_address(f: &StepFields) -> AddressDraft {
    AddressDraft {
        recipient: f.new_recipient.clone(),
        phone: f.new_phone.clone(),
        province_code: f.new_province_code.clone(),
        city_code: f.new_city_code.clone(),
        district_code: f.new_district_code.clone(),
        detail: f.new_detail.clone(),
        is_default: false,
    }
}

/// Address-book field names as they appear in the inline form.
fn inline_field(field: &'static str) -> &'static str {
    match field {
        "new_address.recipient" => "new_recipient",
        "new_address.phone" => "new_phone",
        "new_address.province_code" => "new_province_code",
        "new_address.city_code" => "new_city_code",
        "new_address.district_code" => "new_district_code",
        "new_address.detail" => "new_detail",
        other => other,
    }
}

fn confirm_form(f: &StepFields) -> ConfirmForm {
    ConfirmForm {
        delivery: f.delivery.clone(),
        address_id: f.address_id.parse().ok(),
        new_address: (f.delivery == "courier" && f.address_id == "new").then(|| inline_address(f)),
        pickup_point_id: f.pickup_point_id.parse().ok(),
        invoice: InvoiceDraft {
            kind: f.invoice_kind.clone(),
            title: f.invoice_title.clone(),
            taxpayer_no: f.invoice_taxpayer_no.clone(),
            address_phone: f.invoice_address_phone.clone(),
            bank_account: f.invoice_bank_account.clone(),
            delivery: f.invoice_delivery.clone(),
            email: f.invoice_email.clone(),
        },
        invoice_address_id: f.invoice_address_id.parse().ok(),
    }
}

/// What was typed comes back into the form (ID numbers never do).
fn refill(f: StepFields) -> Form {
    Form::default()
        .with("package_id", f.package_id)
        .with("company_name", f.company_name)
        .with("credit_code", f.credit_code)
        .with("user_type", f.user_type)
        .with("holder_name", f.holder_name)
        .with("name", f.name)
        .with("phone", f.phone)
        .with("email", f.email)
        .with("delivery", f.delivery)
        .with("address_id", f.address_id)
        .with("new_recipient", f.new_recipient)
        .with("new_phone", f.new_phone)
        .with("new_province_code", f.new_province_code)
        .with("new_city_code", f.new_city_code)
        .with("new_district_code", f.new_district_code)
        .with("new_detail", f.new_detail)
        .with("pickup_point_id", f.pickup_point_id)
        .with("invoice_kind", f.invoice_kind)
        .with("invoice_title", f.invoice_title)
        .with("invoice_taxpayer_no", f.invoice_taxpayer_no)
        .with("invoice_address_phone", f.invoice_address_phone)
        .with("invoice_bank_account", f.invoice_bank_account)
        .with("invoice_delivery", f.invoice_delivery)
        .with("invoice_email", f.invoice_email)
        .with("invoice_address_id", f.invoice_address_id)
}

/// Documents OCR reads (their photo is shown beside the fields it fills).
fn is_read(kind: DocumentKind) -> bool {
    app::recognition::ocr_kind(kind).is_some()
}
