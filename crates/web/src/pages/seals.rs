//! 验证电子印章: anyone — no login — uploads a seal file and sees what it says and whether it
//! holds: structure, the maker's signature and certificate, validity, the holder certificate's
//! status in our current revocation lists, with the seal's picture.

use app::seal_maker::SealReport;
use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use base64::Engine as _;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{PageResult, local_time, render};
use crate::visitor::Visitor;

pub fn router() -> Router<AppState> {
    Router::new().route("/seals/verify", get(form).post(verify))
}

#[derive(Template)]
#[template(path = "seal_verify.html")]
struct VerifyPage {
    layout: Layout,
    report: Option<SealReport>,
    error: Option<String>,
}

impl VerifyPage {
    fn when(t: &time::OffsetDateTime) -> String {
        local_time(*t)
    }

    /// The seal's PNG as a `data:` address (the CSP allows data: images, nothing else inline).
    fn picture(report: &SealReport) -> Option<String> {
        (report.picture_format.eq_ignore_ascii_case("PNG") && report.picture.starts_with(b"\x89PNG")).then(|| {
            format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&report.picture))
        })
    }

    fn kind(report: &SealReport) -> &'static str {
        report.kind().map_or("其他类型", |k| k.label())
    }
}

fn page(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    report: Option<SealReport>,
    error: Option<String>,
) -> Response {
    let layout = Layout::new(state, visitor, "验证电子印章", Nav::None);
    render(status, &VerifyPage { layout, report, error })
}

async fn form(State(state): State<AppState>, visitor: Visitor) -> Response {
    page(&state, &visitor, StatusCode::OK, None, None)
}

async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let file = crate::html::uploaded_file(multipart).await;
    if file.is_empty() {
        let error = Some("请选择要验证的电子印章文件（.esl）".to_owned());
        return Ok(page(&state, &visitor, StatusCode::UNPROCESSABLE_ENTITY, None, error));
    }
    match state.app.verify_seal(&file).await {
        Ok(report) => Ok(page(&state, &visitor, StatusCode::OK, Some(report), None)),
        Err(app::Error::Validation(errors)) => {
            let error = errors.message_for("file").map(str::to_owned);
            Ok(page(&state, &visitor, StatusCode::UNPROCESSABLE_ENTITY, None, error))
        }
        Err(err) => Err(err.into()),
    }
}
