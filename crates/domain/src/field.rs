//! Field-level validation errors: which input was wrong, a stable code, and the Chinese message
//! shown beside the field.

use serde::Serialize;

/// One rejected input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Name of the form / JSON field, e.g. `phone`.
    pub field: &'static str,
    /// Stable `snake_case` code for API clients, e.g. `phone_invalid`.
    pub code: &'static str,
    /// Message for people, in Simplified Chinese.
    pub message: String,
}

/// All problems found in one submitted form; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    pub fn add(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field, code, message: message.into() });
    }

    /// Runs a parser and records its error under `field`, returning the value when it parsed.
    pub fn check<T, E: Rejection>(&mut self, field: &'static str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err.code(), err.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// The first message for `field`, for rendering beside it.
    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }
}

/// A parse error that knows its stable code; its `Display` is the Chinese message.
pub trait Rejection: std::fmt::Display {
    fn code(&self) -> &'static str;
}

/// Declares a rejection enum: each variant gets a stable code and a Chinese message.
#[macro_export]
macro_rules! rejection {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident => ($code:literal, $msg:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($variant),+ }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(match self { $(Self::$variant => $msg),+ })
            }
        }

        impl ::std::error::Error for $name {}

        impl $crate::field::Rejection for $name {
            fn code(&self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }
        }
    };
}

/// Declares a closed set of named values: each variant gets a stable storage/API name
/// (`as_str` / `parse`), the Chinese label people see, and `ALL` in declaration order.
#[macro_export]
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => ($key:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Stable name for storage and the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $key),+ }
            }

            /// The label people see.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }

            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }
        }
    };
}
