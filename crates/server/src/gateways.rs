//! Payment channels from the settings: the real gateways' clients with the configured keys, or,
//! in development, the same clients pointed at the local simulators (served by this process at
//! `/sim/alipay` and `/sim/cpcn`) with key pairs generated on first start.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use app::payment::Gateways;
use axum::Router;
use payments::Gateway;
use payments::alipay::Merchant;
use payments::alipay_client::AlipayGateway;
use payments::cpcn::{CpcnGateway, Institution, Sha1Signer};
use payments::http::HttpClient;
use payments::keys::{SigningKey, VerifyingKey};

use crate::config::{Mode, Settings};

/// The channels, plus the simulators' routes when they are on.
pub struct Channels {
    pub gateways: Gateways,
    pub simulators: Option<Router>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read key file {}", path.display()))
}

/// A dev key pair kept in `dir/<name>.pem`, generated on first use.
fn dev_key(dir: &Path, name: &str) -> anyhow::Result<SigningKey> {
    let path = dir.join(format!("{name}.pem"));
    if !path.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key = SigningKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::write_private(&path, &key.to_pem().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    }
    SigningKey::from_pkcs8(&read(&path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `base` is the origin browsers (and, in development, this process's own clients) use.
pub fn build(settings: &Settings, base: &str) -> anyhow::Result<Channels> {
    let http = HttpClient::new(Duration::from_secs(15)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let notify = |channel: &str| format!("{base}/pay/notify/{channel}");
    let back = |channel: &str| format!("{base}/pay/return/{channel}");
    if settings.payment_simulators() {
        if settings.mode == Mode::Production {
            bail!("payment_simulators cannot be on in production mode");
        }
        let dir = settings.data_dir.join("dev-keys");
        let keys = paysim::SimKeys {
            alipay_app: dev_key(&dir, "alipay-app")?,
            alipay_gateway: dev_key(&dir, "alipay-gateway")?,
            cpcn_institution: dev_key(&dir, "cpcn-institution")?,
            cpcn_gateway: dev_key(&dir, "cpcn-gateway")?,
        };
        let sim = paysim::simulated(base, &keys, &paysim::alipay_retry_schedule())
            .map_err(|e| anyhow::anyhow!("payment simulators: {e}"))?;
        return Ok(Channels { gateways: Gateways::new(sim.gateways), simulators: Some(sim.router) });
    }
    let mut gateways: Vec<Arc<dyn Gateway>> = Vec::new();
    if let Some(a) = &settings.alipay {
        let app_key = SigningKey::from_pkcs8(&read(&a.app_private_key_file)?)
            .map_err(|e| anyhow::anyhow!("alipay.app_private_key_file: {e}"))?;
        let alipay_key = VerifyingKey::from_spki(&read(&a.alipay_public_key_file)?)
            .map_err(|e| anyhow::anyhow!("alipay.alipay_public_key_file: {e}"))?;
        let merchant = Merchant {
            gateway: a.gateway.clone(),
            app_id: a.app_id.clone(),
            seller_id: a.seller_id.clone(),
            notify_url: notify("alipay"),
            return_url: back("alipay"),
        };
        gateways.push(Arc::new(AlipayGateway::new(merchant, app_key, alipay_key, http.clone())));
    }
    if let Some(c) = &settings.cpcn {
        let signer = Sha1Signer::from_pkcs8_pem(&read(&c.private_key_file)?)
            .map_err(|e| anyhow::anyhow!("cpcn.private_key_file: {e}"))?;
        let cpcn_key = VerifyingKey::from_spki(&read(&c.cpcn_public_key_file)?)
            .map_err(|e| anyhow::anyhow!("cpcn.cpcn_public_key_file: {e}"))?;
        let institution = Institution {
            institution_id: c.institution_id.clone(),
            browser_gateway: c.browser_gateway.clone(),
            api_gateway: c.api_gateway.clone(),
            notify_url: notify("cpcn"),
            return_url: back("cpcn"),
        };
        gateways.push(Arc::new(CpcnGateway::new(institution, signer, cpcn_key, http)));
    }
    Ok(Channels { gateways: Gateways::new(gateways), simulators: None })
}
