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
