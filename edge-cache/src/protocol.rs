//! The request protocol both adapters drive, in steps the [`Cache`] owns:
//!
//! 1. [`Cache::classify`] the request, then [`Cache::answer_now`]: a fresh entry
//!    in memory answers at once, without a future.
//! 2. Otherwise [`Cache::begin`]: answer with a [`Reply`] (a hit in Redis, or the
//!    entry a concurrent miss just stored), or call the inner service and keep
//!    the [`Pending`] request.
//! 3. [`Cache::respond`] with the inner response's head: [`Handling::Store`]
//!    (read the body, [`Miss::complete`] it, answer with its reply) or
//!    [`Handling::Pass`] (hand the response on, labelled; gzip its body first when
//!    [`Passing::compress`] says so, with [`Cache::compress`]). A write's tags
//!    are invalidated here.
//!
//! Every step records the cache status in the request span; the adapter puts the
//! reply's (or the label's) [`CacheStatus`] in the response's extensions.

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::core::encoding::Accepts;
use crate::{Action, Cache, CacheStatus, Lookup, Miss, Reply};

/// What to do after step 2.
#[derive(Debug)]
#[must_use]
// Moved once per request: boxing the large variant would allocate.
#[allow(clippy::large_enum_variant)]
pub enum Begin {
    /// Answer with this reply; do not call inward.
    Answer(Reply),
    /// Call inward, then [`Cache::respond`] with the response's head.
    CallInner(Pending),
}

/// A request passed inward: what the cache waits to see of the response.
#[derive(Debug)]
pub struct Pending(Waiting);

#[derive(Debug)]
// Moved once per request: boxing the large variant would allocate.
#[allow(clippy::large_enum_variant)]
enum Waiting {
    Miss(Miss),
    Write(crate::Write),
    Pass(crate::Pass),
}

/// How to hand on the inner service's response (step 3).
#[derive(Debug)]
#[must_use]
// Moved once per request: boxing the large variant would allocate.
#[allow(clippy::large_enum_variant)]
pub enum Handling {
    /// Read the whole body and [`Miss::complete`] it; answer with the reply.
    Store(Miss),
    /// Hand the response on, labelled.
    Pass(Passing),
}

/// A response the cache hands on without storing it.
#[derive(Debug, Clone, Copy)]
pub struct Passing {
    status: CacheStatus,
    announce: bool,
    compress: bool,
}

impl Passing {
    /// The cache status to put in the response's extensions.
    pub fn cache_status(&self) -> CacheStatus {
        self.status
    }

    /// The `X-Cache` line to set, unless the route does not announce it.
    pub fn x_cache(&self) -> Option<HeaderValue> {
        self.announce.then(|| self.status.header_value())
    }

    /// Whether to read the body and gzip it with [`Cache::compress`] (the client
    /// accepts gzip, the type is text-like, not encoded yet, of a known length
    /// worth it). Streams are never buffered.
    pub fn compress(&self) -> bool {
        self.compress
    }
}

impl Cache {
    /// Step 1: answer a read from memory now (`Ok`), or give the action back for
    /// [`Cache::begin`] (nothing counted then).
    #[allow(clippy::result_large_err)]
    pub fn answer_now(&self, action: Action) -> Result<Reply, Action> {
        if let Action::Read(read) = &action
            && let Some(reply) = self.lookup_now(read)
        {
            reply.cache_status().record_in_span();
            return Ok(reply);
        }
        Err(action)
    }

    /// Step 2: answer, or call inward.
    pub async fn begin(&self, action: Action) -> Begin {
        let waiting = match action {
            Action::Read(read) => match self.lookup(read).await {
                Lookup::Hit(reply) => {
                    reply.cache_status().record_in_span();
                    return Begin::Answer(reply);
                }
                Lookup::Miss(miss) => Waiting::Miss(miss),
            },
            Action::Write(write) => Waiting::Write(write),
            Action::Pass(pass) => Waiting::Pass(pass),
        };
        Begin::CallInner(Pending(waiting))
    }

    /// Step 3: how to hand on the inner service's response, from its status,
    /// headers and body length (when known). After a write, its tags are
    /// invalidated first (here at once, and on every instance with Redis).
    pub async fn respond(
        &self,
        pending: Pending,
        status: StatusCode,
        headers: &HeaderMap,
        body_len: Option<u64>,
    ) -> Handling {
        let (accepts, label) = match pending.0 {
            Waiting::Miss(miss) if miss.wants(status, headers, body_len) => {
                return Handling::Store(miss);
            }
            Waiting::Miss(miss) => (miss.accepts(), (miss.status(), miss.announces_status())),
            Waiting::Write(write) => {
                self.after_write(&write, status).await;
                let label = (CacheStatus::Bypass, write.announces_status());
                (write.accepts(), label)
            }
            Waiting::Pass(pass) => (
                pass.accepts(),
                (CacheStatus::Bypass, pass.announces_status()),
            ),
        };
        Handling::Pass(self.passing(accepts, label, status, headers, body_len))
    }

    fn passing(
        &self,
        accepts: Accepts,
        (status, announce): (CacheStatus, bool),
        response_status: StatusCode,
        headers: &HeaderMap,
        body_len: Option<u64>,
    ) -> Passing {
        status.record_in_span();
        Passing {
            status,
            announce,
            compress: self.should_compress(accepts, response_status, headers, body_len),
        }
    }
}

impl Miss {
    /// The label of a response that was to be stored but could not be read
    /// whole (its body failed): handed on as it is.
    pub fn passing(&self) -> Passing {
        Passing {
            status: self.status(),
            announce: self.announces_status(),
            compress: false,
        }
    }
}
