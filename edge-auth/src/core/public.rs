//! Routes that need no token.

/// One public route: an exact path, or a prefix when written with a trailing `*`.
#[derive(Debug, Clone)]
struct Route {
    method: Option<String>,
    path: String,
    prefix: bool,
}

/// The routes that pass without authentication.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublicRoutes {
    routes: Vec<Route>,
}

impl PublicRoutes {
    pub(crate) fn add(&mut self, method: Option<&str>, pattern: &str) {
        let method = method.map(str::to_ascii_uppercase);
        let (path, prefix) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix.to_owned(), true),
            None => (pattern.to_owned(), false),
        };
        self.routes.push(Route {
            method,
            path,
            prefix,
        });
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.routes.iter().any(|r| {
            r.method.as_deref().is_none_or(|m| m == method)
                && if r.prefix {
                    path.starts_with(&r.path)
                } else {
                    path == r.path
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix_and_method_matching() {
        let mut routes = PublicRoutes::default();
        routes.add(None, "/healthz");
        routes.add(Some("POST"), "/api/auth/login");
        routes.add(None, "/docs/*");
        assert!(routes.matches("GET", "/healthz"));
        assert!(!routes.matches("GET", "/healthz/x"));
        assert!(routes.matches("POST", "/api/auth/login"));
        assert!(!routes.matches("GET", "/api/auth/login"));
        assert!(routes.matches("GET", "/docs/a/b"));
        assert!(!routes.matches("GET", "/api/resources"));
    }
}
