//! Payment protocols, with no web-framework types: Alipay open platform v2 (RSA2) and CFCA /
//! CPCN market payment, each as a production client behind the application's
//! [`app::gateway::Gateway`] port, plus the trade ledgers their local simulators use. Signing strings, answer verification and notification
//! checks follow REFERENCE §3 exactly.

pub mod alipay;
pub mod alipay_client;
pub mod alipay_notify;
pub mod alipay_sign;
pub mod alipay_sim;
pub mod cpcn;
pub mod http;
pub mod keys;

/// The port these clients implement, owned by the application.
pub use app::gateway;
pub use gateway::{
    Channel, Charge, Checkout, CloseOutcome, Decision, Gateway, GatewayError, Method, Notice, TradeState,
};
