//! 制证工作站: the production station on the fulfilment workstation, where the blank USB-Key is
//! plugged in. It authenticates with an API token a fulfilment staff member creates in the back
//! office (shown once, only its digest kept, revocable), acts as that staff member with the
//! fulfilment role only, and hands back the PINs it initialised the key with (sealed here: the
//! user PIN reaches the applicant once the key is in their hands, the SO PIN stays for a later
//! unlock).

use domain::OrderId;
use domain::staff::{Role, Roles};

use crate::crypto::{random_token, token_digest};
use crate::ports::{KeyPins, StationTokenRecord};
use crate::staff::CurrentStaff;
use crate::{App, Error};

/// Station tokens start with this, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "sdst_";

pub(crate) const USER_PIN: &str = "key-user-pin";
const SO_PIN: &str = "key-so-pin";

/// A token just created: the only time its secret is seen.
#[derive(Clone)]
pub struct NewStationToken {
    pub id: domain::StationTokenId,
    pub token: String,
}

/// The PINs a station initialised an order's key with.
#[derive(Clone)]
pub struct PinReport<'a> {
    pub token_serial: &'a str,
    pub user_pin: &'a str,
    pub so_pin: &'a str,
}

fn pin_ok(pin: &str) -> bool {
    (6..=32).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_graphic())
}

impl App {
    /// Creates a station token for the fulfilment staff member themselves.
    pub async fn create_station_token(&self, staff: &CurrentStaff, name: &str) -> Result<NewStationToken, Error> {
        staff.require(&[Role::Fulfilment])?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err(Error::field("name", "name_invalid", "请填写工作站名称（1–40 个字）"));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_token());
        let id = self.store.create_station_token(staff.id, name, &token_digest(&token), self.clock.now()).await?;
        self.audit(Some(staff.id), "station_token.created", None, &format!("#{id} {name}")).await?;
        Ok(NewStationToken { id, token })
    }

    pub async fn station_tokens(&self, staff: &CurrentStaff) -> Result<Vec<StationTokenRecord>, Error> {
        staff.require(&[Role::Fulfilment])?;
        Ok(self.store.station_tokens(staff.id).await?)
    }

    pub async fn revoke_station_token(&self, staff: &CurrentStaff, id: domain::StationTokenId) -> Result<(), Error> {
        staff.require(&[Role::Fulfilment])?;
        if !self.store.revoke_station_token(staff.id, id, self.clock.now()).await? {
            return Err(Error::NotFound);
        }
        self.audit(Some(staff.id), "station_token.revoked", None, &format!("#{id}")).await
    }

    /// The staff member a station token acts for — with the fulfilment role only, and only while
    /// the token is not revoked and they still hold that role and are not disabled.
    pub async fn authenticate_station(&self, token: &str) -> Result<Option<CurrentStaff>, Error> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let digest = token_digest(token);
        let Some(staff_id) = self.store.station_token_staff(&digest, self.clock.now()).await? else {
            return Ok(None);
        };
        let Some(staff) = self.store.staff_by_id(staff_id).await?.filter(|s| !s.disabled) else { return Ok(None) };
        if !staff.roles.contains(Role::Fulfilment) {
            return Ok(None);
        }
        Ok(Some(CurrentStaff {
            id: staff.id,
            username: staff.username,
            name: staff.name,
            phone: staff.phone,
            roles: Roles::of(&[Role::Fulfilment]),
            session_digest: digest,
            must_change_password: false,
        }))
    }

    /// The PINs, checked and sealed, to keep with the order's certificate.
    pub(crate) fn seal_pins(&self, id: OrderId, pins: &PinReport<'_>) -> Result<KeyPins, Error> {
        let serial = pins.token_serial.trim();
        if serial.is_empty() || serial.chars().count() > 64 {
            return Err(Error::field("token_serial", "token_serial_invalid", "请提供介质序列号"));
        }
        if !pin_ok(pins.user_pin) || !pin_ok(pins.so_pin) {
            return Err(Error::field("pin", "pin_invalid", "PIN 应为 6–32 位可见字符"));
        }
        Ok(KeyPins {
            order_id: id,
            token_serial: serial.to_owned(),
            user_pin_sealed: self.keys.seal(USER_PIN, pins.user_pin)?,
            so_pin_sealed: self.keys.seal(SO_PIN, pins.so_pin)?,
            stored_at: self.clock.now(),
        })
    }
}

/// What a station shows before it produces an order's key.
#[derive(Debug, Clone)]
pub struct StationOrder {
    pub order: crate::ports::OrderRecord,
    pub certificate: Option<crate::certificates::CertificateView>,
    /// The subject the desk will certify, for the station to name in its request (an external CA
    /// certifies what a `p10cr` names); `None` while the application lacks what it needs.
    pub subject: Option<domain::certificate::Subject>,
}

impl App {
    pub async fn station_order(&self, staff: &CurrentStaff, id: OrderId) -> Result<StationOrder, Error> {
        staff.require(&[Role::Fulfilment])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let certificate = self.store.certificate_in_force(id).await?.map(|record| self.certificate_view(record));
        let subject = match self.certifying(&order).await {
            Ok(certifying) => Some(certifying.subject),
            Err(Error::Conflict { .. } | Error::NotFound) => None,
            Err(err) => return Err(err),
        };
        Ok(StationOrder { order, certificate, subject })
    }
}

/// A key made on the desk itself for an order: its PKCS#10 request (naming the subject given,
/// signed by the key) and the token's serial and PINs.
#[derive(Clone)]
pub struct LocalKey {
    pub request_der: Vec<u8>,
    pub token_serial: String,
    pub user_pin: String,
    pub so_pin: String,
}

/// Development only: a software token per order on the desk's own disk, so a key can be produced
/// from the back office without a workstation (the same request, CA and records as a station's).
#[async_trait::async_trait]
pub trait LocalKeyMaker: Send + Sync {
    async fn request(
        &self,
        order: OrderId,
        algorithm: domain::certificate::KeyAlgorithm,
        subject: &domain::certificate::Subject,
    ) -> Result<LocalKey, String>;
    /// Writes the certificate, its chain and the electronic seal (when one was made) to the
    /// token and checks them read back.
    async fn store(
        &self,
        order: OrderId,
        certificate: &[u8],
        chain: &[Vec<u8>],
        seal: Option<&[u8]>,
    ) -> Result<(), String>;
}

impl App {
    /// The same app, making development keys with `maker`.
    #[must_use]
    pub fn with_local_keys(mut self, maker: std::sync::Arc<dyn LocalKeyMaker>) -> Self {
        self.local_keys = Some(maker);
        self
    }

    /// Whether keys can be made on the desk itself (development).
    pub fn makes_local_keys(&self) -> bool {
        self.local_keys.is_some()
    }

    /// 制证 on the desk's own software token (development): as a station would, without one.
    pub async fn produce_locally(
        &self,
        staff: &CurrentStaff,
        id: OrderId,
        algorithm: domain::certificate::KeyAlgorithm,
    ) -> Result<crate::certificates::Produced, Error> {
        staff.require(&[Role::Fulfilment])?;
        let maker = self.local_keys.as_ref().ok_or(Error::NotFound)?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let subject = self.certifying(&order).await?.subject;
        let unavailable = |why: String| {
            tracing::error!(error = %why, "local key maker failed");
            Error::Unavailable {
                code: "key_maker_failed", message: "本机软件介质制证失败，请稍后再试".into()
            }
        };
        let key = maker.request(id, algorithm, &subject).await.map_err(unavailable)?;
        let pins = PinReport { token_serial: &key.token_serial, user_pin: &key.user_pin, so_pin: &key.so_pin };
        let produced = self.issue_for_order(staff, id, &key.request_der, &pins).await?;
        maker
            .store(id, &produced.certificate.der, &produced.certificate.chain, produced.seal.as_deref())
            .await
            .map_err(unavailable)?;
        Ok(produced)
    }
}

// Secrets never reach a log through `{:?}`.
impl std::fmt::Debug for NewStationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStationToken").field("id", &self.id).field("token", &"[redacted]").finish()
    }
}

impl std::fmt::Debug for PinReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinReport").field("token_serial", &self.token_serial).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey").field("token_serial", &self.token_serial).finish_non_exhaustive()
    }
}
