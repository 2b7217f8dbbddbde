//! The authenticated caller: [`Identity`].

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::AuthError;

/// Who made the request, from a validated token. Cheap to clone.
///
/// The middleware puts it into the request's extensions.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity(Arc<Inner>);

#[derive(Debug, PartialEq)]
struct Inner {
    subject: String,
    roles: Vec<String>,
    claims: Map<String, Value>,
}

impl Identity {
    /// An identity for `subject` with an optional `role` and the token's `claims`.
    pub fn new(
        subject: impl Into<String>,
        role: Option<String>,
        claims: Map<String, Value>,
    ) -> Self {
        Identity::with_roles(subject, role.into_iter().collect(), claims)
    }

    /// An identity for `subject` with its `roles` (from the validator's
    /// [`role_claim`](crate::ValidatorBuilder::role_claim)) and the token's `claims`.
    pub fn with_roles(
        subject: impl Into<String>,
        roles: Vec<String>,
        claims: Map<String, Value>,
    ) -> Self {
        Identity(Arc::new(Inner {
            subject: subject.into(),
            roles,
            claims,
        }))
    }

    /// The token's `sub`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The first role, if the token had any.
    pub fn role(&self) -> Option<&str> {
        self.0.roles.first().map(String::as_str)
    }

    /// Every role the token gave (from the validator's role claim).
    pub fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// Every claim of the token.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    /// The claims as your own type (typed access to a provider's claims):
    ///
    /// ```
    /// use edge_auth::Identity;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Claims {
    ///     email: String,
    ///     #[serde(default)]
    ///     email_verified: bool,
    /// }
    ///
    /// let claims = serde_json::json!({"sub": "42", "email": "ada@example.com"});
    /// let identity = Identity::new("42", None, claims.as_object().unwrap().clone());
    /// let typed: Claims = identity.claims_as().unwrap();
    /// assert_eq!((typed.email.as_str(), typed.email_verified), ("ada@example.com", false));
    /// ```
    pub fn claims_as<C: serde::de::DeserializeOwned>(&self) -> Result<C, serde_json::Error> {
        C::deserialize(Value::Object(self.0.claims.clone()))
    }

    /// Whether the caller has `role` (among all its roles).
    pub fn has_role(&self, role: &str) -> bool {
        self.0.roles.iter().any(|r| r == role)
    }

    /// `Ok` when the caller has `role`, else a 403 [`AuthError`].
    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(AuthError::forbidden(format!(
                "this requires the {role} role"
            )))
        }
    }

    /// `Ok` when the caller is `owner` (a subject) or has `override_role`, else a 403.
    pub fn require_owner_or(&self, owner: &str, override_role: &str) -> Result<(), AuthError> {
        if self.subject() == owner || self.has_role(override_role) {
            Ok(())
        } else {
            Err(AuthError::forbidden(
                "only the owner or an administrator may do this",
            ))
        }
    }
}

/// Middlewares that key by caller read an `Identity` by its type (e.g.
/// edge-ratelimit's `subject::<Identity>()`).
impl edge_core::Subject for Identity {
    fn subject(&self) -> &str {
        &self.0.subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_and_roles() {
        let alice = Identity::new("1", Some("user".into()), Map::new());
        let admin = Identity::new("2", Some("admin".into()), Map::new());
        assert!(alice.require_owner_or("1", "admin").is_ok());
        assert_eq!(
            alice.require_owner_or("2", "admin").unwrap_err().status(),
            403
        );
        assert!(admin.require_owner_or("1", "admin").is_ok());
        assert!(admin.require_role("admin").is_ok() && alice.require_role("admin").is_err());
    }
}
