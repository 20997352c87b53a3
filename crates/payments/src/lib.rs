//! Payment protocols. This first part is Alipay's signature layer (open platform v2, RSA2 =
//! SHA256withRSA): the canonical strings that get signed, signing with the app key, and verifying
//! asynchronous notifications and synchronous responses with Alipay's public key, exactly per
//! the rules in REFERENCE §3.1. Gateway clients and the local simulator build on it.

pub mod alipay;
pub mod alipay_notify;
pub mod alipay_sign;
pub mod alipay_sim;
pub mod keys;
