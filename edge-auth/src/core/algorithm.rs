//! The JWS algorithms a validator can allow.

/// A JWS signature algorithm (RFC 7518). `none` is not one: it is always rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// EdDSA (Ed25519).
    EdDSA,
}

impl Algorithm {
    const ALL: [Algorithm; 10] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The algorithm named exactly `name` (names are case-sensitive, RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether this is an HMAC (shared-secret) algorithm.
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    pub(crate) fn josekit_verifier(
        self,
        jwk: &josekit::jwk::Jwk,
    ) -> Result<Box<dyn josekit::jws::JwsVerifier>, String> {
        use josekit::jws;
        let verifier: Result<Box<dyn jws::JwsVerifier>, josekit::JoseError> = match self {
            Algorithm::RS256 => jws::RS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::RS384 => jws::RS384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::RS512 => jws::RS512.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::PS256 => jws::PS256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::ES256 => jws::ES256.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::ES384 => jws::ES384.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::EdDSA => jws::EdDSA.verifier_from_jwk(jwk).map(|v| Box::new(v) as _),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err("HMAC secrets are configured directly, not through key sets".to_owned());
            }
        };
        verifier.map_err(|e| e.to_string())
    }

    /// The algorithm a JWK is for: its `alg`, else inferred from `kty`/`crv`.
    pub(crate) fn for_jwk(jwk: &josekit::jwk::Jwk) -> Option<Algorithm> {
        if let Some(alg) = jwk.algorithm() {
            return Algorithm::from_name(alg);
        }
        match (jwk.key_type(), jwk.curve()) {
            ("RSA", _) => Some(Algorithm::RS256),
            ("EC", Some("P-256")) => Some(Algorithm::ES256),
            ("EC", Some("P-384")) => Some(Algorithm::ES384),
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        for name in ["none", "None", "NONE", "nOnE", "hs256", ""] {
            assert_eq!(Algorithm::from_name(name), None);
        }
    }
}
