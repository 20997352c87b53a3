//! The trade ledger of the local Alipay simulator: what the real gateway answers to query, close
//! and refund at each point of a trade's life (REFERENCE §3.1), so our client and jobs meet the
//! same semantics here as in production:
//! - a precreated (QR) trade does not exist until the buyer scans it (`ACQ.TRADE_NOT_EXIST`);
//! - closing a paid trade answers `ACQ.TRADE_HAS_SUCCESS`;
//! - a refund repeated with the same `out_request_no` changes no money (`fund_change = N`);
//! - refunds never exceed what was paid; a full refund closes the trade.
//!
//! The HTTP face (cashier page, signed notifications with retries) wraps this ledger.

use std::collections::BTreeMap;

use domain::Money;
use time::OffsetDateTime;

/// Alipay's trade states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    TradeSuccess,
    TradeClosed,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeClosed => "TRADE_CLOSED",
        }
    }
}

#[derive(Debug, Clone)]
struct SimTrade {
    total: Money,
    /// `false` for a QR trade nobody has scanned yet: Alipay does not know it.
    visible: bool,
    status: TradeStatus,
    trade_no: String,
    refunded: Money,
    /// By `out_request_no`: amount and when it was made.
    refunds: BTreeMap<String, (Money, OffsetDateTime)>,
    paid_at: Option<OffsetDateTime>,
}

/// One line of the simulated trade bill: a payment or a refund, when it completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimBillLine {
    pub trade_no: String,
    pub out_trade_no: String,
    /// The refund's `out_request_no`; `None` for a payment.
    pub out_request_no: Option<String>,
    pub at: OffsetDateTime,
    /// Negative for a refund, as the bill prints it.
    pub amount_fen: i64,
}

/// Business errors, by Alipay's `sub_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    TradeNotExist,
    TradeHasSuccess,
    TradeStatusError,
    RefundAmountTooLarge,
    AmountMismatch,
}

impl SimError {
    pub fn sub_code(self) -> &'static str {
        match self {
            Self::TradeNotExist => "ACQ.TRADE_NOT_EXIST",
            Self::TradeHasSuccess => "ACQ.TRADE_HAS_SUCCESS",
            Self::TradeStatusError => "ACQ.TRADE_STATUS_ERROR",
            Self::RefundAmountTooLarge => "ACQ.REASON_TRADE_REFUND_FEE_ERR",
            Self::AmountMismatch => "ACQ.INVALID_PARAMETER",
        }
    }
}

/// What a refund call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundResult {
    /// `false` when the same `out_request_no` was seen before (`fund_change = N`).
    pub fund_change: bool,
    pub refunded_total: Money,
}

/// All trades the simulated gateway knows, by `out_trade_no`.
#[derive(Debug, Default)]
pub struct Ledger {
    trades: BTreeMap<String, SimTrade>,
    next_trade_no: u64,
}

impl Ledger {
    fn trade_no(&mut self) -> String {
        self.next_trade_no += 1;
        format!("2026{:024}", self.next_trade_no)
    }

    /// `alipay.trade.page.pay`: the cashier shows the trade at once. Re-opening it for the same
    /// order with the same amount is fine; a different amount is refused.
    pub fn open_page_pay(&mut self, out_trade_no: &str, total: Money) -> Result<(), SimError> {
        self.open(out_trade_no, total, true)
    }

    /// `alipay.trade.precreate`: the QR code exists, the trade not yet.
    pub fn precreate(&mut self, out_trade_no: &str, total: Money) -> Result<(), SimError> {
        self.open(out_trade_no, total, false)
    }

    fn open(&mut self, out_trade_no: &str, total: Money, visible: bool) -> Result<(), SimError> {
        if let Some(existing) = self.trades.get_mut(out_trade_no) {
            if existing.total != total {
                return Err(SimError::AmountMismatch);
            }
            existing.visible |= visible;
            return Ok(());
        }
        let trade_no = self.trade_no();
        self.trades.insert(
            out_trade_no.to_owned(),
            SimTrade {
                total,
                visible,
                status: TradeStatus::WaitBuyerPay,
                trade_no,
                refunded: Money::ZERO,
                refunds: BTreeMap::new(),
                paid_at: None,
            },
        );
        Ok(())
    }

    /// The buyer scans the QR code.
    pub fn scan(&mut self, out_trade_no: &str) -> Result<(), SimError> {
        self.trades.get_mut(out_trade_no).map(|t| t.visible = true).ok_or(SimError::TradeNotExist)
    }

    /// The buyer pays at `at`; returns Alipay's `trade_no`.
    pub fn pay(&mut self, out_trade_no: &str, at: OffsetDateTime) -> Result<String, SimError> {
        let trade = self.visible_mut(out_trade_no)?;
        match trade.status {
            TradeStatus::WaitBuyerPay => {
                trade.status = TradeStatus::TradeSuccess;
                trade.paid_at = Some(at);
                Ok(trade.trade_no.clone())
            }
            TradeStatus::TradeSuccess => Err(SimError::TradeHasSuccess),
            TradeStatus::TradeClosed => Err(SimError::TradeStatusError),
        }
    }

    /// `alipay.trade.query`: status, amount and `trade_no`.
    pub fn query(&self, out_trade_no: &str) -> Result<(TradeStatus, Money, String), SimError> {
        let trade = self.trades.get(out_trade_no).filter(|t| t.visible).ok_or(SimError::TradeNotExist)?;
        Ok((trade.status, trade.total, trade.trade_no.clone()))
    }

    /// `alipay.trade.close`: only an unpaid trade closes.
    pub fn close(&mut self, out_trade_no: &str) -> Result<(), SimError> {
        let trade = self.visible_mut(out_trade_no)?;
        match trade.status {
            TradeStatus::WaitBuyerPay => {
                trade.status = TradeStatus::TradeClosed;
                Ok(())
            }
            TradeStatus::TradeSuccess => Err(SimError::TradeHasSuccess),
            TradeStatus::TradeClosed => Ok(()),
        }
    }

    /// `alipay.trade.refund`, idempotent per `out_request_no`.
    pub fn refund(
        &mut self,
        out_trade_no: &str,
        amount: Money,
        out_request_no: &str,
        at: OffsetDateTime,
    ) -> Result<RefundResult, SimError> {
        let trade = self.visible_mut(out_trade_no)?;
        if let Some((previous, _)) = trade.refunds.get(out_request_no) {
            if *previous != amount {
                return Err(SimError::AmountMismatch);
            }
            return Ok(RefundResult { fund_change: false, refunded_total: trade.refunded });
        }
        if trade.status != TradeStatus::TradeSuccess {
            return Err(SimError::TradeStatusError);
        }
        let after = trade.refunded.checked_add(amount).map_err(|_| SimError::RefundAmountTooLarge)?;
        if after > trade.total {
            return Err(SimError::RefundAmountTooLarge);
        }
        trade.refunds.insert(out_request_no.to_owned(), (amount, at));
        trade.refunded = after;
        if after == trade.total {
            trade.status = TradeStatus::TradeClosed;
        }
        Ok(RefundResult { fund_change: true, refunded_total: after })
    }

    /// Money received minus money refunded, over all trades (for reconciliation checks).
    pub fn net_received(&self) -> i64 {
        self.trades
            .values()
            .filter(|t| t.status == TradeStatus::TradeSuccess || t.refunded > Money::ZERO)
            .map(|t| t.total.fen() - t.refunded.fen())
            .sum()
    }

    /// The trade bill's lines for what completed in `[from, to)`: payments, then refunds, in
    /// the order they happened.
    pub fn bill(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<SimBillLine> {
        let within = |t: OffsetDateTime| from <= t && t < to;
        let mut lines: Vec<SimBillLine> = Vec::new();
        for (out_trade_no, trade) in &self.trades {
            if let Some(at) = trade.paid_at.filter(|t| within(*t)) {
                lines.push(SimBillLine {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: out_trade_no.clone(),
                    out_request_no: None,
                    at,
                    amount_fen: trade.total.fen(),
                });
            }
            for (request, (amount, at)) in trade.refunds.iter().filter(|(_, (_, at))| within(*at)) {
                lines.push(SimBillLine {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: out_trade_no.clone(),
                    out_request_no: Some(request.clone()),
                    at: *at,
                    amount_fen: -amount.fen(),
                });
            }
        }
        lines.sort_by_key(|l| (l.out_request_no.is_some(), l.at));
        lines
    }

    fn visible_mut(&mut self, out_trade_no: &str) -> Result<&mut SimTrade, SimError> {
        self.trades.get_mut(out_trade_no).filter(|t| t.visible).ok_or(SimError::TradeNotExist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: OffsetDateTime = time::macros::datetime!(2026-11-30 02:00 UTC);

    #[test]
    fn the_bill_lists_what_completed_in_the_day() {
        let mut ledger = Ledger::default();
        for no in ["SD1", "SD2", "SD3"] {
            ledger.open_page_pay(no, fen(41_500)).unwrap();
        }
        ledger.pay("SD1", T).unwrap();
        ledger.pay("SD2", T + time::Duration::days(1)).unwrap();
        ledger.refund("SD1", fen(41_500), "SD1R1", T + time::Duration::hours(3)).unwrap();
        let day = ledger.bill(T - time::Duration::hours(2), T + time::Duration::hours(22));
        let seen: Vec<(&str, Option<&str>, i64)> =
            day.iter().map(|l| (l.out_trade_no.as_str(), l.out_request_no.as_deref(), l.amount_fen)).collect();
        assert_eq!(seen, [("SD1", None, 41_500), ("SD1", Some("SD1R1"), -41_500)], "SD2 paid the next day, SD3 never");
    }

    fn fen(n: i64) -> Money {
        Money::from_fen(n).unwrap()
    }

    #[test]
    fn a_qr_trade_does_not_exist_before_the_scan() {
        let mut ledger = Ledger::default();
        ledger.precreate("SD1", fen(41_500)).unwrap();
        assert_eq!(ledger.query("SD1").unwrap_err(), SimError::TradeNotExist);
        assert_eq!(ledger.close("SD1").unwrap_err(), SimError::TradeNotExist);
        ledger.scan("SD1").unwrap();
        assert_eq!(ledger.query("SD1").unwrap().0, TradeStatus::WaitBuyerPay);
    }

    #[test]
    fn closing_a_paid_trade_says_it_has_succeeded() {
        let mut ledger = Ledger::default();
        ledger.open_page_pay("SD1", fen(41_500)).unwrap();
        let trade_no = ledger.pay("SD1", T).unwrap();
        assert_eq!(ledger.close("SD1").unwrap_err(), SimError::TradeHasSuccess);
        assert_eq!(ledger.query("SD1").unwrap(), (TradeStatus::TradeSuccess, fen(41_500), trade_no));
        assert_eq!(ledger.pay("SD1", T).unwrap_err(), SimError::TradeHasSuccess, "no double charge");
        assert_eq!(ledger.open_page_pay("SD1", fen(1)).unwrap_err(), SimError::AmountMismatch);
    }

    #[test]
    fn refunds_are_idempotent_and_bounded() {
        let mut ledger = Ledger::default();
        ledger.open_page_pay("SD1", fen(41_500)).unwrap();
        ledger.pay("SD1", T).unwrap();
        assert_eq!(
            ledger.refund("SD1", fen(10_000), "r1", T).unwrap(),
            RefundResult { fund_change: true, refunded_total: fen(10_000) }
        );
        assert_eq!(
            ledger.refund("SD1", fen(10_000), "r1", T).unwrap(),
            RefundResult { fund_change: false, refunded_total: fen(10_000) }
        );
        assert_eq!(ledger.refund("SD1", fen(40_000), "r2", T).unwrap_err(), SimError::RefundAmountTooLarge);
        assert_eq!(ledger.net_received(), 31_500);
        ledger.refund("SD1", fen(31_500), "r3", T).unwrap();
        assert_eq!(ledger.query("SD1").unwrap().0, TradeStatus::TradeClosed, "a full refund closes the trade");
        assert_eq!(ledger.net_received(), 0);
    }

    #[test]
    fn an_unpaid_trade_closes_and_then_cannot_be_paid() {
        let mut ledger = Ledger::default();
        ledger.open_page_pay("SD2", fen(100)).unwrap();
        ledger.close("SD2").unwrap();
        assert_eq!(ledger.pay("SD2", T).unwrap_err(), SimError::TradeStatusError);
        assert_eq!(ledger.refund("SD2", fen(100), "r", T).unwrap_err(), SimError::TradeStatusError);
    }
}
