//! `sealdesk`: the binary. Reads settings, wires adapters into the app, serves the web router,
//! runs housekeeping, and shuts down gracefully on SIGTERM / Ctrl-C.

mod config;
mod files_command;
mod gateways;
mod ocr_command;
mod seal_command;
mod station_command;

use anyhow::{Context, bail};
use app::clock::{Clock, SystemClock};
use app::crypto::Keys;
use app::{App, Policy};
use clap::{Parser, Subcommand};
use config::{LogFormat, Mode, Overrides, Settings};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::{Db, DevOutbox};

#[derive(Parser)]
#[command(name = "sealdesk", version, about = "电子签章（含数字证书）在线申请系统")]
struct Cli {
    /// TOML settings file (also `SEALDESK_CONFIG`).
    #[arg(long, global = true, env = "SEALDESK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (migrations are applied first).
    Serve {
        /// Listen address, e.g. 127.0.0.1:8080 (also `SEALDESK_ADDR`).
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Data directory (also `SEALDESK_DATA_DIR`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print the effective settings, secrets redacted.
    Config {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Read license and ID card photos: one JSON object per file on its own line.
    Ocr {
        /// id-front, id-back, license or auto.
        #[arg(long, default_value = "auto")]
        kind: String,
        /// Where the PP-OCRv4 models are (scripts/fetch-models puts them in the default).
        #[arg(long, env = "SEALDESK_MODELS_DIR")]
        models: Option<PathBuf>,
        /// Print the time in the models vs in all to stderr after the last file.
        #[arg(long)]
        stats: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 制证工作站: make an approved order's USB-Key (key pair on the token, certificate from the
    /// desk), on the fulfilment workstation where the blank key is plugged in.
    Station(station_command::StationArgs),
    /// Electronic seals: `seal verify FILE` checks a seal file.
    Seal {
        #[command(subcommand)]
        action: seal_command::SealCommand,
    },
    /// Manage back-office staff.
    Staff {
        #[command(subcommand)]
        action: StaffCommand,
    },
    /// Manage the upload store.
    Files {
        #[command(subcommand)]
        action: FilesCommand,
    },
}

#[derive(Subcommand)]
enum FilesCommand {
    /// Copy the local uploads (`data_dir/uploads`) into the `[s3]` bucket, verified by digest;
    /// run again to resume.
    Migrate {
        /// The only target: `s3` (configured in `[s3]`).
        #[arg(long)]
        to: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account and print its initial password (shown once).
    Add {
        /// Login name: lowercase letters, digits, `.`, `_`, `-`.
        #[arg(long)]
        username: String,
        /// Full name, shown in queues and the audit log.
        #[arg(long)]
        name: String,
        /// Comma-separated: reviewer, fulfilment, finance, admin.
        #[arg(long)]
        roles: String,
        /// Their own mobile number, so they can never review their own orders.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Ocr { kind, models, files, stats } = &cli.command {
        return ocr_command::run(kind, models.clone(), files, *stats);
    }
    if let Command::Seal { action } = &cli.command {
        let code = seal_command::run(action).await?;
        std::process::exit(code);
    }
    if let Command::Station(args) = &cli.command {
        return station_command::run(args).await;
    }
    let overrides = match &cli.command {
        Command::Serve { addr, data_dir } => Overrides { addr: *addr, data_dir: data_dir.clone() },
        Command::Ocr { .. } | Command::Station(_) | Command::Seal { .. } => Overrides::default(),
        Command::Migrate { data_dir }
        | Command::Config { data_dir }
        | Command::Staff { action: StaffCommand::Add { data_dir, .. } }
        | Command::Files { action: FilesCommand::Migrate { data_dir, .. } } => {
            Overrides { addr: None, data_dir: data_dir.clone() }
        }
    };
    let settings =
        Settings::load(cli.config.as_deref(), &overrides).map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    init_logging(settings.log_format());
    for var in Settings::unknown_env_vars() {
        tracing::warn!(var, "unknown SEALDESK_* environment variable ignored");
    }
    match cli.command {
        Command::Serve { .. } => serve(settings).await,
        Command::Ocr { .. } | Command::Station(_) | Command::Seal { .. } => Ok(()),
        Command::Files { action: FilesCommand::Migrate { to, .. } } => {
            let Some(s3) = settings.s3.as_ref().filter(|_| to == "s3") else {
                bail!("files migrate: --to s3 needs the [s3] table in the settings");
            };
            let local = store::LocalFileStore::new(settings.data_dir.join("uploads")).context("upload directory")?;
            let bucket = store::S3FileStore::new(&s3.store_settings()?).context("object storage")?;
            let done = files_command::migrate(&local, &bucket).await?;
            println!(
                "copied {}, already in the bucket {}, different in the bucket {}",
                done.copied,
                done.already_there,
                done.conflicting.len()
            );
            for name in &done.conflicting {
                println!("different in the bucket (left alone): {name}");
            }
            if done.conflicting.is_empty() { Ok(()) } else { bail!("some blobs differ in the bucket") }
        }
        Command::Migrate { .. } => {
            prepare_data_dir(&settings.data_dir)?;
            let db = Db::connect(&settings.database_url()).await.context("database")?;
            db.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Config { .. } => {
            println!("{}", settings.redacted());
            Ok(())
        }
        Command::Staff { action: StaffCommand::Add { username, name, roles, phone, .. } } => {
            let roles = domain::staff::Roles::parse(&roles).map_err(|e| anyhow::anyhow!("--roles: {e}"))?;
            prepare_data_dir(&settings.data_dir)?;
            let keys = load_keys(&settings)?;
            let db = Db::connect(&settings.database_url()).await.context("database")?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let outbox = Arc::new(DevOutbox::new(db.clone(), clock.clone()));
            let files = file_store(&settings)?;
            let app = App::new(Arc::new(db.clone()), files, outbox.clone(), outbox, clock, keys, Policy::default());
            let created = app.add_staff(&username, &name, roles, phone.as_deref(), None).await;
            db.close().await;
            let created = created.map_err(|e| match e {
                app::Error::Validation(errors) => {
                    anyhow::anyhow!(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))
                }
                other => anyhow::anyhow!("{other}"),
            })?;
            println!("staff account created: {} ({})", created.username, roles.labels());
            println!("initial password: {}", created.initial_password);
            println!("(shown once; sign in at /admin, where the first login sets up the authenticator app)");
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tokio_postgres=warn,tower_http=info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// The configured key, or in development one generated once and kept in the data directory.
fn load_keys(settings: &Settings) -> anyhow::Result<Keys> {
    let hex_key = match (&settings.secret_key, settings.mode) {
        (Some(key), _) => key.expose_secret().to_owned(),
        (None, Mode::Production) => bail!("production mode needs secret_key (SEALDESK_SECRET_KEY): 64+ hex characters"),
        (None, Mode::Development) => {
            let path = settings.data_dir.join("secret.key");
            if !path.exists() {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                write_private(&path, &hex::encode(bytes))?;
            }
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?.trim().to_owned()
        }
    };
    let bytes = hex::decode(&hex_key).context("secret_key must be hex")?;
    Keys::new(bytes).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// The configured SMS gateway and mail relay; each falls back to the dev outbox in development.
fn messengers(
    settings: &Settings,
    outbox: &Arc<DevOutbox>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(Arc<dyn app::ports::SmsSender>, Arc<dyn app::ports::Mailer>)> {
    if let Some(s) = &settings.sms
        && s.provider != "aliyun"
    {
        bail!("[sms] provider {:?} is not supported; this build speaks \"aliyun\"", s.provider);
    }
    let sms: Arc<dyn app::ports::SmsSender> = match &settings.sms {
        Some(s) => Arc::new(
            delivery::aliyun::AliyunSms::new(
                delivery::aliyun::AliyunSettings {
                    endpoint: s.endpoint.clone(),
                    access_key_id: s.access_key_id.clone(),
                    access_key_secret: s.access_key_secret.clone(),
                    sign_name: if s.sign_name.trim().is_empty() {
                        settings.sms_signature.clone()
                    } else {
                        s.sign_name.clone()
                    },
                    template_code: s.template_code.clone(),
                },
                clock.clone(),
            )
            .map_err(|e| anyhow::anyhow!("[sms]: {e}"))?,
        ),
        None => outbox.clone(),
    };
    let mailer: Arc<dyn app::ports::Mailer> = match &settings.smtp {
        Some(m) => Arc::new(
            delivery::smtp::SmtpMailer::new(&delivery::smtp::SmtpSettings {
                host: m.host.clone(),
                port: m.port,
                security: match m.security.as_str() {
                    "tls" => delivery::smtp::Security::Tls,
                    "plain" => delivery::smtp::Security::Plain,
                    "starttls" => delivery::smtp::Security::StartTls,
                    other => bail!("[smtp] security must be starttls, tls or plain, not {other:?}"),
                },
                username: m.username.clone(),
                password: m.password.clone(),
                from: m.from.clone(),
            })
            .map_err(|e| anyhow::anyhow!("[smtp]: {e}"))?,
        ),
        None => outbox.clone(),
    };
    Ok((sms, mailer))
}

/// What development shows for the hotline until one is set: plainly not a real number.
const DEMO_HOTLINE: &str = "400-000-0000（演示）";

/// The rules the settings choose.
fn policy(settings: &Settings) -> anyhow::Result<Policy> {
    Ok(Policy {
        unpaid_order_ttl: time::Duration::minutes(settings.unpaid_order_ttl_minutes.into()),
        auto_complete_after: time::Duration::days(settings.auto_complete_days.into()),
        seal_size: domain::seal::SealSize::parse(&settings.seal_diameter_mm.to_string())
            .with_context(|| format!("seal_diameter_mm = {}: must be 38, 40 or 42", settings.seal_diameter_mm))?,
        hide_demo_pickup_points: settings.mode == Mode::Production,
        refund_approval_above: domain::Money::from_fen(i64::from(settings.refund_approval_above_yuan) * 100)
            .map_err(|_| anyhow::anyhow!("refund_approval_above_yuan is out of range"))?,
        ..Policy::default()
    })
}

/// The desk as seal maker: its SM2 key kept in data_dir, certified by `ca`.
async fn seal_maker(
    settings: &Settings,
    keys: &app::crypto::Keys,
    ca: &dyn app::ca::CertificateAuthority,
    now: time::OffsetDateTime,
) -> anyhow::Result<eseal::SoftSealMaker> {
    let fonts = eseal::Fonts::load(&settings.seal_fonts)
        .map_err(|e| anyhow::anyhow!("electronic seals: {e} (or list fonts in seal_fonts)"))?;
    eseal::SoftSealMaker::open(&settings.data_dir.join("seal-maker"), keys, ca, &settings.operator, fonts, now)
        .await
        .map_err(|e| anyhow::anyhow!("the seal maker: {e}"))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.mode == Mode::Production && (settings.sms.is_none() || settings.smtp.is_none()) {
        // The dev outbox would swallow verification codes and every notification.
        bail!(
            "production mode needs a real SMS gateway ([sms]) and mail relay ([smtp]); configure both, or run in development mode"
        );
    }
    if settings.mode == Mode::Production && settings.hotline.trim().is_empty() {
        // Applicants are told to call it on every page and in every message.
        bail!("production mode needs the customer-service hotline (hotline = \"…\" or SEALDESK_HOTLINE)");
    }
    prepare_data_dir(&settings.data_dir)?;
    let keys = load_keys(&settings)?;
    // Held until the process ends: one instance per SQLite file.
    let _single = single_instance_on_sqlite(&settings.database_url())?;
    let db = Db::connect(&settings.database_url()).await.context("cannot open the database")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let outbox = Arc::new(DevOutbox::new(db.clone(), clock.clone()).with_sms_signature(&settings.sms_signature));
    let (sms, mailer) = messengers(&settings, &outbox, &clock)?;
    let files = file_store(&settings)?;
    let policy = policy(&settings)?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    let local = listener.local_addr()?;
    let base = settings.public_origin.clone().unwrap_or_else(|| {
        let host = if local.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], local.port())) } else { local };
        format!("http://{host}")
    });
    let channels = gateways::build(&settings, &base)?;
    // The built-in CA, kept in data_dir (shared by the instances that share it); its
    // certificates name this origin's /ca/… for their revocation lists.
    let ca: Arc<dyn app::ca::CertificateAuthority> = match &settings.cmp {
        // An external CA over CMP: it publishes its own revocation lists.
        Some(cmp) => Arc::new(
            cmp::CmpClient::new(cmp.client_settings()?, clock.clone()).map_err(|e| anyhow::anyhow!("[cmp]: {e}"))?,
        ),
        None => Arc::new(
            ca::BuiltInCa::open_with_hsm(
                &settings.data_dir.join("ca"),
                &load_keys(&settings)?,
                &settings.operator,
                &format!("{}/ca", base.trim_end_matches('/')),
                clock.now(),
                settings.ca_hsm.as_ref().map(config::CaHsmConfig::settings).transpose()?.as_ref(),
            )
            .map_err(|e| anyhow::anyhow!("the built-in certificate authority: {e}"))?,
        ),
    };
    let maker = seal_maker(&settings, &keys, ca.as_ref(), clock.now()).await?;
    let mut app = App::new(Arc::new(db.clone()), files, sms, mailer, clock, keys, policy)
        .with_gateways(channels.gateways)
        .with_ca(ca)
        .with_seal_maker(Arc::new(maker));
    if settings.mode == Mode::Development {
        // Keys made from the back office on software tokens in data_dir, without a workstation.
        app = app.with_local_keys(Arc::new(station::local::SoftKeyMaker::new(settings.data_dir.join("soft-tokens"))));
    }
    if settings.ocr {
        let dir = settings.ocr_models_dir.clone().unwrap_or_else(ocr::engine::default_models_dir);
        let engine = ocr::engine::Engine::load(&dir)
            .map_err(|e| anyhow::anyhow!("OCR: {e} (or set ocr = false to run without reading photos)"))?;
        let reader = Arc::new(ocr_command::EngineReader(engine));
        app = app.with_ocr(app::recognition::OcrPool::new(
            reader,
            settings.ocr_workers,
            settings.ocr_queue,
            Duration::from_secs(30),
        ));
    }

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok();
    let web_config = web::WebConfig {
        dev_mode: settings.mode == Mode::Development,
        secure_cookies: settings.secure_cookies(),
        public_origin: settings.public_origin.clone(),
        trust_forwarded_for: settings.trust_forwarded_for,
        hotline: if settings.hotline.trim().is_empty() { DEMO_HOTLINE.to_owned() } else { settings.hotline.clone() },
        operator: settings.operator.clone(),
        metrics,
    };
    let mut router = web::router(app.clone(), web_config);
    if let Some(simulators) = channels.simulators {
        tracing::info!("payment simulators at {base}/sim/alipay and {base}/sim/cpcn");
        router = simulators.merge(router);
    }

    let housekeeping = tokio::spawn(housekeeping(app.clone()));
    let reader = tokio::spawn(reader(app.clone()));
    let notifier = tokio::spawn(notifier(app));
    println!("sealdesk is running at http://{local}/ (data in {}; press Ctrl-C to stop)", settings.data_dir.display());
    tracing::info!(%local, mode = ?settings.mode, "listening");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    housekeeping.abort();
    notifier.abort();
    reader.abort();
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// On SQLite, an exclusive lock on `<database>.lock`: a second `serve` on the same file (whose
/// jobs and uploads would assume they run alone) is refused. Several instances need PostgreSQL.
fn single_instance_on_sqlite(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else { return Ok(None) };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(None);
    }
    let lock_path = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another sealdesk instance is serving the SQLite database {path}; run several instances on PostgreSQL (database_url) with [s3] for uploads"
        ),
        Err(std::fs::TryLockError::Error(err)) => Err(err).with_context(|| format!("cannot lock {lock_path}")),
    }
}

/// Where uploads live: the `[s3]` bucket when configured, else `data_dir/uploads`.
fn file_store(settings: &Settings) -> anyhow::Result<Arc<dyn app::ports::FileStore>> {
    Ok(match &settings.s3 {
        Some(s3) => Arc::new(store::S3FileStore::new(&s3.store_settings()?).context("object storage")?),
        None => Arc::new(store::LocalFileStore::new(settings.data_dir.join("uploads")).context("upload directory")?),
    })
}

/// Periodic jobs: reconcile pending payments and owed refunds with the gateways, check the
/// previous day's bill, cancel orders
/// left unpaid past their time, remind holders of certificates about to expire, purge abandoned
/// drafts, sweep orphaned blobs and temporary files, and clean up expired sessions, codes and
/// throttle records.
async fn housekeeping(app: App) {
    const MINUTE: time::Duration = time::Duration::seconds(55);
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        // Every instance ticks; each sweep runs on the one instance that takes its turn.
        if turn(&app, "files.sweep", time::Duration::hours(1)).await
            && let Err(err) = app.sweep_files().await
        {
            tracing::warn!(error = %err, "file sweep failed");
        }
        // Yesterday's gateway bill, once it is out (and once per day: the day is claimed too).
        if turn(&app, "bills.fetch", time::Duration::minutes(10)).await
            && let Err(err) = app.bill_checks().fetch_daily_bills().await
        {
            tracing::warn!(error = %err, "daily bill check deferred");
        }
        if turn(&app, "payments.reconcile", MINUTE).await
            && let Err(err) = app.payments().reconcile_payments().await
        {
            tracing::warn!(error = %err, "payment reconciliation failed");
        }
        if turn(&app, "orders.auto_complete", MINUTE).await
            && let Err(err) = app.fulfilment().auto_complete_orders().await
        {
            tracing::warn!(error = %err, "auto-complete failed");
        }
        if turn(&app, "orders.auto_cancel", MINUTE).await
            && let Err(err) = app.cancel_unpaid_orders().await
        {
            tracing::warn!(error = %err, "auto-cancel failed");
        }
        if turn(&app, "certificates.remind", time::Duration::hours(1)).await
            && let Err(err) = app.remind_expiring_certificates().await
        {
            tracing::warn!(error = %err, "certificate expiry reminders failed");
        }
        if turn(&app, "drafts.purge", MINUTE).await
            && let Err(err) = app.purge_abandoned_drafts().await
        {
            tracing::warn!(error = %err, "draft purge failed");
        }
        if turn(&app, "expired.purge", MINUTE).await {
            match app.purge_expired().await {
                Ok(removed) => tracing::debug!(removed, "housekeeping done"),
                Err(err) => tracing::warn!(error = %err, "housekeeping failed"),
            }
        }
    }
}

/// Whether this instance runs the sweep `name` this period (a database that cannot be asked
/// means no turn: the sweep waits for the next tick).
async fn turn(app: &App, name: &str, period: time::Duration) -> bool {
    match app.takes_turn(name, period).await {
        Ok(mine) => mine,
        Err(err) => {
            tracing::warn!(error = %err, job = name, "job lease unavailable");
            false
        }
    }
}

/// Reads uploaded photos in the background: at once when an upload here queues one, and every
/// couple of seconds for uploads another instance queued.
async fn reader(app: App) {
    loop {
        app.readings_wanted(Duration::from_secs(2)).await;
        loop {
            match app.run_reading_jobs().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "reading jobs failed");
                    break;
                }
            }
        }
    }
}

/// Delivers queued SMS and email every few seconds (each event also tries at once).
async fn notifier(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Err(err) = app.notifier().deliver_notifications().await {
            tracing::warn!(error = %err, "notification delivery failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
