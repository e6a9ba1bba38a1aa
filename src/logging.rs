//! Log output: the level filter (checked strictly, so a typo is a config error rather than
//! silence), writers to stdout and/or a file, colour only on a terminal, and printing an error
//! chain once.
//!
//! A leaf: it takes plain values, not the config, so that the config can use its checks.

use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The levels a filter directive may name.
pub const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// A log filter that is not one this bridge accepts.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("is empty; use one of {}", levels())]
    Empty,
    #[error(
        "`{0}` is not a level; use one of {levels}, or `target=level` pairs such as \
         `matrix_instagram=debug,info`",
        levels = levels()
    )]
    NotALevel(String),
}

fn levels() -> String {
    LEVELS.join(", ")
}

fn is_level(s: &str) -> bool {
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s.trim()))
}

/// Checks a filter such as `info` or `matrix_instagram=debug,sqlx=warn,info`. Every
/// comma-separated directive must be a level or `target=level`: tracing itself would take
/// `verbose` as a target name and silently drop every other line.
pub fn check_filter(filter: &str) -> Result<(), FilterError> {
    if filter.trim().is_empty() {
        return Err(FilterError::Empty);
    }
    for directive in filter.split(',').map(str::trim) {
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level,
            Some(_) => return Err(FilterError::NotALevel(directive.to_string())),
            None => directive,
        };
        if !is_level(level) {
            return Err(FilterError::NotALevel(directive.to_string()));
        }
    }
    if let Err(e) = EnvFilter::try_new(filter) {
        // Our check and tracing's disagree only on exotic syntax; report tracing's reason.
        return Err(FilterError::NotALevel(format!("{filter} ({e})")));
    }
    Ok(())
}

/// Where and how to log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A filter that passed [`check_filter`].
    pub filter: String,
    pub json: bool,
    /// Log to standard output.
    pub stdout: bool,
    /// Also log to this file (appended; created with its folder missing is an error).
    pub file: Option<PathBuf>,
}

/// A log file that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the log file {} (logging.file): {source}", path.display())]
pub struct LogFileError {
    path: PathBuf,
    source: std::io::Error,
}

/// Opens the log file for appending.
pub fn open_log_file(path: &Path) -> Result<File, LogFileError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogFileError {
            path: path.to_path_buf(),
            source,
        })
}

/// Installs the global subscriber. Colour codes only when standard output is a terminal;
/// never in the file.
pub fn init(options: &LogOptions) -> Result<(), LogFileError> {
    let file = options.file.as_deref().map(open_log_file).transpose()?;
    let stdout_layer = options.stdout.then(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout);
        if options.json {
            layer.json().boxed()
        } else {
            layer.boxed()
        }
    });
    let file_layer = file.map(|f| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Mutex::new(f));
        if options.json {
            layer.json().boxed()
        } else {
            layer.boxed()
        }
    });
    let filter = EnvFilter::try_new(&options.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(stdout_layer)
        .with(file_layer)
        .with(filter)
        .init();
    Ok(())
}

/// An error and its causes on one line, each message once: a cause whose text its parent
/// already includes is left out (error types here often embed their source in their own
/// message, and printing the chain blindly repeats it).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_levels_and_target_pairs() {
        for ok in [
            "info",
            "DEBUG",
            "matrix_instagram=debug,info",
            "info,matrix_instagram=debug",
            "sqlx=warn,matrix_instagram::bridge=trace,info",
            "off",
        ] {
            assert!(check_filter(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_words_that_are_not_levels() {
        for bad in [
            "verbose",
            "",
            "  ",
            "info,loud",
            "=debug",
            "matrix_instagram=chatty",
        ] {
            let e = check_filter(bad).expect_err(bad).to_string();
            assert!(e.contains("info, debug"), "{bad}: {e}");
        }
        let e = check_filter("verbose").unwrap_err().to_string();
        assert!(e.starts_with("`verbose` is not a level"), "{e}");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("database error: {0}")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("pool timed out: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn chain_prints_each_message_once() {
        let e = Outer(Middle(std::io::Error::other("connection refused")));
        // `{e:#}`-style printing would repeat both inner messages.
        assert_eq!(
            chain(&e),
            "database error: pool timed out: connection refused"
        );
        #[derive(Debug, thiserror::Error)]
        #[error("cannot open the database")]
        struct Terse(#[source] std::io::Error);
        let e = Terse(std::io::Error::other("no such file"));
        assert_eq!(chain(&e), "cannot open the database: no such file");
    }

    #[test]
    fn log_file_error_names_the_file_and_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing-folder").join("bridge.log");
        let e = open_log_file(&path).unwrap_err().to_string();
        assert!(e.contains("missing-folder/bridge.log"), "{e}");
        assert!(e.contains("logging.file"), "{e}");
    }
}
