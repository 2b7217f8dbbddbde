//! The decisions, over `http` types only.

pub(crate) mod decision;
pub(crate) mod key;
pub(crate) mod limiter;
pub(crate) mod policy;
pub(crate) mod policy_set;
pub(crate) mod protocol;
pub(crate) mod window;
