//! The `!ig` bot: commands in the management room (no prefix) or with the prefix elsewhere.

use std::sync::Arc;

use ruma::{EventId, RoomId, UserId};

use super::Bridge;
use super::error::ApplyError;
use super::ig_events::{self, IgEvent};
use super::user;
use crate::config::PermissionLevel;
use crate::instagram::http::InboxKind;
use crate::instagram::ids::{ThreadId, UserPk};

mod accounts;
mod admin;
mod double_puppet;
pub mod login;
mod proxy;
mod relay;
mod search;
pub mod secrets;
mod thread;
mod two_factor;

/// Who asked, where.
pub struct CommandContext<'a> {
    pub bridge: &'a Arc<Bridge>,
    pub sender: &'a UserId,
    pub room_id: &'a RoomId,
    pub event_id: Option<&'a EventId>,
    pub is_management: bool,
}

impl CommandContext<'_> {
    pub(crate) async fn reply(&self, markdown: &str) -> Result<(), ApplyError> {
        self.bridge
            .intents
            .bot()
            .send_notice(self.room_id, markdown)
            .await?;
        Ok(())
    }

    /// Removes the command's message from the room (it held a secret).
    pub(crate) async fn redact_command(&self, reason: &str) {
        if let Some(event_id) = self.event_id
            && let Err(e) = self
                .bridge
                .intents
                .bot()
                .redact(self.room_id, event_id, Some(reason))
                .await
        {
            tracing::warn!("could not redact a message holding a secret: {e}");
            let _ = self
                .reply("I could not remove your message: please delete it yourself.")
                .await;
        }
    }

    /// The account a command uses: in a portal room, the login the sender speaks through
    /// there; elsewhere their preferred login.
    async fn ig_user(&self) -> Option<Arc<user::IgUser>> {
        let mxid = self.sender.as_str();
        if !self.is_management
            && let Ok(Some(portal)) = self
                .bridge
                .store
                .get_portal_by_room(self.room_id.as_str())
                .await
            && let Some(u) = self.bridge.login_for_portal(mxid, &portal).await
        {
            return Some(u);
        }
        self.bridge.preferred_login(mxid).await
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
        name: "login",
        args: "[username [password]]",
        help: "Log in to Instagram (asks for what it needs).",
    },
    CommandInfo {
        name: "login-cookies",
        args: "<cookies>",
        help: "Log in with cookies from instagram.com (JSON, Cookie header, cURL command or Bearer value).",
    },
    CommandInfo {
        name: "logout",
        args: "[username|id]",
        help: "Log out of an Instagram account (name it when you have several).",
    },
    CommandInfo {
        name: "list-logins",
        args: "",
        help: "List your Instagram accounts (`login` adds one).",
    },
    CommandInfo {
        name: "set-preferred-login",
        args: "<username|id>",
        help: "Choose the account that commands such as sync, search and pm use.",
    },
    CommandInfo {
        name: "login-matrix",
        args: "<access token>",
        help: "Let the bridge act as you on Matrix (double puppeting) with your access token.",
    },
    CommandInfo {
        name: "logout-matrix",
        args: "",
        help: "Stop double puppeting and forget your access token.",
    },
    CommandInfo {
        name: "proxy",
        args: "[url|off|default]",
        help: "Show or set the proxy (socks5://, socks5h:// or http://, with user:password@ if needed) for your Instagram traffic.",
    },
    CommandInfo {
        name: "set-relay",
        args: "[user id]",
        help: "In a group chat: send messages of people without a login through your (or a default relay's) account.",
    },
    CommandInfo {
        name: "unset-relay",
        args: "",
        help: "In a group chat: stop relaying.",
    },
    CommandInfo {
        name: "ping",
        args: "",
        help: "Show whether you are logged in to Instagram and connected.",
    },
    CommandInfo {
        name: "reconnect",
        args: "",
        help: "Reconnect the realtime connection to Instagram.",
    },
    CommandInfo {
        name: "sync",
        args: "",
        help: "Re-read your Instagram inbox now and catch up.",
    },
    CommandInfo {
        name: "search",
        args: "<text>",
        help: "Search Instagram users, and messages in your bridged chats (with links).",
    },
    CommandInfo {
        name: "pm",
        args: "<username or id>",
        help: "Open a chat with an Instagram user.",
    },
    CommandInfo {
        name: "leave",
        args: "",
        help: "In a group chat: leave the group on Instagram.",
    },
    CommandInfo {
        name: "block",
        args: "[username or id]",
        help: "Block someone on Instagram (in a private chat: its contact).",
    },
    CommandInfo {
        name: "unblock",
        args: "[username or id]",
        help: "Unblock someone on Instagram.",
    },
    CommandInfo {
        name: "requests",
        args: "",
        help: "List your pending message requests.",
    },
    CommandInfo {
        name: "accept",
        args: "<thread id>",
        help: "Accept a message request and bridge it.",
    },
    CommandInfo {
        name: "dead-letters",
        args: "",
        help: "(admin) List events set aside after a permanent failure.",
    },
    CommandInfo {
        name: "retry-dead-letters",
        args: "[id|all]",
        help: "(admin) Put dead letters back into the queue.",
    },
    CommandInfo {
        name: "cancel",
        args: "",
        help: "Cancel the command in progress (such as a login).",
    },
];

/// Whether `name` (lower case) is one of the bot's commands.
pub fn is_command(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == name)
}

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

/// Runs a command (or feeds a login flow in progress).
pub async fn handle(ctx: &CommandContext<'_>, text: &str) -> Result<(), ApplyError> {
    // Before anything else, so a refused command loses its secret too.
    let secret = secrets::redaction_reason(ctx, text).await;
    if let Some(reason) = secret {
        ctx.redact_command(reason).await;
    }
    if ctx.bridge.permission(ctx.sender) < Some(PermissionLevel::User) {
        return ctx
            .reply("Sorry, you don't have permission to use this bridge.")
            .await;
    }
    let trimmed = text.trim();
    let name_end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    let name = trimmed[..name_end].to_lowercase();
    let rest = trimmed[name_end..].trim_start();
    let args: Vec<&str> = rest.split_whitespace().collect();

    if name == "cancel" {
        return cancel(ctx).await;
    }
    if ctx.is_management && login::continue_flow(ctx, text).await? {
        return Ok(());
    }
    if secret.is_some() && !ctx.is_management && !is_command(&name) {
        return ctx
            .reply("For your safety, send passwords and codes only in your private chat with me.")
            .await;
    }
    // Only a known name: an unknown "command" may be a password typed after a restart.
    let logged = if is_command(&name) {
        name.as_str()
    } else {
        "unknown"
    };
    tracing::debug!(sender = %ctx.sender, command = logged, "bot command");
    match name.as_str() {
        "" | "help" => ctx.reply(&help_text(ctx)).await,
        "version" => {
            ctx.reply(&format!(
                "[matrix-instagram](https://github.com/matrix-instagram/matrix-instagram) v{}",
                env!("CARGO_PKG_VERSION")
            ))
            .await
        }
        "login" => login::start(ctx, &args).await,
        "login-cookies" => login::import(ctx, rest).await,
        "logout" => accounts::logout(ctx, rest).await,
        "list-logins" => accounts::list(ctx).await,
        "set-preferred-login" => accounts::set_preferred(ctx, rest).await,
        "login-matrix" => double_puppet::login(ctx, rest).await,
        "logout-matrix" => double_puppet::logout(ctx).await,
        "proxy" => proxy::run(ctx, rest).await,
        "set-relay" => relay::set(ctx, rest).await,
        "unset-relay" => relay::unset(ctx).await,
        "ping" => accounts::ping(ctx).await,
        "reconnect" => accounts::reconnect(ctx).await,
        "sync" => match ctx.ig_user().await {
            Some(u) => match super::sync::catch_up(ctx.bridge, &u, false).await {
                Ok(n) => {
                    ctx.reply(&format!("Catching up on {n} conversations."))
                        .await
                }
                Err(e) => ctx.reply(&format!("Sync failed: {e}")).await,
            },
            None => ctx.reply("You're not logged in.").await,
        },
        "search" => search::search(ctx, rest).await,
        "pm" => pm(ctx, rest).await,
        "leave" => thread::leave(ctx).await,
        "block" => thread::block(ctx, rest, true).await,
        "unblock" => thread::block(ctx, rest, false).await,
        "requests" => requests(ctx).await,
        "accept" => accept(ctx, rest).await,
        "dead-letters" => admin::list(ctx).await,
        "retry-dead-letters" => admin::retry(ctx, rest).await,
        _ => ctx.reply("Unknown command, try `help`.").await,
    }
}

async fn cancel(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let had = ctx
        .bridge
        .logins
        .lock()
        .await
        .remove(ctx.sender.as_str())
        .is_some();
    ctx.reply(if had {
        "Login cancelled."
    } else {
        "There is nothing to cancel."
    })
    .await
}

async fn pm(ctx: &CommandContext<'_>, target: &str) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    let target = target.trim().trim_start_matches('@');
    if target.is_empty() {
        return ctx.reply("Usage: `pm <username or id>`").await;
    }
    let pk = match target.parse::<i64>() {
        Ok(pk) => pk,
        Err(_) => match u.client.user_by_username(target).await {
            Ok(user) => user.pk.get(),
            Err(e) => {
                return ctx
                    .reply(&format!("Could not find @{target}: {}", e.user_message()))
                    .await;
            }
        },
    };
    match u.client.thread_by_participants(&[UserPk(pk)]).await {
        Ok(thread) => {
            enqueue_sync(ctx, &u, &thread.thread_id.to_string()).await?;
            ctx.reply("Opening the chat; you'll be invited to its room in a moment.")
                .await
        }
        Err(e) => {
            ctx.reply(&format!("Could not open the chat: {}", e.user_message()))
                .await
        }
    }
}

/// Queues a sync of the thread as `login` reads it (it makes the login's room if needed).
async fn enqueue_sync(
    ctx: &CommandContext<'_>,
    login: &user::IgUser,
    thread_id: &str,
) -> Result<(), ApplyError> {
    let entry = ig_events::entry(
        &login.receiver(),
        &IgEvent::SyncThread {
            thread_id: crate::instagram::ids::ThreadId::new(thread_id),
        },
    );
    ctx.bridge.store.enqueue(&[entry]).await?;
    ctx.bridge.inbox_wake.notify_one();
    Ok(())
}

async fn requests(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    match u.client.inbox(InboxKind::Pending, None, None, 20).await {
        Ok(inbox) if inbox.inbox.threads.is_empty() => {
            ctx.reply("You have no pending message requests.").await
        }
        Ok(inbox) => {
            let lines: Vec<String> = inbox
                .inbox
                .threads
                .iter()
                .map(|t| {
                    let who = t
                        .users
                        .iter()
                        .map(|x| format!("@{}", x.username))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "* `{}` — {}",
                        t.thread_id,
                        t.thread_title.as_deref().unwrap_or(&who)
                    )
                })
                .collect();
            ctx.reply(&format!(
                "**Message requests** (accept with `accept <id>`)\n\n{}",
                lines.join("\n")
            ))
            .await
        }
        Err(e) => {
            ctx.reply(&format!(
                "Could not read your requests: {}",
                e.user_message()
            ))
            .await
        }
    }
}

async fn accept(ctx: &CommandContext<'_>, thread_id: &str) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    let thread_id = thread_id.trim();
    if thread_id.is_empty() {
        return ctx
            .reply("Usage: `accept <thread id>` (see `requests`)")
            .await;
    }
    match u.client.approve_thread(&ThreadId::new(thread_id)).await {
        Ok(()) => {
            enqueue_sync(ctx, &u, thread_id).await?;
            ctx.reply("Accepted; you'll be invited to the chat's room in a moment.")
                .await
        }
        Err(e) => {
            ctx.reply(&format!("Could not accept: {}", e.user_message()))
                .await
        }
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
