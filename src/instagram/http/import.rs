//! Parsing of imported sessions (pure functions): a cookie set as a JSON object, a JSON list of
//! browser cookie objects, a raw `Cookie:` header, a copied cURL command, or a
//! `Bearer IGT:2:` authorization value.

use std::collections::BTreeMap;

use super::session::parse_authorization;
use crate::instagram::Error;
use crate::secret::Secret;

/// Credentials found in an import: cookie values and the authorization are [`Secret`]s, so
/// `Debug` shows the cookie names only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedCredentials {
    pub cookies: BTreeMap<String, Secret>,
    pub authorization: Option<Secret>,
}

/// Cookies an Instagram session import keeps.
const KEPT: &[&str] = &[
    "sessionid",
    "csrftoken",
    "ds_user_id",
    "mid",
    "ig_did",
    "rur",
    "shbid",
    "shbts",
    "datr",
];

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_cookie_header(text: &str) -> BTreeMap<String, String> {
    let text = text.trim();
    let text = text
        .strip_prefix("Cookie:")
        .or_else(|| text.strip_prefix("cookie:"))
        .unwrap_or(text);
    text.split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Splits a shell command line into words (single quotes, double quotes, backslashes).
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                has = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next()
                    && n != '\n'
                {
                    cur.push(n);
                    has = true;
                }
            }
            c if c.is_whitespace() => {
                if has {
                    words.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        words.push(cur);
    }
    words
}

/// What an input holds before it is checked; never printed (no `Debug`).
#[derive(Default)]
struct Found {
    cookies: BTreeMap<String, String>,
    authorization: Option<String>,
}

fn from_curl(cmd: &str) -> Found {
    let words = shell_words(cmd);
    let mut out = Found::default();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        match w {
            "-H" | "--header" => {
                if let Some((name, value)) = next.split_once(':') {
                    let value = value.trim();
                    match name.trim().to_ascii_lowercase().as_str() {
                        "cookie" => out.cookies.extend(parse_cookie_header(value)),
                        "authorization" if value.starts_with("Bearer IGT:") => {
                            out.authorization = Some(value.to_owned());
                        }
                        _ => {}
                    }
                }
                i += 2;
            }
            "-b" | "--cookie" => {
                out.cookies.extend(parse_cookie_header(next));
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses any supported import format. Requires a `sessionid` cookie or an authorization.
pub fn parse_session_import(input: &str) -> Result<ImportedCredentials, Error> {
    let text = input.trim();
    let found = found_credentials(text)?;
    let mut cookies: BTreeMap<String, Secret> = found
        .cookies
        .into_iter()
        .filter(|(k, _)| KEPT.contains(&k.as_str()))
        .map(|(k, v)| (k, Secret::new(v)))
        .collect();
    let authorization = found.authorization.map(Secret::new);
    if let Some(a) = &authorization
        && parse_authorization(a.expose()).is_none()
    {
        return Err(Error::InvalidInput(
            "the authorization value is not a valid `Bearer IGT:2:` token".into(),
        ));
    }
    if authorization.is_none() && !cookies.contains_key("sessionid") {
        return Err(Error::InvalidInput(
            "no `sessionid` cookie or `Bearer IGT:2:` authorization found".into(),
        ));
    }
    if !cookies.contains_key("ds_user_id")
        && let Some(sid) = cookies.get("sessionid")
    {
        // sessionid starts with the user pk: `123%3A…` or `123:…`.
        let pk: String = sid
            .expose()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !pk.is_empty() {
            cookies.insert("ds_user_id".into(), Secret::new(pk));
        }
    }
    Ok(ImportedCredentials {
        cookies,
        authorization,
    })
}

/// Every cookie and the authorization in the input, whatever its format.
fn found_credentials(text: &str) -> Result<Found, Error> {
    let creds = if let Some(auth) = text
        .strip_prefix("Authorization:")
        .or_else(|| text.strip_prefix("authorization:"))
        .map(str::trim)
        .or(Some(text))
        .filter(|t| t.starts_with("Bearer IGT:"))
    {
        Found {
            cookies: BTreeMap::new(),
            authorization: Some(auth.to_owned()),
        }
    } else if text.starts_with("curl ") || text.starts_with("curl\t") {
        from_curl(text)
    } else if text.starts_with('{') || text.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidInput(format!("not valid JSON: {e}")))?;
        let mut cookies = BTreeMap::new();
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if let Some(s) = scalar(&v) {
                        cookies.insert(k, s);
                    }
                }
            }
            serde_json::Value::Array(list) => {
                for c in list {
                    if let (Some(name), Some(value)) = (
                        c.get("name").and_then(scalar),
                        c.get("value").and_then(scalar),
                    ) {
                        cookies.insert(name, value);
                    }
                }
            }
            _ => {}
        }
        Found {
            cookies,
            authorization: None,
        }
    } else {
        Found {
            cookies: parse_cookie_header(text),
            authorization: None,
        }
    };
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instagram::http::session::make_authorization;

    #[test]
    fn all_formats() {
        let obj = parse_session_import(
            r#"{"sessionid":"42%3Aabc%3A9","csrftoken":"c","ds_user_id":42,"mid":"m","ig_did":"D","junk":"x"}"#,
        )
        .unwrap();
        assert_eq!(obj.cookies["ds_user_id"].expose(), "42");
        assert!(!obj.cookies.contains_key("junk"));
        let list = parse_session_import(
            r#"[{"domain":".instagram.com","name":"sessionid","value":"42%3Aabc%3A9","httpOnly":true},{"name":"csrftoken","value":"c"}]"#,
        )
        .unwrap();
        assert_eq!(list.cookies["sessionid"].expose(), "42%3Aabc%3A9");
        assert_eq!(list.cookies["ds_user_id"].expose(), "42");
        let header =
            parse_session_import("Cookie: csrftoken=c; sessionid=42%3Aabc%3A9; mid=m").unwrap();
        assert_eq!(header.cookies.len(), 4);
        let curl = parse_session_import(
            "curl 'https://www.instagram.com/api/v1/x/' \\\n  -H 'accept: */*' \\\n  -H 'cookie: sessionid=42%3Aabc%3A9; csrftoken=c' \\\n  -b \"ig_did=D\" --compressed",
        )
        .unwrap();
        assert_eq!(curl.cookies["ig_did"].expose(), "D");
        assert_eq!(curl.cookies["sessionid"].expose(), "42%3Aabc%3A9");
        let auth = make_authorization("42", "42%3Aabc%3A9");
        let a = parse_session_import(&format!("Authorization: {auth}")).unwrap();
        assert_eq!(
            a.authorization.as_ref().map(Secret::expose),
            Some(auth.as_str())
        );
        assert!(parse_session_import("csrftoken=x").is_err());
        assert!(parse_session_import("Bearer IGT:2:!!!").is_err());
        let shown = format!("{obj:?} {a:?} {curl:?}");
        assert!(!shown.contains("abc") && !shown.contains("IGT"), "{shown}");
        assert!(shown.contains("sessionid"), "the names are shown: {shown}");
    }
}
