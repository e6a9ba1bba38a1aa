//! Tests of the Instagram HTTP client against the fake Instagram.

mod common;
mod direct;
mod login;
mod logs;
mod media;
mod pacing;
mod session;
