//! Apache Thrift *compact protocol*: a writer for the structs we send (CONNECT, foreground
//! state) and a generic reader for the wrappers we receive (`/ig_realtime_sub`, `/pubsub`,
//! `/t_region_hint`). PROTOCOL.md E.3.
//!
//! The reader never panics: every length is checked, nesting depth and element counts are bounded.

/// Compact-protocol type codes.
pub mod ty {
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

/// Writes one struct (and nested structs) in compact form.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    last_id: Vec<i16>,
}

fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            buf: Vec::with_capacity(256),
            last_id: vec![0],
        }
    }

    /// Starts with raw prefix bytes (the foreground-state `0x00`).
    pub fn with_prefix(prefix: &[u8]) -> Self {
        let mut w = Self::new();
        w.buf.extend_from_slice(prefix);
        w
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        self.buf.push(0); // STOP of the outermost struct
        self.buf
    }

    pub fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    fn field_header(&mut self, id: i16, kind: u8) {
        let last = self.last_id.last().copied().unwrap_or(0);
        let delta = i32::from(id) - i32::from(last);
        if (1..=15).contains(&delta) {
            self.buf.push(((delta as u8) << 4) | kind);
        } else {
            self.buf.push(kind);
            self.varint(zigzag64(i64::from(id)));
        }
        if let Some(l) = self.last_id.last_mut() {
            *l = id;
        }
    }

    pub fn bool(&mut self, id: i16, v: bool) {
        self.field_header(id, if v { ty::TRUE } else { ty::FALSE });
    }

    pub fn byte(&mut self, id: i16, v: u8) {
        self.field_header(id, ty::BYTE);
        self.buf.push(v);
    }

    pub fn i32(&mut self, id: i16, v: i32) {
        self.field_header(id, ty::I32);
        self.varint(zigzag64(i64::from(v)));
    }

    pub fn i64(&mut self, id: i16, v: i64) {
        self.field_header(id, ty::I64);
        self.varint(zigzag64(v));
    }

    fn raw_binary(&mut self, v: &[u8]) {
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    pub fn binary(&mut self, id: i16, v: &[u8]) {
        self.field_header(id, ty::BINARY);
        self.raw_binary(v);
    }

    fn list_header(&mut self, n: usize, elem: u8) {
        if n < 15 {
            self.buf.push(((n as u8) << 4) | elem);
        } else {
            self.buf.push(0xf0 | elem);
            self.varint(n as u64);
        }
    }

    pub fn list_i32(&mut self, id: i16, v: &[i32]) {
        self.field_header(id, ty::LIST);
        self.list_header(v.len(), ty::I32);
        for x in v {
            self.varint(zigzag64(i64::from(*x)));
        }
    }

    pub fn list_binary<S: AsRef<[u8]>>(&mut self, id: i16, v: &[S]) {
        self.field_header(id, ty::LIST);
        self.list_header(v.len(), ty::BINARY);
        for x in v {
            self.raw_binary(x.as_ref());
        }
    }

    pub fn map_binary<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, id: i16, v: &[(K, V)]) {
        self.field_header(id, ty::MAP);
        self.varint(v.len() as u64);
        if !v.is_empty() {
            self.buf.push((ty::BINARY << 4) | ty::BINARY);
        }
        for (k, val) in v {
            self.raw_binary(k.as_ref());
            self.raw_binary(val.as_ref());
        }
    }

    pub fn begin_struct(&mut self, id: i16) {
        self.field_header(id, ty::STRUCT);
        self.last_id.push(0);
    }

    pub fn end_struct(&mut self) {
        self.buf.push(0);
        self.last_id.pop();
    }
}

/// A decoded Thrift value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Byte(u8),
    I16(i16),
    I32(i32),
    I64(i64),
    Double(f64),
    Binary(Vec<u8>),
    List(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Struct(Vec<(i16, Value)>),
}

impl Value {
    /// Field `id` of a struct.
    pub fn field(&self, id: i16) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(i, _)| *i == id).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Byte(v) => Some(i64::from(*v)),
            Value::I16(v) => Some(i64::from(*v)),
            Value::I32(v) => Some(i64::from(*v)),
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }
}

/// Why a Thrift buffer did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThriftError {
    #[error("thrift: unexpected end of input")]
    Eof,
    #[error("thrift: bad varint")]
    BadVarint,
    #[error("thrift: unknown type {0}")]
    BadType(u8),
    #[error("thrift: nesting too deep")]
    TooDeep,
}

const MAX_DEPTH: usize = 32;

/// Reads compact-protocol values from a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn u8(&mut self) -> Result<u8, ThriftError> {
        let b = *self.buf.get(self.pos).ok_or(ThriftError::Eof)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, ThriftError> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(ThriftError::BadVarint);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ThriftError::BadVarint)
    }

    fn zigzag(&mut self) -> Result<i64, ThriftError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, ThriftError> {
        let len = usize::try_from(self.varint()?).map_err(|_| ThriftError::Eof)?;
        let end = self.pos.checked_add(len).ok_or(ThriftError::Eof)?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(ThriftError::Eof)?
            .to_vec();
        self.pos = end;
        Ok(out)
    }

    /// Every element takes at least one byte (bools in lists too), so a count larger than the
    /// remaining input is a lie: reject it before allocating.
    fn count(&mut self, n: u64) -> Result<usize, ThriftError> {
        let left = (self.buf.len() - self.pos.min(self.buf.len())) as u64;
        if n > left {
            return Err(ThriftError::Eof);
        }
        Ok(n as usize)
    }

    fn value(&mut self, kind: u8, depth: usize) -> Result<Value, ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        Ok(match kind {
            ty::TRUE => Value::Bool(true),
            ty::FALSE => Value::Bool(false),
            ty::BYTE => Value::Byte(self.u8()?),
            ty::I16 => Value::I16(self.zigzag()? as i16),
            ty::I32 => Value::I32(self.zigzag()? as i32),
            ty::I64 => Value::I64(self.zigzag()?),
            ty::DOUBLE => {
                let end = self.pos.checked_add(8).ok_or(ThriftError::Eof)?;
                let raw = self.buf.get(self.pos..end).ok_or(ThriftError::Eof)?;
                let mut arr = [0u8; 8];
                arr.copy_from_slice(raw);
                self.pos = end;
                Value::Double(f64::from_le_bytes(arr))
            }
            ty::BINARY => Value::Binary(self.bytes()?),
            ty::LIST | ty::SET => {
                let header = self.u8()?;
                let elem = header & 0x0f;
                let n = match header >> 4 {
                    15 => self.varint()?,
                    small => u64::from(small),
                };
                let n = self.count(n)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let item = if elem == ty::TRUE || elem == ty::FALSE {
                        Value::Bool(self.u8()? == ty::TRUE)
                    } else {
                        self.value(elem, depth + 1)?
                    };
                    items.push(item);
                }
                Value::List(items)
            }
            ty::MAP => {
                let n = self.varint()?;
                let n = self.count(n)?;
                let mut entries = Vec::with_capacity(n);
                if n > 0 {
                    let kv = self.u8()?;
                    for _ in 0..n {
                        let k = self.elem(kv >> 4, depth)?;
                        let v = self.elem(kv & 0x0f, depth)?;
                        entries.push((k, v));
                    }
                }
                Value::Map(entries)
            }
            ty::STRUCT => self.read_struct_at(depth + 1)?,
            other => return Err(ThriftError::BadType(other)),
        })
    }

    fn elem(&mut self, kind: u8, depth: usize) -> Result<Value, ThriftError> {
        if kind == ty::TRUE || kind == ty::FALSE {
            Ok(Value::Bool(self.u8()? == ty::TRUE))
        } else {
            self.value(kind, depth + 1)
        }
    }

    fn read_struct_at(&mut self, depth: usize) -> Result<Value, ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        let mut fields = Vec::new();
        let mut last: i16 = 0;
        loop {
            let header = self.u8()?;
            if header == 0 {
                return Ok(Value::Struct(fields));
            }
            let kind = header & 0x0f;
            let delta = header >> 4;
            let id = if delta == 0 {
                self.zigzag()? as i16
            } else {
                last.wrapping_add(i16::from(delta))
            };
            last = id;
            let v = self.value(kind, depth)?;
            fields.push((id, v));
        }
    }

    /// Reads one struct (up to and including its STOP byte).
    pub fn read_struct(&mut self) -> Result<Value, ThriftError> {
        self.read_struct_at(0)
    }
}

/// Decodes a whole buffer as one struct.
pub fn decode_struct(buf: &[u8]) -> Result<Value, ThriftError> {
    Reader::new(buf).read_struct()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_reader_roundtrip() {
        let mut w = Writer::new();
        w.binary(1, b"topic");
        w.begin_struct(4);
        w.i64(1, -5);
        w.bool(6, true);
        w.bool(7, false);
        w.list_i32(
            14,
            &[88, 135, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
        );
        w.byte(21, 3);
        w.end_struct();
        w.map_binary(10, &[("a", "b")]);
        w.map_binary::<&str, &str>(11, &[]);
        w.i32(40, -1);
        let bytes = w.into_bytes();
        let v = decode_struct(&bytes).unwrap();
        assert_eq!(v.field(1).and_then(Value::as_binary), Some(&b"topic"[..]));
        let ci = v.field(4).unwrap();
        assert_eq!(ci.field(1).and_then(Value::as_i64), Some(-5));
        assert_eq!(ci.field(6), Some(&Value::Bool(true)));
        assert_eq!(ci.field(7), Some(&Value::Bool(false)));
        assert_eq!(ci.field(21), Some(&Value::Byte(3)));
        match ci.field(14) {
            Some(Value::List(l)) => assert_eq!(l.len(), 16),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            v.field(10),
            Some(&Value::Map(vec![(
                Value::Binary(b"a".to_vec()),
                Value::Binary(b"b".to_vec())
            )]))
        );
        assert_eq!(v.field(11), Some(&Value::Map(vec![])));
        assert_eq!(v.field(40).and_then(Value::as_i64), Some(-1));
    }

    #[test]
    fn reader_rejects_truncation_and_lies() {
        assert!(decode_struct(&[]).is_err());
        assert!(decode_struct(&[0x18, 0x05, b'a']).is_err());
        assert!(decode_struct(&[0x19, 0xf8, 0xff, 0xff, 0xff, 0x0f]).is_err());
        let deep = vec![0x1c; 100];
        assert!(decode_struct(&deep).is_err());
        assert!(decode_struct(&[0x1d]).is_err());
    }
}
