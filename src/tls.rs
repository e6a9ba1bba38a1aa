//! TLS plumbing shared by every outgoing connection (homeserver, Instagram HTTP, MQTToT).
//!
//! The whole dependency graph uses one rustls crypto provider, `ring`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::RootCertStore;

/// Errors while building a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("CA file {path} holds no usable PEM certificate")]
    NoCertificate { path: String },
    #[error("CA file {path}: {reason}")]
    BadCertificate { path: String, reason: String },
}

/// Installs `ring` as the process-wide rustls provider. Safe to call any number of times.
pub fn ensure_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads every certificate of a PEM file.
pub fn read_pem_certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, TlsError> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|source| TlsError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut reader = std::io::Cursor::new(data);
    let certs = rustls_pemfile::certs(&mut reader)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: shown });
    }
    Ok(certs)
}

/// The webpki roots plus, optionally, the certificates of an extra PEM file.
pub fn root_store(extra_ca: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        for cert in read_pem_certificates(path)? {
            store.add(cert).map_err(|e| TlsError::BadCertificate {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    Ok(store)
}

/// A rustls client configuration trusting [`root_store`].
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    ensure_crypto_provider();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(root_store(extra_ca)?)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The configuration of [`client_config`] for `extra_ca`, built once per process and shared
/// by every connection that uses it: a configuration holds a copy of the root store and a
/// session cache, which each of a thousand accounts need not have twice (HTTP and realtime).
/// A failure is not remembered: the next call tries the file again.
pub fn shared_client_config(
    extra_ca: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    type Configs = HashMap<Option<PathBuf>, Arc<rustls::ClientConfig>>;
    static CONFIGS: OnceLock<Mutex<Configs>> = OnceLock::new();
    let mut configs = CONFIGS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let key = extra_ca.map(Path::to_path_buf);
    if let Some(config) = configs.get(&key) {
        return Ok(config.clone());
    }
    let config = client_config(extra_ca)?;
    configs.insert(key, config.clone());
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_file(dir: &Path, name: &str) -> PathBuf {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let path = dir.join(name);
        std::fs::write(&path, cert.cert.pem()).expect("write the CA");
        path
    }

    #[test]
    fn one_shared_configuration_per_ca_setting() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (ca_file(dir.path(), "a.pem"), ca_file(dir.path(), "b.pem"));
        let plain = shared_client_config(None).expect("no extra CA");
        assert!(Arc::ptr_eq(
            &plain,
            &shared_client_config(None).expect("again")
        ));
        let with_a = shared_client_config(Some(&a)).expect("a");
        assert!(Arc::ptr_eq(
            &with_a,
            &shared_client_config(Some(&a)).expect("a")
        ));
        let with_b = shared_client_config(Some(&b)).expect("b");
        assert!(!Arc::ptr_eq(&with_a, &with_b));
        assert!(!Arc::ptr_eq(&plain, &with_a));
        // `client_config` still builds a fresh one each time.
        assert!(!Arc::ptr_eq(
            &client_config(None).expect("fresh"),
            &client_config(None).expect("fresh")
        ));
    }

    #[test]
    fn a_failure_is_not_remembered() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("later.pem");
        assert!(matches!(
            shared_client_config(Some(&path)),
            Err(TlsError::Read { .. })
        ));
        let written = ca_file(dir.path(), "later.pem");
        assert_eq!(written, path);
        assert!(shared_client_config(Some(&path)).is_ok());
    }
}
