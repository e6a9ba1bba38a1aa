//! The `!ig` bot: commands in the management room (no prefix) or with the prefix elsewhere.

use ruma::{RoomId, UserId};

use super::Bridge;
use super::dispatch::ApplyError;
use crate::config::PermissionLevel;

/// Who asked, where.
pub struct CommandContext<'a> {
    pub bridge: &'a Bridge,
    pub sender: &'a UserId,
    pub room_id: &'a RoomId,
    pub is_management: bool,
}

impl CommandContext<'_> {
    async fn reply(&self, markdown: &str) -> Result<(), ApplyError> {
        self.bridge
            .intents
            .bot()
            .send_notice(self.room_id, markdown)
            .await?;
        Ok(())
    }
}

/// One command: its name, arguments and one line of help.
struct CommandInfo {
    name: &'static str,
    args: &'static str,
    help: &'static str,
}

const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "help",
        args: "",
        help: "Show this help.",
    },
    CommandInfo {
        name: "version",
        args: "",
        help: "Show the bridge's version.",
    },
    CommandInfo {
        name: "ping",
        args: "",
        help: "Show whether you are logged in to Instagram and connected.",
    },
    CommandInfo {
        name: "cancel",
        args: "",
        help: "Cancel the command in progress (such as a login).",
    },
];

/// The command text of a message, if it is one: everything in the management room, else only
/// what follows the prefix.
pub fn strip_prefix<'a>(body: &'a str, prefix: &str, is_management: bool) -> Option<&'a str> {
    let body = body.trim();
    if let Some(rest) = body.strip_prefix(prefix)
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        return Some(rest.trim_start());
    }
    is_management.then_some(body)
}

/// Runs a command.
pub async fn handle(ctx: &CommandContext<'_>, text: &str) -> Result<(), ApplyError> {
    if ctx.bridge.permission(ctx.sender) < Some(PermissionLevel::User) {
        return ctx
            .reply("Sorry, you don't have permission to use this bridge.")
            .await;
    }
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or("help").to_lowercase();
    tracing::debug!(sender = %ctx.sender, command = name, "bot command");
    match name.as_str() {
        "help" => ctx.reply(&help_text(ctx)).await,
        "version" => {
            ctx.reply(&format!(
                "[matrix-instagram](https://github.com/matrix-instagram/matrix-instagram) v{}",
                env!("CARGO_PKG_VERSION")
            ))
            .await
        }
        "ping" => {
            let user = ctx.bridge.store.get_user(ctx.sender.as_str()).await?;
            match user.and_then(|u| u.ig_username.filter(|_| u.session.is_some())) {
                Some(username) => {
                    ctx.reply(&format!("You're logged in as @{username}."))
                        .await
                }
                None => ctx.reply("You're not logged in.").await,
            }
        }
        "cancel" => ctx.reply("There is nothing to cancel.").await,
        _ => ctx.reply("Unknown command, try `help`.").await,
    }
}

fn help_text(ctx: &CommandContext<'_>) -> String {
    let prefix = if ctx.is_management {
        String::new()
    } else {
        format!("{} ", ctx.bridge.config.bridge.command_prefix)
    };
    let mut out = String::from("**Commands**\n\n");
    for c in COMMANDS {
        let args = if c.args.is_empty() {
            String::new()
        } else {
            format!(" {}", c.args)
        };
        out.push_str(&format!("* `{prefix}{}{args}` — {}\n", c.name, c.help));
    }
    if ctx.is_management {
        out.push_str(&format!(
            "\nIn other rooms, start commands with `{}`.\n",
            ctx.bridge.config.bridge.command_prefix
        ));
    }
    let extra = &ctx
        .bridge
        .config
        .bridge
        .management_room_text
        .additional_help;
    if !extra.is_empty() {
        out.push('\n');
        out.push_str(extra);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_prefix;

    #[test]
    fn prefixes() {
        assert_eq!(strip_prefix("help", "!ig", true), Some("help"));
        assert_eq!(strip_prefix("!ig help", "!ig", true), Some("help"));
        assert_eq!(strip_prefix("  !ig   ping ", "!ig", false), Some("ping"));
        assert_eq!(strip_prefix("!ig", "!ig", false), Some(""));
        assert_eq!(strip_prefix("help", "!ig", false), None);
        assert_eq!(strip_prefix("!igloo", "!ig", false), None);
    }
}
