//! Local stand-ins for the payment gateways sealdesk cannot reach from here. Each simulator
//! implements the real endpoints with the real signatures and its own key pair, over the trade
//! ledger semantics of `payments`: a cashier page where a person clicks pay or fail, signed
//! asynchronous notifications with the gateway's retry schedule, and the server-to-server calls.
//! A [`Faults`] switch drops, duplicates, delays or corrupts notifications for tests.
//!
//! Development and tests only: the server mounts these routes when simulators are enabled.

pub mod alipay;
mod bill;
pub mod cpcn;
mod page;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What the simulator does to its notifications.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Never send notifications (the reconciliation job must find the payment).
    pub drop: bool,
    /// Send each attempt this many times at once (0 or 1 = once).
    pub duplicate: usize,
    /// Wait this long before the first attempt.
    pub delay: Duration,
    /// Change a signed field after signing (the receiver must refuse it).
    pub corrupt: bool,
}

/// The real gateways' notification retry schedule (REFERENCE §3.1): immediately, then after
/// 4 m, 10 m, 10 m, 1 h, 2 h, 6 h and 15 h — 8 attempts in about 25 h.
pub fn alipay_retry_schedule() -> Vec<Duration> {
    [0, 4 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600].into_iter().map(Duration::from_secs).collect()
}

/// The schedule shrunk by `factor` (tests run a day of retries in milliseconds).
pub fn compressed(schedule: &[Duration], factor: u32) -> Vec<Duration> {
    schedule.iter().map(|d| *d / factor.max(1)).collect()
}

/// The simulated gateway's own time, as a timestamp string: like the real gateway's, it is not
/// ours to control.
pub(crate) fn gateway_time() -> String {
    payments::gateway::china_timestamp(wall_clock())
}

/// The wall clock the simulated gateways live by (a test may give the Alipay one its own).
#[allow(clippy::disallowed_methods)] // the simulator stands for another party, with its own time
pub(crate) fn wall_clock() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// One notification delivery attempt, as a simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub out_trade_no: String,
    pub attempt: usize,
    /// What the merchant answered (`None`: not reachable).
    pub answer: Option<String>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends a gateway's notifications: the retry schedule, the faults, the delivery log.
#[derive(Clone)]
pub(crate) struct Notifier {
    http: reqwest::Client,
    schedule: Arc<Vec<Duration>>,
    faults: Arc<Mutex<Faults>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Notifier {
    pub(crate) fn new(schedule: Vec<Duration>) -> Self {
        Self {
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default(),
            schedule: Arc::new(schedule),
            faults: Arc::default(),
            deliveries: Arc::default(),
        }
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.deliveries).clone()
    }

    /// Delivers `make()` (fresh, signed form fields per attempt) to `url` until the receiver
    /// answers what `is_ack` accepts or the schedule runs out. `corrupt` spoils signed fields.
    pub(crate) fn spawn<M, A>(
        &self,
        out_trade_no: String,
        url: String,
        make: M,
        corrupt: fn(&mut Vec<(String, String)>),
        is_ack: A,
    ) where
        M: Fn() -> Option<Vec<(String, String)>> + Send + 'static,
        A: Fn(&str) -> bool + Send + 'static,
    {
        let faults = lock(&self.faults).clone();
        if faults.drop {
            return;
        }
        let notifier = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(faults.delay).await;
            for (attempt, wait) in notifier.schedule.iter().enumerate() {
                tokio::time::sleep(*wait).await;
                let Some(mut fields) = make() else { return };
                if faults.corrupt {
                    corrupt(&mut fields);
                }
                // Copies race each other on their own connections, as retries crossing do.
                let sends: Vec<_> = (0..faults.duplicate.max(1))
                    .map(|_| {
                        let (http, url, body) = (notifier.http.clone(), url.clone(), form_encode(&fields));
                        tokio::spawn(async move { deliver(&http, &url, body).await })
                    })
                    .collect();
                let mut acknowledged = false;
                for send in sends {
                    let answer = send.await.ok().flatten();
                    acknowledged |= answer.as_deref().is_some_and(&is_ack);
                    lock(&notifier.deliveries).push(Delivery { out_trade_no: out_trade_no.clone(), attempt, answer });
                }
                if acknowledged {
                    return;
                }
            }
        });
    }
}

async fn deliver(http: &reqwest::Client, url: &str, body: String) -> Option<String> {
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(body)
        .send()
        .await
        .ok()?;
    response.text().await.ok()
}

pub(crate) fn form_encode(fields: &[(String, String)]) -> String {
    payments::http::form_encode(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The four key pairs of a simulated setup: ours (app, institution) and the gateways'.
pub struct SimKeys {
    pub alipay_app: payments::keys::SigningKey,
    pub alipay_gateway: payments::keys::SigningKey,
    pub cpcn_institution: payments::keys::SigningKey,
    pub cpcn_gateway: payments::keys::SigningKey,
}

impl SimKeys {
    /// Fresh keys (tests; the server keeps its dev keys in the data directory).
    pub fn generate() -> Result<Self, payments::keys::KeyError> {
        use payments::keys::SigningKey;
        Ok(Self {
            alipay_app: SigningKey::generate()?,
            alipay_gateway: SigningKey::generate()?,
            cpcn_institution: SigningKey::generate()?,
            cpcn_gateway: SigningKey::generate()?,
        })
    }
}

/// Both simulators and the production clients pointed at them.
pub struct Simulated {
    pub alipay: alipay::AlipaySim,
    pub cpcn: cpcn::CpcnSim,
    /// The production clients, configured for the simulators.
    pub gateways: Vec<Arc<dyn payments::Gateway>>,
    /// `/sim/alipay/…` and `/sim/cpcn/…`.
    pub router: axum::Router,
}

pub const SIM_APP_ID: &str = "2021000000000001";
pub const SIM_SELLER_ID: &str = "2088000000000001";
pub const SIM_INSTITUTION_ID: &str = "001234";

/// Everything at `base` (the origin that serves both our site and the simulators).
pub fn simulated(
    base: &str,
    keys: &SimKeys,
    retry_schedule: &[Duration],
) -> Result<Simulated, payments::keys::KeyError> {
    use payments::alipay::Merchant;
    use payments::alipay_client::AlipayGateway;
    use payments::cpcn::{CpcnGateway, Institution, Sha1Signer};
    use payments::keys::{SigningKey, VerifyingKey};

    let public = |k: &SigningKey| VerifyingKey::from_spki(&k.public_pem()?);
    let copy = |k: &SigningKey| SigningKey::from_pkcs8(&k.to_pem()?);
    let sha1 = |k: &SigningKey| Sha1Signer::from_pkcs8_pem(&k.to_pem()?);
    let http =
        payments::http::HttpClient::new(Duration::from_secs(15)).map_err(|_| payments::keys::KeyError::Rejected)?;

    let alipay = alipay::AlipaySim::new(alipay::AlipaySimConfig {
        app_id: SIM_APP_ID.into(),
        seller_id: SIM_SELLER_ID.into(),
        merchant_key: public(&keys.alipay_app)?,
        gateway_key: copy(&keys.alipay_gateway)?,
        public_base: format!("{base}/sim/alipay"),
        retry_schedule: retry_schedule.to_vec(),
    });
    let cpcn = cpcn::CpcnSim::new(cpcn::CpcnSimConfig {
        institution_id: SIM_INSTITUTION_ID.into(),
        institution_key: public(&keys.cpcn_institution)?,
        gateway_signer: sha1(&keys.cpcn_gateway)?,
        public_base: format!("{base}/sim/cpcn"),
        retry_schedule: retry_schedule.to_vec(),
    });
    let alipay_client: Arc<dyn payments::Gateway> = Arc::new(AlipayGateway::new(
        Merchant {
            gateway: format!("{base}/sim/alipay/gateway.do"),
            app_id: SIM_APP_ID.into(),
            seller_id: SIM_SELLER_ID.into(),
            notify_url: format!("{base}/pay/notify/alipay"),
            return_url: format!("{base}/pay/return/alipay"),
        },
        copy(&keys.alipay_app)?,
        public(&keys.alipay_gateway)?,
        http.clone(),
    ));
    let cpcn_client: Arc<dyn payments::Gateway> = Arc::new(CpcnGateway::new(
        Institution {
            institution_id: SIM_INSTITUTION_ID.into(),
            browser_gateway: format!("{base}/sim/cpcn/Gateway/InterfaceI"),
            api_gateway: format!("{base}/sim/cpcn/Gateway/InterfaceII"),
            notify_url: format!("{base}/pay/notify/cpcn"),
            return_url: format!("{base}/pay/return/cpcn"),
        },
        sha1(&keys.cpcn_institution)?,
        public(&keys.cpcn_gateway)?,
        http,
    ));
    let router = axum::Router::new().nest("/sim/alipay", alipay.router()).nest("/sim/cpcn", cpcn.router());
    Ok(Simulated { alipay, cpcn, gateways: vec![alipay_client, cpcn_client], router })
}
