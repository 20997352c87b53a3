//! What an order costs (确认订单): package price, delivery fee, service fee and the total, all in
//! fen and all computed here, never taken from the client.

use crate::money::{Money, MoneyError};
use crate::named_enum;
use serde::{Deserialize, Serialize};

named_enum! {
    /// 主锁 (the main key) or 副锁 (an additional key for the same certificate holder).
    pub enum KeyType {
        Main => ("main", "主锁"),
        Secondary => ("secondary", "副锁"),
    }
}

named_enum! {
    /// How the key reaches the applicant.
    pub enum Delivery {
        Courier => ("courier", "快递"),
        Pickup => ("pickup", "自提"),
    }
}

/// Fees that do not depend on the package; set by staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fees {
    pub courier: Money,
    pub pickup: Money,
    pub service: Money,
}

/// The breakdown shown before paying and stored with the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeBreakdown {
    pub package: Money,
    pub delivery: Money,
    pub service: Money,
    pub total: Money,
}

impl FeeBreakdown {
    pub fn compute(package_price: Money, delivery: Delivery, fees: &Fees) -> Result<Self, MoneyError> {
        let delivery_fee = match delivery {
            Delivery::Courier => fees.courier,
            Delivery::Pickup => fees.pickup,
        };
        let total = package_price.checked_add(delivery_fee)?.checked_add(fees.service)?;
        Ok(Self { package: package_price, delivery: delivery_fee, service: fees.service, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::MAX_FEN;
    use proptest::prelude::*;

    fn fen(n: i64) -> Money {
        Money::from_fen(n).unwrap()
    }

    #[test]
    fn courier_adds_postage_pickup_does_not() {
        let fees = Fees { courier: fen(1500), pickup: fen(0), service: fen(1000) };
        let courier = FeeBreakdown::compute(fen(40_000), Delivery::Courier, &fees).unwrap();
        assert_eq!((courier.delivery, courier.total), (fen(1500), fen(42_500)));
        let pickup = FeeBreakdown::compute(fen(40_000), Delivery::Pickup, &fees).unwrap();
        assert_eq!((pickup.delivery, pickup.total), (fen(0), fen(41_000)));
    }

    proptest! {
        #[test]
        fn the_total_is_the_exact_sum_or_an_error(p in 0..=MAX_FEN, c in 0..=MAX_FEN, s in 0..=MAX_FEN) {
            let fees = Fees { courier: fen(c), pickup: fen(0), service: fen(s) };
            match FeeBreakdown::compute(fen(p), Delivery::Courier, &fees) {
                Ok(b) => prop_assert_eq!(b.total.fen(), p + c + s),
                Err(_) => prop_assert!(p + c + s > MAX_FEN),
            }
        }
    }
}
