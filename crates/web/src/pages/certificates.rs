//! 我的证书: the applicant's certificates with where each stands (有效 / 即将过期 / 已过期 /
//! 已吊销), one certificate's details, and its download as PEM or DER.

use app::certificates::CertificateView;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::{Layout, Nav, failure, local_time, render};
use crate::AppState;
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

async fn list(State(state): State<AppState>, PageUser(user, visitor): PageUser) -> Response {
    match state.app.my_certificates(&user).await {
        Ok(certificates) => {
            let layout = Layout::new(&state, &visitor, "我的证书", Nav::Certificates);
            render(StatusCode::OK, &ListPage { layout, certificates })
        }
        Err(err) => failure(&state, &err),
    }
}

/// `/certificates/{serial}` shows it; `{serial}.pem` and `{serial}.cer` download it.
async fn detail(
    State(state): State<AppState>,
    PageUser(user, visitor): PageUser,
    Path(file): Path<String>,
) -> Response {
    let (serial, download) = match file.rsplit_once('.') {
        Some((serial, "pem")) => (serial, Some(false)),
        Some((serial, "cer" | "der")) => (serial, Some(true)),
        _ => (file.as_str(), None),
    };
    let c = match state.app.my_certificate(&user, serial).await {
        Ok(c) => c,
        Err(err) => return failure(&state, &err),
    };
    if let Some(der) = download {
        return crate::api::certificates::download(&c, der);
    }
    let layout = Layout::new(&state, &visitor, "证书详情", Nav::Certificates);
    render(StatusCode::OK, &DetailPage { layout, c })
}
