//! On-premise OCR of business licenses and ID cards (issue: OCR). This first part is the
//! recogniser-independent post-processing: [`repair`] turns per-character readings of an ID
//! number or a credit code that fail their check into the one value the readings support, or
//! says honestly that they support none or several. Inference (PP-OCRv4 through rten) and field
//! extraction build on it.

pub mod fields;
pub mod repair;

pub use fields::{Extraction, Kind, TextLine, extract};
pub use repair::{CharReading, Code, Outcome, Repair, repair};
