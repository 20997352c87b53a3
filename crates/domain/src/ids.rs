//! Typed ids, so a user id can never be passed where an address id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }
    )+};
}

id_type! {
    /// An applicant account.
    UserId,
    /// An entry of an applicant's address book.
    AddressId,
    /// An application (draft until it becomes an order).
    ApplicationId,
    /// A package of the catalog.
    PackageId,
    /// An order (from 待支付 on).
    OrderId,
    /// One trade of an order at one payment channel.
    PaymentId,
    /// A refund owed or made for a payment.
    RefundId,
    /// A staff member's account (the back office).
    StaffId,
    /// A queued message (SMS or e-mail) in the outbox.
    NotificationId,
    /// Something finance must look at.
    FinanceAlertId,
    /// An SMS verification code as issued.
    SmsCodeId,
    /// A workstation's token for making keys.
    StationTokenId,
    /// A pickup point of the catalog.
    PickupPointId,
}
