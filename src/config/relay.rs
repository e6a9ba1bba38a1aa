//! `bridge.relay` (mautrix bridgev2's shape): in a group portal with a relay set, messages of
//! members without their own login go out through the relay's account, prefixed by
//! `message_formats`.
//!
//! Templates take a small part of Go's template syntax, as mautrix bridges do:
//! `{{ .Sender.DisplayName }}`, `{{ .Sender.UserID }}`, `{{ .Message }}`, `{{ .Caption }}`,
//! `{{ .FileName }}`, and `{{ if .Caption }}…{{ end }}` (text shown only when the value is not
//! empty). Instagram shows plain text, so the result is plain text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigError, key_error};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Whether `set-relay` may be used at all.
    pub enabled: bool,
    /// Only admins may set themselves as the relay; others may only pick one of
    /// `default_relays`.
    pub admin_only: bool,
    /// Matrix user ids of logged-in users anyone may set as a group's relay (they must be in
    /// the room).
    pub default_relays: Vec<String>,
    /// Per msgtype, the text sent for a relayed message. Missing msgtypes use the defaults.
    pub message_formats: BTreeMap<String, String>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            admin_only: true,
            default_relays: Vec::new(),
            message_formats: default_formats(),
        }
    }
}

/// The default format of each msgtype.
pub fn default_formats() -> BTreeMap<String, String> {
    let media = |what: &str| {
        format!(
            "{{{{ .Sender.DisplayName }}}} sent {what}{{{{ if .Caption }}}}: {{{{ .Caption }}}}{{{{ end }}}}"
        )
    };
    [
        (
            "m.text",
            "{{ .Sender.DisplayName }}: {{ .Message }}".to_string(),
        ),
        (
            "m.notice",
            "{{ .Sender.DisplayName }}: {{ .Message }}".to_string(),
        ),
        (
            "m.emote",
            "* {{ .Sender.DisplayName }} {{ .Message }}".to_string(),
        ),
        ("m.file", media("a file")),
        ("m.image", media("an image")),
        ("m.audio", media("an audio file")),
        ("m.video", media("a video")),
        ("m.location", media("a location")),
        ("m.sticker", media("a sticker")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl RelayConfig {
    /// The template for a msgtype (the configured one, else the default, else `m.text`'s).
    pub fn format(&self, msgtype: &str) -> Template {
        let text = self
            .message_formats
            .get(msgtype)
            .cloned()
            .or_else(|| default_formats().remove(msgtype))
            .or_else(|| self.message_formats.get("m.text").cloned())
            .unwrap_or_else(|| "{{ .Sender.DisplayName }}: {{ .Message }}".into());
        // Validated at load; a default always parses.
        Template::parse(&text).unwrap_or_else(|_| Template(vec![Segment::Text(text)]))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (msgtype, text) in &self.message_formats {
            Template::parse(text).map_err(|reason| {
                key_error(format!("bridge.relay.message_formats.{msgtype}"), reason)
            })?;
        }
        for (i, relay) in self.default_relays.iter().enumerate() {
            if !(relay.starts_with('@') && relay.contains(':')) {
                return Err(key_error(
                    format!("bridge.relay.default_relays[{i}]"),
                    format!("`{relay}` is not a Matrix user id"),
                ));
            }
        }
        Ok(())
    }
}

/// A variable a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    SenderDisplayName,
    SenderUserId,
    Message,
    Caption,
    FileName,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            ".Sender.DisplayName" | ".Sender.Displayname" | ".Sender.DisambiguatedName" => {
                Var::SenderDisplayName
            }
            ".Sender.UserID" => Var::SenderUserId,
            ".Message" => Var::Message,
            ".Caption" => Var::Caption,
            ".FileName" => Var::FileName,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(Var),
    If(Var, Vec<Segment>),
}

/// A parsed relay message format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Segment>);

/// The values a template is rendered with.
#[derive(Debug, Clone, Default)]
pub struct RelayValues<'a> {
    pub sender_display_name: &'a str,
    pub sender_user_id: &'a str,
    pub message: &'a str,
    pub caption: &'a str,
    pub file_name: &'a str,
}

impl RelayValues<'_> {
    fn get(&self, var: Var) -> &str {
        match var {
            Var::SenderDisplayName => self.sender_display_name,
            Var::SenderUserId => self.sender_user_id,
            Var::Message => self.message,
            Var::Caption => self.caption,
            Var::FileName => self.file_name,
        }
    }
}

impl Template {
    /// Parses a format; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut stack: Vec<(Var, Vec<Segment>)> = Vec::new();
        let mut out: Vec<Segment> = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let literal = &rest[..start];
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| "has `{{` without a closing `}}`".to_string())?;
            let action = after[..end].trim();
            let target = match stack.last_mut() {
                Some((_, inner)) => inner,
                None => &mut out,
            };
            if !literal.is_empty() {
                target.push(Segment::Text(literal.to_string()));
            }
            if let Some(cond) = action.strip_prefix("if ") {
                let var = Var::parse(cond.trim())
                    .ok_or_else(|| format!("`{{{{ {action} }}}}`: unknown variable"))?;
                if !stack.is_empty() {
                    return Err("nested `if` is not supported".into());
                }
                stack.push((var, Vec::new()));
            } else if action == "end" {
                let (var, inner) = stack
                    .pop()
                    .ok_or_else(|| "has `{{ end }}` without `{{ if … }}`".to_string())?;
                out.push(Segment::If(var, inner));
            } else {
                let var = Var::parse(action).ok_or_else(|| {
                    format!(
                        "`{{{{ {action} }}}}` is not a known variable (use .Sender.DisplayName, \
                         .Sender.UserID, .Message, .Caption or .FileName)"
                    )
                })?;
                target.push(Segment::Var(var));
            }
            rest = &after[end + 2..];
        }
        if !stack.is_empty() {
            return Err("has `{{ if … }}` without `{{ end }}`".into());
        }
        if !rest.is_empty() {
            out.push(Segment::Text(rest.to_string()));
        }
        Ok(Template(out))
    }

    /// The text for these values.
    pub fn render(&self, values: &RelayValues<'_>) -> String {
        let mut out = String::new();
        render_into(&self.0, values, &mut out);
        out
    }
}

fn render_into(segments: &[Segment], values: &RelayValues<'_>, out: &mut String) {
    for segment in segments {
        match segment {
            Segment::Text(t) => out.push_str(t),
            Segment::Var(v) => out.push_str(values.get(*v)),
            Segment::If(v, inner) => {
                if !values.get(*v).is_empty() {
                    render_into(inner, values, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(message: &'a str, caption: &'a str) -> RelayValues<'a> {
        RelayValues {
            sender_display_name: "Alice",
            sender_user_id: "@alice:example.com",
            message,
            caption,
            file_name: "cat.jpg",
        }
    }

    #[test]
    fn defaults_render() {
        let relay = RelayConfig::default();
        assert_eq!(
            relay.format("m.text").render(&values("hello", "")),
            "Alice: hello"
        );
        assert_eq!(
            relay.format("m.emote").render(&values("waves", "")),
            "* Alice waves"
        );
        assert_eq!(
            relay.format("m.image").render(&values("", "")),
            "Alice sent an image"
        );
        assert_eq!(
            relay.format("m.image").render(&values("", "my cat")),
            "Alice sent an image: my cat"
        );
        // An unknown msgtype falls back to m.text's format.
        assert_eq!(
            relay.format("com.example.odd").render(&values("x", "")),
            "Alice: x"
        );
    }

    #[test]
    fn every_variable_and_spacing() {
        let t = Template::parse(
            "{{.Sender.UserID}}|{{ .Sender.Displayname }}|{{ .FileName }}|{{.Message}}",
        )
        .unwrap();
        assert_eq!(
            t.render(&values("m", "")),
            "@alice:example.com|Alice|cat.jpg|m"
        );
        let plain = Template::parse("no variables").unwrap();
        assert_eq!(plain.render(&values("m", "")), "no variables");
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        for (text, says) in [
            ("{{ .Nope }}", "not a known variable"),
            ("{{ .Message", "without a closing"),
            ("{{ if .Caption }}x", "without `{{ end }}`"),
            ("x{{ end }}", "without `{{ if"),
            (
                "{{ if .Caption }}{{ if .Message }}{{ end }}{{ end }}",
                "nested",
            ),
            ("{{ if .Bad }}{{ end }}", "unknown variable"),
        ] {
            let err = Template::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn configured_formats_are_validated_by_key() {
        let mut relay = RelayConfig::default();
        relay
            .message_formats
            .insert("m.text".into(), "{{ .Who }}".into());
        let err = relay.validate().unwrap_err().to_string();
        assert!(err.contains("bridge.relay.message_formats.m.text"), "{err}");
        let mut relay = RelayConfig::default();
        relay.default_relays.push("alice".into());
        let err = relay.validate().unwrap_err().to_string();
        assert!(err.contains("bridge.relay.default_relays[0]"), "{err}");
    }
}
