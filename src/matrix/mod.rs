//! The Matrix side: the appservice HTTP server the homeserver pushes to, the homeserver client
//! the bridge acts through (as the bot or any ghost), and the registration file.
//!
//! Nothing here knows about Instagram.

pub mod appservice;
pub mod chat_state;
pub mod client;
pub mod crypto;
pub mod double_puppet;
pub mod error;
pub mod intent;
pub mod registration;
pub mod search;
pub mod timing;
pub mod whoami;

pub use client::{HomeserverClient, MatrixError};
pub use intent::{Intent, Intents, UploadedMedia};
