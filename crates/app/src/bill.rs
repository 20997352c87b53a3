//! Alipay's daily trade bill (the 业务明细 CSV that `alipay.data.dataservice.bill.downloadurl.query`
//! links to), and its difference from what we recorded (SECURITY F7). Comment lines start with
//! `#`; columns are found by their header names, not positions, so added columns do not matter.
//! The real download is a zip of GBK text files (the 业务明细 and its 汇总); [`decode_download`]
//! turns it, or a CSV finance saved themselves, into text.

use std::collections::BTreeMap;

use domain::Money;

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub trade_no: String,
    pub out_trade_no: String,
    /// `交易` (a payment) or `退款` (a refund).
    pub kind: String,
    /// The line's amount in fen, signed as Alipay prints it (refunds are negative).
    pub amount_fen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    #[error("the file is neither the zip Alipay serves nor a bill CSV")]
    NotABill,
    #[error("the bill has no header with 支付宝交易号, 商户订单号, 业务类型 and 订单金额（元）")]
    NoHeader,
    #[error("line {0} is not readable")]
    BadLine(usize),
}

fn cells(line: &str) -> Vec<String> {
    line.split(',').map(|c| c.trim().trim_matches('\t').trim_matches('"').trim().to_owned()).collect()
}

/// Largest bill text accepted (a day's 业务明细 of a busy merchant is a few MiB).
const MAX_BILL_BYTES: u64 = 32 * 1024 * 1024;
/// Most files looked at in a bill zip (Alipay's holds two).
const MAX_ZIP_ENTRIES: usize = 16;

/// The bill's text from what finance uploads: the zip Alipay serves (the entry that reads as a
/// 业务明细, not its 汇总), or a CSV; GBK (as Alipay writes it) or UTF-8. Bounded: a zip entry is
/// read up to 32 MiB, at most 16 entries are looked at.
pub fn decode_download(bytes: &[u8]) -> Result<String, BillError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(text_of(bytes));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| BillError::NotABill)?;
    for n in 0..archive.len().min(MAX_ZIP_ENTRIES) {
        let Ok(entry) = archive.by_index(n) else { continue };
        let mut raw = Vec::new();
        if std::io::Read::read_to_end(&mut std::io::Read::take(entry, MAX_BILL_BYTES + 1), &mut raw).is_err()
            || raw.len() as u64 > MAX_BILL_BYTES
        {
            continue;
        }
        let text = text_of(&raw);
        if parse(&text).is_ok() {
            return Ok(text);
        }
    }
    Err(BillError::NotABill)
}

/// UTF-8 (a byte-order mark dropped) when it is, else GBK.
fn text_of(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GBK.decode(bytes).0.into_owned(),
    }
}

/// Reads the bill's trade lines.
pub fn parse(text: &str) -> Result<Vec<BillLine>, BillError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or(BillError::NoHeader)?;
    let header = cells(header);
    let column = |name: &str| header.iter().position(|h| h == name).ok_or(BillError::NoHeader);
    let (trade, out, kind, amount) =
        (column("支付宝交易号")?, column("商户订单号")?, column("业务类型")?, column("订单金额（元）")?);
    let mut out_lines = Vec::new();
    for (n, line) in lines {
        let row = cells(line);
        let get = |i: usize| row.get(i).cloned().ok_or(BillError::BadLine(n + 1));
        let text = get(amount)?;
        let (negative, digits) = text.strip_prefix('-').map_or((false, text.as_str()), |d| (true, d));
        let fen = Money::parse_yuan(digits).map_err(|_| BillError::BadLine(n + 1))?.fen();
        let amount_fen = if negative { -fen } else { fen };
        out_lines.push(BillLine { trade_no: get(trade)?, out_trade_no: get(out)?, kind: get(kind)?, amount_fen });
    }
    Ok(out_lines)
}

/// A payment or refund as we recorded it, for the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub out_trade_no: String,
    /// Always positive (a refund's amount as refunded).
    pub amount: Money,
}

/// What differs between the bill and our records (empty when they agree). Trades are named by
/// our `out_trade_no`; a trade's refunds of the day are compared as their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillDiff {
    /// Paid at Alipay, not paid in our records.
    pub missing_here: Vec<String>,
    /// Paid in our records, absent from the bill.
    pub missing_there: Vec<String>,
    /// In both, with different amounts: (out_trade_no, bill fen, our fen).
    pub amount_mismatch: Vec<(String, i64, i64)>,
    /// Refunded at Alipay (in its console, say), not in our records.
    pub refunds_missing_here: Vec<String>,
    /// Refunded in our records, absent from the bill.
    pub refunds_missing_there: Vec<String>,
    /// Refunded in both, by different amounts: (out_trade_no, bill fen, our fen).
    pub refund_mismatch: Vec<(String, i64, i64)>,
}

impl BillDiff {
    pub fn is_clean(&self) -> bool {
        self.differences() == 0
    }

    /// How many differences there are.
    pub fn differences(&self) -> usize {
        self.missing_here.len()
            + self.missing_there.len()
            + self.amount_mismatch.len()
            + self.refunds_missing_here.len()
            + self.refunds_missing_there.len()
            + self.refund_mismatch.len()
    }
}

/// What the two sides hold of one kind, per trade: (only in the bill, only ours, different).
type Sides = (Vec<String>, Vec<String>, Vec<(String, i64, i64)>);

fn compare(bill: &BTreeMap<&str, i64>, mine: &BTreeMap<&str, i64>) -> Sides {
    let mut sides = Sides::default();
    for (no, amount) in bill {
        match mine.get(no) {
            None => sides.0.push((*no).to_owned()),
            Some(recorded) if recorded != amount => sides.2.push(((*no).to_owned(), *amount, *recorded)),
            Some(_) => {}
        }
    }
    sides.1 = mine.keys().filter(|no| !bill.contains_key(*no)).map(|no| (*no).to_owned()).collect();
    sides
}

fn ours(records: &[Recorded]) -> BTreeMap<&str, i64> {
    summed(records.iter().map(|r| (r.out_trade_no.as_str(), r.amount.fen())))
}

fn summed<'a>(items: impl Iterator<Item = (&'a str, i64)>) -> BTreeMap<&'a str, i64> {
    let mut sums = BTreeMap::new();
    for (no, fen) in items {
        *sums.entry(no).or_insert(0) += fen;
    }
    sums
}

/// Compares the bill's payments (`交易` lines) and refunds (`退款` lines) with the payments and
/// refunds we recorded for that day.
pub fn diff(bill: &[BillLine], payments: &[Recorded], refunds: &[Recorded]) -> BillDiff {
    let lines = |kind: &'static str| bill.iter().filter(move |l| l.kind == kind);
    let paid = summed(lines("交易").map(|l| (l.out_trade_no.as_str(), l.amount_fen)));
    let refunded = summed(lines("退款").map(|l| (l.out_trade_no.as_str(), l.amount_fen.abs())));
    let payments = compare(&paid, &ours(payments));
    let refunds = compare(&refunded, &ours(refunds));
    BillDiff {
        missing_here: payments.0,
        missing_there: payments.1,
        amount_mismatch: payments.2,
        refunds_missing_here: refunds.0,
        refunds_missing_there: refunds.1,
        refund_mismatch: refunds.2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BILL: &str = include_str!("../tests/vectors/trade-bill.csv");

    fn fen(n: i64) -> Money {
        Money::from_fen(n).unwrap()
    }

    fn ours() -> Vec<Recorded> {
        (1..=5).map(|n| Recorded { out_trade_no: format!("SD202611250000000{n}A"), amount: fen(20_000) }).collect()
    }

    #[test]
    fn the_bill_is_read_by_column_name() {
        let lines = parse(BILL).unwrap();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0].out_trade_no, "SD2026112500000001A");
        assert_eq!(lines[0].amount_fen, 20_000);
        assert_eq!((lines[5].kind.as_str(), lines[5].amount_fen), ("退款", -20_000));
        assert_eq!(parse("#只有注释\n"), Err(BillError::NoHeader));
    }

    fn our_refunds() -> Vec<Recorded> {
        let bill = parse(BILL).unwrap();
        let refund = bill.iter().find(|l| l.kind == "退款").unwrap();
        vec![Recorded { out_trade_no: refund.out_trade_no.clone(), amount: fen(-refund.amount_fen) }]
    }

    #[test]
    fn a_clean_day_has_no_differences() {
        let d = diff(&parse(BILL).unwrap(), &ours(), &our_refunds());
        assert!(d.is_clean(), "{d:?}");
    }

    #[test]
    fn refunds_are_compared_too() {
        let bill = parse(BILL).unwrap();
        let d = diff(&bill, &ours(), &[]);
        assert_eq!((d.refunds_missing_here.len(), d.differences()), (1, 1), "refunded in Alipay's console: {d:?}");
        let mut halved = our_refunds();
        halved[0].amount = fen(10_000);
        halved.push(Recorded { out_trade_no: "SD2026112500000001A".into(), amount: fen(5) });
        let d = diff(&bill, &ours(), &halved);
        assert_eq!(d.refund_mismatch.len(), 1, "{d:?}");
        assert_eq!(d.refunds_missing_there, ["SD2026112500000001A"]);
    }

    #[test]
    fn tampered_and_missing_payments_are_reported() {
        let mut mine = ours();
        mine[0].amount = fen(19_999);
        mine[1].amount = fen(1);
        mine[2].amount = fen(20_001);
        mine.remove(4);
        mine.push(Recorded { out_trade_no: "SD2026112500000009A".into(), amount: fen(20_000) });
        let d = diff(&parse(BILL).unwrap(), &mine, &our_refunds());
        assert_eq!(d.amount_mismatch.len(), 3, "{d:?}");
        assert_eq!(d.missing_here, ["SD2026112500000005A"]);
        assert_eq!(d.missing_there, ["SD2026112500000009A"]);
    }

    #[test]
    fn the_zip_alipay_serves_is_read_in_gbk_and_its_summary_skipped() {
        use std::io::Write;
        let detail = "#支付宝业务明细查询\n支付宝交易号,商户订单号,业务类型,商品名称,订单金额（元）\n2026120122001,SD20261201000000001A,交易,电子签章,415.00\n";
        let summary = "#支付宝业务汇总查询\n门店编号,门店名称,交易订单总笔数\n,,1\n";
        let (gbk_detail, _, _) = encoding_rs::GBK.encode(detail);
        let (gbk_summary, _, _) = encoding_rs::GBK.encode(summary);
        let mut zipped = Vec::new();
        {
            let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
            let options = zip::write::SimpleFileOptions::default();
            writer.start_file("2088_20261201_业务明细(汇总).csv", options).unwrap();
            writer.write_all(&gbk_summary).unwrap();
            writer.start_file("2088_20261201_业务明细.csv", options).unwrap();
            writer.write_all(&gbk_detail).unwrap();
            writer.finish().unwrap();
        }
        let text = decode_download(&zipped).unwrap();
        let lines = parse(&text).unwrap();
        assert_eq!(
            (lines.len(), lines[0].out_trade_no.as_str(), lines[0].amount_fen),
            (1, "SD20261201000000001A", 41_500)
        );
        assert_eq!(decode_download(&gbk_detail).unwrap(), detail, "a GBK CSV on its own");
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(detail.as_bytes());
        assert_eq!(decode_download(&bom).unwrap(), detail);
        assert_eq!(decode_download(b"PK\x03\x04 not really a zip"), Err(BillError::NotABill));
    }
}
