//! `sealdesk station --server URL --order ID [--module PATH | --soft-token DIR]`: makes the
//! order's USB-Key (see the `station` crate). The station token comes from
//! `SEALDESK_STATION_TOKEN` (created in the back office under 制证工作站), never from the command
//! line, where other users of the machine could read it.

use std::path::PathBuf;

use anyhow::{Context, bail};
use domain::certificate::KeyAlgorithm;
use station::pkcs11::Pkcs11Token;
use station::soft::SoftToken;
use station::{Desk, Options, Token};

#[derive(Debug, clap::Args)]
pub struct StationArgs {
    /// The desk, e.g. https://desk.example.com.
    #[arg(long, env = "SEALDESK_SERVER")]
    server: String,
    /// The order to make the key for (its number in the back office's address).
    #[arg(long)]
    order: i64,
    /// The token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, env = "SEALDESK_PKCS11_MODULE", conflicts_with = "soft_token")]
    module: Option<String>,
    /// A token to make again (by its serial number); otherwise the one blank token plugged in.
    #[arg(long)]
    token_serial: Option<String>,
    /// A software token in this directory instead of a PKCS#11 module (SM2 keys, tests).
    #[arg(long)]
    soft_token: Option<PathBuf>,
    /// `ecdsa-p256` or `sm2`.
    #[arg(long, default_value = "ecdsa-p256")]
    algorithm: String,
    /// The SO PIN of a blank key (the maker's default).
    #[arg(long, env = "SEALDESK_BLANK_SO_PIN", default_value = "12345678")]
    blank_so_pin: String,
}

pub async fn run(args: &StationArgs) -> anyhow::Result<()> {
    let token = std::env::var("SEALDESK_STATION_TOKEN").context("SEALDESK_STATION_TOKEN is not set")?;
    let Some(algorithm) = KeyAlgorithm::parse(&args.algorithm) else {
        bail!("unknown algorithm {} (ecdsa-p256 or sm2)", args.algorithm);
    };
    let desk = Desk::new(&args.server, &token)?;
    let mut device: Box<dyn Token> = match (&args.module, &args.soft_token) {
        (Some(module), None) => Box::new(Pkcs11Token::open(module, args.token_serial.as_deref())?),
        (None, Some(dir)) => Box::new(SoftToken::open(dir)?),
        _ => bail!("give --module (a PKCS#11 token) or --soft-token DIR"),
    };
    let options = Options { algorithm, blank_so_pin: args.blank_so_pin.clone() };
    let report = station::produce(&desk, device.as_mut(), args.order, &options).await?;
    println!("制证完成：介质 {}，证书序列号 {}", report.token_serial, report.serial);
    println!("证书主题：{}", report.subject);
    println!("有效期至：{}", report.not_after);
    if report.seal {
        println!("电子印章已写入介质");
    }
    if let Some(old) = report.revoked {
        println!("已吊销被替代的证书：{old}");
    }
    Ok(())
}
