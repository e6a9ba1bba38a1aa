//! Tests of the Instagram HTTP client against the fake Instagram.

mod common;
mod direct;
mod fake_strictness;
mod login;
mod logs;
mod media;
mod pacing;
mod session;
mod transport;
