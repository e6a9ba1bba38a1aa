//! Admin commands: the dead letters (events set aside after a permanent failure), listed and
//! put back into the inbox.

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::config::PermissionLevel;
use crate::store::dead_letters::DeadLetter;

/// At most this many dead letters are listed.
const LIST_MAX: i64 = 20;

/// `dead-letters`: what was set aside, and why.
pub async fn list(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    if !is_admin(ctx) {
        return ctx.reply("Only bridge admins can see dead letters.").await;
    }
    let total = ctx.bridge.store.dead_letter_count().await?;
    let letters = ctx.bridge.store.dead_letters(LIST_MAX).await?;
    ctx.reply(&listing(total, &letters)).await
}

/// `retry-dead-letters [id|all]`: puts them back at the end of their conversations' queues.
pub async fn retry(ctx: &CommandContext<'_>, arg: &str) -> Result<(), ApplyError> {
    if !is_admin(ctx) {
        return ctx
            .reply("Only bridge admins can retry dead letters.")
            .await;
    }
    let which = match arg.trim() {
        "" | "all" => None,
        id => {
            match id.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    return ctx
                    .reply("Usage: `retry-dead-letters [id|all]` (ids as `dead-letters` lists them).")
                    .await;
                }
            }
        }
    };
    let ids = ctx.bridge.store.retry_dead_letters(which).await?;
    ctx.bridge.inbox_wake.notify_one();
    let text = match (ids.len(), which) {
        (0, Some(id)) => format!("There is no dead letter {id}."),
        (0, None) => "There are no dead letters.".to_string(),
        (1, _) => "1 event is back in the queue.".to_string(),
        (n, _) => format!("{n} events are back in the queue."),
    };
    ctx.reply(&text).await
}

fn is_admin(ctx: &CommandContext<'_>) -> bool {
    ctx.bridge.permission(ctx.sender) >= Some(PermissionLevel::Admin)
}

/// The listing's text (markdown).
fn listing(total: i64, letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return "There are no dead letters.".to_string();
    }
    let mut out = format!("**Dead letters** ({total})\n\n");
    for d in letters {
        let age_s = (crate::store::now_ms() - d.failed_at_ms).max(0) / 1000;
        let from = if d.source == crate::store::inbox::SOURCE_MATRIX {
            "from Matrix in"
        } else {
            "from Instagram, thread"
        };
        out.push_str(&format!(
            "* `{}` {from} `{}`, {} attempt(s), {age_s} s ago: {}\n",
            d.id,
            d.portal_key,
            d.attempts,
            d.reason.replace('\n', " ")
        ));
    }
    if total > letters.len() as i64 {
        out.push_str(&format!("\n…and {} more.\n", total - letters.len() as i64));
    }
    out.push_str("\n`retry-dead-letters <id>` or `retry-dead-letters all` puts them back.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: i64, source: &str) -> DeadLetter {
        DeadLetter {
            id,
            source: source.into(),
            portal_key: "!room:x".into(),
            receiver: String::new(),
            payload: "{}".into(),
            attempts: 2,
            reason: "Instagram refused it:\nthread locked".into(),
            failed_at_ms: crate::store::now_ms(),
        }
    }

    #[test]
    fn the_listing_names_each_letter_and_how_to_retry() {
        assert_eq!(listing(0, &[]), "There are no dead letters.");
        let text = listing(3, &[letter(7, "matrix"), letter(9, "instagram")]);
        assert!(text.starts_with("**Dead letters** (3)"), "{text}");
        assert!(
            text.contains("* `7` from Matrix in `!room:x`, 2 attempt(s)"),
            "{text}"
        );
        assert!(text.contains("* `9` from Instagram, thread"), "{text}");
        assert!(
            text.contains("Instagram refused it: thread locked"),
            "{text}"
        );
        assert!(text.contains("…and 1 more."), "{text}");
        assert!(text.contains("retry-dead-letters all"), "{text}");
    }
}
