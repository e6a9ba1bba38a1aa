//! One broker-side connection: CONNECT validation, then a loop over client packets and controls.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use matrix_instagram::instagram::realtime::codec::{MqttCodec, Packet, Publish};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

use super::command_check::check_command;
use super::connect_check::check_connect;
use super::{AckMode, Ctl, Inner, Received, SessionHandle, zlib};

/// A CA-signed certificate for 127.0.0.1/localhost, and the CA's PEM in a temp file.
pub(crate) fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, tempfile::NamedTempFile) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use std::io::Write;
    matrix_instagram::tls::ensure_crypto_provider();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let mut file = tempfile::NamedTempFile::new().expect("tempfile");
    file.write_all(ca.pem().as_bytes()).expect("write ca");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("server config");
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), file)
}

fn inflate(b: &[u8]) -> Vec<u8> {
    if b.first() != Some(&0x78) {
        return b.to_vec();
    }
    let mut out = Vec::new();
    match flate2::read::ZlibDecoder::new(b).read_to_end(&mut out) {
        Ok(_) => out,
        Err(_) => b.to_vec(),
    }
}

fn publish(topic: u16, body: &[u8]) -> Packet {
    Packet::Publish(Publish::qos0(topic.to_string(), zlib(body)))
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(inner: Arc<Inner>, io: S) {
    let mut framed = Framed::with_capacity(io, MqttCodec::default(), 1024);
    let first = tokio::time::timeout(Duration::from_secs(10), framed.next()).await;
    let Ok(Some(Ok(Packet::Connect(c)))) = first else {
        Inner::lock(&inner.rejections).push("first packet is not a CONNECT".into());
        return;
    };
    let connack = |code| Packet::ConnAck {
        session_present: false,
        code,
        payload: Bytes::new(),
    };
    if inner
        .refuse_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        Inner::lock(&inner.rejections).push("refused on demand".into());
        let _ = framed.send(connack(3)).await;
        return;
    }
    let info = match check_connect(&c.protocol_name, c.level, c.flags, c.keepalive, &c.payload) {
        Ok(info) => info,
        Err(reason) => {
            let code = if reason.starts_with("protocol") { 1 } else { 2 };
            Inner::lock(&inner.rejections).push(reason);
            let _ = framed.send(connack(code)).await;
            return;
        }
    };
    let pk = inner
        .password_check
        .as_ref()
        .and_then(|f| f(&info.password));
    let pk = match pk {
        Some(pk) if pk == info.user_id => pk,
        _ => {
            Inner::lock(&inner.rejections).push("password matches no session".into());
            let _ = framed.send(connack(5)).await;
            return;
        }
    };
    if inner.is_unavailable(pk) {
        Inner::lock(&inner.rejections).push("unavailable for this account".into());
        let _ = framed.send(connack(3)).await;
        return;
    }
    Inner::lock(&inner.connects).push(info);
    if framed.send(connack(0)).await.is_err() {
        return;
    }
    let conn = inner.next_conn.fetch_add(1, Ordering::SeqCst);
    let (tx, mut rx) = mpsc::unbounded_channel();
    Inner::lock(&inner.sessions).insert(conn, SessionHandle { pk, tx });
    loop {
        tokio::select! {
            packet = framed.next() => {
                let Some(Ok(packet)) = packet else { break };
                if inner.is_stalled(pk) {
                    continue;
                }
                let replies = on_packet(&inner, pk, conn, packet);
                let mut failed = false;
                for r in replies {
                    if framed.feed(r).await.is_err() {
                        failed = true;
                    }
                }
                if failed || framed.flush().await.is_err() {
                    break;
                }
            }
            ctl = rx.recv() => match ctl {
                Some(Ctl::Send(p)) => {
                    if framed.send(p).await.is_err() {
                        break;
                    }
                }
                Some(Ctl::Drop) | None => break,
            },
        }
    }
    Inner::lock(&inner.sessions).remove(&conn);
}

fn on_packet(inner: &Inner, pk: i64, conn: u64, packet: Packet) -> Vec<Packet> {
    let mut out = Vec::new();
    match packet {
        Packet::PingReq => {
            inner.pings.fetch_add(1, Ordering::Relaxed);
            out.push(Packet::PingResp);
        }
        Packet::Publish(p) => {
            if let Some(id) = p.packet_id {
                out.push(Packet::PubAck(id));
            }
            let payload = inflate(&p.payload);
            let json: Option<serde_json::Value> = serde_json::from_slice(&payload).ok();
            Inner::lock(&inner.received).push(Received {
                pk,
                conn,
                topic: p.topic.clone(),
                qos: p.qos,
                payload,
            });
            match (p.topic.as_str(), json) {
                ("134", Some(req)) => out.push(iris_response(inner, pk, &req)),
                ("132", Some(cmd)) => on_command(inner, pk, &cmd, &mut out),
                _ => {}
            }
        }
        _ => {}
    }
    out
}

fn iris_response(inner: &Inner, pk: i64, req: &serde_json::Value) -> Packet {
    let body = if inner.iris_overflow.load(Ordering::SeqCst) {
        serde_json::json!({"succeeded": false, "seq_id": null, "error_type": 1,
            "error_message": "IrisQueueOverflowException", "subscribed_at_ms": null})
    } else {
        let seq = req["seq_id"].as_i64().unwrap_or(0);
        serde_json::json!({"succeeded": true, "seq_id": seq,
            "latest_seq_id": seq.max(inner.current_seq(pk)),
            "subscribed_at_ms": now_us() / 1000, "error_type": null, "error_message": null})
    };
    publish(135, body.to_string().as_bytes())
}

fn on_command(inner: &Inner, pk: i64, cmd: &serde_json::Value, out: &mut Vec<Packet>) {
    let ctx = cmd["client_context"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let thread_id = cmd["thread_id"].as_str().unwrap_or_default().to_owned();
    let mode = inner.ack_mode();
    if let (Err(message), false) = (check_command(cmd), matches!(mode, AckMode::Silent)) {
        let ack = serde_json::json!({"action": "item_ack", "status_code": "400",
            "payload": {"client_context": ctx, "message": message}, "status": "fail"});
        out.push(publish(133, ack.to_string().as_bytes()));
        return;
    }
    match mode {
        AckMode::Silent => {}
        AckMode::Delegate(handler) => {
            let ack = match handler(pk, cmd) {
                Ok(Some((item_id, ts))) => serde_json::json!({"action": "item_ack",
                    "status_code": "200", "status": "ok",
                    "payload": {"client_context": ctx, "item_id": item_id,
                        "timestamp": ts.to_string(), "thread_id": thread_id}}),
                Ok(None) => serde_json::json!({"action": "item_ack", "status_code": "200",
                    "status": "ok", "payload": {"client_context": ctx}}),
                Err(message) => serde_json::json!({"action": "item_ack", "status_code": "400",
                    "status": "fail", "payload": {"client_context": ctx, "message": message}}),
            };
            out.push(publish(133, ack.to_string().as_bytes()));
        }
        AckMode::Fail(message) => {
            let ack = serde_json::json!({"action": "item_ack", "status_code": "400",
                "payload": {"client_context": ctx, "message": message}, "status": "fail"});
            out.push(publish(133, ack.to_string().as_bytes()));
        }
        AckMode::Echo => {
            let ts = now_us();
            let item_id = format!("{}{:06}", ts, inner.next_seq(-pk).rem_euclid(1_000_000));
            let ack = serde_json::json!({"action": "item_ack", "status_code": "200",
                "payload": {"client_context": ctx, "item_id": item_id, "timestamp": ts.to_string(),
                "thread_id": thread_id}, "status": "ok"});
            out.push(publish(133, ack.to_string().as_bytes()));
            let (path, value) = match (cmd["action"].as_str(), cmd["item_type"].as_str()) {
                (Some("send_item"), Some("text" | "link")) => {
                    let mut item = serde_json::json!({"item_id": item_id, "user_id": pk,
                        "timestamp": ts, "item_type": cmd["item_type"], "client_context": ctx});
                    if cmd["item_type"] == "text" {
                        item["text"] = cmd["text"].clone();
                    } else {
                        item["link"] =
                            serde_json::json!({"text": cmd["link_text"], "client_context": ctx});
                    }
                    (
                        format!("/direct_v2/threads/{thread_id}/items/{item_id}"),
                        item.to_string(),
                    )
                }
                (Some("send_item"), Some("reaction")) => (
                    format!(
                        "/direct_v2/threads/{thread_id}/items/{}/reactions/emojis/{pk}",
                        cmd["item_id"].as_str().unwrap_or_default()
                    ),
                    serde_json::json!({"timestamp": ts, "emoji": cmd["emoji"]}).to_string(),
                ),
                _ => return,
            };
            let op = if cmd["reaction_status"] == "deleted" {
                "remove"
            } else {
                "add"
            };
            let seq = inner.next_seq(pk);
            let sync = serde_json::json!([{"event": "patch",
                "data": [{"op": op, "path": path, "value": value}],
                "message_type": 1, "seq_id": seq, "mutation_token": ctx, "realtime": true}]);
            out.push(Packet::Publish(Publish::qos1(
                "146",
                (seq as u16).max(1),
                zlib(sync.to_string().as_bytes()),
            )));
        }
    }
}
