//! The web crate's HTTP tests, as one test binary: the support module and the whole router are
//! compiled and linked once instead of once per file. Each module is one area of the product;
//! `cargo test -p web --test http <module>::` runs one of them.

mod support;

mod accounts;
mod addresses;
mod admin;
mod applications;
mod apply_pages;
mod certificates;
mod documents;
mod faces;
mod finance;
mod idor;
mod orders;
mod pages;
mod payment_histories;
mod payments;
mod recognition;
mod security;
mod snapshots;
