//! Keys of an OIDC provider (feature `oidc`): [`RemoteJwks`] fetches a JWK set
//! from its URL or through OpenID Connect discovery, and keeps a
//! [`Validator`]'s keys in step with it — periodically, and soon after a token
//! names a key the validator does not know (rate-limited, so tokens with made-up
//! `kid`s cannot turn into a flood of fetches).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use edge_auth::Validator;
//! use edge_auth::oidc::RemoteJwks;
//!
//! let issuer = "https://login.example.com/realms/app";
//! let jwks = RemoteJwks::discover(issuer).await?;
//! let validator = Validator::builder(issuer)
//!     .audience("api")
//!     .role_claim("realm_access.roles")
//!     .jwks(jwks.keys())
//!     .build()?;
//! jwks.keep_fresh(&validator); // a task on the current Tokio runtime
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::core::keys::KeySet;
use crate::{ConfigError, Validator};

/// The most a provider's document may weigh.
const MAX_DOCUMENT: usize = 1 << 20;

/// Why a provider's keys could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The document could not be fetched.
    #[error("cannot fetch {url}: {reason}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The discovery document is not usable.
    #[error("{url} is not a usable OpenID configuration: {reason}")]
    Discovery {
        /// The discovery document's URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The JWK set is not usable.
    #[error("the JWK set at {url} is not usable: {source}")]
    Keys {
        /// The JWK set's URL.
        url: String,
        /// What is wrong with it.
        #[source]
        source: ConfigError,
    },
}

/// A provider's JWK set, fetched from `url` and kept fresh by [`RemoteJwks::keep_fresh`].
#[derive(Debug, Clone)]
pub struct RemoteJwks {
    url: String,
    client: HttpClient,
    keys: Vec<u8>,
    every: Duration,
    min_gap: Duration,
}

impl RemoteJwks {
    /// Fetch the JWK set at `url` (`https://.../jwks`, `.../certs`): refreshed
    /// every 10 minutes and, at most every 30 seconds, on an unknown `kid`.
    pub async fn fetch(url: impl Into<String>) -> Result<RemoteJwks, OidcError> {
        let mut jwks = RemoteJwks {
            url: url.into(),
            client: client()?,
            keys: Vec::new(),
            every: Duration::from_secs(600),
            min_gap: Duration::from_secs(30),
        };
        jwks.keys = jwks.get().await?;
        Ok(jwks)
    }

    /// Find the JWK set through OpenID Connect discovery:
    /// `<issuer>/.well-known/openid-configuration`, whose `issuer` must be
    /// `issuer` exactly and whose `jwks_uri` names the set.
    pub async fn discover(issuer: &str) -> Result<RemoteJwks, OidcError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let invalid = |reason: &str| OidcError::Discovery {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        let body = download(&client()?, &url).await?;
        let document: Value =
            serde_json::from_slice(&body).map_err(|e| invalid(&format!("not JSON: {e}")))?;
        if document["issuer"].as_str() != Some(issuer) {
            return Err(invalid(&format!(
                "it names the issuer {}, not {issuer}",
                document["issuer"]
            )));
        }
        let jwks_uri = document["jwks_uri"]
            .as_str()
            .ok_or_else(|| invalid("it has no jwks_uri"))?;
        RemoteJwks::fetch(jwks_uri).await
    }

    /// How often the set is fetched again (default 10 minutes).
    #[must_use]
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }

    /// The least time between two fetches, whatever asks (default 30 s).
    #[must_use]
    pub fn min_refresh_gap(mut self, gap: Duration) -> Self {
        self.min_gap = gap;
        self
    }

    /// The JWK set as last fetched (for [`ValidatorBuilder::jwks`](crate::ValidatorBuilder::jwks)).
    pub fn keys(&self) -> &[u8] {
        &self.keys
    }

    /// Keep `validator`'s asymmetric keys in step with the provider's: a task
    /// on the current Tokio runtime fetches the set every
    /// [`refresh_every`](Self::refresh_every), and soon after a token names a
    /// key the validator does not know (such a token is refused; one signed
    /// with a newly published key is accepted once the fetch is done). A
    /// failed fetch keeps the keys it has and is logged. Abort the returned
    /// handle to stop.
    pub fn keep_fresh(self, validator: &Validator) -> tokio::task::JoinHandle<()> {
        let wake = Arc::new(tokio::sync::Notify::new());
        let woken = Arc::clone(&wake);
        validator.on_unknown_key(Arc::new(move || woken.notify_one()));
        let validator = validator.clone();
        tokio::spawn(async move {
            let mut current = self.keys.clone();
            let mut last = Instant::now();
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.every) => {}
                    () = wake.notified() => {}
                }
                if let Some(wait) = self.min_gap.checked_sub(last.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
                last = Instant::now();
                match self.get().await {
                    Ok(keys) if keys == current => {}
                    Ok(keys) => match validator.replace_jwks(&keys) {
                        Ok(()) => {
                            tracing::info!(url = %self.url, "new signing keys from the provider");
                            current = keys;
                        }
                        Err(error) => {
                            tracing::warn!(url = %self.url, %error, "unusable JWK set; keeping the old keys");
                        }
                    },
                    Err(error) => {
                        tracing::warn!(%error, "cannot refresh the signing keys; keeping the old ones");
                    }
                }
            }
        })
    }

    /// Fetch the set and check that it is usable.
    async fn get(&self) -> Result<Vec<u8>, OidcError> {
        let body = download(&self.client, &self.url).await?;
        KeySet::from_jwks(&body).map_err(|source| OidcError::Keys {
            url: self.url.clone(),
            source,
        })?;
        Ok(body)
    }
}

/// The client that fetches the provider's documents.
type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Empty<bytes::Bytes>,
>;

/// An HTTP(S) client on rustls with the ring provider given explicitly (no
/// process-wide default is touched) and the webpki roots.
fn client() -> Result<HttpClient, OidcError> {
    let failed = |reason: String| OidcError::Fetch {
        url: String::new(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| failed(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// `url`'s body (a 2xx of at most 1 MiB, within 10 s).
async fn download(client: &HttpClient, url: &str) -> Result<Vec<u8>, OidcError> {
    use http_body_util::BodyExt;
    let failed = |reason: String| OidcError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(http_body_util::Empty::new())
        .map_err(|e| failed(e.to_string()))?;
    let fetch = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let limited = http_body_util::Limited::new(response.into_body(), MAX_DOCUMENT);
        let body = limited
            .collect()
            .await
            .map_err(|e| failed(format!("{e} (at most 1 MiB is read)")))?;
        Ok(body.to_bytes().to_vec())
    };
    tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .map_err(|_| failed("no answer within 10 s".to_owned()))?
}
