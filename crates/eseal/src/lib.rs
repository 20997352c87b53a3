//! GB/T 38540-2020 electronic seals for the app's [`SealMaker`](app::seal_maker::SealMaker) port.
//!
//! - [`picture`]: the domain's seal layout drawn at 300 dpi as a transparent PNG.
//! - [`format`]: the `SESeal` (version 4) structures, written and read with the `der` crate.
//! - [`SoftSealMaker`]: the desk's seal-maker key (SM2, certified by the CA port under its own
//!   profile), which signs seals.
//! - [`inspect`]: a seal file's checks, as a relying party makes them.
//!
//! The `ofdrw` crate (0.5) also makes and checks v4 seals from a raw SM2 key. We write the
//! structures ourselves with `der` instead: `ofdrw` is a whole OFD/PDF suite (some 440 crates
//! with its dependencies, its own forks of resvg and a second `der` major version), its seal
//! functions take the raw private key (ours might one day live on a token) and stop at the
//! signature (no path to a trusted root, no CRL). The structures are a page of ASN.1; owning
//! them lets decoding be bounded and strict where hostile files arrive.

pub mod format;
mod maker;
pub mod picture;
mod pki;

use app::seal_maker::{SealCheck, SealFault, SealReport, Trust};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

pub use maker::{SoftSealMaker, VENDOR, maker_certificate};
pub use picture::Fonts;
use pki::{Anchors, Cert};

use crate::format::SM2_WITH_SM3;

/// The largest picture previewed (pixels a side).
const MAX_PICTURE_PX: u32 = 4096;
/// The largest seal on paper (millimetres a side).
const MAX_PICTURE_MM: u32 = 100;

fn check(label: &'static str, passed: bool, detail: impl Into<String>) -> SealCheck {
    SealCheck { label, passed, detail: detail.into() }
}

/// A date as people in China read it (Beijing time).
fn date(t: OffsetDateTime) -> String {
    t.to_offset(offset!(+8)).format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

fn time_of(t: &der::asn1::GeneralizedTime) -> OffsetDateTime {
    i64::try_from(t.to_unix_duration().as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Reads a seal file and makes every check a relying party makes, as of `now`, against
/// `trust`: the format, the maker's signature over the seal information, the maker's
/// certificate and its path, the seal's validity, its picture, and for each holder certificate
/// its path, that the seal's validity lies within it, and its revocation status.
pub fn inspect(file: &[u8], trust: &Trust, now: OffsetDateTime) -> Result<SealReport, SealFault> {
    let parsed = format::parse(file).map_err(SealFault::Unreadable)?;
    let seal = &parsed.seal;
    let info = &seal.info;
    let property = &info.property;
    let maker = Cert::parse(seal.cert.as_bytes()).ok_or_else(|| SealFault::Unreadable("制章者证书无法解析".into()))?;
    let holders = if property.cert_list_type == format::CERT_LIST_CERTIFICATES {
        format::certificates(property)
            .map_err(SealFault::Unreadable)?
            .iter()
            .map(|der| Cert::parse(der).ok_or_else(|| SealFault::Unreadable("印章所列证书无法解析".into())))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let anchors = Anchors::new(trust);
    let (created, valid_from, valid_to) =
        (time_of(&property.create_date), time_of(&property.valid_start), time_of(&property.valid_end));

    let mut checks = Vec::new();
    let version = info.header.version;
    let supported = info.header.id.as_str() == "ES" && version == format::VERSION;
    checks.push(check(
        "印章格式",
        supported,
        if supported {
            "GB/T 38540-2020 电子印章（第 4 版）".to_owned()
        } else {
            format!("不支持的印章格式（标识 {}，第 {version} 版）", info.header.id.as_str())
        },
    ));
    let signature_ok = seal.sign_alg_id == SM2_WITH_SM3
        && seal.signed_value.as_bytes().is_some_and(|s| {
            pki::verifies(&SM2_WITH_SM3, maker.parsed.tbs_certificate().subject_public_key_info(), parsed.signed, s)
        });
    checks.push(check(
        "制章者签名",
        signature_ok,
        if signature_ok {
            "SM2/SM3 签名有效，印章内容自制作后未被改动"
        } else {
            "签名无效：印章内容在制作后被改动，或并非该制章者所签"
        },
    ));
    checks.push(maker_check(&anchors, &maker, now));
    checks.push(validity_check(created, valid_from, valid_to, now));
    checks.push(picture_check(&info.picture));
    if holders.is_empty() {
        checks.push(check("持有者证书", false, "印章未列出可核对的持有者证书"));
    }
    for holder in &holders {
        holder_checks(&anchors, holder, (valid_from, valid_to), now, &mut checks);
    }
    Ok(SealReport {
        version,
        vendor: info.header.vid.as_str().to_owned(),
        es_id: info.es_id.as_str().to_owned(),
        kind_code: property.kind,
        name: property.name.clone(),
        created,
        valid_from,
        valid_to,
        picture_format: info.picture.kind.as_str().to_owned(),
        picture: info.picture.data.as_bytes().to_vec(),
        width_mm: info.picture.width,
        height_mm: info.picture.height,
        maker: maker.summary(),
        holders: holders.iter().map(Cert::summary).collect(),
        checks,
    })
}

/// The trust a PEM bundle of CA certificates (as a desk's `/pki/ca.pem` serves) and revocation
/// lists (DER) make: self-signed certificates are the roots, the others issuing CAs.
pub fn trust_from_pem(pem: &str, crls: Vec<Vec<u8>>) -> Result<Trust, String> {
    let certificates =
        x509_cert::Certificate::load_pem_chain(pem.as_bytes()).map_err(|e| format!("CA 证书文件无法解析（{e}）"))?;
    let mut trust = Trust { crls, ..Trust::default() };
    for certificate in certificates {
        let der = der::Encode::to_der(&certificate).map_err(|e| e.to_string())?;
        if certificate.tbs_certificate().subject() == certificate.tbs_certificate().issuer() {
            trust.roots.push(der);
        } else {
            trust.intermediates.push(der);
        }
    }
    if trust.roots.is_empty() {
        return Err("CA 证书文件中没有根证书".into());
    }
    Ok(trust)
}

/// The check of a certificate the seal names (the maker's or a holder's): its path to a
/// trusted root, its validity now, and that it is an end entity that signs; `unusable` says
/// what it cannot be used for, `passed` describes it once all holds.
fn certificate_check(
    label: &'static str,
    cert: &Cert,
    path: &Result<Vec<&Cert>, String>,
    now: OffsetDateTime,
    unusable: &str,
    passed: impl FnOnce(&[&Cert]) -> String,
) -> SealCheck {
    let subject = cert.parsed.tbs_certificate().subject().to_string();
    match path {
        Err(why) => check(label, false, format!("{subject}：{why}")),
        Ok(_) if !cert.valid_at(now) => check(
            label,
            false,
            format!("{subject}：不在有效期内（{} 至 {}）", date(cert.not_before()), date(cert.not_after())),
        ),
        Ok(_) if !cert.signs() || !cert.is_end_entity() => check(label, false, format!("{subject}：{unusable}")),
        Ok(path) => check(label, true, format!("{subject}，{}", passed(path))),
    }
}

fn maker_check(anchors: &Anchors, maker: &Cert, now: OffsetDateTime) -> SealCheck {
    certificate_check(
        "制章者证书",
        maker,
        &anchors.path(maker, now),
        now,
        "该证书不能用于制作印章",
        |path| format!("由“{}”签发，有效期至 {}", path[0].parsed.tbs_certificate().subject(), date(maker.not_after())),
    )
}

fn validity_check(created: OffsetDateTime, from: OffsetDateTime, to: OffsetDateTime, now: OffsetDateTime) -> SealCheck {
    let span = format!("{} 至 {}", date(from), date(to));
    if from > to || created > to {
        check("印章有效期", false, format!("有效期不合理（{span}）"))
    } else if now < from {
        check("印章有效期", false, format!("尚未生效（{span}）"))
    } else if now > to {
        check("印章有效期", false, format!("已过期（{span}）"))
    } else {
        check("印章有效期", true, format!("有效（{span}）"))
    }
}

fn picture_check(picture: &format::PictureInfo) -> SealCheck {
    let (w_mm, h_mm) = (picture.width, picture.height);
    if w_mm == 0 || h_mm == 0 || w_mm > MAX_PICTURE_MM || h_mm > MAX_PICTURE_MM {
        return check("印章图片", false, format!("尺寸不合理（{w_mm}×{h_mm} 毫米）"));
    }
    let kind = picture.kind.as_str().to_ascii_uppercase();
    if kind != "PNG" {
        return check("印章图片", true, format!("{kind} 图片，{w_mm}×{h_mm} 毫米（不提供预览）"));
    }
    match picture::png_size(picture.data.as_bytes()) {
        Some((w, h)) if (1..=MAX_PICTURE_PX).contains(&w) && (1..=MAX_PICTURE_PX).contains(&h) => {
            check("印章图片", true, format!("PNG 图片 {w}×{h} 像素，{w_mm}×{h_mm} 毫米"))
        }
        Some((w, h)) => check("印章图片", false, format!("图片尺寸不合理（{w}×{h} 像素）")),
        None => check("印章图片", false, "图片不是有效的 PNG"),
    }
}

fn holder_checks(
    anchors: &Anchors,
    holder: &Cert,
    (from, to): (OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
    checks: &mut Vec<SealCheck>,
) {
    let path = anchors.path(holder, now);
    checks.push(certificate_check("持有者证书", holder, &path, now, "该证书不能用于签章", |_| {
        format!("序列号 {}，有效期至 {}", holder.serial(), date(holder.not_after()))
    }));
    let within = from >= holder.not_before() && to <= holder.not_after();
    checks.push(check(
        "有效期与证书",
        within,
        if within {
            "印章有效期在证书有效期之内"
        } else {
            "印章有效期超出了持有者证书的有效期"
        },
    ));
    checks.push(match path {
        Err(_) => check("证书吊销状态", false, "证书链不受信任，无法确认吊销状态"),
        Ok(path) => match anchors.revocation(holder, path[0], now) {
            Ok(None) => check("证书吊销状态", true, "未吊销（依据签发者当前的吊销列表）"),
            Ok(Some(at)) => check("证书吊销状态", false, format!("证书已于 {} 吊销，印章不可再用", date(at))),
            Err(why) => check("证书吊销状态", false, why),
        },
    });
}
