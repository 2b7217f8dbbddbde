#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod client_ip;
mod clock;
#[cfg(feature = "http02")]
#[cfg_attr(docsrs, doc(cfg(feature = "http02")))]
pub mod http02;
pub mod lines;
pub mod path;
mod problem;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod request_id;
mod subject;
pub mod text;
mod trace;

pub use client_ip::{ClientIp, ClientIpHeader, TrustedProxies, peer_addr};
pub use clock::{Clock, ManualClock, SystemClock};
pub use lines::{LineSink, LineWriter, WriteSink};
pub use path::{PathTemplate, TemplateError};
pub use problem::{PROBLEM_JSON, Problem, Rendered, Renderer, set_renderer};
pub use request_id::{MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER, RequestId, is_well_formed};
pub use subject::Subject;
pub use trace::{TRACEPARENT_HEADER, TraceContext, TraceId};
