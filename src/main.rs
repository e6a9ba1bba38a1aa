//! The `matrix-instagram` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use matrix_instagram::config::{self, Config, ConfigError, LogFormat};
use matrix_instagram::importer::Options as ImportOptions;
use matrix_instagram::logging::{self, LogOptions};
use matrix_instagram::matrix::registration::{
    DoublePuppetRegistration, Registration, RegistrationError,
};

/// A Matrix bridge for Instagram Direct Messages.
#[derive(Debug, Parser)]
#[command(name = "matrix-instagram", version, about)]
struct Cli {
    /// The configuration file.
    #[arg(
        short,
        long,
        global = true,
        default_value = "config.yaml",
        env = "MATRIX_INSTAGRAM_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bridge (the default).
    Run,
    /// Write the appservice registration for the homeserver, and fill `generate` secrets in
    /// the config file.
    GenerateRegistration {
        /// Where to write the registration.
        #[arg(short, long, default_value = "registration.yaml")]
        registration: PathBuf,
        /// Also write the double-puppet registration (the token of
        /// `double_puppet.secrets.<your server>`, made if missing) to this file.
        #[arg(long, value_name = "FILE")]
        double_puppet: Option<PathBuf>,
    },
    /// Ask the running bridge whether it is live (or, with --ready, ready): exit status 0 if
    /// so. For container health checks; it reads the same config to find the port.
    Healthcheck {
        /// Ask /_matrix/mau/ready (database and homeserver) instead of /_matrix/mau/live.
        #[arg(long)]
        ready: bool,
    },
    /// Take over a mautrix-instagram 0.3.x installation: its rooms become this bridge's
    /// portals, its ghosts, message and reaction mappings and its users' Instagram logins are
    /// kept. Its database is only read. Refuses while either bridge is running.
    ImportMautrix {
        /// mautrix-instagram's database: sqlite:///path/to/file.db or postgres://… (default:
        /// `appservice.database` of --mautrix-config).
        #[arg(long)]
        from: Option<String>,
        /// mautrix-instagram's config.yaml: its ghost template, appservice port (to see whether
        /// it runs) and registration are checked against this bridge's.
        #[arg(long)]
        mautrix_config: Option<PathBuf>,
        /// Print what would be imported and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::Healthcheck { ready } => healthcheck(&cli.config, ready),
        Command::ImportMautrix {
            from,
            mautrix_config,
            dry_run,
        } => import_mautrix(ImportOptions {
            from,
            mautrix_config,
            dry_run,
            config_path: cli.config.clone(),
        }),
        Command::GenerateRegistration {
            registration,
            double_puppet,
        } => match generate_registration(&cli.config, &registration, double_puppet.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}", logging::chain(&e));
                ExitCode::FAILURE
            }
        },
    }
}

fn run(path: &Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", logging::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    if config.needs_generation() {
        eprintln!(
            "error: the config still has `generate` secrets; run `matrix-instagram \
             generate-registration -c {}` first",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let log = &config.logging;
    let options = LogOptions {
        filter: log.level.clone(),
        json: log.format == LogFormat::Json,
        stdout: log.stdout,
        file: (!log.file.trim().is_empty()).then(|| PathBuf::from(log.file.trim())),
    };
    if let Err(e) = logging::init(&options) {
        eprintln!("error: {}", logging::chain(&e));
        return ExitCode::FAILURE;
    }
    for warning in config.example_values_left() {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let logs_to_stdout = options.stdout;
    match runtime.block_on(matrix_instagram::app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once: in the log, and on stderr only when the log is not on the terminal.
            let text = logging::chain(e.as_ref());
            tracing::error!("{text}");
            if !logs_to_stdout {
                eprintln!("error: {text}");
            }
            ExitCode::FAILURE
        }
    }
}

fn healthcheck(path: &Path, ready: bool) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", logging::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let timeout = std::time::Duration::from_secs(5);
    match matrix_instagram::app::probe::check(&config, ready, timeout) {
        Ok(_) => {
            println!("ok: {}", if ready { "ready" } else { "live" });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {}", logging::chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn import_mautrix(options: ImportOptions) -> ExitCode {
    let config = match Config::load(&options.config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", logging::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(matrix_instagram::importer::run(&config, &options)) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", logging::chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Why `generate-registration` failed.
#[derive(Debug, thiserror::Error)]
enum GenerateError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registration(#[from] RegistrationError),
}

fn generate_registration(
    config_path: &Path,
    registration_path: &Path,
    double_puppet: Option<&Path>,
) -> Result<(), GenerateError> {
    let text = std::fs::read_to_string(config_path).map_err(|source| GenerateError::Read {
        path: config_path.to_path_buf(),
        source,
    })?;
    let (filled, changed) = config::fill_generated_secrets(&text);
    let config = Config::from_yaml(
        &filled,
        &config_path.display().to_string(),
        std::env::vars(),
    )?;
    let write = |path: &Path, contents: &str| {
        std::fs::write(path, contents).map_err(|source| GenerateError::Write {
            path: path.to_path_buf(),
            source,
        })
    };
    if changed {
        write(config_path, &filled)?;
        println!("Filled generated secrets in {}", config_path.display());
    }
    let yaml = Registration::from_config(&config).to_yaml()?;
    write(registration_path, &yaml)?;
    println!(
        "Wrote the registration to {}; add it to your homeserver's app_service_config_files.",
        registration_path.display()
    );
    if let Some(path) = double_puppet {
        write_double_puppet(&config, config_path, path, write)?;
    }
    Ok(())
}

/// Writes the double-puppet registration with the config's token for the bridge's server, or
/// a fresh one (then the user is told where it goes).
fn write_double_puppet(
    config: &Config,
    config_path: &Path,
    path: &Path,
    write: impl Fn(&Path, &str) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let domain = &config.homeserver.domain;
    let configured = config.double_puppet.as_token(domain);
    let token = configured
        .clone()
        .unwrap_or_else(|| config::random_secret().into());
    let yaml = DoublePuppetRegistration::new(domain, token).to_yaml()?;
    write(path, &yaml)?;
    println!(
        "Wrote the double-puppet registration to {}; add it to app_service_config_files too.",
        path.display()
    );
    if configured.is_none() {
        println!(
            "Then set `double_puppet.secrets.{domain}` in {} to \"as_token:\" followed by the \
             as_token written in {} (or put `{domain}: as_token:generate` there and run this \
             again).",
            config_path.display(),
            path.display()
        );
    }
    Ok(())
}
