//! HTTPS for `serve` (`TLS_CERT`, `TLS_KEY`): a rustls server configuration from PEM files,
//! TLS 1.2 and 1.3 with rustls' safe defaults (ring as the crypto provider, as for the
//! outgoing clients).

use std::{path::PathBuf, sync::Arc};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::security::TlsFiles;

/// The certificate or key cannot be used; the message names the setting and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS_CERT: cannot read a PEM certificate chain from {}: {source}", path.display())]
    Cert {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("TLS_CERT: {} holds no certificate", path.display())]
    NoCert { path: PathBuf },
    #[error("TLS_KEY: cannot read a PEM private key from {}: {source}", path.display())]
    Key {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("TLS_CERT and TLS_KEY cannot be used together: {0}")]
    Config(#[from] rustls::Error),
}

/// The server configuration of `files`, checked now so that a bad file refuses the start.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, TlsError> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|source| TlsError::Cert { path: files.cert.clone(), source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert { path: files.cert.clone() });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|source| TlsError::Key { path: files.key.clone(), source })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
