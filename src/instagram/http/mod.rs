//! The Instagram private HTTP API client (PROTOCOL A–D, F).
//!
//! One [`InstagramClient`] per account: a cheap cloneable handle holding the persisted
//! [`Session`] (device, cookies, authorization, claims). Requests of one account are
//! serialized and paced; rate limits back off; transient failures retry.
//!
//! - [`config`]: [`HttpConfig`], the plain configuration;
//! - [`device`]: the deterministic emulated phone;
//! - [`session`]: persisted state, JSON save/restore, redacting `Debug`;
//! - [`client`]: the request core (headers, bodies, response capture, errors, pacing);
//! - [`login`]: password, two-factor, challenge, import, logout, `current_user`;
//! - [`direct`]: inbox and thread pages, sends;
//! - [`threads`]: seen, typing, unsend, edit, groups, requests, mute…;
//! - [`users`]: search, profiles, presence, reels;
//! - [`media`]: rupload and CDN download.

pub mod client;
pub mod config;
pub mod device;
pub mod direct;
pub mod import;
pub mod login;
pub mod media;
pub mod password;
pub mod session;
pub mod threads;
pub mod users;

pub use client::InstagramClient;
pub use config::{AppVersion, HttpConfig};
pub use device::Device;
pub use direct::{Direction, InboxKind, ReplyTo, SendTarget};
pub use login::{ChallengeMethod, ChallengeState, LoginOutcome, TwoFactorMethod, TwoFactorState};
pub use media::{MediaKind, UploadedMedia};
pub use session::Session;
pub use users::UserPresence;
