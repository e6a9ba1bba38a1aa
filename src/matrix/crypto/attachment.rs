//! Encrypted attachments (the spec's `EncryptedFile`): bytes in, ciphertext and the `file`
//! JSON out, and back. The cryptography is matrix-sdk-crypto's `AttachmentEncryptor` /
//! `AttachmentDecryptor` (AES-256-CTR, SHA-256 of the ciphertext, `v2`); this edge speaks
//! bytes and `serde_json::Value` only.

use std::io::{Cursor, Read};

use matrix_sdk_crypto::{
    AttachmentDecryptor, AttachmentEncryptor, DecryptorError, MediaEncryptionInfo,
};
use serde_json::Value;

/// Why an encrypted attachment could not be opened. The messages never quote the `file`
/// object (its key is a secret).
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// The `file` object is not a usable v2 `EncryptedFile`.
    #[error("its encryption info is unusable: {0}")]
    Info(&'static str),
    /// The ciphertext does not match its SHA-256 hash (tampered, truncated or another file).
    #[error("it does not match its SHA-256 hash")]
    Hash,
}

/// Encrypts `plain` with a fresh key: the ciphertext to upload, and the `file` object
/// without its `url` (`v`, `key`, `iv`, `hashes`), to complete with the upload's `mxc://`.
pub fn encrypt_attachment(plain: &[u8]) -> (Vec<u8>, Value) {
    let mut reader = Cursor::new(plain);
    let mut encryptor = AttachmentEncryptor::new(&mut reader);
    let mut ciphertext = Vec::with_capacity(plain.len());
    // Reading from an in-memory cursor cannot fail.
    let _ = encryptor.read_to_end(&mut ciphertext);
    let info = encryptor.finish();
    let file = serde_json::to_value(&info).unwrap_or(Value::Null);
    (ciphertext, file)
}

/// The `file` object's encryption info, checked as far as it can be without the file.
fn info_of(file: &Value) -> Result<MediaEncryptionInfo, AttachmentError> {
    let mut info = file.clone();
    if let Some(map) = info.as_object_mut() {
        map.remove("url");
    }
    serde_json::from_value(info)
        .map_err(|_| AttachmentError::Info("not an EncryptedFile (v, key, iv, hashes)"))
}

fn decryptor<'a, R: Read + 'a>(
    reader: &'a mut R,
    info: MediaEncryptionInfo,
) -> Result<AttachmentDecryptor<'a, R>, AttachmentError> {
    AttachmentDecryptor::new(reader, info).map_err(|e| {
        AttachmentError::Info(match e {
            DecryptorError::Decode(_) => "its key, iv or hash is not valid base64",
            DecryptorError::MissingHash => "it has no SHA-256 hash",
            DecryptorError::UnknownVersion => "it is not version v2",
        })
    })
}

/// Whether a `file` object could open a file at all (before the file is fetched).
pub fn check_attachment_info(file: &Value) -> Result<(), AttachmentError> {
    let info = info_of(file)?;
    let mut empty = Cursor::new(&[][..]);
    decryptor(&mut empty, info).map(|_| ())
}

/// Checks `ciphertext` against the `file` object's hash and decrypts it with its key.
pub fn decrypt_attachment(ciphertext: &[u8], file: &Value) -> Result<Vec<u8>, AttachmentError> {
    let info = info_of(file)?;
    let mut reader = Cursor::new(ciphertext);
    let mut decryptor = decryptor(&mut reader, info)?;
    let mut plain = Vec::with_capacity(ciphertext.len());
    decryptor
        .read_to_end(&mut plain)
        .map_err(|_| AttachmentError::Hash)?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_an_encrypted_file() {
        let plain = b"\x89PNG not really, but bytes all the same".to_vec();
        let (ciphertext, file) = encrypt_attachment(&plain);
        assert_ne!(ciphertext, plain);
        assert_eq!(file["v"], "v2");
        assert_eq!(file["key"]["alg"], "A256CTR");
        assert!(file["iv"].is_string());
        assert!(file["hashes"]["sha256"].is_string());
        let mut with_url = file.clone();
        with_url["url"] = serde_json::json!("mxc://example.org/abc");
        assert_eq!(decrypt_attachment(&ciphertext, &with_url).unwrap(), plain);
    }

    #[test]
    fn an_unusable_file_object_is_known_before_the_file_is_fetched() {
        let (_, file) = encrypt_attachment(b"x");
        assert!(check_attachment_info(&file).is_ok());
        let bare = serde_json::json!({"url": "mxc://x/y"});
        assert!(matches!(
            check_attachment_info(&bare),
            Err(AttachmentError::Info(_))
        ));
        let mut no_hash = file.clone();
        no_hash["hashes"] = serde_json::json!({});
        assert!(matches!(
            check_attachment_info(&no_hash),
            Err(AttachmentError::Info(_))
        ));
    }

    #[test]
    fn a_tampered_file_or_a_wrong_key_is_refused() {
        let (mut ciphertext, file) = encrypt_attachment(b"the original bytes");
        ciphertext[3] ^= 1;
        assert!(matches!(
            decrypt_attachment(&ciphertext, &file),
            Err(AttachmentError::Hash)
        ));
        let (ciphertext, _) = encrypt_attachment(b"the original bytes");
        let (_, other) = encrypt_attachment(b"another file");
        assert!(matches!(
            decrypt_attachment(&ciphertext, &other),
            Err(AttachmentError::Hash)
        ));
        let mut broken = other.clone();
        broken["hashes"] = serde_json::json!({});
        assert!(matches!(
            decrypt_attachment(&ciphertext, &broken),
            Err(AttachmentError::Info(_))
        ));
    }
}
