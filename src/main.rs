//! The `matrix-instagram` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use matrix_instagram::config::{self, Config, LogFormat};
use matrix_instagram::matrix::registration::Registration;

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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::GenerateRegistration { registration } => {
            match generate_registration(&cli.config, &registration) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
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
    init_logging(&config);
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
    match runtime.block_on(matrix_instagram::app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.logging.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.logging.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn generate_registration(
    config_path: &std::path::Path,
    registration_path: &std::path::Path,
) -> Result<(), String> {
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| format!("cannot read config file {}: {e}", config_path.display()))?;
    let (filled, changed) = config::fill_generated_secrets(&text);
    let config = Config::from_yaml(
        &filled,
        &config_path.display().to_string(),
        std::env::vars(),
    )
    .map_err(|e| e.to_string())?;
    if changed {
        std::fs::write(config_path, &filled)
            .map_err(|e| format!("cannot update {}: {e}", config_path.display()))?;
        println!("Filled generated secrets in {}", config_path.display());
    }
    let yaml = Registration::from_config(&config).to_yaml()?;
    std::fs::write(registration_path, yaml)
        .map_err(|e| format!("cannot write {}: {e}", registration_path.display()))?;
    println!(
        "Wrote the registration to {}; add it to your homeserver's app_service_config_files.",
        registration_path.display()
    );
    Ok(())
}
