//! Certificates and keys from PEM files, with errors that name the file and what was wanted.

use super::provider;
use crate::error::{Error, ErrorKind, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::path::Path;

fn pem_error(path: &Path, what: &str, e: rustls::pki_types::pem::Error) -> Error {
    use rustls::pki_types::pem::Error as P;
    match e {
        P::Io(io) => Error::io(&format!("reading {what} file {}", path.display()), &io),
        P::NoItemsFound => Error::new(
            ErrorKind::InvalidInput,
            format!("no {what} found in PEM file {}", path.display()),
        ),
        other => Error::new(
            ErrorKind::InvalidInput,
            format!("bad PEM in {what} file {}: {other}", path.display()),
        ),
    }
}

/// Every certificate in a PEM file, in order; an error if there is none.
pub(super) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let iter =
        CertificateDer::pem_file_iter(path).map_err(|e| pem_error(path, "certificate", e))?;
    let certs = iter
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificate", e))?;
    if certs.is_empty() {
        return Err(pem_error(
            path,
            "certificate",
            rustls::pki_types::pem::Error::NoItemsFound,
        ));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, "private key", e))
}

/// A certificate chain and its key, checked to belong together.
pub(super) fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey> {
    let chain = load_certs(cert)?;
    let key_der = load_key(key)?;
    CertifiedKey::from_der(chain, key_der, &provider()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "TLS key {} does not fit certificate {}: {e}",
                key.display(),
                cert.display()
            ),
        )
    })
}

pub(super) fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("bad CA certificate in {}: {e}", path.display()),
            )
        })?;
    }
    Ok(roots)
}
