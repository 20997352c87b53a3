//! The one HTTP client both gateways' server-to-server calls go through: form POSTs with a time
//! limit, answers read as text (the signature checks need the exact bytes).

use std::time::Duration;

use crate::gateway::GatewayError;

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Result<Self, GatewayError> {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(|inner| Self { inner })
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }

    /// POSTs `fields` form-encoded; a non-2xx status is "unavailable".
    pub async fn post_form<'a>(
        &self,
        url: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<String, GatewayError> {
        let body = form_encode(fields);
        let response = self
            .inner
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded;charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| GatewayError::Unavailable(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(GatewayError::Unavailable(format!("HTTP {}", status.as_u16())));
        }
        Ok(text)
    }
}

impl HttpClient {
    /// GETs `url` (http or https only) and reads at most `limit` bytes of the body; a longer
    /// body, a non-2xx status or a failed transfer is "unavailable".
    pub async fn get_bytes(&self, url: &str, limit: usize) -> Result<Vec<u8>, GatewayError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| GatewayError::Unavailable("download: bad URL".into()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GatewayError::Unavailable("download: not an http(s) URL".into()));
        }
        let unavailable = |e: reqwest::Error| GatewayError::Unavailable(e.without_url().to_string());
        let mut response = self.inner.get(parsed).send().await.map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(GatewayError::Unavailable(format!("download: HTTP {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > limit {
                return Err(GatewayError::Unavailable(format!("download: more than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// `application/x-www-form-urlencoded` of the pairs, UTF-8.
pub fn form_encode<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Decodes a form body into its pairs in order, keeping duplicates (the signature rules refuse
/// them, so they must not be merged here).
pub fn form_decode(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
