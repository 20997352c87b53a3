//! 我的证书: the applicant's certificates with where each stands (有效 / 即将过期 / 已过期 /
//! 已吊销), one certificate's details, and its download as PEM or DER.

use app::certificates::CertificateView;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::{Layout, Nav};
use crate::AppState;
use crate::html::{PagePath, PageResult, local_time, render};
use crate::visitor::PageUser;

pub fn router() -> Router<AppState> {
    Router::new().route("/certificates", get(list)).route("/certificates/{file}", get(detail))
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct ListPage {
    layout: Layout,
    certificates: Vec<CertificateView>,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct DetailPage {
    layout: Layout,
    c: CertificateView,
}

fn when(t: time::OffsetDateTime) -> String {
    local_time(t)
}

impl ListPage {
    fn when(t: &time::OffsetDateTime) -> String {
        when(*t)
    }
}

impl DetailPage {
    fn when(t: &time::OffsetDateTime) -> String {
        when(*t)
    }

    /// The fingerprint in pairs, as certificate viewers show it.
    fn fingerprint(&self) -> String {
        let hex = self.c.record.fingerprint.as_bytes();
        hex.chunks(2).map(|p| String::from_utf8_lossy(p).into_owned()).collect::<Vec<_>>().join(":")
    }
}

async fn list(State(state): State<AppState>, PageUser(user, visitor): PageUser) -> PageResult {
    let certificates = state.app.my_certificates(&user).await?;
    let layout = Layout::new(&state, &visitor, "我的证书", Nav::Certificates);
    Ok(render(StatusCode::OK, &ListPage { layout, certificates }))
}

/// `/certificates/{serial}` shows it; `{serial}.pem` and `{serial}.cer` download it;
/// `{serial}.esl` downloads its electronic seal and `{serial}.png` is the seal's picture.
async fn detail(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    PagePath(file): PagePath<String>,
) -> PageResult {
    let (serial, download) = match file.rsplit_once('.') {
        Some((serial, "pem")) => (serial, Some(false)),
        Some((serial, "cer" | "der")) => (serial, Some(true)),
        Some((serial, "esl")) => return seal_file(&state, &user, serial).await,
        Some((serial, "png")) => return seal_picture(&state, &user, serial).await,
        _ => (file.as_str(), None),
    };
    let c = state.app.my_certificate(&user, serial).await?;
    if let Some(der) = download {
        return Ok(crate::files::certificate(&c, der));
    }
    let layout = Layout::new(&state, &visitor, "证书详情", Nav::Certificates);
    Ok(render(StatusCode::OK, &DetailPage { layout, c }))
}

async fn seal_file(state: &AppState, user: &app::sessions::CurrentUser, serial: &str) -> PageResult {
    let seal = state.app.my_seal(user, serial).await?;
    let disposition = format!("attachment; filename=\"{}.esl\"", seal.es_id);
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    Ok((headers, seal.der).into_response())
}

async fn seal_picture(state: &AppState, user: &app::sessions::CurrentUser, serial: &str) -> PageResult {
    let png = state.app.my_seal_picture(user, serial).await?;
    let headers = [(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=300")];
    Ok((headers, png).into_response())
}
