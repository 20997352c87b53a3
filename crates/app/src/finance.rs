//! 财务: payments and notifications per order, refunds (above a set amount a second finance
//! person approves: [`crate::refunds`]), takings, order search and the daily bill check. E-invoices are
//! [`crate::invoices`].

use domain::application::SubjectKind;
use domain::staff::Role;
use domain::{OrderId, StaffId};

use std::sync::Arc;

use crate::clock::Clock;
use crate::gateway::Channel;
use crate::payment::Payments;
use crate::ports::{
    BillBook, BillCheck, FinanceAlert, InvoiceRecord, NoticeLog, OrderRecord, OrderSearch, PaymentRecord, RefundRecord,
};
use crate::staff::CurrentStaff;
use crate::{App, Error};

/// The hour (China time) from which the previous day's bill is fetched: Alipay publishes it in
/// the morning.
pub const BILL_READY_HOUR: u8 = 10;

/// How many orders one search shows at most (narrow it by date or state for more).
pub const SEARCH_LIMIT: i64 = 100;

/// The finance desk.
#[derive(Debug, Clone)]
pub struct FinanceDesk {
    pub invoice_queue: Vec<OrderRecord>,
    /// Refunded orders whose invoice still waits for its red-letter invoice (红冲).
    pub red_invoice_queue: Vec<OrderRecord>,
    pub refunds_awaiting: Vec<RefundRecord>,
    /// Refunds the gateway would not make through the whole retry schedule.
    pub refunds_failed: Vec<RefundRecord>,
    pub alerts: Vec<FinanceAlert>,
    /// Today's money (China time): received, refunded, net.
    pub today: Takings,
    /// The latest days' bill checks (fetched by themselves or uploaded).
    pub bill_checks: Vec<BillCheck>,
}

/// Money received and refunded over some days (China time), and what is left.
#[derive(Debug, Clone)]
pub struct Takings {
    /// First and last day, inclusive.
    pub from: time::Date,
    pub to: time::Date,
    pub received_fen: i64,
    pub received_count: usize,
    pub refunded_fen: i64,
    pub refunded_count: usize,
    pub movements: Vec<crate::ports::MoneyMovement>,
}

impl Takings {
    pub fn net_fen(&self) -> i64 {
        self.received_fen - self.refunded_fen
    }

    /// Received, refunded and net in yuan (`1234.50`, net may be negative).
    pub fn received(&self) -> String {
        yuan(self.received_fen)
    }

    pub fn refunded(&self) -> String {
        yuan(self.refunded_fen)
    }

    pub fn net(&self) -> String {
        yuan(self.net_fen())
    }

    /// The report as CSV for an accountant (UTF-8 with a byte-order mark, as spreadsheet
    /// programs here expect): one row per payment or refund, refunds negative, then the totals.
    pub fn csv(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::from("\u{feff}时间,类型,订单号,支付渠道,商户订单号,支付平台交易号,金额（元）\r\n");
        for m in &self.movements {
            let at = m.at.to_offset(crate::applications::CST);
            let fen = if m.refund { -m.amount.fen() } else { m.amount.fen() };
            let cells = [
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    at.year(),
                    u8::from(at.month()),
                    at.day(),
                    at.hour(),
                    at.minute(),
                    at.second()
                ),
                (if m.refund { "退款" } else { "收款" }).to_owned(),
                m.order_no.clone(),
                m.channel.label().to_owned(),
                m.out_trade_no.clone(),
                m.trade_no.clone().unwrap_or_default(),
                yuan(fen),
            ];
            out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        for (label, fen) in
            [("收款合计", self.received_fen), ("退款合计", -self.refunded_fen), ("净收款", self.net_fen())]
        {
            let _ = write!(out, ",{label},,,,,{}\r\n", yuan(fen));
        }
        out
    }
}

/// Fen as yuan with two decimals and a sign when negative: `-12.30`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

/// A CSV cell, quoted when it must be, and never read as a formula by a spreadsheet.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// Everything finance sees about one order.
#[derive(Debug, Clone)]
pub struct FinanceCase {
    pub order: OrderRecord,
    pub payments: Vec<PaymentRecord>,
    pub notices: Vec<NoticeLog>,
    pub refunds: Vec<RefundRecord>,
    pub invoice: Option<InvoiceRecord>,
    /// Whether a refund may be asked for now.
    pub refundable: bool,
}

impl App {
    pub async fn finance_desk(&self, staff: &CurrentStaff) -> Result<FinanceDesk, Error> {
        staff.require(&[Role::Finance])?;
        let today = self.clock.now().to_offset(crate::applications::CST).date();
        let today = self.takings_between(today, today).await?;
        Ok(FinanceDesk {
            invoice_queue: self.store.invoice_queue().await?,
            red_invoice_queue: self.store.red_invoice_queue().await?,
            refunds_awaiting: self.store.refunds_awaiting_approval().await?,
            refunds_failed: self.store.failed_refunds().await?,
            alerts: self.store.finance_alerts(50).await?,
            today,
            bill_checks: self.store.bill_checks(7).await?,
        })
    }

    /// 收款统计 for `from`..=`to` (China time; at most a year): received, refunded, net, and
    /// every payment and refund behind them.
    pub async fn takings(&self, staff: &CurrentStaff, from: time::Date, to: time::Date) -> Result<Takings, Error> {
        staff.require(&[Role::Finance])?;
        if to < from {
            return Err(Error::field("to", "range_invalid", "结束日期不能早于开始日期"));
        }
        if to - from > time::Duration::days(366) {
            return Err(Error::field("to", "range_too_long", "一次最多统计一年"));
        }
        self.takings_between(from, to).await
    }

    pub(crate) async fn takings_between(&self, from: time::Date, to: time::Date) -> Result<Takings, Error> {
        let start = from.midnight().assume_offset(crate::applications::CST);
        let end = to.midnight().assume_offset(crate::applications::CST) + time::Duration::days(1);
        let movements = self.store.money_movements(start, end).await?;
        let (refunds, payments): (Vec<_>, Vec<_>) = movements.iter().partition(|m| m.refund);
        Ok(Takings {
            from,
            to,
            received_fen: payments.iter().map(|m| m.amount.fen()).sum(),
            received_count: payments.len(),
            refunded_fen: refunds.iter().map(|m| m.amount.fen()).sum(),
            refunded_count: refunds.len(),
            movements,
        })
    }

    /// 订单查询 for finance: `text` is an order number, a phone number, a trade number (ours or
    /// Alipay's / the bank's), a credit code or ID number, or part of a company's or person's
    /// name; with an optional range of days the order was placed (China time) and a state. The
    /// newest [`SEARCH_LIMIT`] matches.
    pub async fn search_orders(
        &self,
        staff: &CurrentStaff,
        text: &str,
        days: Option<(time::Date, time::Date)>,
        status: Option<domain::OrderStatus>,
    ) -> Result<Vec<OrderRecord>, Error> {
        staff.require(&[Role::Finance])?;
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if text.chars().count() > 60 {
            return Err(Error::field("q", "query_too_long", "查询内容最多 60 个字"));
        }
        let mut search = OrderSearch { status, ..OrderSearch::default() };
        if let Some((from, to)) = days {
            if to < from {
                return Err(Error::field("to", "range_invalid", "结束日期不能早于开始日期"));
            }
            search.from = Some(from.midnight().assume_offset(crate::applications::CST));
            search.to = Some(to.midnight().assume_offset(crate::applications::CST) + time::Duration::days(1));
        }
        if !text.is_empty() {
            let upper = text.to_ascii_uppercase();
            // The subject of an order is indexed, never stored in the clear on it: a credit code
            // or ID number is found through the same keyed index.
            search.subject_indexes = [SubjectKind::Enterprise, SubjectKind::Personal]
                .iter()
                .map(|kind| self.keys.blind_index("order-subject", &format!("{}:{upper}", kind.as_str())))
                .collect();
            search.text = Some(text);
        }
        Ok(self.store.search_orders(&search, SEARCH_LIMIT).await?)
    }

    pub async fn finance_case(&self, staff: &CurrentStaff, id: OrderId) -> Result<FinanceCase, Error> {
        staff.require(&[Role::Finance])?;
        let order = self.store.order_by_id(id).await?.ok_or(Error::NotFound)?;
        let payments = self.store.payments_of_order(id).await?;
        let mut notices = Vec::new();
        for p in &payments {
            notices.extend(self.store.notices(Some(&p.out_trade_no), 50).await?);
        }
        let refunds = self.store.refunds_of_order(id).await?;
        let refundable = crate::refunds::refundable(&order, &payments, &refunds);
        Ok(FinanceCase { invoice: self.store.invoice(id).await?, order, payments, notices, refunds, refundable })
    }

    /// 标记已处理: finance writes down how an alert (a bill difference, a failed refund) was
    /// settled; audited, and the alert moves below the open ones.
    pub async fn resolve_finance_alert(
        &self,
        staff: &CurrentStaff,
        id: domain::FinanceAlertId,
        note: &str,
    ) -> Result<(), Error> {
        staff.require(&[Role::Finance])?;
        let note = note.trim();
        if note.chars().count() < 2 || note.chars().count() > 200 {
            return Err(Error::field("note", "note_required", "请写明处理结果（2–200 字）"));
        }
        if !self.store.resolve_finance_alert(id, staff.id, note, self.clock.now()).await? {
            return Err(Error::Conflict {
                code: "alert_not_open", message: "该提醒不存在或已处理，请刷新页面".into()
            });
        }
        self.audit(Some(staff.id), "alert.resolve", None, &format!("提醒 {id}：{note}")).await
    }
}

/// The daily bill check (SECURITY F7): Alipay's bill of a day against the payments settled and
/// refunds made that day, fetched by itself each morning or uploaded by finance; each
/// difference is a finance alert. It holds only the ports it needs, so its rules are tested
/// against in-memory fakes.
#[derive(Clone)]
pub struct BillChecks {
    book: Arc<dyn BillBook>,
    /// The gateways the bills come from and the alerts differences raise.
    pub(crate) payments: Payments,
    clock: Arc<dyn Clock>,
}

impl BillChecks {
    pub fn new(book: Arc<dyn BillBook>, payments: Payments, clock: Arc<dyn Clock>) -> Self {
        Self { book, payments, clock }
    }

    /// The daily bill check (SECURITY F7): Alipay's trade bill for `day` (China time) against the
    /// payments we settled that day. Differences are raised as finance alerts.
    /// The bill check from the file finance downloaded from Alipay: the zip of GBK text Alipay
    /// serves, or a CSV.
    pub async fn compare_alipay_bill_file(
        &self,
        staff: &CurrentStaff,
        day: time::Date,
        file: &[u8],
    ) -> Result<crate::bill::BillDiff, Error> {
        staff.require(&[Role::Finance])?;
        if file.is_empty() {
            return Err(Error::field("bill", "bill_missing", "请选择从支付宝下载的账单文件（zip 或 csv）"));
        }
        let text = crate::bill::decode_download(file).map_err(|_| {
            Error::field("bill", "bill_unreadable", "无法读取该文件，请上传支付宝下载的业务明细账单（zip 或 csv）")
        })?;
        self.compare_alipay_bill(staff, day, &text).await
    }

    pub async fn compare_alipay_bill(
        &self,
        staff: &CurrentStaff,
        day: time::Date,
        bill: &str,
    ) -> Result<crate::bill::BillDiff, Error> {
        staff.require(&[Role::Finance])?;
        self.check_alipay_bill(day, bill, Some(staff.id)).await
    }

    /// The bill of `day` against the payments settled and refunds made that day (China time);
    /// each difference becomes a finance alert, and the check is recorded.
    async fn check_alipay_bill(
        &self,
        day: time::Date,
        bill: &str,
        by: Option<StaffId>,
    ) -> Result<crate::bill::BillDiff, Error> {
        let lines = crate::bill::parse(bill).map_err(|e| Error::field("bill", "bill_unreadable", &e.to_string()))?;
        self.check_lines(day, &lines, by).await
    }

    /// The bill's lines of `day` against what we recorded that day.
    async fn check_lines(
        &self,
        day: time::Date,
        lines: &[crate::bill::BillLine],
        by: Option<StaffId>,
    ) -> Result<crate::bill::BillDiff, Error> {
        use crate::bill::{Recorded, diff};
        let from = day.midnight().assume_offset(crate::applications::CST);
        let to = from + time::Duration::days(1);
        let paid: Vec<Recorded> = self
            .book
            .payments_paid_between(Channel::Alipay, from, to)
            .await?
            .into_iter()
            .map(|p| Recorded { out_trade_no: p.out_trade_no, amount: p.amount })
            .collect();
        let refunded: Vec<Recorded> = self
            .book
            .money_movements(from, to)
            .await?
            .into_iter()
            .filter(|m| m.refund && m.channel == Channel::Alipay)
            .map(|m| Recorded { out_trade_no: m.out_trade_no, amount: m.amount })
            .collect();
        let result = diff(lines, &paid, &refunded);
        let said = |what: &str, no: &str| format!("{day} 支付宝账单与本系统记录不一致：{no} {what}");
        for no in &result.missing_here {
            self.payments.alert("bill_mismatch", None, Some(no), &said("支付宝已收款，本系统未记为已支付", no)).await?;
        }
        for no in &result.missing_there {
            self.payments.alert("bill_mismatch", None, Some(no), &said("本系统记为已支付，账单中没有", no)).await?;
        }
        for no in &result.refunds_missing_here {
            self.payments.alert("bill_mismatch", None, Some(no), &said("支付宝有退款，本系统没有记录", no)).await?;
        }
        for no in &result.refunds_missing_there {
            self.payments.alert("bill_mismatch", None, Some(no), &said("本系统记为已退款，账单中没有", no)).await?;
        }
        for (no, bill_fen, our_fen) in result.amount_mismatch.iter().chain(&result.refund_mismatch) {
            let what = format!("金额不符：账单 {} 元，本系统 {} 元", yuan(*bill_fen), yuan(*our_fen));
            self.payments.alert("bill_mismatch", None, Some(no), &said(&what, no)).await?;
        }
        let check = BillCheck {
            channel: Channel::Alipay,
            day,
            checked_by: by,
            checked_at: self.clock.now(),
            differences: i64::try_from(result.differences()).unwrap_or(i64::MAX),
        };
        self.book.record_bill_check(&check).await?;
        Ok(result)
    }

    /// 自动对账 (each morning, on every instance; one takes the day): yesterday's Alipay bill,
    /// fetched through the gateway and checked, once per day. Alipay publishes a day's bill the
    /// next morning, so nothing is asked before [`BILL_READY_HOUR`] China time; a bill not out
    /// yet, or a gateway that cannot be reached, is asked again at the next run.
    pub async fn fetch_daily_bills(&self) -> Result<Option<crate::bill::BillDiff>, Error> {
        let now = self.clock.now();
        let local = now.to_offset(crate::applications::CST);
        if local.hour() < BILL_READY_HOUR {
            return Ok(None);
        }
        let Ok(gateway) = self.payments.gateways.get(Channel::Alipay) else { return Ok(None) };
        let Some(day) = local.date().previous_day() else { return Ok(None) };
        if !self.book.claim_bill_check(Channel::Alipay, day, now, time::Duration::minutes(10)).await? {
            return Ok(None);
        }
        let bill = match gateway.trade_bill(day, now).await {
            Ok(Some(bytes)) => crate::bill::decode_download(&bytes),
            Ok(None) => {
                self.book.release_bill_check(Channel::Alipay, day).await?;
                return Ok(None);
            }
            Err(err) => {
                self.book.release_bill_check(Channel::Alipay, day).await?;
                return Err(Error::Unavailable {
                    code: "bill_unavailable",
                    message: format!("支付宝账单下载失败：{err}"),
                });
            }
        };
        // Unreadable, whether as a file or as a bill: left to finance, who can upload it.
        let lines = bill.ok().and_then(|text| crate::bill::parse(&text).ok());
        let Some(lines) = lines else {
            self.payments
                .alert(
                    "bill_unreadable",
                    None,
                    None,
                    &format!("{day} 支付宝账单无法读取，请在支付宝商家后台下载后上传核对"),
                )
                .await?;
            let check = BillCheck { channel: Channel::Alipay, day, checked_by: None, checked_at: now, differences: 1 };
            self.book.record_bill_check(&check).await?;
            return Ok(None);
        };
        self.check_lines(day, &lines, None).await.map(Some)
    }
}

#[cfg(test)]
mod bill_check_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_cells_read_right_in_a_spreadsheet() {
        assert_eq!(
            (yuan(0), yuan(5), yuan(-1230), yuan(41_500)),
            ("0.00".into(), "0.05".into(), "-12.30".into(), "415.00".into())
        );
        assert_eq!(csv_cell("示例科技有限公司"), "示例科技有限公司");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)", "never a formula");
    }
}
