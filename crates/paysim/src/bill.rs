//! The trade bill as Alipay serves it behind `alipay.data.dataservice.bill.downloadurl.query`:
//! a zip of two GBK CSV files, `<pid>_<yyyymmdd>_业务明细.csv` (one line per payment and
//! refund, values ending in a tab, comment lines before and after) and its `业务明细(汇总)`.

use std::fmt::Write as _;
use std::io::Write as _;

use payments::alipay_sim::SimBillLine;
use payments::gateway::china_timestamp;

const COLUMNS: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

/// The 业务明细 text of one day (`day` as `yyyy-MM-dd`).
pub fn detail(seller_id: &str, day: &str, lines: &[SimBillLine], subject: impl Fn(&str) -> String) -> String {
    let mut out = format!(
        "#支付宝业务明细查询\n#账号：[{seller_id}0156]\n#起始日期：[{day} 00:00:00]   终止日期：[{day} 23:59:59]\n#-----------------------------------------业务明细列表----------------------------------------\n{COLUMNS}\n"
    );
    for l in lines {
        let at = china_timestamp(l.at);
        let kind = if l.out_request_no.is_some() { "退款" } else { "交易" };
        let amount = yuan(l.amount_fen);
        let cells = [
            l.trade_no.as_str(),
            &l.out_trade_no,
            kind,
            &subject(&l.out_trade_no),
            &at,
            &at,
            "",
            "",
            "",
            "",
            "sim***@example.com",
            &amount,
            &amount,
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "0.00",
            "",
            "0.00",
            "0.00",
            l.out_request_no.as_deref().unwrap_or_default(),
            "0.00",
            "0.00",
            "",
        ];
        out.push_str(&cells.iter().map(|c| format!("{c}\t")).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    let (paid, refunded): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l.out_request_no.is_none());
    let total = |ls: &[&SimBillLine]| yuan(ls.iter().map(|l| l.amount_fen).sum());
    out.push_str("#-----------------------------------------业务明细列表结束------------------------------------\n");
    let _ = writeln!(out, "#交易合计：{}笔，商家实收共：{}元", paid.len(), total(&paid));
    let _ = writeln!(out, "#退款合计：{}笔，商家实收退款共：{}元", refunded.len(), total(&refunded));
    out
}

/// The zip Alipay hands out: the detail and its summary, both GBK.
pub fn zipped(seller_id: &str, day: &str, detail: &str) -> Vec<u8> {
    let compact = day.replace('-', "");
    let summary = format!(
        "#支付宝业务汇总查询\n#账号：[{seller_id}0156]\n门店编号,门店名称,交易订单总笔数\n,,{}\n",
        detail.lines().count()
    );
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        (format!("{seller_id}0156_{compact}_业务明细(汇总).csv"), summary.as_str()),
        (format!("{seller_id}0156_{compact}_业务明细.csv"), detail),
    ] {
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        // Writing to memory cannot fail short of allocation failure.
        let _ = out.start_file(name, options);
        let _ = out.write_all(&gbk);
    }
    out.finish().map(std::io::Cursor::into_inner).unwrap_or_default()
}
