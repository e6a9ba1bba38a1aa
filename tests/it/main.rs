//! One integration-test binary (links once): a module per topic.

mod support;

mod cli;
mod docker;
mod import;
mod proxy;
mod scripts;
mod startup;

mod instagram_http;
mod realtime;
