//! Matrix event contents → what to send to Instagram.
//!
//! Matrix HTML becomes Instagram plain text: reply fallbacks are removed, mention pills of
//! Instagram ghosts become `@username` (and Instagram mentions), other formatting is dropped
//! sensibly (line breaks kept, links as their text and URL).

use serde_json::Value;

/// What a Matrix text message becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingText {
    pub text: String,
    /// The Matrix event it replies to, if any.
    pub reply_to_event: Option<String>,
    /// Instagram pks mentioned.
    pub mentioned_pks: Vec<i64>,
}

/// What a Matrix message event asks of Instagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(OutgoingText),
    /// An edit of an earlier message (`m.replace`) to the new text.
    Edit {
        target_event: String,
        text: String,
    },
    /// A photo, video, audio, GIF, sticker or file, to fetch from the homeserver and convert.
    Media(OutgoingMedia),
    /// A message type Instagram has no equivalent for.
    Unsupported {
        msgtype: String,
    },
}

/// A Matrix media message, as the bridge needs it to send it to Instagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMedia {
    /// `m.image`, `m.video`, `m.audio`, `m.file` or `m.sticker`.
    pub msgtype: String,
    pub mxc: String,
    /// An encrypted attachment's `file` object (`EncryptedFile`: key, iv, hash); `mxc` is
    /// its `url`, holding ciphertext.
    pub file: Option<Value>,
    pub mimetype: Option<String>,
    pub size: Option<u64>,
    /// An `m.audio` recorded as a voice message (MSC3245).
    pub voice: bool,
    /// The caption (MSC2530: a `body` that differs from `filename`), sent as a text after.
    pub caption: Option<String>,
    pub reply_to_event: Option<String>,
}

/// Resolves a Matrix user id to an Instagram ghost: `(pk, username)`.
pub trait GhostLookup {
    fn ghost(&self, mxid: &str) -> Option<(i64, String)>;
}

impl<F: Fn(&str) -> Option<(i64, String)>> GhostLookup for F {
    fn ghost(&self, mxid: &str) -> Option<(i64, String)> {
        self(mxid)
    }
}

/// Converts the content of an `m.room.message` event.
pub fn message_to_instagram(content: &Value, ghosts: &dyn GhostLookup) -> Outgoing {
    let relates = content.get("m.relates_to");
    if relates
        .and_then(|r| r.get("rel_type"))
        .and_then(Value::as_str)
        == Some("m.replace")
        && let Some(target) = relates
            .and_then(|r| r.get("event_id"))
            .and_then(Value::as_str)
    {
        let new = content.get("m.new_content").unwrap_or(content);
        let text = render(new, false, ghosts).0;
        return Outgoing::Edit {
            target_event: target.to_string(),
            text,
        };
    }
    let msgtype = content
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(
        msgtype,
        "m.image" | "m.video" | "m.audio" | "m.file" | "m.sticker"
    ) {
        return media_to_instagram(msgtype, content, ghosts);
    }
    if !matches!(msgtype, "m.text" | "m.notice" | "m.emote") {
        return Outgoing::Unsupported {
            msgtype: msgtype.to_string(),
        };
    }
    let reply_to_event = relates
        .and_then(|r| r.get("m.in_reply_to"))
        .and_then(|r| r.get("event_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (mut text, mut mentioned_pks) = render(content, reply_to_event.is_some(), ghosts);
    if msgtype == "m.emote" {
        text = format!("* {text}");
    }
    if let Some(ids) = content
        .get("m.mentions")
        .and_then(|m| m.get("user_ids"))
        .and_then(Value::as_array)
    {
        for id in ids.iter().filter_map(Value::as_str) {
            if let Some((pk, _)) = ghosts.ghost(id)
                && !mentioned_pks.contains(&pk)
            {
                mentioned_pks.push(pk);
            }
        }
    }
    Outgoing::Text(OutgoingText {
        text,
        reply_to_event,
        mentioned_pks,
    })
}

fn media_to_instagram(msgtype: &str, content: &Value, ghosts: &dyn GhostLookup) -> Outgoing {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    // An encrypted attachment (`file`, in encrypted rooms) names its ciphertext in `file.url`.
    let file = content.get("file").filter(|f| f.is_object()).cloned();
    let url = match &file {
        Some(f) => str_of(f, "url"),
        None => str_of(content, "url"),
    };
    let Some(mxc) = url.filter(|u| u.starts_with("mxc://")) else {
        return Outgoing::Unsupported {
            msgtype: format!("{msgtype} without a plain mxc:// URL"),
        };
    };
    let info = content.get("info").cloned().unwrap_or(Value::Null);
    let body = str_of(content, "body").unwrap_or_default();
    let caption = match str_of(content, "filename") {
        Some(filename) if !body.trim().is_empty() && body != filename => {
            Some(render(content, false, ghosts).0)
        }
        _ => None,
    };
    let reply_to_event = content
        .get("m.relates_to")
        .and_then(|r| r.get("m.in_reply_to"))
        .and_then(|r| r.get("event_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Outgoing::Media(OutgoingMedia {
        msgtype: msgtype.to_string(),
        mxc,
        file,
        mimetype: str_of(&info, "mimetype"),
        size: info.get("size").and_then(Value::as_u64),
        voice: content.get("org.matrix.msc3245.voice").is_some()
            || content.get("org.matrix.msc3245.voice.v2").is_some(),
        caption,
        reply_to_event,
    })
}

/// The plain text of a message content and the pks its pills mention.
fn render(content: &Value, is_reply: bool, ghosts: &dyn GhostLookup) -> (String, Vec<i64>) {
    let html = (content.get("format").and_then(Value::as_str) == Some("org.matrix.custom.html"))
        .then(|| content.get("formatted_body").and_then(Value::as_str))
        .flatten();
    match html {
        Some(html) => html_to_text(html, ghosts),
        None => {
            let body = content
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let body = if is_reply {
                strip_reply_fallback(body)
            } else {
                body
            };
            (body.to_string(), vec![])
        }
    }
}

/// Removes the `> <@user> quoted` lines a reply's plain body starts with.
pub fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    let mut rest = body;
    while rest.starts_with('>') {
        match rest.find('\n') {
            Some(i) => rest = &rest[i + 1..],
            None => return "",
        }
    }
    rest.strip_prefix('\n').unwrap_or(rest)
}

/// A small HTML → text converter for Matrix message HTML.
pub fn html_to_text(html: &str, ghosts: &dyn GhostLookup) -> (String, Vec<i64>) {
    let mut text = HtmlText::default();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            text.push_text(rest);
            break;
        };
        text.push_text(&rest[..lt]);
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else {
            // A stray '<': keep it as text.
            text.push_text(rest);
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        text.tag(tag, ghosts);
    }
    let out = text.out.trim_end_matches('\n').to_string();
    (out, text.mentions)
}

/// The text being built from HTML, and where in the markup it is.
#[derive(Default)]
struct HtmlText {
    out: String,
    mentions: Vec<i64>,
    /// (href, text start in `out`) of the `<a>` being read.
    link: Option<(String, usize)>,
    /// Inside `<mx-reply>` (the reply fallback): nothing is kept.
    skip_depth: usize,
    /// Per open list: the next number (`<ol>`) or none (`<ul>`).
    list_index: Vec<Option<u32>>,
}

impl HtmlText {
    fn push_text(&mut self, text: &str) {
        if self.skip_depth == 0 {
            self.out.push_str(&unescape(text));
        }
    }

    /// One tag (the text between `<` and `>`).
    fn tag(&mut self, tag: &str, ghosts: &dyn GhostLookup) {
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("mx-reply", false) => self.skip_depth += 1,
            ("mx-reply", true) => self.skip_depth = self.skip_depth.saturating_sub(1),
            _ if self.skip_depth > 0 => {}
            ("br", _) => self.out.push('\n'),
            (
                "p" | "div" | "blockquote" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6",
                true,
            ) => self.out.push('\n'),
            ("ul", false) => self.list_index.push(None),
            ("ol", false) => self.list_index.push(Some(1)),
            ("ul" | "ol", true) => {
                self.list_index.pop();
            }
            ("li", false) => self.list_item(),
            ("a", false) => {
                let href = attribute(tag, "href").unwrap_or_default();
                self.link = Some((href, self.out.len()));
            }
            ("a", true) => self.end_link(ghosts),
            _ => {}
        }
    }

    fn list_item(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        match self.list_index.last_mut() {
            Some(Some(n)) => {
                self.out.push_str(&format!("{n}. "));
                *n += 1;
            }
            _ => self.out.push_str("• "),
        }
    }

    /// `</a>`: a pill of a ghost becomes `@username` (and a mention); another link keeps its
    /// target after the text when the text does not already say it.
    fn end_link(&mut self, ghosts: &dyn GhostLookup) {
        let Some((href, start)) = self.link.take() else {
            return;
        };
        let text = self.out[start..].to_string();
        if let Some(mxid) = href
            .strip_prefix("https://matrix.to/#/")
            .map(|m| m.split('?').next().unwrap_or(m))
            .map(percent_decode)
            && mxid.starts_with('@')
        {
            if let Some((pk, username)) = ghosts.ghost(&mxid) {
                self.out.truncate(start);
                self.out.push('@');
                self.out.push_str(&username);
                if !self.mentions.contains(&pk) {
                    self.mentions.push(pk);
                }
            }
        } else if !href.is_empty() && text.trim() != href && !href.starts_with("mailto:") {
            self.out.push_str(&format!(" ({href})"));
        }
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let key = format!("{name}=");
    let start = lower.find(&key)? + key.len();
    let rest = &tag[start..];
    let value = match rest.chars().next()? {
        q @ ('"' | '\'') => rest[1..].split(q).next()?,
        _ => rest.split(|c: char| c.is_whitespace()).next()?,
    };
    Some(unescape(value))
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Decodes `%XX` escapes byte-wise, then reads the bytes as UTF-8 (invalid sequences become
/// U+FFFD). A `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|b| char::from(*b).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ghosts(mxid: &str) -> Option<(i64, String)> {
        (mxid == "@instagram_42:x").then(|| (42, "bob.b".to_string()))
    }

    fn convert(content: Value) -> Outgoing {
        message_to_instagram(&content, &ghosts)
    }

    #[test]
    fn plain_text() {
        assert_eq!(
            convert(json!({"msgtype":"m.text","body":"hello *world*"})),
            Outgoing::Text(OutgoingText {
                text: "hello *world*".into(),
                reply_to_event: None,
                mentioned_pks: vec![]
            })
        );
    }

    #[test]
    fn replies_lose_their_fallback() {
        let out = convert(json!({
            "msgtype":"m.text",
            "body":"> <@a:x> original\n> more\n\nmy answer",
            "format":"org.matrix.custom.html",
            "formatted_body":"<mx-reply><blockquote><a href=\"https://matrix.to/#/!r:x/$e\">In reply to</a> original</blockquote></mx-reply>my <b>answer</b>",
            "m.relates_to":{"m.in_reply_to":{"event_id":"$e"}}
        }));
        assert_eq!(
            out,
            Outgoing::Text(OutgoingText {
                text: "my answer".into(),
                reply_to_event: Some("$e".into()),
                mentioned_pks: vec![]
            })
        );
        assert_eq!(strip_reply_fallback("> <@a:x> q\n\nanswer"), "answer");
        assert_eq!(strip_reply_fallback("no quote"), "no quote");
    }

    #[test]
    fn pills_become_instagram_mentions() {
        let out = convert(json!({
            "msgtype":"m.text",
            "body":"Bob (Instagram): look",
            "format":"org.matrix.custom.html",
            "formatted_body":"<a href=\"https://matrix.to/#/%40instagram_42%3Ax\">Bob (Instagram)</a>: look &amp; see<br>line2",
            "m.mentions":{"user_ids":["@instagram_42:x"]}
        }));
        assert_eq!(
            out,
            Outgoing::Text(OutgoingText {
                text: "@bob.b: look & see\nline2".into(),
                reply_to_event: None,
                mentioned_pks: vec![42]
            })
        );
    }

    #[test]
    fn bad_percent_escapes_in_links_are_kept_or_replaced_never_a_panic() {
        for (href, want) in [
            // A `%` before a multi-byte character: slicing the text there panicked.
            ("https://matrix.to/#/%a€", "x (https://matrix.to/#/%a€)"),
            ("https://matrix.to/#/%€a", "x (https://matrix.to/#/%€a)"),
            // Matrix ids of no ghost: the link text alone.
            ("https://matrix.to/#/@bob%", "x"),
            ("https://matrix.to/#/@bob%4", "x"),
            ("https://matrix.to/#/%40bob%e2%82", "x"),
            ("https://matrix.to/#/%40instagram_42%3A%78", "@bob.b"),
        ] {
            let html = format!("<a href=\"{href}\">x</a>");
            let (text, _) = html_to_text(&html, &ghosts);
            assert_eq!(text, want, "{href}");
        }
        assert_eq!(percent_decode("%40a%e2%82%zz%"), "@a\u{fffd}%zz%");
        assert_eq!(percent_decode("%e2%82%ac%41"), "€A");
    }

    #[test]
    fn formatting_is_stripped_sensibly() {
        let (text, _) = html_to_text(
            "<p>one</p><p>two <a href=\"https://e.com\">site</a> <a href=\"https://x.y\">https://x.y</a></p><ol><li>a</li><li>b</li></ol><ul><li>c</li></ul>",
            &ghosts,
        );
        assert_eq!(
            text,
            "one\ntwo site (https://e.com) https://x.y\n1. a\n2. b\n• c"
        );
        let (text, _) = html_to_text("a < b and <unclosed", &ghosts);
        assert_eq!(text, "a < b and <unclosed");
    }

    #[test]
    fn edits_and_emotes_and_media() {
        assert_eq!(
            convert(json!({
                "msgtype":"m.text","body":"* fixed",
                "m.new_content":{"msgtype":"m.text","body":"fixed"},
                "m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}
            })),
            Outgoing::Edit {
                target_event: "$orig".into(),
                text: "fixed".into()
            }
        );
        assert_eq!(
            convert(json!({"msgtype":"m.emote","body":"waves"})),
            Outgoing::Text(OutgoingText {
                text: "* waves".into(),
                reply_to_event: None,
                mentioned_pks: vec![]
            })
        );
        assert_eq!(
            convert(json!({"msgtype":"m.file","body":"a.pdf"})),
            Outgoing::Unsupported {
                msgtype: "m.file without a plain mxc:// URL".into()
            }
        );
        assert_eq!(
            convert(json!({"msgtype":"m.location","body":"here","geo_uri":"geo:1,2"})),
            Outgoing::Unsupported {
                msgtype: "m.location".into()
            }
        );
    }

    #[test]
    fn media_messages_carry_what_the_bridge_needs() {
        assert_eq!(
            convert(
                json!({"msgtype":"m.image","body":"cat.png","url":"mxc://hs/abc",
                "info":{"mimetype":"image/png","size":1234}})
            ),
            Outgoing::Media(OutgoingMedia {
                msgtype: "m.image".into(),
                mxc: "mxc://hs/abc".into(),
                file: None,
                mimetype: Some("image/png".into()),
                size: Some(1234),
                voice: false,
                caption: None,
                reply_to_event: None,
            })
        );
        // MSC2530 caption, voice flag and reply.
        let Outgoing::Media(m) = convert(json!({"msgtype":"m.audio","body":"listen",
            "filename":"voice.ogg","url":"mxc://hs/v","org.matrix.msc3245.voice":{},
            "m.relates_to":{"m.in_reply_to":{"event_id":"$r"}}}))
        else {
            panic!("not media");
        };
        assert!(m.voice);
        assert_eq!(m.caption.as_deref(), Some("listen"));
        assert_eq!(m.reply_to_event.as_deref(), Some("$r"));
        // An encrypted attachment: its ciphertext's `file.url`, and the `file` to open it.
        let file = json!({"url": "mxc://hs/e", "v": "v2"});
        let Outgoing::Media(m) = convert(json!({"msgtype":"m.video","body":"v.mp4","file": file}))
        else {
            panic!("not media");
        };
        assert_eq!((m.mxc.as_str(), m.file), ("mxc://hs/e", Some(file)));
        // Neither a plain nor an encrypted mxc:// URL: refused with a reason.
        assert!(matches!(
            convert(json!({"msgtype":"m.video","body":"v.mp4","file":{"url":"https://x/e"}})),
            Outgoing::Unsupported { .. }
        ));
    }
}
