//! The Instagram private HTTP API client (PROTOCOL A–D, F).
//!
//! One [`InstagramClient`] per account: a cheap cloneable handle holding the persisted
//! [`Session`] (device, cookies, authorization, claims), over an HTTP transport (connection
//! pool) shared by all accounts with the same TLS and proxy settings. Requests of one account are
//! serialized and paced; rate limits back off; transient failures retry.
//!
//! - [`config`]: [`HttpConfig`], the plain configuration;
//! - [`device`]: the deterministic emulated phone;
//! - [`session`]: persisted state, JSON save/restore, redacting `Debug`;
//! - [`client`]: the request core (headers, bodies, response capture, errors, pacing);
//! - `transport`: the reqwest client (pool, TLS, proxy) shared by every account of one
//!   setting; `net_error`: a failed exchange → a network or proxy [`crate::instagram::Error`];
//! - [`login`]: password, two-factor, challenge, import, logout, `current_user`;
//! - [`direct`]: inbox and thread pages, sends;
//! - [`threads`]: seen, typing, unsend, edit, groups, requests, mute…;
//! - [`users`]: search, profiles, presence, reels;
//! - [`media`]: rupload and CDN download.
//!
//! ```ignore
//! let cfg = HttpConfig::default(); // the bridge maps its config into this
//! let client = InstagramClient::new(cfg.clone(), Device::derive(device_seed, "@alice:example.org"))?;
//! match client.login("alice", password).await? {
//!     LoginOutcome::LoggedIn(user) => {}
//!     LoginOutcome::TwoFactorRequired(state) => {
//!         // ask the user, then:
//!         client.two_factor_login(&state, "123456", TwoFactorMethod::Totp, true).await?;
//!     }
//!     LoginOutcome::ChallengeRequired(state) => { /* challenge_select / _submit_code */ }
//! }
//! store(client.session_json()); // after every call, or on client.session_changes()
//! let client = InstagramClient::from_session_json(cfg, load())?;
//! let ack = client
//!     .send_text(&SendTarget::Thread(thread_id), "hi", &ClientContext::generate(), None, &[])
//!     .await?;
//! ```

pub mod client;
pub mod config;
pub mod device;
pub mod direct;
pub mod import;
pub mod login;
pub mod media;
mod net_error;
mod pacing;
pub mod password;
pub mod session;
pub mod threads;
mod transport;
pub mod users;

pub use client::InstagramClient;
pub use config::{AppVersion, HttpConfig};
pub use device::Device;
pub use direct::{Direction, InboxKind, ReplyTo, SendTarget};
pub use login::{ChallengeMethod, ChallengeState, LoginOutcome, TwoFactorMethod, TwoFactorState};
pub use media::{Attachment, MediaKind, UploadedMedia};
pub use session::Session;
pub use users::UserPresence;
