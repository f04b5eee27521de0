//! The end-to-end tests, in one binary (one link instead of seven). Run them with
//! `cargo xtask test`, which installs the clients and emulators and builds the binaries.

mod clients;
mod conformance;
mod cost_explorer;
mod faults;
mod hostile;
mod lambda_rie;
mod lambda_zips;
mod oauth_conformance;
mod oauth_mode;
mod secrets_manager;
mod soak;
mod workflow;
