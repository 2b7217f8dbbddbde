//! What several test binaries share.

use edge_ratelimit::{Acquisition, Hit, RateLimitStore, StoreError};

/// A shared store that is down.
#[derive(Debug)]
pub(crate) struct Down;

impl RateLimitStore for Down {
    fn acquire<'a>(&'a self, _: &'a [Hit<'a>], _: u64) -> Acquisition<'a> {
        Acquisition::Later(Box::pin(async { Err(StoreError("down".to_owned())) }))
    }

    fn answers_at_once(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "down"
    }
}
