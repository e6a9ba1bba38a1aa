//! MQTT 3.1.1 framing, as far as MQTToT needs it (PROTOCOL.md E.1, E.2, E.6).
//!
//! This is the "frame" half of the mini-redis connection/frame split: [`Packet`] is the protocol
//! value and [`MqttCodec`] turns bytes into packets and back for a `tokio_util` `Framed`. Partial
//! frames return `Ok(None)` (read more); oversized or malformed frames are errors, never panics.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Default upper bound for one packet (remaining length), 4 MiB.
pub const DEFAULT_MAX_PACKET: usize = 4 * 1024 * 1024;

/// The MQTToT CONNECT: a protocol name, level, flags, keepalive and a raw (already zlib'd) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol_name: String,
    pub level: u8,
    pub flags: u8,
    pub keepalive: u16,
    /// Written raw, without a length prefix.
    pub payload: Bytes,
}

impl Connect {
    /// "MQTToT", level 3, flags 0xC2 (username | password | clean session).
    pub fn mqttot(keepalive: u16, payload: Bytes) -> Self {
        Connect {
            protocol_name: "MQTToT".to_owned(),
            level: 3,
            flags: 0xC2,
            keepalive,
            payload,
        }
    }
}

/// A PUBLISH. `packet_id` is present exactly when `qos > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: Option<u16>,
    pub payload: Bytes,
}

impl Publish {
    pub fn qos0(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Publish {
            topic: topic.into(),
            qos: 0,
            retain: false,
            dup: false,
            packet_id: None,
            payload: payload.into(),
        }
    }

    pub fn qos1(topic: impl Into<String>, packet_id: u16, payload: impl Into<Bytes>) -> Self {
        Publish {
            topic: topic.into(),
            qos: 1,
            retain: false,
            dup: false,
            packet_id: Some(packet_id),
            payload: payload.into(),
        }
    }
}

/// The packets MQTToT uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck {
        session_present: bool,
        code: u8,
        /// Whatever follows the return code (often empty).
        payload: Bytes,
    },
    Publish(Publish),
    PubAck(u16),
    PingReq,
    PingResp,
    Disconnect,
}

/// Framing errors. Any of them ends the connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("packet of {0} bytes exceeds the maximum")]
    TooLarge(usize),
    #[error("malformed remaining length")]
    BadLength,
    #[error("unsupported packet type {0:#x}")]
    UnsupportedType(u8),
    #[error("malformed {0} packet")]
    Malformed(&'static str),
}

/// `tokio_util` codec for [`Packet`] with a bound on the packet size.
#[derive(Debug, Clone)]
pub struct MqttCodec {
    max_packet: usize,
}

impl Default for MqttCodec {
    fn default() -> Self {
        MqttCodec {
            max_packet: DEFAULT_MAX_PACKET,
        }
    }
}

impl MqttCodec {
    pub fn new(max_packet: usize) -> Self {
        MqttCodec { max_packet }
    }
}

/// Reads the remaining-length varint after the first byte. `Ok(None)` = need more bytes.
fn read_remaining_length(src: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    let mut value: usize = 0;
    for i in 0..4 {
        let Some(&b) = src.get(1 + i) else {
            return Ok(None);
        };
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, 2 + i)));
        }
    }
    Err(CodecError::BadLength)
}

fn write_remaining_length(dst: &mut BytesMut, mut len: usize) -> Result<(), CodecError> {
    if len > 268_435_455 {
        return Err(CodecError::TooLarge(len));
    }
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        dst.put_u8(b);
        if len == 0 {
            return Ok(());
        }
    }
}

fn take_u16(buf: &mut Bytes, what: &'static str) -> Result<u16, CodecError> {
    if buf.remaining() < 2 {
        return Err(CodecError::Malformed(what));
    }
    Ok(buf.get_u16())
}

fn take_str(buf: &mut Bytes, what: &'static str) -> Result<String, CodecError> {
    let len = usize::from(take_u16(buf, what)?);
    if buf.remaining() < len {
        return Err(CodecError::Malformed(what));
    }
    let raw = buf.split_to(len);
    String::from_utf8(raw.to_vec()).map_err(|_| CodecError::Malformed(what))
}

/// Parses one packet body given its first byte.
fn parse(first: u8, mut body: Bytes) -> Result<Packet, CodecError> {
    let kind = first >> 4;
    match kind {
        1 => {
            let protocol_name = take_str(&mut body, "CONNECT")?;
            if body.remaining() < 4 {
                return Err(CodecError::Malformed("CONNECT"));
            }
            let level = body.get_u8();
            let flags = body.get_u8();
            let keepalive = body.get_u16();
            Ok(Packet::Connect(Connect {
                protocol_name,
                level,
                flags,
                keepalive,
                payload: body,
            }))
        }
        2 => {
            if body.remaining() < 2 {
                return Err(CodecError::Malformed("CONNACK"));
            }
            let ack = body.get_u8();
            let code = body.get_u8();
            Ok(Packet::ConnAck {
                session_present: ack & 1 == 1,
                code,
                payload: body,
            })
        }
        3 => {
            let qos = (first >> 1) & 3;
            if qos > 2 {
                return Err(CodecError::Malformed("PUBLISH"));
            }
            let topic = take_str(&mut body, "PUBLISH")?;
            let packet_id = if qos > 0 {
                Some(take_u16(&mut body, "PUBLISH")?)
            } else {
                None
            };
            Ok(Packet::Publish(Publish {
                topic,
                qos,
                retain: first & 1 == 1,
                dup: first & 8 == 8,
                packet_id,
                payload: body,
            }))
        }
        4 => Ok(Packet::PubAck(take_u16(&mut body, "PUBACK")?)),
        12 => Ok(Packet::PingReq),
        13 => Ok(Packet::PingResp),
        14 => Ok(Packet::Disconnect),
        other => Err(CodecError::UnsupportedType(other)),
    }
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        let Some(&first) = src.first() else {
            return Ok(None);
        };
        let Some((remaining, header_len)) = read_remaining_length(src)? else {
            return Ok(None);
        };
        if remaining > self.max_packet {
            return Err(CodecError::TooLarge(remaining));
        }
        let total = header_len + remaining;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        frame.advance(header_len);
        parse(first, frame.freeze()).map(Some)
    }
}

fn put_str(dst: &mut BytesMut, s: &str) -> Result<(), CodecError> {
    let len = u16::try_from(s.len()).map_err(|_| CodecError::TooLarge(s.len()))?;
    dst.put_u16(len);
    dst.put_slice(s.as_bytes());
    Ok(())
}

impl Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            Packet::Connect(c) => {
                let len = 2 + c.protocol_name.len() + 4 + c.payload.len();
                dst.put_u8(0x10);
                write_remaining_length(dst, len)?;
                put_str(dst, &c.protocol_name)?;
                dst.put_u8(c.level);
                dst.put_u8(c.flags);
                dst.put_u16(c.keepalive);
                dst.put_slice(&c.payload);
            }
            Packet::ConnAck {
                session_present,
                code,
                payload,
            } => {
                dst.put_u8(0x20);
                write_remaining_length(dst, 2 + payload.len())?;
                dst.put_u8(u8::from(session_present));
                dst.put_u8(code);
                dst.put_slice(&payload);
            }
            Packet::Publish(p) => {
                if p.qos > 2 || (p.qos > 0) != p.packet_id.is_some() {
                    return Err(CodecError::Malformed("PUBLISH"));
                }
                let first = 0x30 | (p.qos << 1) | u8::from(p.retain) | if p.dup { 8 } else { 0 };
                let len = 2 + p.topic.len() + p.packet_id.map_or(0, |_| 2) + p.payload.len();
                dst.put_u8(first);
                write_remaining_length(dst, len)?;
                put_str(dst, &p.topic)?;
                if let Some(id) = p.packet_id {
                    dst.put_u16(id);
                }
                dst.put_slice(&p.payload);
            }
            Packet::PubAck(id) => {
                dst.put_slice(&[0x40, 0x02]);
                dst.put_u16(id);
            }
            Packet::PingReq => dst.put_slice(&[0xc0, 0x00]),
            Packet::PingResp => dst.put_slice(&[0xd0, 0x00]),
            Packet::Disconnect => dst.put_slice(&[0xe0, 0x00]),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(p: Packet) -> Vec<u8> {
        let mut codec = MqttCodec::default();
        let mut buf = BytesMut::new();
        codec.encode(p.clone(), &mut buf).unwrap();
        let bytes = buf.to_vec();
        // Feed byte by byte: every prefix is a partial frame.
        let mut partial = BytesMut::new();
        for (i, b) in bytes.iter().enumerate() {
            partial.put_u8(*b);
            let got = codec.decode(&mut partial).unwrap();
            if i + 1 < bytes.len() {
                assert!(got.is_none(), "decoded early at {i}");
            } else {
                assert_eq!(got, Some(p.clone()));
            }
        }
        assert!(partial.is_empty());
        bytes
    }

    #[test]
    fn roundtrips_every_packet() {
        roundtrip(Packet::Connect(Connect::mqttot(
            20,
            Bytes::from_static(b"\x78\xda"),
        )));
        roundtrip(Packet::ConnAck {
            session_present: false,
            code: 5,
            payload: Bytes::new(),
        });
        roundtrip(Packet::ConnAck {
            session_present: true,
            code: 0,
            payload: Bytes::from_static(b"\x00\x02{}"),
        });
        roundtrip(Packet::Publish(Publish::qos0("146", vec![1u8; 300])));
        roundtrip(Packet::Publish(Publish::qos1("132", 7, &b"x"[..])));
        assert_eq!(roundtrip(Packet::PubAck(258)), vec![0x40, 2, 1, 2]);
        assert_eq!(roundtrip(Packet::PingReq), vec![0xc0, 0]);
        assert_eq!(roundtrip(Packet::PingResp), vec![0xd0, 0]);
        assert_eq!(roundtrip(Packet::Disconnect), vec![0xe0, 0]);
    }

    #[test]
    fn connect_header_matches_e2() {
        let mut buf = BytesMut::new();
        MqttCodec::default()
            .encode(
                Packet::Connect(Connect::mqttot(20, Bytes::from(vec![0u8; 318]))),
                &mut buf,
            )
            .unwrap();
        assert_eq!(
            &buf[..15],
            &[
                0x10, 0xca, 0x02, 0, 6, b'M', b'Q', b'T', b'T', b'o', b'T', 3, 0xc2, 0, 0x14
            ]
        );
    }

    #[test]
    fn decodes_two_frames_in_one_buffer_and_rejects_junk() {
        let mut codec = MqttCodec::new(16);
        let mut buf = BytesMut::from(&[0xd0, 0, 0xc0, 0][..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(Packet::PingResp));
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(Packet::PingReq));
        let mut big = BytesMut::from(&[0x30, 0x7f][..]);
        assert!(matches!(
            codec.decode(&mut big),
            Err(CodecError::TooLarge(127))
        ));
        let mut bad = BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01][..]);
        assert!(codec.decode(&mut bad).is_err());
        let mut short = BytesMut::from(&[0x40, 0x01, 0x00][..]);
        assert!(codec.decode(&mut short).is_err());
        let mut qos3 = BytesMut::from(&[0x36, 0x03, 0x00, 0x01, b'a'][..]);
        assert!(codec.decode(&mut qos3).is_err());
    }
}
