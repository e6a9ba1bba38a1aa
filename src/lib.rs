//! matrix-instagram: a Matrix application service that bridges Instagram Direct Messages.
//!
//! The layout is mapped in `docs/ARCHITECTURE.md`:
//! - [`config`], [`logging`] and [`metrics`] are leaves used by everything; [`proxy_url`]
//!   (a proxy URL that never prints its password) is one the config and Instagram side share;
//! - [`store`] keeps the bridge's state in PostgreSQL or SQLite and knows neither network;
//! - [`matrix`] is the appservice server and homeserver client and knows nothing of Instagram;
//! - [`instagram`] is the private API client and realtime client and knows nothing of Matrix;
//! - [`media`] converts images, video and voice (a leaf: bytes and files, no network);
//! - [`bridge`] is the only part that joins two of them;
//! - [`app`] builds everything from the config and runs it until a signal;
//! - [`importer`] takes over a mautrix-instagram installation's database (`import-mautrix`);
//! - `fuzz` (tests and the `fuzzing` feature only) is the seeded mutation loop of the fuzzers.

pub mod app;
pub mod bridge;
pub mod config;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod importer;
pub mod instagram;
pub mod logging;
pub mod matrix;
pub mod media;
pub mod metrics;
pub mod proxy_url;
pub mod secret;
pub mod store;
pub mod tls;
