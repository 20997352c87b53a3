//! On-premise OCR of business licenses and ID cards: [`engine`] finds and reads text lines with
//! PP-OCRv4 through rten; [`fields`] turns lines into the document's fields by their printed
//! labels and layout, with cross-check warnings; [`repair`] turns per-character readings of an ID
//! number or a credit code that fail their check into the one value the readings support, or
//! says honestly that they support none or several.

pub mod engine;
pub mod fields;
pub mod network;
pub mod repair;

pub use fields::{Extraction, Kind, TextLine, extract};
pub use repair::{CharReading, Code, Outcome, Repair, repair};
