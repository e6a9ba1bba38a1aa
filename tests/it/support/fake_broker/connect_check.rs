//! The broker's own, independent decoder of the MQTToT CONNECT payload (zlib + Thrift compact),
//! written from PROTOCOL.md E.2–E.5 without calling into the client's thrift/connect code, so
//! the client's wire format is checked by a second implementation.

use std::collections::BTreeMap;
use std::io::Read;

/// What a valid CONNECT told us.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectInfo {
    pub client_identifier: String,
    pub user_id: i64,
    pub user_agent: String,
    pub device_id: String,
    pub password: String,
    pub keepalive: u16,
    pub subscribe_topics: Vec<i64>,
    pub no_automatic_foreground: bool,
    pub is_initially_foreground: bool,
    pub network_subtype: i64,
    pub app_specific_info: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Bool(bool),
    Int(i64),
    Bin(Vec<u8>),
    List(Vec<V>),
    Map(Vec<(V, V)>),
    Struct(BTreeMap<i16, V>),
}

struct R<'a> {
    b: &'a [u8],
    i: usize,
}

impl R<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let v = *self.b.get(self.i).ok_or("truncated")?;
        self.i += 1;
        Ok(v)
    }
    fn uvar(&mut self) -> Result<u64, String> {
        let mut out = 0u64;
        for n in 0..10 {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << (7 * n);
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err("varint too long".into())
    }
    fn svar(&mut self) -> Result<i64, String> {
        let u = self.uvar()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }
    fn bin(&mut self) -> Result<Vec<u8>, String> {
        let n = self.uvar()? as usize;
        let s = self
            .b
            .get(self.i..self.i.checked_add(n).ok_or("overflow")?)
            .ok_or("truncated binary")?;
        self.i += n;
        Ok(s.to_vec())
    }
    fn val(&mut self, t: u8, depth: u8) -> Result<V, String> {
        if depth > 8 {
            return Err("too deep".into());
        }
        Ok(match t {
            1 => V::Bool(true),
            2 => V::Bool(false),
            3 => V::Int(i64::from(self.byte()?)),
            4..=6 => V::Int(self.svar()?),
            8 => V::Bin(self.bin()?),
            9 | 10 => {
                let h = self.byte()?;
                let n = if h >> 4 == 15 {
                    self.uvar()? as usize
                } else {
                    usize::from(h >> 4)
                };
                if n > self.b.len() {
                    return Err("list too long".into());
                }
                let mut l = Vec::new();
                for _ in 0..n {
                    l.push(self.val(h & 15, depth + 1)?);
                }
                V::List(l)
            }
            11 => {
                let n = self.uvar()? as usize;
                if n > self.b.len() {
                    return Err("map too long".into());
                }
                let mut m = Vec::new();
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        let k = self.val(kv >> 4, depth + 1)?;
                        let v = self.val(kv & 15, depth + 1)?;
                        m.push((k, v));
                    }
                }
                V::Map(m)
            }
            12 => self.strukt(depth + 1)?,
            t => return Err(format!("unexpected thrift type {t}")),
        })
    }
    fn strukt(&mut self, depth: u8) -> Result<V, String> {
        let mut fields = BTreeMap::new();
        let mut last = 0i16;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(V::Struct(fields));
            }
            let id = if h >> 4 == 0 {
                self.svar()? as i16
            } else {
                last + i16::from(h >> 4)
            };
            last = id;
            fields.insert(id, self.val(h & 15, depth)?);
        }
    }
}

fn get(s: &V, id: i16) -> Option<&V> {
    match s {
        V::Struct(f) => f.get(&id),
        _ => None,
    }
}

fn string(s: &V, id: i16, what: &str) -> Result<String, String> {
    match get(s, id) {
        Some(V::Bin(b)) => String::from_utf8(b.clone()).map_err(|_| format!("{what} not utf-8")),
        _ => Err(format!("missing {what} (field {id})")),
    }
}

fn int(s: &V, id: i16, what: &str) -> Result<i64, String> {
    match get(s, id) {
        Some(V::Int(i)) => Ok(*i),
        _ => Err(format!("missing {what} (field {id})")),
    }
}

fn boolean(s: &V, id: i16, what: &str) -> Result<bool, String> {
    match get(s, id) {
        Some(V::Bool(b)) => Ok(*b),
        _ => Err(format!("missing {what} (field {id})")),
    }
}

/// Validates protocol name, level, flags and the zlib'd Thrift payload. `Err` says why not.
pub fn check_connect(
    name: &str,
    level: u8,
    flags: u8,
    keepalive: u16,
    payload: &[u8],
) -> Result<ConnectInfo, String> {
    if name != "MQTToT" {
        return Err(format!("protocol name {name:?}"));
    }
    if level != 3 {
        return Err(format!("protocol level {level}"));
    }
    if flags != 0xC2 {
        return Err(format!("connect flags {flags:#x}"));
    }
    if payload.len() < 2 || payload[0] != 0x78 {
        return Err("payload is not zlib".into());
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(payload)
        .take(1 << 20)
        .read_to_end(&mut raw)
        .map_err(|e| format!("bad zlib: {e}"))?;
    let mut r = R { b: &raw, i: 0 };
    let top = r.strukt(0)?;
    if r.i != raw.len() {
        return Err("trailing bytes after the Thrift struct".into());
    }
    let client_identifier = string(&top, 1, "client_identifier")?;
    let ci = get(&top, 4).ok_or("missing client_info (field 4)")?;
    let user_id = int(ci, 1, "user_id")?;
    let user_agent = string(ci, 2, "user_agent")?;
    if int(ci, 3, "client_capabilities")? != 183 {
        return Err("client_capabilities != 183".into());
    }
    int(ci, 4, "endpoint_capabilities")?;
    if int(ci, 5, "publish_format")? != 1 {
        return Err("publish_format != 1".into());
    }
    let no_automatic_foreground = boolean(ci, 6, "no_automatic_foreground")?;
    boolean(ci, 7, "make_user_available_in_foreground")?;
    let device_id = string(ci, 8, "device_id")?;
    let is_initially_foreground = boolean(ci, 9, "is_initially_foreground")?;
    int(ci, 10, "network_type")?;
    let network_subtype = int(ci, 11, "network_subtype")?;
    int(ci, 12, "client_mqtt_session_id")?;
    let subscribe_topics = match get(ci, 14) {
        Some(V::List(l)) => l
            .iter()
            .map(|v| match v {
                V::Int(i) => Ok(*i),
                _ => Err("subscribe_topics not i32".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("missing subscribe_topics (field 14)".into()),
    };
    for needed in [135, 146, 133] {
        if !subscribe_topics.contains(&needed) {
            return Err(format!("subscribe_topics lacks {needed}"));
        }
    }
    if string(ci, 15, "client_type")? != "cookie_auth" {
        return Err("client_type".into());
    }
    if int(ci, 16, "app_id")? != 567_067_343_352_427 {
        return Err("app_id".into());
    }
    string(ci, 20, "device_secret")?;
    if int(ci, 21, "client_stack")? != 3 {
        return Err("client_stack".into());
    }
    if !device_id.starts_with(&client_identifier) || client_identifier.chars().count() > 20 {
        return Err("client_identifier is not the phone_id prefix".into());
    }
    let password = string(&top, 5, "password")?;
    if !(password.starts_with("sessionid=") || password.starts_with("authorization=Bearer ")) {
        return Err("password form".into());
    }
    let mut app_specific_info = BTreeMap::new();
    match get(&top, 10) {
        Some(V::Map(m)) => {
            for (k, v) in m {
                match (k, v) {
                    (V::Bin(k), V::Bin(v)) => {
                        app_specific_info.insert(
                            String::from_utf8_lossy(k).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        );
                    }
                    _ => return Err("app_specific_info not map<binary,binary>".into()),
                }
            }
        }
        _ => return Err("missing app_specific_info (field 10)".into()),
    }
    for key in ["app_version", "platform"] {
        if !app_specific_info.contains_key(key) {
            return Err(format!("app_specific_info lacks {key}"));
        }
    }
    Ok(ConnectInfo {
        client_identifier,
        user_id,
        user_agent,
        device_id,
        password,
        keepalive,
        subscribe_topics,
        no_automatic_foreground,
        is_initially_foreground,
        network_subtype,
        app_specific_info,
    })
}
