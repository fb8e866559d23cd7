//! TLS for W2Meet's outbound connections (callbacks today): one rustls
//! client configuration, so every client verifies servers the same way.
//!
//! - **Provider**: rustls with `ring` — pure Rust and assembly, no CMake or
//!   C toolchain beyond the compiler (aws-lc-rs would add ~70 s to a cold
//!   build on two cores; ECOSYSTEM.md).
//! - **Roots**: the Mozilla set compiled in (`webpki-roots`), so a slim
//!   image with no `/etc/ssl/certs` still verifies public servers, plus the
//!   PEM certificates of `TLS_CA_FILE` (a private CA, or a test's), added,
//!   never instead.
//! - Certificates are always verified; there is no switch to turn that off.
//! - reqwest is built with `rustls-no-provider` (so no C crypto library is
//!   compiled), which makes building *any* reqwest client panic until a
//!   process-wide provider exists: [`install_provider`] installs ring, and
//!   everything that builds a client calls it first (the platform's
//!   upstream client, test-support's client, loadgen).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// `TLS_CA_FILE` cannot be read or holds no usable certificate.
    #[error("TLS_CA_FILE {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Installs ring as the process-wide rustls provider (idempotent; a
/// provider installed earlier stays).
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client configuration: bundled roots plus the certificates in
/// `extra_ca` (PEM, one or more), verified with the `ring` provider.
pub fn client_config(extra_ca: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        for cert in extra_certificates(path)? {
            roots.add(cert).map_err(|e| TlsError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The PEM text of `path` (checked to hold at least one certificate), for
/// clients that take their extra CAs as text (lapin's AMQP over TLS).
pub fn ca_pem(path: Option<&Path>) -> Result<Option<String>, TlsError> {
    let Some(path) = path else {
        return Ok(None);
    };
    extra_certificates(path)?;
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| TlsError::CaFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

fn extra_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".to_owned()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("w2meet-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_bundled_roots_alone_make_a_configuration() {
        client_config(None).unwrap();
    }

    #[test]
    fn an_extra_ca_is_added_to_the_roots() {
        let ca = rcgen::generate_simple_self_signed(vec!["w2meet test ca".into()]).unwrap();
        let path = write("ca.pem", &ca.cert.pem());
        client_config(Some(&path)).unwrap();
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_by_name() {
        let path = write("empty.pem", "not a certificate\n");
        let err = client_config(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("TLS_CA_FILE") && err.contains("no PEM certificate"),
            "{err}"
        );
        std::fs::remove_file(path).unwrap();
        let missing = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
    }
}
