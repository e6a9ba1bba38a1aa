//! Pure conversions between Instagram items and Matrix event contents, and the keys derived
//! from them that make replays idempotent ([`txn`], [`hash`]). No I/O: data in, data out, so
//! that every rule is table-tested (and fuzzed: `fuzz`, in tests and with the `fuzzing`
//! feature).

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod hash;
pub mod media;
pub mod parts;
pub mod shares;
pub mod to_instagram;
pub mod to_matrix;
pub mod txn;

/// Escapes text for inclusion in Matrix HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A deterministic OTID-form `client_context` for a Matrix event, so that a retried send
/// reuses the same value (PROTOCOL A.7: `(unix_ms << 22) + random(10000..5000000)`).
pub fn client_context_for_event(event_id: &str, origin_server_ts_ms: i64) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(event_id.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    let spread = u64::from_be_bytes(n) % 4_990_000 + 10_000;
    let ms = origin_server_ts_ms.clamp(0, (1i64 << 41) - 1) as u64;
    ((ms << 22) + spread).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_contexts_are_stable_and_otid_shaped() {
        let a = client_context_for_event("$abc", 1_700_000_000_000);
        assert_eq!(a, client_context_for_event("$abc", 1_700_000_000_000));
        assert_ne!(a, client_context_for_event("$abd", 1_700_000_000_000));
        let n: u64 = a.parse().unwrap();
        assert_eq!(n >> 22, 1_700_000_000_000);
        let low = n & ((1 << 22) - 1);
        assert!((10_000..5_000_000).contains(&low));
        assert_eq!(a.len(), 19, "19 digits like Instagram's own OTIDs");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
