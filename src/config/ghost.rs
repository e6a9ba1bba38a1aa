//! The ghost user-id format, in one place: `bridge.username_template` (`instagram_{userid}`)
//! on `homeserver.domain`. Making a ghost's id, recognising one, and the registration's
//! namespace all come from here.

use super::Config;

/// The ghost ids of a config.
#[derive(Debug, Clone, Copy)]
pub struct GhostIds<'a> {
    before: &'a str,
    after: &'a str,
    domain: &'a str,
}

impl Config {
    /// How this bridge names ghosts.
    pub fn ghosts(&self) -> GhostIds<'_> {
        let template = self.bridge.username_template.as_str();
        // Validation guarantees `{userid}` is in the template.
        let (before, after) = template.split_once("{userid}").unwrap_or((template, ""));
        GhostIds {
            before,
            after,
            domain: &self.homeserver.domain,
        }
    }
}

impl GhostIds<'_> {
    /// The localpart of an Instagram account's ghost.
    pub fn localpart(&self, pk: i64) -> String {
        format!("{}{pk}{}", self.before, self.after)
    }

    /// The full user id of an Instagram account's ghost.
    pub fn user_id(&self, pk: i64) -> String {
        format!("@{}:{}", self.localpart(pk), self.domain)
    }

    /// The Instagram pk of a ghost's user id; `None` for anyone else.
    pub fn pk_of(&self, user_id: &str) -> Option<i64> {
        let (localpart, server) = user_id.strip_prefix('@')?.split_once(':')?;
        if server != self.domain {
            return None;
        }
        let id = localpart
            .strip_prefix(self.before)?
            .strip_suffix(self.after)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok()
    }

    /// The registration's exclusive user namespace for the ghosts.
    pub fn namespace_regex(&self) -> String {
        format!(
            "@{}.+{}:{}",
            regex_escape(self.before),
            regex_escape(self.after),
            regex_escape(self.domain)
        )
    }
}

/// Escapes regex metacharacters (registration namespaces are regexes).
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn config(template: &str) -> Config {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace("domain: example.com", "domain: chat.test")
            .replace("instagram_{userid}", template);
        Config::from_yaml(&text, "t", std::iter::empty()).expect("config")
    }

    #[test]
    fn ids_round_trip_and_strangers_are_not_ghosts() {
        let c = config("instagram_{userid}");
        let g = c.ghosts();
        assert_eq!(g.localpart(42), "instagram_42");
        assert_eq!(g.user_id(42), "@instagram_42:chat.test");
        assert_eq!(g.pk_of("@instagram_42:chat.test"), Some(42));
        for stranger in [
            "@instagram_42:other.test",
            "@instagram_:chat.test",
            "@instagram_4x2:chat.test",
            "@alice:chat.test",
            "instagram_42:chat.test",
            "@instagram_99999999999999999999999:chat.test",
        ] {
            assert_eq!(g.pk_of(stranger), None, "{stranger}");
        }
        assert_eq!(g.namespace_regex(), "@instagram_.+:chat\\.test");
    }

    #[test]
    fn a_template_with_text_after_the_id_works_too() {
        let c = config("ig.{userid}.x");
        let g = c.ghosts();
        assert_eq!(g.user_id(7), "@ig.7.x:chat.test");
        assert_eq!(g.pk_of("@ig.7.x:chat.test"), Some(7));
        assert_eq!(g.pk_of("@ig.7:chat.test"), None);
        assert_eq!(g.namespace_regex(), "@ig\\..+\\.x:chat\\.test");
    }
}
