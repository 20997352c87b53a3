//! Pure business types and rules of sealdesk.
//!
//! Values here can only be obtained by parsing (`Phone::parse`, `NewPassword::parse`, ...), so code
//! that holds one never re-checks it. No IO, no async, no clock: callers pass the time in.

pub mod address;
pub mod division;
pub mod email;
pub mod field;
pub mod ids;
pub mod mask;
pub mod password;
pub mod person;
pub mod phone;
pub mod sms;

pub use address::{Address, AddressDraft};
pub use division::{Division, Divisions, Region};
pub use email::Email;
pub use field::{FieldError, FieldErrors};
pub use ids::{AddressId, UserId};
pub use password::NewPassword;
pub use person::PersonName;
pub use phone::Phone;
pub use sms::{SmsCode, SmsPurpose};
