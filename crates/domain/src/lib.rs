//! Pure business types and rules of sealdesk.
//!
//! Values here can only be obtained by parsing (`Phone::parse`, `NewPassword::parse`, ...), so code
//! that holds one never re-checks it. No IO, no async, no clock: callers pass the time in.

pub mod address;
pub mod application;
pub mod certificate;
pub mod credit_code;
pub mod division;
pub mod document;
pub mod email;
pub mod field;
pub mod fulfilment;
pub mod ids;
pub mod invoice;
pub mod mask;
pub mod money;
pub mod order_status;
pub mod password;
pub mod payment;
pub mod person;
pub mod phone;
pub mod pricing;
pub mod resident_id;
pub mod review;
pub mod seal;
pub mod sms;
pub mod staff;

pub use address::{Address, AddressDraft};
pub use credit_code::CreditCode;
pub use division::{Division, Divisions, Region};
pub use email::Email;
pub use field::{FieldError, FieldErrors};
pub use ids::{
    AddressId, ApplicationId, FinanceAlertId, NotificationId, OrderId, PackageId, PaymentId, PickupPointId, RefundId,
    SmsCodeId, StaffId, StationTokenId, UserId,
};
pub use money::Money;
pub use order_status::{Actor, OrderEvent, OrderStatus};
pub use password::NewPassword;
pub use person::PersonName;
pub use phone::Phone;
pub use resident_id::ResidentId;
pub use sms::{SmsCode, SmsPurpose};
