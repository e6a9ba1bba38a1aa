//! `matrix-instagram import-mautrix`: takes over a mautrix-instagram 0.3.x installation.
//!
//! Its database (SQLite or PostgreSQL, opened read-only: `source`) is read, mapped to this
//! bridge's rows (`plan`; logins through `android_state`) and written through the store in one
//! transaction (`store::import`). The same Matrix rooms become the portals, the same ghost ids
//! are kept (the templates must agree), message and reaction mappings are kept, and each
//! user's Instagram login moves with its device ids. `guard` refuses while either bridge runs.
//!
//! After a real run the bridge bot joins the imported rooms (`rooms`; mautrix-instagram left
//! it out of DMs), the only thing done on the homeserver.
//!
//! Imports `config`, `store`, `matrix` (the bot joining), `instagram` (the session format) and
//! `secret`; nothing imports it but `main.rs`.

use std::path::PathBuf;

mod android_state;
mod guard;
mod old_config;
pub mod plan;
mod report;
mod rooms;
pub mod source;

pub use old_config::OldConfig;
pub use report::Summary;

use crate::config::Config;
use crate::store::{PoolOptions, Store};
use guard::Listener;
use source::Location;

/// What the command was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The source database URI; defaults to `appservice.database` of `mautrix_config`.
    pub from: Option<String>,
    /// mautrix-instagram's config.yaml.
    pub mautrix_config: Option<PathBuf>,
    /// Count what would be imported and write nothing.
    pub dry_run: bool,
    /// This bridge's config file (for messages).
    pub config_path: PathBuf,
}

/// Why the import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "say where mautrix-instagram's database is: --from <URI> (sqlite:///path/to/file.db or \
         postgres://…), or --mautrix-config <its config.yaml>"
    )]
    NoSource,
    #[error("the source database URI must start with sqlite: or postgres://")]
    SourceUri,
    #[error(
        "the source database {0} does not exist (a relative path in mautrix-instagram's config \
         is relative to the folder it ran in: give --from sqlite:///absolute/path/to/file.db)"
    )]
    SourceMissing(String),
    #[error("cannot read mautrix-instagram's config {path}: {reason}")]
    OldConfig { path: String, reason: String },
    #[error("cannot read the source database ({source_db}): {reason}")]
    SourceRead { source_db: String, reason: String },
    #[error("{0} has no mautrix-instagram `version` table: is it mautrix-instagram's database?")]
    NotMautrix(String),
    #[error(
        "the source database is at mautrix-instagram schema v{0}; this import knows v8 to v14 \
         (mautrix-instagram 0.2 and 0.3.x): start mautrix-instagram 0.3.1 once to upgrade it"
    )]
    UnknownVersion(i64),
    #[error(
        "mautrix-instagram named ghosts `@{old}:{old_domain}` but this bridge's config ({config}) \
         has `@{ours}:{our_domain}`, so the ghosts in the old rooms would not be this bridge's. \
         Set `bridge.username_template: {old}` and `homeserver.domain: {old_domain}` in {config} \
         (then regenerate the registration) and run the import again"
    )]
    GhostTemplate {
        old: String,
        old_domain: String,
        ours: String,
        our_domain: String,
        config: String,
    },
    #[error("refusing to import: {what}: {how}. Stop it and run the import again")]
    Running { what: String, how: String },
    #[error("this bridge's database: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// Runs the import (or the dry run) described by `options` for the bridge of `config`.
pub async fn run(config: &Config, options: &Options) -> Result<Summary, ImportError> {
    let old = match &options.mautrix_config {
        Some(path) => Some(OldConfig::load(path)?),
        None => None,
    };
    let uri = options
        .from
        .clone()
        .or_else(|| {
            old.as_ref()
                .and_then(|o| o.appservice.database.as_ref())
                .map(|d| d.expose().to_owned())
        })
        .ok_or(ImportError::NoSource)?;
    let location = Location::parse(&uri)?;
    check_ghost_template(config, old.as_ref(), &options.config_path)?;

    let target = crate::store::open::Target::of(config.database.uri.expose())?;
    refuse_if_running(config, old.as_ref(), &location, &target).await?;

    let source = source::read(&location).await?;
    let names = plan::Names {
        ghosts: config.ghosts(),
        displayname_template: &config.bridge.displayname_template,
    };
    let plan = plan::plan(&source, &names);
    // A dry run against a SQLite file that does not exist yet compares with an empty
    // database in memory rather than create the file.
    let target_uri = match &target {
        crate::store::open::Target::SqliteFile(path) if options.dry_run && !path.exists() => {
            "sqlite::memory:"
        }
        _ => config.database.uri.expose(),
    };
    let store = Store::connect(
        target_uri,
        PoolOptions {
            max_connections: 2,
            min_connections: 1,
            ..PoolOptions::default()
        },
    )
    .await?;
    let result = async {
        guard::no_live_claims(&store).await?;
        Ok::<_, ImportError>(store.import_batch(&plan.batch, options.dry_run).await?)
    }
    .await;
    store.close().await;
    let counts = result?;
    let bot_rooms = if options.dry_run {
        rooms::BotRooms::default()
    } else {
        rooms::add_bot(config, &counts.portal_rooms, &plan.contacts).await
    };
    Ok(Summary {
        dry_run: options.dry_run,
        source: location.describe(),
        target: target.to_string(),
        version: source.version,
        counts,
        bot_rooms,
        logins_lost: plan.logins_lost,
        portals_left_out: plan.portals_left_out,
        messages_left_out: plan.messages_left_out,
        reactions_left_out: plan.reactions_left_out,
        double_puppets: plan.double_puppets,
        backfill_pending: source.backfill_pending,
        registration: report::registration_advice(config, old.as_ref()),
    })
}

/// Neither bridge may be running against the data (see `guard`).
async fn refuse_if_running(
    config: &Config,
    old: Option<&OldConfig>,
    location: &Location,
    target: &crate::store::open::Target,
) -> Result<(), ImportError> {
    let mut listeners = vec![Listener {
        who: "matrix-instagram",
        host: loopback_for(&config.appservice.hostname),
        port: config.appservice.port,
    }];
    let (host, port) = old
        .map(OldConfig::listener)
        .unwrap_or_else(|| ("127.0.0.1".to_string(), old_config::DEFAULT_PORT));
    listeners.push(Listener {
        who: "mautrix-instagram",
        host,
        port,
    });
    listeners.dedup_by(|a, b| a.host == b.host && a.port == b.port);
    guard::ports_closed(&listeners).await?;
    if let Location::Sqlite(path) = location {
        guard::sqlite_closed("mautrix-instagram", path)?;
    }
    if let crate::store::open::Target::SqliteFile(path) = target {
        guard::sqlite_closed("matrix-instagram", path)?;
    }
    Ok(())
}

/// A wildcard listen address is asked on loopback.
fn loopback_for(host: &str) -> String {
    match host {
        "0.0.0.0" | "::" | "" => "127.0.0.1".into(),
        h => h.to_string(),
    }
}

/// The ghosts keep their ids only if both bridges name them alike.
fn check_ghost_template(
    config: &Config,
    old: Option<&OldConfig>,
    config_path: &std::path::Path,
) -> Result<(), ImportError> {
    let old_template = old.map_or(old_config::DEFAULT_TEMPLATE, OldConfig::template);
    let ours = config.bridge.username_template.as_str();
    let our_domain = config.homeserver.domain.as_str();
    let old_domain = old
        .and_then(|o| o.homeserver.domain.as_deref())
        .unwrap_or(our_domain);
    if old_template == ours && old_domain == our_domain {
        return Ok(());
    }
    Err(ImportError::GhostTemplate {
        old: old_template.to_string(),
        old_domain: old_domain.to_string(),
        ours: ours.to_string(),
        our_domain: our_domain.to_string(),
        config: config_path.display().to_string(),
    })
}
