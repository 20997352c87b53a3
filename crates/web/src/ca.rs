//! What the certificate authority publishes to anyone, without a login: each issuing CA's
//! revocation list at the URL its certificates name (`/ca/sm2.crl`, `/ca/ecdsa-p256.crl`) and
//! each root certificate (`/ca/sm2-root.crt`, `/ca/ecdsa-p256-root.crt`), as DER; and every
//! issuing CA with its root as one PEM file (`/pki/ca.pem`), what `openssl verify -CAfile` takes.

use app::Error;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::certificate::KeyAlgorithm;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/ca/{file}", get(published)).route("/pki/ca.pem", get(chains))
}

async fn chains(State(state): State<AppState>) -> Response {
    match state.app.ca_chains_pem().await {
        Ok(pem) => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file"),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::CONTENT_DISPOSITION, "inline; filename=\"ca.pem\""),
            ],
            pem,
        )
            .into_response(),
        Err(Error::NotFound) => (StatusCode::NOT_FOUND, "没有这个文件").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "证书服务暂时不可用，请稍后再试").into_response(),
    }
}

enum File {
    RevocationList,
    Root,
}

fn parse(file: &str) -> Option<(KeyAlgorithm, File)> {
    if let Some(name) = file.strip_suffix("-root.crt") {
        return KeyAlgorithm::parse(name).map(|a| (a, File::Root));
    }
    file.strip_suffix(".crl").and_then(KeyAlgorithm::parse).map(|a| (a, File::RevocationList))
}

async fn published(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((algorithm, kind)) = parse(&file) else {
        return (StatusCode::NOT_FOUND, "没有这个文件").into_response();
    };
    let (found, content_type, max_age) = match kind {
        // Made afresh on every request: a revocation is public the moment it is made.
        File::RevocationList => (state.app.revocation_list(algorithm).await, "application/pkix-crl", 60),
        File::Root => (state.app.root_certificate(algorithm).await, "application/pkix-cert", 86_400),
    };
    match found {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            ],
            bytes,
        )
            .into_response(),
        Err(Error::NotFound) => (StatusCode::NOT_FOUND, "没有这个文件").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "证书服务暂时不可用，请稍后再试").into_response(),
    }
}
