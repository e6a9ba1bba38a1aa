//! TLS plumbing shared by every outgoing connection (homeserver, Instagram HTTP, MQTToT).
//!
//! The whole dependency graph uses one rustls crypto provider, `ring`.

use std::path::Path;
use std::sync::Arc;

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
