//! The decisions, over plain strings and `serde_json` values.

pub(crate) mod builtin;
pub(crate) mod inspect;
pub(crate) mod normalize;
pub(crate) mod rules;
pub(crate) mod sql_tokenizer;
