//! What an import did (or would do), as printed by the command, and what to do about the
//! registration.

use std::fmt;

use super::OldConfig;
use crate::config::Config;
use crate::store::import::{Count, ImportCounts};

/// The outcome of an import or a dry run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub dry_run: bool,
    pub source: String,
    pub target: String,
    pub version: i64,
    pub counts: ImportCounts,
    pub bot_rooms: super::rooms::BotRooms,
    pub logins_lost: Vec<String>,
    pub portals_left_out: Vec<String>,
    pub messages_left_out: usize,
    pub reactions_left_out: usize,
    pub double_puppets: usize,
    pub backfill_pending: i64,
    pub registration: Vec<String>,
}

fn line(f: &mut fmt::Formatter<'_>, what: &str, c: Count, verb: &str) -> fmt::Result {
    writeln!(
        f,
        "  {what:<18} {} {verb}, {} already here",
        c.new, c.already
    )
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "to import"
        } else {
            "imported"
        };
        writeln!(
            f,
            "{}from mautrix-instagram ({}, schema v{}, read-only) into {}:",
            if self.dry_run {
                "Dry run, nothing written: what an import would take "
            } else {
                "Imported "
            },
            self.source,
            self.version,
            self.target
        )?;
        let c = &self.counts;
        line(f, "users", c.users, verb)?;
        line(f, "Instagram logins", c.sessions, verb)?;
        line(f, "management rooms", c.management_rooms, verb)?;
        line(f, "portals (rooms)", c.portals, verb)?;
        line(f, "ghosts", c.ghosts, verb)?;
        line(f, "messages", c.messages, verb)?;
        line(f, "reactions", c.reactions, verb)?;
        line(f, "DM people", c.members, verb)?;
        if !self.dry_run {
            writeln!(
                f,
                "  bridge bot         in {} of {} imported room(s)",
                self.bot_rooms.joined,
                c.portal_rooms.len()
            )?;
        }
        if c.sessions.already > 0 {
            writeln!(
                f,
                "  ({} user(s) already logged in here keep this bridge's login)",
                c.sessions.already
            )?;
        }
        let mut notes: Vec<String> = Vec::new();
        for l in &self.logins_lost {
            notes.push(format!("must log in again: {l}"));
        }
        for p in self.portals_left_out.iter().chain(&c.portal_conflicts) {
            notes.push(format!("portal left out: {p}"));
        }
        if self.messages_left_out > 0 {
            notes.push(format!(
                "{} message row(s) left out (mautrix-instagram's own placeholders, or rooms \
                 left out)",
                self.messages_left_out
            ));
        }
        if self.reactions_left_out > 0 {
            notes.push(format!(
                "{} reaction row(s) left out (rooms left out)",
                self.reactions_left_out
            ));
        }
        for r in &self.bot_rooms.failed {
            notes.push(format!(
                "the bridge bot is not in {r} (delivery statuses and receipts there need it; \
                 once the homeserver accepts this bridge's registration, run the import again)"
            ));
        }
        if self.backfill_pending > 0 {
            notes.push(format!(
                "{} unfinished backfill task(s) not carried over: this bridge catches up \
                 each conversation from its newest imported message",
                self.backfill_pending
            ));
        }
        if self.double_puppets > 0 {
            notes.push(format!(
                "{} double-puppeting login(s) not carried over: those users send `login-matrix` \
                 again (or the server sets `double_puppet.secrets`)",
                self.double_puppets
            ));
        }
        if !notes.is_empty() {
            writeln!(f, "Notes:")?;
            for n in notes {
                writeln!(f, "  - {n}")?;
            }
        }
        writeln!(f, "The registration:")?;
        for r in &self.registration {
            writeln!(f, "  - {r}")?;
        }
        if !self.dry_run {
            write!(
                f,
                "Next: start matrix-instagram (and never mautrix-instagram again; its database is as \
                 it was, a backup); imported users are reconnected without logging in."
            )?;
        }
        Ok(())
    }
}

/// What to do so that the homeserver keeps the ghosts with this bridge.
pub fn registration_advice(config: &Config, old: Option<&OldConfig>) -> Vec<String> {
    let Some(old) = old else {
        return vec![
            "Without --mautrix-config the registrations could not be compared. The homeserver \
             must list ONE registration owning the ghost namespace: either copy mautrix-instagram's \
             `id`, `as_token` and `hs_token` into this config's `appservice` section and keep \
             the homeserver's registration entry, or replace mautrix-instagram's registration \
             file in the homeserver's config with this bridge's registration.yaml."
                .into(),
        ];
    };
    let a = &old.appservice;
    let same = |o: Option<&crate::secret::Secret>, ours: &crate::secret::Secret| {
        o.is_some_and(|o| o.expose() == ours.expose())
    };
    let mut advice = Vec::new();
    let id_same = a.id.as_deref() == Some(config.appservice.id.as_str());
    let tokens_same = same(a.as_token.as_ref(), &config.appservice.as_token)
        && same(a.hs_token.as_ref(), &config.appservice.hs_token);
    if id_same && tokens_same {
        advice.push(
            "this config has mautrix-instagram's registration id and tokens: point the \
             homeserver's registration `url` at this bridge (appservice.address) if it moved; \
             nothing else changes for the homeserver."
                .into(),
        );
    } else {
        advice.push(format!(
            "this config's registration differs from mautrix-instagram's ({}). Either copy its \
             `id`, `as_token` and `hs_token` into this config's `appservice` section (then \
             `generate-registration` writes a registration the homeserver already knows), or \
             replace mautrix-instagram's registration file with this bridge's registration.yaml \
             in the homeserver's config and restart the homeserver. Never keep both: the ghost \
             namespace must belong to one registration.",
            [
                (!id_same).then_some("id"),
                (!same(a.as_token.as_ref(), &config.appservice.as_token)).then_some("as_token"),
                (!same(a.hs_token.as_ref(), &config.appservice.hs_token)).then_some("hs_token"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        ));
    }
    if let Some(bot) = a.bot_username.as_deref()
        && bot != config.appservice.bot.username
    {
        advice.push(format!(
            "mautrix-instagram's bot was @{bot}; this bridge's is @{}: set \
             `appservice.bot.username: {bot}` to keep the old bot in the old rooms.",
            config.appservice.bot.username
        ));
    }
    advice
}
