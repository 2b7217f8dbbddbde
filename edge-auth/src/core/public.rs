//! Routes that need no token, in edge-core's route-template syntax (the one
//! edge-cache, edge-filter and edge-ratelimit use).

use edge_core::{PathTemplate, TemplateError};

/// The routes that pass without authentication: a method (or any) and a
/// template (`/healthz`, `/docs/{*rest}`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PublicRoutes {
    routes: Vec<(Option<String>, PathTemplate)>,
}

impl PublicRoutes {
    /// The routes from `(method, template)` pairs.
    pub(crate) fn compile(routes: &[(Option<String>, String)]) -> Result<Self, TemplateError> {
        let routes = routes
            .iter()
            .map(|(method, template)| {
                Ok((
                    method.as_deref().map(str::to_ascii_uppercase),
                    PathTemplate::parse(template)?,
                ))
            })
            .collect::<Result<_, TemplateError>>()?;
        Ok(PublicRoutes { routes })
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.routes.iter().any(|(m, template)| {
            m.as_deref().is_none_or(|m| m == method) && template.matches(path).is_some()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_template_rest_and_method_matching() {
        let route =
            |method: Option<&str>, template: &str| (method.map(str::to_owned), template.to_owned());
        let routes = PublicRoutes::compile(&[
            route(None, "/healthz"),
            route(Some("post"), "/api/auth/login"),
            route(None, "/docs/{*rest}"),
            route(Some("GET"), "/items/{id}"),
        ])
        .unwrap();
        assert!(routes.matches("GET", "/healthz"));
        assert!(!routes.matches("GET", "/healthz/x"));
        assert!(routes.matches("POST", "/api/auth/login"));
        assert!(!routes.matches("GET", "/api/auth/login"));
        assert!(routes.matches("GET", "/docs/a/b"));
        assert!(routes.matches("GET", "/items/7"));
        assert!(!routes.matches("GET", "/items/7/x"));
        assert!(!routes.matches("GET", "/api/resources"));
        assert!(PublicRoutes::compile(&[route(None, "no-slash")]).is_err());
    }
}
