//! `enc_password` version 4 (PROTOCOL B.2).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};

use crate::instagram::Error;

/// Parses the `ig-set-password-encryption-pub-key` header value (base64 of a PEM key; a bare
/// PEM is accepted too).
pub fn parse_public_key(header_value: &str) -> Result<RsaPublicKey, Error> {
    let pem = if header_value.contains("-----BEGIN") {
        header_value.to_owned()
    } else {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header_value.trim())
            .map_err(|e| Error::BadResponse {
                message: format!("password key is not base64: {e}"),
            })?;
        String::from_utf8(raw).map_err(|_| Error::BadResponse {
            message: "password key is not UTF-8 PEM".into(),
        })?
    };
    RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|e| Error::BadResponse {
            message: format!("password key is not an RSA public key: {e}"),
        })
}

/// `#PWD_INSTAGRAM:4:{ts}:{base64(blob)}` with a fresh AES key and IV.
pub fn enc_password(
    pub_key_header: &str,
    key_id: u8,
    password: &str,
    unix_secs: u64,
) -> Result<String, Error> {
    let key = parse_public_key(pub_key_header)?;
    let mut rng = rand::thread_rng();
    let mut aes_key = [0u8; 32];
    let mut iv = [0u8; 12];
    rng.fill_bytes(&mut aes_key);
    rng.fill_bytes(&mut iv);
    let rsa_ct = key
        .encrypt(&mut rng, Pkcs1v15Encrypt, &aes_key)
        .map_err(|e| Error::Setup(format!("RSA encryption failed: {e}")))?;
    let ts = unix_secs.to_string();
    let cipher =
        Aes256Gcm::new_from_slice(&aes_key).map_err(|e| Error::Setup(format!("AES key: {e}")))?;
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: password.as_bytes(),
                aad: ts.as_bytes(),
            },
        )
        .map_err(|e| Error::Setup(format!("AES-GCM encryption failed: {e}")))?;
    // aes-gcm appends the 16-byte tag; Instagram wants it before the ciphertext.
    let (ct, tag) = sealed.split_at(sealed.len().saturating_sub(16));
    let rsa_len =
        u16::try_from(rsa_ct.len()).map_err(|_| Error::Setup("RSA ciphertext too long".into()))?;
    let mut blob = Vec::with_capacity(1 + 1 + 12 + 2 + rsa_ct.len() + 16 + ct.len());
    blob.push(1);
    blob.push(key_id);
    blob.extend_from_slice(&iv);
    blob.extend_from_slice(&rsa_len.to_le_bytes());
    blob.extend_from_slice(&rsa_ct);
    blob.extend_from_slice(tag);
    blob.extend_from_slice(ct);
    Ok(format!(
        "#PWD_INSTAGRAM:4:{ts}:{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    #[test]
    fn enc_password_round_trip() {
        let mut rng = rand::thread_rng();
        let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let header = base64::engine::general_purpose::STANDARD.encode(pem);
        let enc = enc_password(&header, 41, "hunter2 ✓", 1700000000).unwrap();
        let rest = enc.strip_prefix("#PWD_INSTAGRAM:4:1700000000:").unwrap();
        let blob = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .unwrap();
        assert_eq!(blob[0], 1);
        assert_eq!(blob[1], 41);
        let iv = &blob[2..14];
        let len = u16::from_le_bytes([blob[14], blob[15]]) as usize;
        assert_eq!(len, 128);
        let rsa_ct = &blob[16..16 + len];
        let tag = &blob[16 + len..32 + len];
        let ct = &blob[32 + len..];
        let aes_key = private.decrypt(Pkcs1v15Encrypt, rsa_ct).unwrap();
        let cipher = Aes256Gcm::new_from_slice(&aes_key).unwrap();
        let mut sealed = ct.to_vec();
        sealed.extend_from_slice(tag);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(iv),
                Payload {
                    msg: &sealed,
                    aad: b"1700000000",
                },
            )
            .unwrap();
        assert_eq!(plain, "hunter2 ✓".as_bytes());
    }

    #[test]
    fn rejects_garbage_key() {
        assert!(enc_password("bm9wZQ==", 1, "x", 1).is_err());
    }
}
