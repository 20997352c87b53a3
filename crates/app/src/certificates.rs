//! 数字证书: the certificate authority behind the desk, and what it publishes to anyone — each
//! issuing CA's revocation list and each root certificate.

use std::sync::Arc;

use domain::certificate::KeyAlgorithm;

use crate::ca::{CaError, CertificateAuthority};
use crate::{App, Error};

impl App {
    /// The same app, certifying through `ca`.
    #[must_use]
    pub fn with_ca(mut self, ca: Arc<dyn CertificateAuthority>) -> Self {
        self.ca = Some(ca);
        self
    }

    /// The current revocation list of `algorithm`'s issuing CA (DER), made now.
    pub async fn revocation_list(&self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, Error> {
        let ca = self.ca.as_ref().ok_or(Error::NotFound)?;
        ca.crl(algorithm, self.clock.now()).await.map_err(ca_error)
    }

    /// The root certificate of `algorithm` (DER), for relying parties' trust stores.
    pub async fn root_certificate(&self, algorithm: KeyAlgorithm) -> Result<Vec<u8>, Error> {
        let ca = self.ca.as_ref().ok_or(Error::NotFound)?;
        ca.root(algorithm).await.map_err(ca_error)
    }
}

fn ca_error(err: CaError) -> Error {
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
