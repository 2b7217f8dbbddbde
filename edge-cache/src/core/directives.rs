//! `Cache-Control` directives that decide whether and how long a response may be stored.

use std::time::Duration;

use http::HeaderMap;
use http::header::CACHE_CONTROL;

/// The directives of every `Cache-Control` line that matter to a shared cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) no_store: bool,
    pub(crate) no_cache: bool,
    pub(crate) private: bool,
    pub(crate) public: bool,
    pub(crate) max_age: Option<u64>,
    pub(crate) s_maxage: Option<u64>,
}

impl Directives {
    pub(crate) fn parse(headers: &HeaderMap) -> Self {
        let mut d = Directives::default();
        for value in headers.get_all(CACHE_CONTROL) {
            let Ok(value) = value.to_str() else {
                // Unreadable directives: assume the strictest.
                d.no_store = true;
                continue;
            };
            for directive in value.split(',') {
                let (name, argument) = match directive.split_once('=') {
                    Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                    None => (directive.trim(), None),
                };
                let seconds = || argument.and_then(|a| a.parse::<u64>().ok()).or(Some(0));
                match name.to_ascii_lowercase().as_str() {
                    "no-store" => d.no_store = true,
                    "no-cache" => d.no_cache = true,
                    "private" => d.private = true,
                    "public" => d.public = true,
                    "max-age" => d.max_age = seconds(),
                    "s-maxage" => d.s_maxage = seconds(),
                    _ => {}
                }
            }
        }
        d
    }

    /// How long a shared cache may keep the response under these directives, at
    /// most `ceiling`; zero when it must not store it.
    pub(crate) fn shared_ttl(&self, ceiling: Duration) -> Duration {
        if self.no_store || self.no_cache || self.private {
            return Duration::ZERO;
        }
        match self.s_maxage.or(self.max_age) {
            Some(seconds) => ceiling.min(Duration::from_secs(seconds)),
            None => ceiling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Directives {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(CACHE_CONTROL, v.parse().unwrap());
        }
        Directives::parse(&headers)
    }

    #[test]
    fn storing_follows_the_directives() {
        let minute = Duration::from_secs(60);
        assert_eq!(parse(&[]).shared_ttl(minute), minute);
        assert_eq!(parse(&["no-store"]).shared_ttl(minute), Duration::ZERO);
        assert_eq!(parse(&["Private"]).shared_ttl(minute), Duration::ZERO);
        assert_eq!(parse(&["private=\"x\""]).shared_ttl(minute), Duration::ZERO);
        assert_eq!(parse(&["no-cache"]).shared_ttl(minute), Duration::ZERO);
        assert_eq!(
            parse(&["max-age=5"]).shared_ttl(minute),
            Duration::from_secs(5)
        );
        assert_eq!(
            parse(&["max-age=5, s-maxage=10"]).shared_ttl(minute),
            Duration::from_secs(10)
        );
        assert_eq!(parse(&["max-age=600"]).shared_ttl(minute), minute);
        assert_eq!(parse(&["max-age=0"]).shared_ttl(minute), Duration::ZERO);
        assert_eq!(
            parse(&["public", "no-store"]).shared_ttl(minute),
            Duration::ZERO
        );
        assert!(parse(&["public"]).public);
    }
}
