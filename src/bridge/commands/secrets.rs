//! Which messages to the bot carry a secret: a password login (`login <user> <password>`), a
//! session import (`login-cookies <cookies, header or cURL command>`), a proxy URL with user
//! info (`proxy <scheme>://user:password@host:port`), and every answer to a
//! login step that asks for a password or a code. Such a message is removed from the room as
//! soon as the bot sees it, in any room, whether or not the command is then accepted; and it
//! is kept out of the inbox table at intake ([`crate::bridge::held`]).

use super::CommandContext;

/// Why a command's text (after the prefix) holds a secret, if it does.
pub fn secret_command(text: &str) -> Option<&'static str> {
    let mut words = text.split_whitespace();
    let name = words.next()?.to_lowercase();
    match name.as_str() {
        // `login <username>` alone names no secret; a second word is the password.
        "login" if words.nth(1).is_some() => Some("contains a password"),
        "login-cookies" if words.next().is_some() => Some("contains session cookies"),
        "login-matrix" if words.next().is_some() => Some("contains an access token"),
        // A proxy URL with user info may carry a password.
        "proxy" if words.next().is_some_and(|url| url.contains('@')) => {
            Some("contains a proxy password")
        }
        _ => None,
    }
}

/// The lower-cased first word of a command.
pub fn command_name(text: &str) -> String {
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// Why this message must be removed from the room, if it must: a secret-bearing command, or
/// (while the sender's login waits for a password or a code) an answer to that step. Outside
/// the management room only what is not a command is taken for such an answer.
pub async fn redaction_reason(ctx: &CommandContext<'_>, text: &str) -> Option<&'static str> {
    if let Some(reason) = secret_command(text) {
        return Some(reason);
    }
    let name = command_name(text);
    if name == "cancel" {
        return None;
    }
    let waits_for_secret = ctx
        .bridge
        .logins
        .lock()
        .await
        .get(ctx.sender.as_str())
        .is_some_and(|flow| flow.expects_secret());
    (waits_for_secret && (ctx.is_management || !super::is_command(&name)))
        .then_some("may contain a password or a login code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_logins_and_cookie_imports_hold_secrets() {
        assert!(secret_command("login alice hunter2").is_some());
        assert!(secret_command("LOGIN   alice  pass word").is_some());
        assert!(secret_command("login-cookies {\"sessionid\": \"1%3Aa\"}").is_some());
        assert!(secret_command("login-cookies curl 'https://x' -H 'cookie: a=b'").is_some());
        // No secret named yet.
        assert_eq!(secret_command("login"), None);
        assert_eq!(secret_command("login alice"), None);
        assert_eq!(secret_command("login-cookies"), None);
        assert!(secret_command("login-matrix syt_abc").is_some());
        assert_eq!(secret_command("login-matrix"), None);
        assert_eq!(secret_command("logout now please"), None);
        assert!(secret_command("proxy socks5://u:pw@127.0.0.1:1080").is_some());
        assert_eq!(secret_command("proxy socks5://127.0.0.1:1080"), None);
        assert_eq!(secret_command("proxy off"), None);
        assert_eq!(secret_command("proxy"), None);
        assert_eq!(secret_command("help login alice pw"), None);
        assert_eq!(secret_command(""), None);
    }
}
