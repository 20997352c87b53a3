//! A payment's own life, beside the order's: a trade is opened per order and channel, becomes
//! paid at most once, or is closed; money that arrived for an order that could not take it any
//! more is refunded, once.

use crate::named_enum;

named_enum! {
    /// Where a payment (one trade at one channel) stands.
    pub enum PaymentStatus {
        Pending => ("pending", "待支付"),
        Paid => ("paid", "已支付"),
        Closed => ("closed", "已关闭"),
        Refunded => ("refunded", "已退款"),
    }
}

named_enum! {
    /// Where a refund stands: recorded first, then confirmed by the gateway.
    pub enum RefundStatus {
        /// Above the set amount: waits for a second finance person.
        AwaitingApproval => ("awaiting_approval", "待复核"),
        Pending => ("pending", "退款处理中"),
        Done => ("done", "已退款"),
        /// The gateway refused it through the whole retry schedule: finance resolves it.
        Failed => ("failed", "退款失败（财务处理中）"),
    }
}

/// The refund request number of a payment's one refund: the gateway refunds at most once per
/// number, so every retry reuses it.
pub fn refund_request_no(out_trade_no: &str) -> String {
    format!("{out_trade_no}R1")
}

/// Banks offered for online-banking payment, by their bank code (the `BankID` CPCN takes):
/// (code, name).
pub const BANKS: &[(&str, &str)] = &[
    ("102", "中国工商银行"),
    ("103", "中国农业银行"),
    ("104", "中国银行"),
    ("105", "中国建设银行"),
    ("301", "交通银行"),
    ("308", "招商银行"),
    ("403", "中国邮政储蓄银行"),
];

pub fn is_bank(bank_id: &str) -> bool {
    BANKS.iter().any(|(id, _)| *id == bank_id)
}

pub fn bank_name(bank_id: &str) -> Option<&'static str> {
    BANKS.iter().find(|(id, _)| *id == bank_id).map(|(_, name)| *name)
}
