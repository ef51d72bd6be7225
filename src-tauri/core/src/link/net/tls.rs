//! What TLS trusts and who it says we are: the OS trust store (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`),
//! extra certificate authorities from PEM files, and an optional client certificate for mutual TLS; and TLS
//! failures in words.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::NetError;

/// The environment variables that replace the OS trust store (rustls-native-certs reads them).
const TRUST_ENV: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// What TLS trusts, and the client certificate it shows when a server asks for one.
#[derive(Debug)]
pub(super) struct Trust {
    pub(super) roots: RootCertStore,
    /// How many roots came from the OS store (for the log line at start).
    pub(super) os_roots: usize,
    identity: Option<Identity>,
}

/// A client certificate chain and its private key.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain.len())
            .field("key", &"***")
            .finish()
    }
}

impl Clone for Trust {
    fn clone(&self) -> Self {
        Self {
            roots: self.roots.clone(),
            os_roots: self.os_roots,
            identity: self.identity.as_ref().map(|id| Identity {
                chain: id.chain.clone(),
                key: id.key.clone_key(),
            }),
        }
    }
}

impl Trust {
    /// The OS trust store. With `SSL_CERT_FILE` or `SSL_CERT_DIR` set, those replace it, and a failure to read
    /// them is an error naming the variable; a certificate of the OS store that cannot be read is logged and
    /// left out.
    pub(super) fn os() -> Result<Self, NetError> {
        let loaded = rustls_native_certs::load_native_certs();
        let from_env: Vec<String> = TRUST_ENV
            .iter()
            .filter_map(|name| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{name}={v}"))
            })
            .collect();
        if !loaded.errors.is_empty() {
            let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
            if from_env.is_empty() {
                tracing::warn!(
                    "some certificates of the OS trust store were left out: {}",
                    errors.join("; ")
                );
            } else {
                return Err(NetError::TrustStore {
                    from: from_env.join(", "),
                    reason: errors.join("; "),
                });
            }
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
        if ignored > 0 {
            tracing::debug!("{ignored} certificates of the OS trust store could not be parsed");
        }
        if added == 0 && !from_env.is_empty() {
            return Err(NetError::TrustStore {
                from: from_env.join(", "),
                reason: "no certificate in it".into(),
            });
        }
        Ok(Self {
            roots,
            os_roots: added,
            identity: None,
        })
    }

    /// No trusted root at all (tests add their own).
    #[cfg(test)]
    pub(super) fn empty() -> Self {
        Self {
            roots: RootCertStore::empty(),
            os_roots: 0,
            identity: None,
        }
    }

    /// Trusts the certificates of a PEM file as well; a file that cannot be read, is not PEM or holds no
    /// certificate is an error naming it.
    pub(super) fn add_ca_file(&mut self, path: &Path) -> Result<usize, NetError> {
        let fail = |reason: String| NetError::CaFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it ({e})")))?;
        let certificates = certificates(&bytes).map_err(fail)?;
        let count = certificates.len();
        for (n, certificate) in (1..).zip(certificates) {
            self.roots
                .add(certificate)
                .map_err(|e| fail(format!("certificate {n} is not valid ({e})")))?;
        }
        Ok(count)
    }

    /// Shows this client certificate (PEM, with its chain) to servers that ask for one. The key (PEM: PKCS#8,
    /// PKCS#1 or SEC1) must be readable by its owner only.
    pub(super) fn set_identity(&mut self, cert: &Path, key: &Path) -> Result<(), NetError> {
        let cert_error = |reason: String| NetError::ClientCert {
            path: cert.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(cert).map_err(|e| cert_error(format!("cannot read it ({e})")))?;
        let chain = certificates(&bytes).map_err(cert_error)?;
        let key_error = |reason: String| NetError::ClientKey {
            path: key.to_path_buf(),
            reason,
        };
        check_private(key).map_err(key_error)?;
        let bytes = std::fs::read(key).map_err(|e| key_error(format!("cannot read it ({e})")))?;
        let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
            key_error(match e {
                rustls::pki_types::pem::Error::NoItemsFound => {
                    "no private key in it (a PEM \"PRIVATE KEY\" section)".into()
                }
                e => format!("not a PEM private key ({e})"),
            })
        })?;
        self.identity = Some(Identity { chain, key });
        Ok(())
    }

    /// The rustls configuration: these roots, this identity, the ring provider, TLS 1.2 and 1.3.
    pub(super) fn client_config(&self) -> Result<ClientConfig, NetError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| NetError::Client(e.to_string()))?
            .with_root_certificates(self.roots.clone());
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| NetError::Identity(e.to_string())),
        }
    }

    /// Whether a client certificate is set.
    pub(super) fn has_identity(&self) -> bool {
        self.identity.is_some()
    }
}

/// The certificates of a PEM file, or why there are none.
fn certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut found = Vec::new();
    let mut other = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        match section.map_err(|e| format!("not valid PEM ({e})"))? {
            (SectionKind::Certificate, der) => found.push(CertificateDer::from(der)),
            (kind, _) => other.push(format!("{kind:?}")),
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }
    if other.is_empty() {
        Err("not a PEM file (no \"-----BEGIN CERTIFICATE-----\" line)".into())
    } else {
        Err(format!(
            "no certificate in it (it holds: {})",
            other.join(", ")
        ))
    }
}

/// A private key file must not be open to other users (as ssh insists for its keys).
fn check_private(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it ({e})"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "other users can read it (mode {mode:04o}); make it private: chmod 600 {}",
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

/// The rustls error behind `error`, if there is one (through `source()` and `io::Error` wrappers).
pub fn find_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(found) = find_rustls(inner) {
                    return Some(found);
                }
            }
        }
        depth += 1;
        current = if depth > 16 { None } else { e.source() };
    }
    None
}

/// A TLS failure in words: what it means and what to change.
pub fn describe(error: &rustls::Error) -> String {
    use rustls::{AlertDescription as Alert, CertificateError as C, Error as E};
    const UNVERIFIED: &str = "TLS: the server's certificate could not be verified";
    match error {
        E::InvalidCertificate(C::UnknownIssuer) => format!(
            "{UNVERIFIED}: it is issued by a certificate authority this machine does not trust (add the \
             department's CA: [network] ca_files, or --ca-file)"
        ),
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            format!("{UNVERIFIED}: it is not valid for this server's name or address")
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("{UNVERIFIED}: it has expired")
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!("{UNVERIFIED}: it is not valid yet (check this machine's clock)")
        }
        E::InvalidCertificate(other) => format!("{UNVERIFIED} ({other:?})"),
        E::AlertReceived(Alert::CertificateRequired) => "TLS: the server asks for a client \
             certificate ([network] client_cert and client_key)"
            .into(),
        E::AlertReceived(
            Alert::BadCertificate | Alert::UnknownCA | Alert::CertificateUnknown,
        ) => "TLS: the server refused the client certificate ([network] client_cert)".into(),
        other => format!("TLS: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_A_CERT: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_bad_ca_file_is_an_error_naming_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "just some words\n").unwrap();
        let key_only = dir.path().join("key.pem");
        std::fs::write(&key_only, NOT_A_CERT).unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        for (path, needle) in [
            (&missing, "cannot read it"),
            (&text, "not a PEM file"),
            (&key_only, "no certificate in it (it holds: PrivateKey)"),
            (&broken, "not valid PEM"),
        ] {
            let err = Trust::empty().add_ca_file(path).unwrap_err().to_string();
            assert!(
                err.contains(&path.display().to_string()) && err.contains(needle),
                "{err}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_client_key_other_users_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("client.key");
        std::fs::write(&key, NOT_A_CERT).unwrap();
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = check_private(&key).unwrap_err();
            assert!(
                err.contains("other users can read it") && err.contains("chmod 600"),
                "{err}"
            );
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_private(&key).unwrap();
    }

    #[test]
    fn tls_failures_say_what_to_change() {
        use rustls::{AlertDescription, CertificateError, Error};
        let unknown = describe(&Error::InvalidCertificate(CertificateError::UnknownIssuer));
        assert!(
            unknown.contains("could not be verified") && unknown.contains("ca_files"),
            "{unknown}"
        );
        let client = describe(&Error::AlertReceived(AlertDescription::CertificateRequired));
        assert!(client.contains("client_cert"), "{client}");
        // Found behind the io::Error that tokio-rustls wraps it in.
        let wrapped = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert!(matches!(
            find_rustls(&wrapped),
            Some(Error::InvalidCertificate(CertificateError::UnknownIssuer))
        ));
    }
}
