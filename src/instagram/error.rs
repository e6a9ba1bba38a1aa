//! Placeholder until the Instagram HTTP client lands its error enum.

/// Errors of the Instagram client.
#[derive(Debug, thiserror::Error)]
pub enum Error {}
