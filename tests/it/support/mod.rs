//! Test support: fakes of the outside world that speak the real wire formats.
#![allow(dead_code)]

pub mod fake_broker;
pub mod fake_instagram;
pub mod mautrix;
pub mod pproxy;
