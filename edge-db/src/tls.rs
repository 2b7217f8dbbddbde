//! TLS to PostgreSQL as the connection URL asks for it, with libpq's meaning of
//! `sslmode`: `disable` (or none given) connects in plain text; `prefer` and
//! `require` encrypt without checking the server's certificate; `verify-ca`
//! checks that a trusted authority signed it; `verify-full` also that it names
//! the host. The authorities are `sslrootcert`'s (a PEM file) or else the
//! webpki roots. rustls with the ring provider; no OpenSSL.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::ConfigError;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Plain text: no TLS connector at all.
    Off,
    /// Encrypted, certificate unchecked (`prefer`, `require`).
    Encrypt,
    /// Signed by a trusted authority (`verify-ca`).
    Authority,
    /// Signed by a trusted authority and naming the host (`verify-full`).
    Full,
}

/// The TLS part of a connection URL, taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) verify: Verify,
    root_cert: Option<PathBuf>,
}

/// Split `url` into what tokio-postgres reads (the verifying modes become
/// `require`; `sslrootcert` is removed: tokio-postgres knows neither) and the
/// TLS settings. Both URL (`postgres://...?sslmode=...`) and key/value
/// (`host=... sslmode=...`) forms are read.
pub(crate) fn split(url: &str) -> Result<(String, TlsSettings), ConfigError> {
    let mut settings = TlsSettings {
        verify: Verify::Off,
        root_cert: None,
    };
    let mut take = |key: &str, value: &str| -> Result<Option<String>, ConfigError> {
        match key {
            "sslmode" => {
                let (verify, passed) = match value {
                    "disable" => (Verify::Off, "disable"),
                    "allow" | "prefer" => (Verify::Encrypt, "prefer"),
                    "require" => (Verify::Encrypt, "require"),
                    "verify-ca" => (Verify::Authority, "require"),
                    "verify-full" => (Verify::Full, "require"),
                    other => {
                        return Err(ConfigError::InvalidTls(format!(
                            "unknown sslmode `{other}`"
                        )));
                    }
                };
                settings.verify = verify;
                Ok(Some(format!("sslmode={passed}")))
            }
            "sslrootcert" => {
                settings.root_cert = Some(PathBuf::from(value));
                Ok(None)
            }
            _ => Ok(Some(format!("{key}={value}"))),
        }
    };
    let rewritten = if let Some((base, query)) = url
        .split_once('?')
        .filter(|_| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(kept_pair) = take(
                key,
                &percent_encoding::percent_decode_str(value).decode_utf8_lossy(),
            )? {
                kept.push(if key == "sslmode" {
                    kept_pair
                } else {
                    pair.to_owned()
                });
            }
        }
        match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        }
    } else if url.contains("://") {
        url.to_owned()
    } else {
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some((key, value)) => {
                    if let Some(kept_token) = take(key, value.trim_matches('\''))? {
                        kept.push(if key == "sslmode" {
                            kept_token
                        } else {
                            token.to_owned()
                        });
                    }
                }
                None => kept.push(token.to_owned()),
            }
        }
        kept.join(" ")
    };
    if settings.root_cert.is_some()
        && settings.verify != Verify::Authority
        && settings.verify != Verify::Full
    {
        // libpq reads sslrootcert only to verify; so does this.
        settings.root_cert = None;
    }
    Ok((rewritten, settings))
}

/// The rustls connector for `settings` (which must not be [`Verify::Off`]).
pub(crate) fn connector(
    settings: &TlsSettings,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::InvalidTls(e.to_string()))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.verify {
        Verify::Off | Verify::Encrypt => Arc::new(Lenient {
            authority: None,
            algorithms,
        }),
        Verify::Authority | Verify::Full => {
            let roots = Arc::new(roots(settings.root_cert.as_ref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| ConfigError::InvalidTls(e.to_string()))?;
            match settings.verify {
                Verify::Full => webpki,
                _ => Arc::new(Lenient {
                    authority: Some(webpki),
                    algorithms,
                }),
            }
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The trusted authorities: `sslrootcert`'s certificates, else the webpki roots.
fn roots(root_cert: Option<&PathBuf>) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = root_cert else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        ConfigError::InvalidTls(format!("cannot read sslrootcert {}: {e}", path.display()))
    };
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        roots
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    Ok(roots)
}

/// The modes that check less than `verify-full`: `prefer`/`require` accept any
/// certificate (libpq's meaning; `verify-full` is the mode that stops an
/// impostor), `verify-ca` one a trusted authority signed whatever host it names
/// (`authority`). Either way the handshake's signatures are checked against the
/// certificate presented.
#[derive(Debug)]
struct Lenient {
    authority: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(authority) = &self.authority else {
            return Ok(ServerCertVerified::assertion());
        };
        match authority.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modes_tokio_postgres_does_not_know_are_taken_out_of_the_url() {
        let (url, tls) = split(
            "postgres://u:p@db.example:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u:p@db.example:5432/app?sslmode=require&application_name=x"
        );
        assert_eq!(tls.verify, Verify::Full);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));

        let (url, tls) = split("postgres://u@h/app").unwrap();
        assert_eq!(
            (url.as_str(), tls.verify),
            ("postgres://u@h/app", Verify::Off)
        );
        let (url, tls) = split("postgres://u@h/app?sslmode=require").unwrap();
        assert_eq!(
            (url.as_str(), tls.verify),
            ("postgres://u@h/app?sslmode=require", Verify::Encrypt)
        );
        let (url, tls) = split("host=h dbname=app sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(url, "host=h dbname=app sslmode=require");
        assert_eq!(tls.verify, Verify::Authority);
        assert!(matches!(
            split("postgres://h/app?sslmode=sometimes"),
            Err(ConfigError::InvalidTls(_))
        ));
    }

    #[test]
    fn a_missing_root_certificate_file_is_a_configuration_error() {
        let (_, tls) =
            split("postgres://h/app?sslmode=verify-full&sslrootcert=/no/such/ca.pem").unwrap();
        assert!(matches!(connector(&tls), Err(ConfigError::InvalidTls(_))));
        let (_, tls) = split("postgres://h/app?sslmode=verify-full").unwrap();
        assert!(connector(&tls).is_ok(), "the webpki roots");
    }
}
