//! The Instagram side: the private HTTP API ([`http`]), the MQTToT realtime client
//! ([`realtime`]), and the serde models of Instagram's JSON ([`types`]).
//!
//! Nothing here knows about Matrix; this module could be published as a crate of its own.

pub mod error;
pub mod http;
pub mod ids;
pub mod proxy;
pub mod realtime;
#[cfg(test)]
pub(crate) mod test_fixtures;
pub mod types;

pub use error::Error;
