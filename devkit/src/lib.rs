//! The dev kit `xtask` and the end-to-end tests (`tests/`) share, so neither keeps its own
//! copy: child processes that are always cleaned up ([`Process`]), free loopback ports and
//! bounded waits, blocking loopback HTTP ([`get`], [`post`]), the Lambda Runtime Interface
//! Emulator ([`Emulator`]), percentiles ([`percentile`], [`median`]), and a fault-injecting
//! stand-in for AWS services ([`FaultServer`]).
//!
//! Everything here talks to 127.0.0.1 only and every wait is bounded.
#![forbid(unsafe_code)]

mod emulator;
pub mod faults;
pub mod hostile;
mod http;
pub mod logs;
mod process;
mod stats;

pub use emulator::Emulator;
pub use faults::{Fault, FaultServer, Upstream};
pub use http::{Response, free_port, get, post, wait_for_port, wait_until_up};
pub use process::{Process, descendants};
pub use stats::{median, percentile};
