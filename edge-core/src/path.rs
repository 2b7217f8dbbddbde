//! [`PathTemplate`]: the one route-template syntax of the Edge crates —
//! literal segments, `{name}` for one segment, a final `{*name}` for the rest.

use smallvec::SmallVec;

/// A route template that is not `/segment/{param}/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid route template `{}`: {}",
            self.template, self.reason
        )
    }
}

impl std::error::Error for TemplateError {}

/// A path template: literal segments, `{name}` for one segment, and a final
/// `{*name}` for the rest of the path. Paths match segment by segment: no
/// empty segments, no trailing slash.
///
/// ```
/// use edge_core::PathTemplate;
///
/// let route = PathTemplate::parse("/api/items/{id}").unwrap();
/// assert_eq!(route.matches("/api/items/7").unwrap().as_slice(), &[("id", "7")]);
/// assert!(route.matches("/api/items/7/").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct PathTemplate {
    source: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Param(String),
    Rest(String),
}

/// The parameters a path matched with, by name.
pub type Params<'a> = SmallVec<[(&'a str, &'a str); 4]>;

impl PathTemplate {
    /// Parse `source` (`/api/items/{id}`, `/static/{*file}`).
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let invalid = |reason| TemplateError {
            template: source.to_owned(),
            reason,
        };
        let rest = source
            .strip_prefix('/')
            .ok_or_else(|| invalid("it must start with `/`"))?;
        let mut segments = Vec::new();
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        for (i, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_prefix('*') {
                    Some(name) if i + 1 == parts.len() && valid_name(name) => {
                        Segment::Rest(name.to_owned())
                    }
                    Some(_) => return Err(invalid("`{*rest}` must be last and named")),
                    None if valid_name(name) => Segment::Param(name.to_owned()),
                    None => return Err(invalid("parameter names are [A-Za-z0-9_]+")),
                },
                None if part.contains(['{', '}']) => {
                    return Err(invalid("a parameter must be a whole segment"));
                }
                None => Segment::Literal((*part).to_owned()),
            };
            segments.push(segment);
        }
        Ok(PathTemplate {
            source: source.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template captures `name`.
    pub fn has_param(&self, name: &str) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Param(p) | Segment::Rest(p) if p == name))
    }

    /// The parameters when `path` matches, else `None`.
    pub fn matches<'a>(&'a self, path: &'a str) -> Option<Params<'a>> {
        let mut params = Params::new();
        self.walk(path, |name, value| params.push((name, value)))
            .then_some(params)
    }

    /// Whether `path` matches (no parameters gathered).
    pub fn is_match(&self, path: &str) -> bool {
        self.walk(path, |_, _| {})
    }

    /// Match `path` segment by segment, handing each parameter to `param`.
    fn walk<'a>(&'a self, path: &'a str, mut param: impl FnMut(&'a str, &'a str)) -> bool {
        let Some(mut rest) = path.strip_prefix('/') else {
            return false;
        };
        for (i, segment) in self.segments.iter().enumerate() {
            if let Segment::Rest(name) = segment {
                param(name.as_str(), rest);
                return true;
            }
            // A byte scan: segments are short, too short for `str::find`'s searcher.
            let (part, tail) = match rest.bytes().position(|b| b == b'/') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Param(name) if !part.is_empty() => param(name.as_str(), part),
                _ => return false,
            }
            match tail {
                Some(tail) => rest = tail,
                None => return i + 1 == self.segments.len(),
            }
        }
        // All segments matched; only the empty remainder of a trailing slash is left.
        self.segments.is_empty() && rest.is_empty()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        let t = PathTemplate::parse("/api/items/{id}").unwrap();
        assert_eq!(
            t.matches("/api/items/5").unwrap().as_slice(),
            &[("id", "5")]
        );
        assert!(t.matches("/api/items").is_none());
        assert!(t.matches("/api/items/").is_none());
        assert!(t.matches("/api/items/5/audit").is_none());
        assert!(t.matches("/api/itemsx/5").is_none());
        let list = PathTemplate::parse("/api/items").unwrap();
        assert!(list.matches("/api/items").is_some());
        assert!(list.matches("/api/items/5").is_none());
        let root = PathTemplate::parse("/").unwrap();
        assert!(root.matches("/").is_some());
        assert!(root.matches("/a").is_none());
        let rest = PathTemplate::parse("/static/{*file}").unwrap();
        assert_eq!(
            rest.matches("/static/css/a.css").unwrap().as_slice(),
            &[("file", "css/a.css")]
        );
    }

    #[test]
    fn is_match_agrees_with_matches() {
        for template in [
            "/",
            "/api/items/{id}",
            "/a/{x}/b",
            "/static/{*file}",
            "/api",
        ] {
            let t = PathTemplate::parse(template).unwrap();
            for path in [
                "/",
                "",
                "/api",
                "/api/",
                "/api/items/7",
                "/api/items/",
                "/api/items/7/x",
                "/a/1/b",
                "/a//b",
                "/static/x/y",
                "/static/",
                "api",
            ] {
                assert_eq!(
                    t.is_match(path),
                    t.matches(path).is_some(),
                    "{template} {path}"
                );
            }
        }
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        for bad in ["api", "/a/{", "/a/x{id}", "/{*rest}/a", "/{a-b}"] {
            let error = PathTemplate::parse(bad).unwrap_err();
            assert_eq!(error.template, bad);
        }
    }
}
