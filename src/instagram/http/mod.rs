//! The Instagram private HTTP API client.
