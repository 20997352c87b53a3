//! `sealdesk seal verify FILE`: checks a GB/T 38540 seal file as any relying party would —
//! its structure, the maker's signature and certificate path, its validity and picture, and
//! each holder certificate's path and revocation status — and prints each check in Chinese.
//! The trust comes from a desk (`--server URL`: its `/pki/ca.pem` and current CRLs) or from
//! files (`--ca` PEM bundle, `--crl` DER files). Exit status: 0 valid, 1 a check failed,
//! 2 not a seal.

use std::path::PathBuf;

use anyhow::{Context, bail};
use app::seal_maker::Trust;
use domain::certificate::KeyAlgorithm;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The seal file (`.esl`, DER).
    file: PathBuf,
    /// A desk whose CA chains and current revocation lists to trust, e.g. https://desk.example.com.
    #[arg(long, conflicts_with = "ca")]
    server: Option<String>,
    /// CA certificates to trust (PEM; self-signed ones are the roots), e.g. a desk's /pki/ca.pem.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Revocation lists (DER), e.g. a desk's /ca/sm2.crl.
    #[arg(long)]
    crl: Vec<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum SealCommand {
    /// Check a seal file and print each check.
    Verify(VerifyArgs),
}

const MAX_DOWNLOAD: usize = 16 * 1024 * 1024;

async fn download(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = http.get(url).send().await.with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        bail!("{url}: {}", response.status());
    }
    let bytes = response.bytes().await.with_context(|| format!("reading {url}"))?;
    if bytes.len() > MAX_DOWNLOAD {
        bail!("{url}: too large");
    }
    Ok(bytes.to_vec())
}

async fn trust(args: &VerifyArgs) -> anyhow::Result<Trust> {
    let (pem, mut crls) = if let Some(server) = &args.server {
        let base = server.trim_end_matches('/');
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
        let pem = String::from_utf8(download(&http, &format!("{base}/pki/ca.pem")).await?)?;
        let mut crls = Vec::new();
        for algorithm in KeyAlgorithm::ALL {
            crls.push(download(&http, &format!("{base}/ca/{}.crl", algorithm.as_str())).await?);
        }
        (pem, crls)
    } else {
        let Some(ca) = &args.ca else { bail!("say whom to trust: --server URL, or --ca FILE [--crl FILE]…") };
        (std::fs::read_to_string(ca).with_context(|| format!("cannot read {}", ca.display()))?, Vec::new())
    };
    for path in &args.crl {
        crls.push(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
    }
    eseal::trust_from_pem(&pem, crls).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs the command; the exit status to end with.
pub async fn run(command: &SealCommand) -> anyhow::Result<i32> {
    let SealCommand::Verify(args) = command;
    let file = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let trust = trust(args).await?;
    let now = app::clock::Clock::now(&app::clock::SystemClock);
    let report = match eseal::inspect(&file, &trust, now) {
        Ok(report) => report,
        Err(err) => {
            println!("不是可读取的电子印章：{err}");
            return Ok(2);
        }
    };
    println!("印章名称：{}", report.name);
    println!("印章编码：{}（{}）", report.es_id, report.kind().map_or("其他类型", |k| k.label()));
    println!("制章者：{}", report.maker.subject);
    for holder in &report.holders {
        println!("持有者证书：{}（序列号 {}）", holder.subject, holder.serial);
    }
    for check in &report.checks {
        println!("[{}] {}：{}", if check.passed { "通过" } else { "失败" }, check.label, check.detail);
    }
    if report.valid() {
        println!("结论：电子印章有效");
        Ok(0)
    } else {
        println!("结论：电子印章无效");
        Ok(1)
    }
}
