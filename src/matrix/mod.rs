//! The Matrix side.
