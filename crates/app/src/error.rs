//! Errors of the use cases. Policy: every variant is something the caller can act on and maps to
//! one HTTP status and one stable code at the web edge; `Internal` is the only one whose cause is
//! hidden from users (it is logged once, where it is turned into a response).

use domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more inputs were rejected; each error names its field.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// The caller must log in first.
    #[error("not authenticated")]
    Unauthenticated,
    /// Phone number or password wrong (never says which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No such object, or it belongs to someone else (the two are never told apart).
    #[error("not found")]
    NotFound,
    /// Authenticated, but the role does not allow this (staff routes).
    #[error("forbidden")]
    Forbidden,
    /// The request clashes with the current state.
    #[error("conflict: {code}")]
    Conflict { code: &'static str, message: String },
    /// Too many attempts; try again after the given number of seconds.
    #[error("rate limited: {code}")]
    RateLimited { code: &'static str, message: String, retry_after_secs: i64 },
    /// A dependency (SMS gateway, mail relay) failed; the user should retry later.
    #[error("dependency unavailable: {code}")]
    Unavailable { code: &'static str, message: String },
    /// A bug or an infrastructure failure.
    #[error(transparent)]
    Internal(#[from] StoreError),
}

impl Error {
    pub fn field(field: &'static str, code: &'static str, message: &str) -> Self {
        Self::Validation(FieldErrors::single(field, code, message))
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Self::Validation(errors)
    }
}

/// Failures of the store adapters.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write would break a rule of uniqueness; says which.
    #[error("unique rule violated: {0:?}")]
    Duplicate(Unique),
    /// A rule checked inside the write refused it; says which.
    #[error("refused by the store: {0:?}")]
    Refused(Refusal),
    #[error("database error: {0}")]
    Database(String),
    #[error("internal error: {0}")]
    Other(String),
}

/// The rules of uniqueness the use cases tell apart (the adapters name each one as their
/// engine reports it; anything else is `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// One account per mobile number.
    UserPhone,
    /// One staff account per username.
    StaffUsername,
    /// One order per applicant and idempotency key.
    OrderIdempotencyKey,
    /// One open order per subject (company or person) and business type.
    OrderOpenSubject,
    /// One order per order number.
    OrderNumber,
    /// One refund per payment.
    RefundOfPayment,
    /// One payment per gateway trade number.
    PaymentTradeNo,
    /// One stored file per key (files are never overwritten).
    FileKey,
    /// A rule no use case tells apart.
    Other,
}

/// Rules a store checks inside the write itself, so that no race can get past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address book holds as many addresses as it may.
    AddressBookFull,
    /// The account still has orders under way, so it cannot be closed.
    OrdersUnderWay,
}
