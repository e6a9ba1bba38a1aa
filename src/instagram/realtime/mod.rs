//! The Instagram MQTToT realtime client.

pub mod codec;
pub mod commands;
pub mod connect;
pub mod error;
pub mod events;
pub mod iris;
pub mod pubsub;
pub mod state;
pub mod thrift;
pub mod topics;
