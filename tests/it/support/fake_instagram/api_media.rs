//! Fake rupload (reduced header set, PROTOCOL C.5) and CDN (no credentials, C.6).

use serde_json::json;

use super::state::State;
use super::{FakeInstagram, Req, Resp, authed, wire};

/// Headers that must NOT reach rupload (Instagram answers a generic 404 when present).
const FORBIDDEN_UPLOAD_HEADERS: &[&str] = &[
    "x-bloks-version-id",
    "x-ig-app-id",
    "x-pigeon-session-id",
    "x-ig-capabilities",
];

impl FakeInstagram {
    /// Makes downloads of a CDN object (`path` as given to `add_cdn_object`) hang until
    /// `hang_cdn_object(path, false)`: a stalled media fetch.
    pub fn hang_cdn_object(&self, path: &str, on: bool) {
        let mut st = self.st();
        if on {
            st.hung_cdn.insert(path.to_owned());
        } else {
            st.hung_cdn.remove(path);
        }
    }

    /// How many CDN downloads are hanging right now.
    pub fn hanging_downloads(&self) -> usize {
        self.st().held
    }

    /// Holds a CDN request while its object is hung.
    pub(crate) async fn hold_while_hung(&self, object: &str) {
        let mut counted = false;
        loop {
            {
                let mut st = self.st();
                if !st.hung_cdn.contains(object) {
                    if counted {
                        st.held -= 1;
                    }
                    return;
                }
                if !counted {
                    st.held += 1;
                    counted = true;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

pub(crate) fn rupload(fake: &FakeInstagram, r: &Req, rest: &str) -> Resp {
    let mut st = fake.st();
    if r.method != "POST" {
        return Resp::bytes(404, b"Not Found".to_vec(), "text/plain");
    }
    if FORBIDDEN_UPLOAD_HEADERS
        .iter()
        .any(|h| r.headers.contains_key(*h))
    {
        return Resp::bytes(404, b"Not Found".to_vec(), "text/plain");
    }
    if let Err(e) = authed(&st, r) {
        return e;
    }
    if let Err(e) = session_headers_match(&st, r) {
        return Resp::fail(400, &e);
    }
    let Some((kind, entity)) = rest.split_once('/') else {
        return Resp::fail(400, "bad upload path");
    };
    let type_header = match kind {
        "messenger_image" | "messenger_gif" => "image_type",
        "messenger_video" => "video_type",
        "messenger_audio" => "audio_type",
        "messenger_file" => "file_type",
        _ => return Resp::bytes(404, b"Not Found".to_vec(), "text/plain"),
    };
    let h = |k: &str| r.headers.get(k).map(String::as_str);
    if h("x-entity-name") != Some(entity) {
        return Resp::fail(400, "x-entity-name does not match the path");
    }
    if h("x-entity-length") != Some(r.raw.len().to_string().as_str()) {
        return Resp::fail(400, "x-entity-length does not match the body");
    }
    if h("offset") != Some("0") || h("content-type") != Some("application/octet-stream") {
        return Resp::fail(400, "bad offset/content-type");
    }
    if h(type_header).is_none() || h("user-agent").is_none() || h("x-entity-type").is_none() {
        return Resp::fail(
            400,
            &format!("missing {type_header}/user-agent/x-entity-type"),
        );
    }
    // Instagram takes only these formats per upload kind (PROTOCOL C.5): photos must be JPEG,
    // videos MP4, voice AAC in MP4. The bytes must be what the header says.
    let mime = h("x-entity-type").unwrap_or_default().to_owned();
    let is_mp4 = r.raw.get(4..8) == Some(b"ftyp".as_slice());
    let fits = match kind {
        "messenger_image" => mime == "image/jpeg" && r.raw.starts_with(&[0xff, 0xd8, 0xff]),
        "messenger_gif" => mime == "image/gif" && r.raw.starts_with(b"GIF8"),
        "messenger_video" => mime == "video/mp4" && is_mp4,
        "messenger_audio" => mime == "audio/mp4" && is_mp4,
        _ => true,
    };
    if !fits {
        return Resp::fail(
            400,
            &format!("{kind} does not take {mime} (or the bytes are not {mime})"),
        );
    }
    let id = (st.next_counter() + 18_000_000_000_000_000).to_string();
    st.media.insert(id.clone(), (mime, r.raw.to_vec()));
    let n: i64 = id.parse().unwrap_or_default();
    Resp::json(200, json!({"media_id": n, "status": "ok"}))
}

/// Once Instagram set `ig-u-shbid`/`ig-u-shbts` for a session, its rupload requests carry
/// them back, as its other authenticated requests do (docs/PROTOCOL.md G).
fn session_headers_match(st: &State, r: &Req) -> Result<(), String> {
    let Some(sid) = wire::session_of(&r.headers) else {
        return Ok(());
    };
    let Some(session) = st.sessions.iter().find(|s| s.sessionid == sid) else {
        return Ok(());
    };
    for (name, issued) in [
        ("ig-u-shbid", &session.shbid),
        ("ig-u-shbts", &session.shbts),
    ] {
        if let Some(issued) = issued
            && r.headers.get(name) != Some(issued)
        {
            return Err(format!("{name} missing or not the one Instagram set"));
        }
    }
    Ok(())
}

pub(crate) fn cdn(fake: &FakeInstagram, r: &Req, rest: &str) -> Resp {
    if r.headers.contains_key("authorization") || r.headers.contains_key("cookie") {
        return Resp::fail(400, "credentials sent to the CDN");
    }
    let st = fake.st();
    if let Some(id) = rest.strip_prefix("media/")
        && let Some((mime, data)) = st.media.get(id)
    {
        let ct = if mime.starts_with("video") {
            "video/mp4"
        } else if mime.starts_with("audio") {
            "audio/mp4"
        } else {
            "image/jpeg"
        };
        return Resp::bytes(200, data.clone(), ct);
    }
    match st.cdn.get(rest) {
        Some((_, true)) => Resp::bytes(403, b"URL signature expired".to_vec(), "text/plain"),
        Some((data, false)) => Resp::bytes(200, data.clone(), "application/octet-stream"),
        None => Resp::bytes(404, b"Not Found".to_vec(), "text/plain"),
    }
}
