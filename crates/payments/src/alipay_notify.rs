//! What a verified Alipay notification (or query answer) means for an order (SECURITY F2): after
//! the signature, the merchant's four checks — our order, the exact amount in fen, our app id,
//! our seller — and only `TRADE_SUCCESS` / `TRADE_FINISHED` mean paid.

use std::collections::BTreeMap;

use domain::Money;

/// What our side expects of the trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected<'a> {
    pub out_trade_no: &'a str,
    pub total: Money,
    pub app_id: &'a str,
    pub seller_id: &'a str,
}

pub use crate::gateway::Decision;

/// Checks the business fields of a verified notification.
pub fn decide(fields: &BTreeMap<String, String>, expected: &Expected<'_>) -> Decision {
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    if get("out_trade_no") != expected.out_trade_no {
        return Decision::Mismatch("out_trade_no");
    }
    if get("app_id") != expected.app_id {
        return Decision::Mismatch("app_id");
    }
    if get("seller_id") != expected.seller_id {
        return Decision::Mismatch("seller_id");
    }
    if Money::parse_yuan(get("total_amount")) != Ok(expected.total) {
        return Decision::Mismatch("total_amount");
    }
    match get("trade_status") {
        "TRADE_SUCCESS" | "TRADE_FINISHED" if !get("trade_no").is_empty() => {
            Decision::Paid { trade_no: get("trade_no").to_owned() }
        }
        "TRADE_SUCCESS" | "TRADE_FINISHED" => Decision::Mismatch("trade_no"),
        status => Decision::NotPaid { status: status.to_owned() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(amount: &str, status: &str) -> BTreeMap<String, String> {
        [
            ("out_trade_no", "SD2026112500000001"),
            ("app_id", "2021000000000001"),
            ("seller_id", "2088000000000001"),
            ("total_amount", amount),
            ("trade_status", status),
            ("trade_no", "2026112522001400000000000001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn expected(fen: i64) -> Expected<'static> {
        Expected {
            out_trade_no: "SD2026112500000001",
            total: Money::from_fen(fen).unwrap(),
            app_id: "2021000000000001",
            seller_id: "2088000000000001",
        }
    }

    #[test]
    fn only_the_exact_amount_and_a_paid_status_mark_an_order_paid() {
        assert!(matches!(decide(&fields("415.00", "TRADE_SUCCESS"), &expected(41_500)), Decision::Paid { .. }));
        assert!(matches!(decide(&fields("415.0", "TRADE_FINISHED"), &expected(41_500)), Decision::Paid { .. }));
        for amount in ["0.01", "0.001", "415.01", "414.99", "415", "415.00 ", "-415.00", "4.15e2", ""] {
            let decision = decide(&fields(amount, "TRADE_SUCCESS"), &expected(41_500));
            if amount == "415" {
                assert!(matches!(decision, Decision::Paid { .. }), "415 is 415.00");
            } else {
                assert_eq!(decision, Decision::Mismatch("total_amount"), "{amount:?}");
            }
        }
        for status in ["WAIT_BUYER_PAY", "TRADE_CLOSED"] {
            assert_eq!(
                decide(&fields("415.00", status), &expected(41_500)),
                Decision::NotPaid { status: status.into() }
            );
        }
    }

    #[test]
    fn another_order_app_or_seller_changes_nothing() {
        let mut f = fields("415.00", "TRADE_SUCCESS");
        f.insert("seller_id".into(), "2088999999999999".into());
        assert_eq!(decide(&f, &expected(41_500)), Decision::Mismatch("seller_id"));
        let mut f = fields("415.00", "TRADE_SUCCESS");
        f.insert("app_id".into(), "2021999999999999".into());
        assert_eq!(decide(&f, &expected(41_500)), Decision::Mismatch("app_id"));
        let mut f = fields("415.00", "TRADE_SUCCESS");
        f.insert("out_trade_no".into(), "SD-someone-else".into());
        assert_eq!(decide(&f, &expected(41_500)), Decision::Mismatch("out_trade_no"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        /// Integer fen end to end: the exact yuan text of the order pays it, one fen either way
        /// does not.
        #[test]
        fn amounts_compare_exactly_in_fen(fen in 1i64..=domain::money::MAX_FEN - 1) {
            let money = Money::from_fen(fen).unwrap();
            let paid = matches!(decide(&fields(&money.to_yuan(), "TRADE_SUCCESS"), &expected(fen)), Decision::Paid { .. });
            prop_assert!(paid, "the exact amount must pay the order");
            let more = Money::from_fen(fen + 1).unwrap().to_yuan();
            prop_assert_eq!(decide(&fields(&more, "TRADE_SUCCESS"), &expected(fen)), Decision::Mismatch("total_amount"));
        }
    }
}
