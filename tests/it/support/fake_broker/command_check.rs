//! The broker's own check of an `/ig_send_message` command (PROTOCOL E.10 and the request-shape
//! decisions of docs/PROTOCOL.md G): a command Instagram would not take is refused with a
//! negative ack, so a client that drops a field fails its test.

use serde_json::Value;

fn text<'a>(cmd: &'a Value, key: &str) -> Result<&'a str, String> {
    cmd[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("command without {key}"))
}

/// `offline_threading_id` is the command's `client_context` (the Android app's OTID).
fn threading_id(cmd: &Value, ctx: &str) -> Result<(), String> {
    match cmd["offline_threading_id"].as_str() {
        Some(otid) if otid == ctx => Ok(()),
        Some(_) => Err("offline_threading_id differs from client_context".into()),
        None => Err("command without offline_threading_id".into()),
    }
}

/// Ok when Instagram would take the command; else the refusal message.
pub fn check_command(cmd: &Value) -> Result<(), String> {
    let action = text(cmd, "action")?;
    text(cmd, "thread_id")?;
    let ctx = text(cmd, "client_context")?;
    match action {
        "send_item" => {
            threading_id(cmd, ctx)?;
            if cmd["is_shh_mode"].as_str() != Some("0") {
                return Err("send_item without is_shh_mode \"0\"".into());
            }
            if text(cmd, "item_type")? == "reaction" {
                text(cmd, "item_id")?;
                if cmd["node_type"] != "item" {
                    return Err("reaction without node_type item".into());
                }
                if !matches!(cmd["reaction_status"].as_str(), Some("created" | "deleted")) {
                    return Err("reaction without reaction_status".into());
                }
                if !cmd["emoji"].is_string() {
                    return Err("reaction without emoji".into());
                }
            }
            Ok(())
        }
        "indicate_activity" => {
            threading_id(cmd, ctx)?;
            if cmd["activity_status"].is_null() {
                return Err("indicate_activity without activity_status".into());
            }
            Ok(())
        }
        "mark_seen" => text(cmd, "item_id").map(|_| ()),
        other => Err(format!("unknown action {other}")),
    }
}
