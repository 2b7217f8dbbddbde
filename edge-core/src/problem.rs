//! [`Problem`]: RFC 9457 problem details, the one error body of every Edge crate.

use std::borrow::Cow;

use http::StatusCode;
use serde_json::Value;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A rejection's body as sent: its media type and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Rendered {
    /// The `Content-Type` as a header value (`application/octet-stream` if a
    /// renderer named an invalid one).
    pub fn content_type_value(&self) -> http::HeaderValue {
        http::HeaderValue::from_str(self.content_type)
            .unwrap_or_else(|_| http::HeaderValue::from_static("application/octet-stream"))
    }
}

/// Makes the body of every rejection the edge crates send (edge-auth's 401 and
/// 403, edge-ratelimit's 429 and 503, edge-filter's 4xx) from its [`Problem`].
pub type Renderer = fn(&Problem) -> Rendered;

static RENDERER: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();

/// Install the one renderer every edge crate's rejections go through, once, at
/// start-up (before serving): your API's own error format instead of RFC 9457
/// problem+json. The status and headers (`WWW-Authenticate`, `Retry-After`,
/// the rate-limit headers) stay the crates'. Returns `Err` with `renderer`
/// when one is installed already.
///
/// ```
/// use edge_core::{Problem, Rendered};
///
/// fn plain(problem: &Problem) -> Rendered {
///     Rendered {
///         content_type: "text/plain; charset=utf-8",
///         body: format!("{}: {}", problem.code(), problem.detail()),
///     }
/// }
///
/// edge_core::set_renderer(plain).expect("the first renderer");
/// let problem = Problem::new(http::StatusCode::TOO_MANY_REQUESTS, "rate_limited", "retry in 3 s");
/// assert_eq!(problem.render().body, "rate_limited: retry in 3 s");
/// ```
pub fn set_renderer(renderer: Renderer) -> Result<(), Renderer> {
    RENDERER.set(renderer)
}

/// An RFC 9457 problem: `type` (`urn:edge:problem:{code}`), `title`, `status`,
/// `detail` and `code`, plus any extension members (`errors`, `request_id`).
///
/// ```
/// use edge_core::Problem;
/// use http::StatusCode;
///
/// let body = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "retry in 3 s")
///     .member("retry_after", 3.into())
///     .to_json();
/// assert_eq!(
///     body,
///     r#"{"type":"urn:edge:problem:rate_limited","title":"Too Many Requests","status":429,"detail":"retry in 3 s","code":"rate_limited","retry_after":3}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Problem {
    status: StatusCode,
    code: Cow<'static, str>,
    title: Cow<'static, str>,
    detail: String,
    members: Vec<(Cow<'static, str>, Value)>,
}

impl Problem {
    /// A problem with `status`, a machine-readable `code` (`rate_limited`) and a
    /// `detail` for this occurrence; the title is the status's reason phrase.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            code: code.into(),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            detail: detail.into(),
            members: Vec::new(),
        }
    }

    /// A title other than the reason phrase (the same for every occurrence).
    pub fn title(mut self, title: impl Into<Cow<'static, str>>) -> Problem {
        self.title = title.into();
        self
    }

    /// An extension member (`errors`, `request_id`), written after the standard ones.
    pub fn member(mut self, name: impl Into<Cow<'static, str>>, value: Value) -> Problem {
        self.members.push((name.into(), value));
        self
    }

    /// The `request_id` member, when the request has an id (edge-core's
    /// [`RequestId`](crate::RequestId) extension, which edge-log's access logger
    /// leaves): every crate's rejection carries it, so a client's report can be
    /// joined to the log lines.
    pub fn request_id(self, id: Option<&crate::RequestId>) -> Problem {
        match id {
            Some(id) => self.member("request_id", Value::from(id.as_str())),
            None => self,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The title.
    pub fn title_text(&self) -> &str {
        &self.title
    }

    /// An extension member's value (`request_id`, `errors`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(member, _)| member == name)
            .map(|(_, value)| value)
    }

    /// The body every edge crate sends for this rejection: what the renderer
    /// installed with [`set_renderer`] makes of it, else problem+json
    /// ([`Problem::to_json`]).
    pub fn render(&self) -> Rendered {
        match RENDERER.get() {
            Some(renderer) => renderer(self),
            None => Rendered {
                content_type: PROBLEM_JSON,
                body: self.to_json(),
            },
        }
    }

    /// The JSON body, members in a fixed order: `type`, `title`, `status`,
    /// `detail`, `code`, then the extensions.
    pub fn to_json(&self) -> String {
        let mut body = String::with_capacity(128 + self.detail.len());
        body.push_str("{\"type\":");
        push_json(
            &mut body,
            &Value::from(format!("urn:edge:problem:{}", self.code)),
        );
        body.push_str(",\"title\":");
        push_json(&mut body, &Value::from(&*self.title));
        body.push_str(",\"status\":");
        body.push_str(crate::text::Decimal::new(u64::from(self.status.as_u16())).as_str());
        body.push_str(",\"detail\":");
        push_json(&mut body, &Value::from(self.detail.as_str()));
        body.push_str(",\"code\":");
        push_json(&mut body, &Value::from(&*self.code));
        for (name, value) in &self.members {
            body.push(',');
            push_json(&mut body, &Value::from(&**name));
            body.push(':');
            push_json(&mut body, value);
        }
        body.push('}');
        body
    }
}

fn push_json(out: &mut String, value: &Value) {
    // Serializing a `Value` to a string cannot fail.
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_escaped_json_with_the_standard_members_first() {
        let problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "a \"quoted\"\nline",
        )
        .title("Validation failed")
        .member(
            "errors",
            serde_json::json!([{"field": "/name", "message": "too long"}]),
        );
        let body = problem.to_json();
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "urn:edge:problem:validation_failed");
        assert_eq!(parsed["title"], "Validation failed");
        assert_eq!(parsed["status"], 422);
        assert_eq!(parsed["detail"], "a \"quoted\"\nline");
        assert_eq!(parsed["errors"][0]["field"], "/name");
        assert!(body.starts_with("{\"type\":"));
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.code(), "validation_failed");
        let id = crate::RequestId::from_header(Some(b"abc-123"));
        let with_id = Problem::new(StatusCode::FORBIDDEN, "forbidden", "no").request_id(Some(&id));
        assert!(with_id.to_json().ends_with(",\"request_id\":\"abc-123\"}"));
        let without = Problem::new(StatusCode::FORBIDDEN, "forbidden", "no").request_id(None);
        assert!(!without.to_json().contains("request_id"));
    }
}
