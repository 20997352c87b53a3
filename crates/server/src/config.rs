//! Settings: built-in defaults, then a TOML file, then `SEALDESK_*` environment variables, then
//! command-line flags. Secrets are `secrecy` types and are never printed.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Local use: dev outbox for SMS and email, generated secret key.
    Development,
    /// Real deployment: real gateways and a configured secret key are required.
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Where the embedded database, the generated secret key and (later) uploads live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; default: SQLite in `data_dir`.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    /// At least 32 bytes, hex-encoded. Development generates one in `data_dir/secret.key`.
    #[serde(skip_serializing)]
    pub secret_key: Option<SecretString>,
    /// The origin browsers use, e.g. `https://seal.example.cn`.
    pub public_origin: Option<String>,
    /// Use `Secure` + `__Host-` cookies; default: on when `public_origin` is https.
    pub secure_cookies: Option<bool>,
    /// Take the client address from `X-Forwarded-For` (only behind our own proxy).
    pub trust_forwarded_for: bool,
    /// The customer-service hotline; required in production (development shows a demo number).
    pub hotline: String,
    pub operator: String,
    /// The one signature every SMS carries in 【】 (the gateway's approved SignName).
    pub sms_signature: String,
    pub log_format: Option<LogFormat>,
    /// Minutes an order may stay unpaid before it is cancelled automatically.
    pub unpaid_order_ttl_minutes: u32,
    /// Days after shipping before a couriered order completes by itself.
    pub auto_complete_days: u32,
    /// The diameter of a company's round seal: 38, 40 or 42 (millimetres).
    pub seal_diameter_mm: u32,
    /// The fonts seal characters are cut from, in order of preference (TrueType/OpenType; the
    /// first present is used, the next for characters it lacks).
    pub seal_fonts: Vec<PathBuf>,
    /// Refunds above this many yuan need a second finance person's approval.
    pub refund_approval_above_yuan: u32,
    /// Serve the local Alipay and CPCN simulators at `/sim/…` and pay through them; default: on
    /// in development, refused in production.
    pub payment_simulators: Option<bool>,
    /// The real Alipay gateway (TOML table `[alipay]`); ignored while simulators are on.
    pub alipay: Option<AlipaySettings>,
    /// The real CPCN gateway (TOML table `[cpcn]`); ignored while simulators are on.
    pub cpcn: Option<CpcnSettings>,
    /// Read uploaded licenses and ID cards with the on-premise OCR engine.
    pub ocr: bool,
    /// Where the PP-OCRv4 models are; default: `SEALDESK_MODELS_DIR`, else `~/.cache/sealdesk/models`.
    pub ocr_models_dir: Option<PathBuf>,
    /// Photos read at the same time (each uses a CPU core).
    pub ocr_workers: usize,
    /// Photos that may wait for a worker before uploads are told "busy, retry".
    pub ocr_queue: usize,
    /// The mail relay (TOML table `[smtp]`); without it, development mail goes to the dev outbox.
    pub smtp: Option<SmtpConfig>,
    /// The SMS gateway (TOML table `[sms]`); without it, development SMS go to the dev outbox.
    pub sms: Option<SmsConfig>,
    /// Uploads on S3-compatible object storage (TOML table `[s3]`); without it, on the local
    /// disk in `data_dir/uploads` (one instance only).
    pub s3: Option<S3Config>,
    /// An external CA reached over CMP (TOML table `[cmp]`); without it, the built-in CA in
    /// `data_dir/ca`.
    pub cmp: Option<CmpConfig>,
    /// The built-in CA's P-256 issuing key on a PKCS#11 token (TOML table `[ca_hsm]`), made
    /// there when the CA is created; without it, sealed under the master key in `data_dir/ca`.
    pub ca_hsm: Option<CaHsmConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaHsmConfig {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: String,
    /// The label of the initialised token.
    pub token_label: String,
    /// A file holding the token's user PIN (else `SEALDESK_CA_HSM_PIN`).
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
}

impl CaHsmConfig {
    pub fn settings(&self) -> anyhow::Result<ca::HsmSettings> {
        use anyhow::Context as _;
        let pin = match &self.pin_file {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("ca_hsm.pin_file {}", file.display()))?
                .trim()
                .to_owned(),
            None => std::env::var("SEALDESK_CA_HSM_PIN")
                .map_err(|_| anyhow::anyhow!("[ca_hsm] needs pin_file or SEALDESK_CA_HSM_PIN"))?,
        };
        Ok(ca::HsmSettings { module: self.module.clone(), token_label: self.token_label.clone(), pin })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmpConfig {
    /// The CA's CMP endpoint, e.g. `https://ca.example.com/pkix/`.
    pub url: String,
    /// How the CA knows the desk (the `senderKID` of its messages).
    pub reference: String,
    /// The CA's name, e.g. `CN=Example Issuing CA, O=Example`.
    pub recipient: String,
    /// A file holding the shared secret of the messages' MAC (else `SEALDESK_CMP_SECRET`).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// PEM: the issuing CA certificate, then its root, for ECDSA P-256 certificates.
    #[serde(default)]
    pub ecdsa_p256_chain: Option<PathBuf>,
    /// PEM: the same for SM2 certificates.
    #[serde(default)]
    pub sm2_chain: Option<PathBuf>,
}

impl CmpConfig {
    /// The client's settings: the secret read, the chains' PEM files read into DER.
    pub fn client_settings(&self) -> anyhow::Result<cmp::CmpSettings> {
        use anyhow::Context as _;
        let secret = match &self.secret_file {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("cmp.secret_file {}", file.display()))?
                .trim()
                .to_owned(),
            None => std::env::var("SEALDESK_CMP_SECRET")
                .map_err(|_| anyhow::anyhow!("[cmp] needs secret_file or SEALDESK_CMP_SECRET"))?,
        };
        let mut chains = Vec::new();
        for (algorithm, file) in [
            (domain::certificate::KeyAlgorithm::EcdsaP256, &self.ecdsa_p256_chain),
            (domain::certificate::KeyAlgorithm::Sm2, &self.sm2_chain),
        ] {
            let Some(file) = file else { continue };
            let text = std::fs::read_to_string(file).with_context(|| format!("cmp chain {}", file.display()))?;
            let blocks = pem_certificates(&text);
            anyhow::ensure!(!blocks.is_empty(), "cmp chain {}: no PEM certificate in it", file.display());
            chains.push((algorithm, blocks));
        }
        anyhow::ensure!(!chains.is_empty(), "[cmp] needs ecdsa_p256_chain or sm2_chain");
        Ok(cmp::CmpSettings {
            url: self.url.clone(),
            secret,
            reference: self.reference.clone(),
            recipient: self.recipient.clone(),
            chains,
        })
    }
}

/// The DER of every `CERTIFICATE` block in a PEM text.
fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (&mut body, line) {
            (None, "-----BEGIN CERTIFICATE-----") => body = Some(String::new()),
            (Some(b), "-----END CERTIFICATE-----") => {
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b.as_bytes()) {
                    out.push(der);
                }
                body = None;
            }
            (Some(b), line) => b.push_str(line),
            (None, _) => {}
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// `https://s3.cn-north-1.amazonaws.com.cn`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "s3_region")]
    pub region: String,
    pub access_key_id: String,
    /// The secret itself (better: the environment's `SEALDESK_S3_SECRET_ACCESS_KEY`, or …
    #[serde(skip_serializing, default)]
    pub secret_access_key: Option<SecretString>,
    /// … a file holding it).
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Keys go under this prefix, so a bucket can be shared.
    #[serde(default)]
    pub prefix: String,
}

fn s3_region() -> String {
    "us-east-1".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `starttls` (587), `tls` (465) or `plain` (a relay on the same host).
    pub security: String,
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<SecretString>,
    /// `电子签章服务中心 <noreply@seal.example.cn>`
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// `aliyun` (the one provider this build speaks).
    pub provider: String,
    #[serde(default = "aliyun_endpoint")]
    pub endpoint: String,
    pub access_key_id: String,
    #[serde(skip_serializing)]
    pub access_key_secret: SecretString,
    /// The approved signature; the top-level `sms_signature` when left out.
    #[serde(default)]
    pub sign_name: String,
    /// An approved template whose only variable is `${content}`.
    pub template_code: String,
}

fn aliyun_endpoint() -> String {
    "https://dysmsapi.aliyuncs.com/".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlipaySettings {
    /// `https://openapi.alipay.com/gateway.do`
    pub gateway: String,
    pub app_id: String,
    /// Our seller (partner) id, `2088…`.
    pub seller_id: String,
    /// Our app private key, PKCS#8 PEM.
    pub app_private_key_file: PathBuf,
    /// Alipay's public key, X.509 SPKI PEM.
    pub alipay_public_key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpcnSettings {
    /// `https://www.china-clearing.com/Gateway/InterfaceI`
    pub browser_gateway: String,
    /// `https://www.china-clearing.com/Gateway/InterfaceII`
    pub api_gateway: String,
    pub institution_id: String,
    /// Our institution private key, PKCS#8 PEM (converted from the issued `.pfx`).
    pub private_key_file: PathBuf,
    /// CPCN's public key, X.509 SPKI PEM.
    pub cpcn_public_key_file: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::Development,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data-dev"),
            database_url: None,
            secret_key: None,
            public_origin: None,
            secure_cookies: None,
            trust_forwarded_for: false,
            hotline: String::new(),
            operator: "电子签章服务中心".into(),
            sms_signature: "电子签章".into(),
            log_format: None,
            unpaid_order_ttl_minutes: 24 * 60,
            auto_complete_days: 10,
            seal_diameter_mm: 40,
            seal_fonts: eseal::picture::DEFAULT_FONTS.iter().map(PathBuf::from).collect(),
            refund_approval_above_yuan: 500,
            payment_simulators: None,
            alipay: None,
            cpcn: None,
            smtp: None,
            sms: None,
            s3: None,
            cmp: None,
            ca_hsm: None,
            ocr: true,
            ocr_models_dir: None,
            ocr_workers: 1,
            ocr_queue: 8,
        }
    }
}

/// Environment variables with the prefix that are not settings but still ours.
const OTHER_VARS: [&str; 8] = [
    "SEALDESK_CMP_SECRET",
    "SEALDESK_CA_HSM_PIN",
    "SEALDESK_CONFIG",
    "SEALDESK_TEST_POSTGRES_URL",
    "SEALDESK_REQUIRE_POSTGRES",
    "SEALDESK_MODELS_DIR",
    "SEALDESK_REQUIRE_S3",
    "SEALDESK_S3_SECRET_ACCESS_KEY",
];
const SETTING_KEYS: [&str; 22] = [
    "seal_diameter_mm",
    "seal_fonts",
    "mode",
    "addr",
    "data_dir",
    "database_url",
    "secret_key",
    "public_origin",
    "secure_cookies",
    "trust_forwarded_for",
    "hotline",
    "operator",
    "sms_signature",
    "log_format",
    "unpaid_order_ttl_minutes",
    "payment_simulators",
    "ocr",
    "ocr_models_dir",
    "ocr_workers",
    "ocr_queue",
    "auto_complete_days",
    "refund_approval_above_yuan",
];

/// Flags that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub addr: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

impl Settings {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::new().merge(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(
            Env::prefixed("SEALDESK_").filter(|key| SETTING_KEYS.iter().any(|k| key.as_str().eq_ignore_ascii_case(k))),
        );
        if let Some(addr) = overrides.addr {
            figment = figment.merge(Serialized::default("addr", addr));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir));
        }
        figment.extract().map_err(Box::new)
    }

    /// `SEALDESK_*` variables that configure nothing (likely typos).
    pub fn unknown_env_vars() -> Vec<String> {
        std::env::vars()
            .map(|(key, _)| key)
            .filter(|key| key.starts_with("SEALDESK_") && !OTHER_VARS.contains(&key.as_str()))
            .filter(|key| !SETTING_KEYS.contains(&key["SEALDESK_".len()..].to_lowercase().as_str()))
            .collect()
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("sealdesk.db").display()),
        }
    }

    pub fn payment_simulators(&self) -> bool {
        self.payment_simulators.unwrap_or(self.mode == Mode::Development)
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.public_origin.as_deref().is_some_and(|o| o.starts_with("https://")))
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(match self.mode {
            Mode::Development => LogFormat::Pretty,
            Mode::Production => LogFormat::Json,
        })
    }

    /// The effective settings, one per line, with secrets replaced (`sealdesk config`).
    pub fn redacted(&self) -> String {
        let secret = |s: &Option<SecretString>| if s.is_some() { "[redacted]" } else { "(not set)" };
        let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "(not set)".into());
        [
            format!("mode = {:?}", self.mode),
            format!("addr = {}", self.addr),
            format!("data_dir = {}", self.data_dir.display()),
            format!(
                "database_url = {}",
                if self.database_url.is_some() { "[redacted]" } else { "(SQLite in data_dir)" }
            ),
            format!("secret_key = {}", secret(&self.secret_key)),
            format!("public_origin = {}", opt(&self.public_origin)),
            format!("secure_cookies = {}", self.secure_cookies()),
            format!("trust_forwarded_for = {}", self.trust_forwarded_for),
            format!("hotline = {}", self.hotline),
            format!("operator = {}", self.operator),
            format!("sms_signature = {}", self.sms_signature),
            format!("log_format = {:?}", self.log_format()),
            format!("unpaid_order_ttl_minutes = {}", self.unpaid_order_ttl_minutes),
            format!("auto_complete_days = {}", self.auto_complete_days),
            format!("seal_diameter_mm = {}", self.seal_diameter_mm),
            format!("seal_fonts = {:?}", self.seal_fonts),
            format!("refund_approval_above_yuan = {}", self.refund_approval_above_yuan),
            format!("payment_simulators = {}", self.payment_simulators()),
            format!(
                "ocr = {} (models in {}, {} workers, queue {})",
                self.ocr,
                self.ocr_models_dir.as_ref().map_or_else(|| "the default cache".into(), |d| d.display().to_string()),
                self.ocr_workers,
                self.ocr_queue
            ),
            format!(
                "alipay = {}",
                self.alipay.as_ref().map_or("(not set)".into(), |a| format!("{} app_id={}", a.gateway, a.app_id))
            ),
            format!(
                "cpcn = {}",
                self.cpcn
                    .as_ref()
                    .map_or("(not set)".into(), |c| format!("{} institution_id={}", c.api_gateway, c.institution_id))
            ),
            format!(
                "smtp = {}",
                self.smtp.as_ref().map_or("(dev outbox)".into(), |m| format!(
                    "{}:{} {} from {} password={}",
                    m.host,
                    m.port,
                    m.security,
                    m.from,
                    if m.password.is_some() { "[redacted]" } else { "(none)" }
                ))
            ),
            format!(
                "sms = {}",
                self.sms.as_ref().map_or("(dev outbox)".into(), |s| format!(
                    "{} {} key_id={} secret=[redacted]",
                    s.provider, s.endpoint, s.access_key_id
                ))
            ),
            format!(
                "cmp = {}",
                self.cmp.as_ref().map_or("(the built-in CA in data_dir/ca)".into(), |c| format!(
                    "{} reference={} recipient={} secret=[redacted]",
                    c.url, c.reference, c.recipient
                ))
            ),
            format!(
                "s3 = {}",
                self.s3.as_ref().map_or("(uploads in data_dir/uploads)".into(), |s| format!(
                    "{} bucket={} region={} prefix={} key_id={} secret=[redacted]",
                    s.endpoint, s.bucket, s.region, s.prefix, s.access_key_id
                ))
            ),
        ]
        .join("\n")
    }
}

impl S3Config {
    /// The object storage these settings name; the secret from the settings, else the file,
    /// else `SEALDESK_S3_SECRET_ACCESS_KEY`.
    pub fn store_settings(&self) -> anyhow::Result<store::S3Settings> {
        use anyhow::Context as _;
        let secret = match (&self.secret_access_key, &self.secret_access_key_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(file)) => SecretString::from(
                std::fs::read_to_string(file)
                    .with_context(|| format!("s3.secret_access_key_file {}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => SecretString::from(std::env::var("SEALDESK_S3_SECRET_ACCESS_KEY").map_err(|_| {
                anyhow::anyhow!("[s3] needs secret_access_key_file, secret_access_key or SEALDESK_S3_SECRET_ACCESS_KEY")
            })?),
        };
        Ok(store::S3Settings {
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: secret,
            prefix: self.prefix.clone(),
        })
    }
}
