//! The fake Instagram HTTP API.
