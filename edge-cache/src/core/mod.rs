//! The framework-agnostic pieces: keys, templates, entries, tiers, epochs,
//! coalescing, conditional requests, encodings.

pub(crate) mod codec;
pub(crate) mod conditional;
pub(crate) mod directives;
pub(crate) mod encoding;
pub(crate) mod entry;
pub(crate) mod epochs;
pub(crate) mod inflight;
pub(crate) mod key;
pub(crate) mod memory;
pub(crate) mod reply;
pub(crate) mod template;
