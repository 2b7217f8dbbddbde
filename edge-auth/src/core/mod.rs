//! The decisions, over `http` types only.

pub(crate) mod algorithm;
pub(crate) mod bearer;
pub(crate) mod cache;
pub(crate) mod claims;
pub(crate) mod clock;
pub(crate) mod hmac;
pub(crate) mod keys;
pub(crate) mod public;
pub(crate) mod token;
pub(crate) mod validator;
