//! One integration-test binary (links once): a module per topic.

mod support;

mod instagram_http;
mod realtime;
