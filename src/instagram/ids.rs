//! Newtypes for Instagram identifiers, so a thread id can never be passed where an item id
//! belongs. Thread and item ids exceed 64 bits and are kept as decimal strings; they
//! deserialize from a JSON string or a JSON number (see [`crate::instagram::types::parse_lossless`]
//! for numbers too large for `u64`).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// 2^53: every integer up to it is exact in an `f64`.
const MAX_EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// Visitor turning a JSON string or number into its decimal text.
struct DecimalText;

impl Visitor<'_> for DecimalText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        // Integers beyond u64 parsed without `parse_lossless` arrive as floats whose digits
        // are already wrong: refuse them rather than invent an id. Whole floats f64 holds
        // exactly are still read.
        if v.fract() == 0.0 && v.abs() <= MAX_EXACT_F64 {
            Ok(format!("{v:.0}"))
        } else {
            Err(E::custom(format!(
                "id {v} is not an exact integer (JSON with ids beyond 64 bits must be parsed losslessly)"
            )))
        }
    }
}

/// Deserializes a string-or-number into a `String` (for `#[serde(deserialize_with)]`).
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(DecimalText)
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(DecimalText).map(Self)
            }
        }
    };
}

string_id!(
    /// A direct thread id (`thread_id`, ≈39 decimal digits).
    ThreadId
);
string_id!(
    /// A thread item (message) id (`item_id`, ≈35-38 decimal digits).
    ItemId
);
string_id!(
    /// A client-generated message id (OTID form, PROTOCOL A.7), sent as `client_context`,
    /// `mutation_token` and `offline_threading_id`.
    ClientContext
);

impl ClientContext {
    /// A fresh OTID: `(unix_ms << 22) + random(10000..5000000)` as a decimal string.
    pub fn generate() -> Self {
        use rand::Rng;
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let r: u64 = rand::thread_rng().gen_range(10_000..5_000_000);
        Self(((ms << 22) + r).to_string())
    }
}

/// An Instagram user id (`pk`). Deserializes from a number or a decimal string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(transparent)]
pub struct UserPk(pub i64);

impl UserPk {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserPk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Debug for UserPk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserPk({})", self.0)
    }
}
impl From<i64> for UserPk {
    fn from(v: i64) -> Self {
        Self(v)
    }
}
impl std::str::FromStr for UserPk {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Self)
    }
}

impl<'de> Deserialize<'de> for UserPk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(DecimalText)?;
        text.trim()
            .parse::<i64>()
            .map(Self)
            .map_err(|_| de::Error::custom(format!("invalid user pk {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_number_or_string() {
        let t: ThreadId =
            serde_json::from_str("\"340282366841710301244276158232444183473\"").unwrap();
        assert_eq!(t.as_str(), "340282366841710301244276158232444183473");
        let pk: UserPk = serde_json::from_str("58511342766").unwrap();
        assert_eq!(pk, UserPk(58511342766));
        let pk: UserPk = serde_json::from_str("\"58511342766\"").unwrap();
        assert_eq!(pk.to_string(), "58511342766");
        let i: ItemId = serde_json::from_str("123").unwrap();
        assert_eq!(i.0, "123");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"340282366841710301244276158232444183473\""
        );
    }

    #[test]
    fn ids_beyond_64_bits_are_exact_or_refused_never_wrong() {
        let big = "340282366841710301244276158232444183473";
        let t: ThreadId = crate::instagram::types::parse_lossless(big).unwrap();
        assert_eq!(t.as_str(), big);
        let i: ItemId = crate::instagram::types::parse_lossless(big).unwrap();
        assert_eq!(i.as_str(), big);
        // Parsed as a float, the digits are gone: an error, not a wrong id.
        let err = serde_json::from_str::<ItemId>(big).unwrap_err();
        assert!(err.to_string().contains("losslessly"), "{err}");
        assert!(serde_json::from_str::<ThreadId>("1.5").is_err());
        let small: ItemId = serde_json::from_str("4096.0").unwrap();
        assert_eq!(small.as_str(), "4096");
    }

    #[test]
    fn otid_shape() {
        let c = ClientContext::generate();
        let v: u64 = c.as_str().parse().unwrap();
        assert!(v > 7_000_000_000_000_000_000, "{v}");
        assert_ne!(ClientContext::generate(), ClientContext::generate());
    }
}
