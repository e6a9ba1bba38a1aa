//! JSON-aware mutations with hostile values: huge bodies, deeply nested HTML, bad percent
//! escapes, multi-byte characters at every boundary, relations to unknown events, bad `mxc`
//! URLs, numbers where strings are expected and integers beyond 64 bits.

use serde_json::{Value, json};

use crate::fuzz::{Rng, mutate};

/// A string the serialised JSON replaces with a raw number literal a [`Value`] cannot hold.
const RAW_NUMBER: &str = "\u{1}raw-number\u{1}";

/// Number literals beyond 64 bits, or beyond `f64`, written raw into the JSON text.
const RAW_NUMBERS: &[&str] = &[
    "340282366841710301244276158232444183473",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "123456789012345678901234567890.5",
    "0.0000000000000000000000000000000000000000001",
];

/// Keys the conversions read, to plant on objects.
const KEYS: &[&str] = &[
    "msgtype",
    "body",
    "format",
    "formatted_body",
    "m.relates_to",
    "m.in_reply_to",
    "rel_type",
    "event_id",
    "m.new_content",
    "m.mentions",
    "user_ids",
    "url",
    "info",
    "mimetype",
    "size",
    "filename",
    "file",
    "org.matrix.msc3245.voice",
    "item_id",
    "item_type",
    "user_id",
    "timestamp",
    "text",
    "like",
    "link",
    "link_context",
    "link_url",
    "media",
    "carousel_media",
    "image_versions2",
    "candidates",
    "video_versions",
    "width",
    "height",
    "video_duration",
    "caption",
    "code",
    "product_type",
    "replied_to_message",
    "reactions",
    "emojis",
    "emoji",
    "voice_media",
    "audio",
    "audio_src",
    "duration",
    "waveform_data",
    "animated_media",
    "images",
    "fixed_height",
    "is_sticker",
    "xma_clip",
    "target_url",
    "preview_url",
    "location",
    "lat",
    "lng",
    "reel_share",
    "reaction_info",
    "story_share",
    "visual_media",
    "view_mode",
    "placeholder",
    "action_log",
    "profile",
    "username",
];

const MULTIBYTE: &[&str] = &[
    "€",
    "𝕏",
    "\u{10FFFF}",
    "a\u{301}",
    "\u{200b}",
    "\u{feff}",
    "\u{0}",
    "🏳️‍🌈",
    "é",
    "\u{202e}",
];

const BAD_ESCAPES: &[&str] = &[
    "%a€",
    "%€a",
    "%",
    "%%",
    "%4",
    "%zz",
    "%e2%82",
    "%ff%fe",
    "%40",
    "%3A",
    "%40%F0%9F%98",
    "%C3",
];

const BAD_MXC: &[&str] = &[
    "mxc://",
    "mxc:///",
    "mxc://hs",
    "mxc://hs/",
    "mxc://hs/a/b",
    "mxc://../../etc/passwd",
    "mxc://hs/\u{0}",
    "MXC://hs/a",
    "mxc://hs/a?x=1#f",
    "https://hs/a",
    " mxc://hs/a",
    "mxc://€/%a€",
];

const EVENT_IDS: &[&str] = &["$unknown", "", "$", "not-an-event", "$€%a", "!room:x"];

const TAGS: &[&str] = &[
    "<b>",
    "<ol><li>",
    "<ul><li>",
    "<li>",
    "<mx-reply>",
    "</mx-reply>",
    "<blockquote>",
    "<p>",
    "</p>",
    "<br>",
    "<a href=\"https://matrix.to/#/@instagram_42:x\">",
    "<a href='https://matrix.to/#/%a€'>",
    "</a>",
    "<a href=",
    "<",
    ">",
    "&amp;",
    "&",
];

/// A hostile string, sometimes big (up to `max_len` bytes).
fn hostile_string(rng: &mut Rng, max_len: usize) -> String {
    let big = |rng: &mut Rng| 1 + rng.below(max_len.max(2));
    match rng.below(11) {
        0 => {
            let unit = rng.pick(&["a", "word ", "€", "@bob.b ", "<b>x</b>", "\n", "> q\n"]);
            unit.repeat(big(rng) / unit.len() + 1)
        }
        1 => {
            let tag = rng.pick(TAGS);
            format!("{}x", tag.repeat(big(rng) / tag.len() + 1))
        }
        2 => format!(
            "<a href=\"https://matrix.to/#/{}{}\">{}</a>",
            rng.pick(&["", "@", "@instagram_42", "@instagram_42:x"]),
            rng.pick(BAD_ESCAPES),
            rng.pick(MULTIBYTE)
        ),
        3 => {
            let mut s = String::new();
            for _ in 0..1 + rng.below(8) {
                s.push_str(rng.pick::<&str>(MULTIBYTE));
                s.push_str(rng.pick::<&str>(&["@", "<", "&", "%", ">", "@bob.b", ".", "\n", ""]));
            }
            s
        }
        4 => rng.pick(BAD_MXC).to_string(),
        5 => rng.pick(EVENT_IDS).to_string(),
        6 => rng
            .pick(&[
                "> <@a:x> q\n> more\n\nanswer",
                ">",
                ">\n>",
                "> ",
                "> x\n",
                "\n\n",
            ])
            .to_string(),
        7 => rng
            .pick(&[
                "https://www.instagram.com/reel/x/?id=1_2",
                "https://x/?id=%ff",
                "http://[::1",
                "?id=",
                "https://x/?id=1_2&id=3",
                "https://matrix.to/#/%a€",
                "mailto:a@b",
            ])
            .to_string(),
        8 => rng
            .pick(&[
                "@bob.b @bob.b. @.bob @@bob.b me@bob.b @BOB.B",
                "@",
                "@.",
                "@bob.b€",
                "@€",
                "@weird.user_",
            ])
            .to_string(),
        9 => rng
            .pick(&["&amp;amp;", "&#99999999;", "&lt", "&", "&#x27;&#39;&nbsp;"])
            .to_string(),
        _ => String::new(),
    }
}

/// A hostile value of any type.
fn hostile_value(rng: &mut Rng, max_len: usize) -> Value {
    match rng.below(12) {
        0..=3 => Value::String(hostile_string(rng, max_len)),
        4 => json!(rng.pick(&[0i64, -1, 1, i64::MIN, i64::MAX, 2_147_483_648])),
        5 => json!(rng.pick(&[u64::MAX, 1u64 << 53, 4_294_967_296])),
        6 => json!(rng.pick(&[0.5, -0.0, 1e308, -1e308, f64::MIN_POSITIVE, 3.7])),
        7 => Value::String(RAW_NUMBER.to_owned()),
        8 => rng
            .pick(&[
                Value::Null,
                json!(true),
                json!([]),
                json!({}),
                json!(""),
                json!([null]),
            ])
            .clone(),
        9 => {
            let event = rng.pick(EVENT_IDS);
            rng.pick(&[
                json!({"rel_type": "m.replace", "event_id": event}),
                json!({"m.in_reply_to": {"event_id": event}}),
                json!({"m.in_reply_to": event}),
                json!({"rel_type": "m.annotation", "event_id": 5, "key": {}}),
                json!({"rel_type": "m.replace", "event_id": [event]}),
                json!({"rel_type": "m.thread", "event_id": event, "is_falling_back": true}),
            ])
            .clone()
        }
        10 => {
            let mut v = json!("deep");
            for _ in 0..1 + rng.below(120) {
                v = if rng.one_in(2) {
                    json!([v])
                } else {
                    json!({ "m.new_content": v })
                };
            }
            v
        }
        _ => {
            json!({"msgtype": rng.pick(&["m.text", "m.image", "m.audio", "m.sticker", "m.emote", "m.file"]),
            "body": hostile_string(rng, 64), "url": rng.pick(BAD_MXC)})
        }
    }
}

/// The JSON pointers of every node of a document (the root is `""`).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One structural change to the document at a random node.
fn mutate_node(rng: &mut Rng, doc: &mut Value, donors: &[Value], max_len: usize) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let at = rng.pick(&all).clone();
    let donor = (!donors.is_empty()).then(|| rng.pick(donors).clone());
    let Some(node) = doc.pointer_mut(&at) else {
        return;
    };
    match rng.below(7) {
        0 | 1 => *node = hostile_value(rng, max_len),
        2 => {
            let key = rng.pick(KEYS).to_string();
            let value = hostile_value(rng, max_len);
            if let Value::Object(o) = node {
                o.insert(key, value);
            } else {
                let mut o = serde_json::Map::new();
                o.insert(key, value);
                *node = Value::Object(o);
            }
        }
        3 => {
            if let Value::Object(o) = node
                && !o.is_empty()
            {
                let key = o
                    .keys()
                    .nth(rng.below(o.len()))
                    .cloned()
                    .unwrap_or_default();
                o.remove(&key);
            }
        }
        // Numbers where strings are expected, and the other way round.
        4 => {
            *node = match node.take() {
                Value::String(s) => match s.parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) if rng.one_in(2) => Value::String(RAW_NUMBER.to_owned()),
                    Err(_) => json!(s.len()),
                },
                Value::Number(n) => Value::String(n.to_string()),
                other => Value::String(other.to_string()),
            }
        }
        5 => {
            let inner = node.take();
            *node = if rng.one_in(2) {
                json!([inner])
            } else {
                let mut o = serde_json::Map::new();
                o.insert(rng.pick(KEYS).to_string(), inner);
                Value::Object(o)
            };
        }
        _ => {
            if let Some(d) = donor {
                let mut parts = Vec::new();
                pointers(&d, String::new(), &mut parts);
                let from = rng.pick(&parts).clone();
                if let Some(graft) = d.pointer(&from) {
                    *node = graft.clone();
                }
            }
        }
    }
}

/// Serialises, writing each raw-number placeholder as a number literal.
fn to_text(rng: &mut Rng, doc: &Value) -> Vec<u8> {
    let text = serde_json::to_string(doc).unwrap_or_default();
    let placeholder = serde_json::to_string(RAW_NUMBER).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(&placeholder) {
        out.push_str(&rest[..i]);
        out.push_str(rng.pick::<&str>(RAW_NUMBERS));
        rest = &rest[i + placeholder.len()..];
    }
    out.push_str(rest);
    out.into_bytes()
}

/// A mutator for JSON seeds: one to four structural changes with hostile values (bodies up
/// to `max_len` bytes), sometimes followed by byte-level mutation (broken UTF-8, cut
/// documents); inputs that are not JSON get byte-level mutation only.
pub fn mutator(max_len: usize) -> impl Fn(&mut Rng, &[u8], &[Vec<u8>]) -> Vec<u8> {
    move |rng, input, seeds| {
        let Ok(mut doc) = serde_json::from_slice::<Value>(input) else {
            return mutate(rng, input, seeds);
        };
        if rng.one_in(8) {
            return mutate(rng, input, seeds);
        }
        let donors: Vec<Value> = (0..2)
            .filter_map(|_| seeds.get(rng.below(seeds.len())))
            .filter_map(|s| serde_json::from_slice(s).ok())
            .collect();
        for _ in 0..1 + rng.below(4) {
            mutate_node(rng, &mut doc, &donors, max_len);
        }
        let text = to_text(rng, &doc);
        if rng.one_in(6) {
            mutate(rng, &text, seeds)
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_plant_raw_big_numbers_and_keep_json_mostly_valid() {
        let m = mutator(1024);
        let mut rng = Rng::new(3);
        let seed = br#"{"msgtype":"m.text","body":"hi","m.relates_to":{"m.in_reply_to":{"event_id":"$e"}}}"#;
        let seeds = vec![seed.to_vec()];
        let (mut valid, mut big) = (0, 0);
        for _ in 0..500 {
            let out = m(&mut rng, seed, &seeds);
            valid += usize::from(serde_json::from_slice::<Value>(&out).is_ok());
            big += usize::from(
                RAW_NUMBERS
                    .iter()
                    .any(|n| out.windows(n.len()).any(|w| w == n.as_bytes())),
            );
            let placeholder = serde_json::to_vec(RAW_NUMBER).unwrap_or_default();
            assert!(
                !out.windows(placeholder.len()).any(|w| w == placeholder),
                "placeholder left: {}",
                out.escape_ascii()
            );
        }
        assert!(valid > 250, "{valid} valid JSON documents of 500");
        assert!(big > 10, "{big} documents with raw big numbers");
    }
}
