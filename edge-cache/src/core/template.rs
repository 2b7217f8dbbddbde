//! Route templates (`/api/items/{id}`) and the tag templates that use their
//! parameters (`item:{id}`).

use smallvec::SmallVec;

use crate::ConfigError;

/// A path template: literal segments, `{name}` for one segment, and a final
/// `{*name}` for the rest of the path.
#[derive(Debug, Clone)]
pub(crate) struct PathTemplate {
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
pub(crate) type Params<'a> = SmallVec<[(&'a str, &'a str); 4]>;

impl PathTemplate {
    pub(crate) fn parse(source: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidTemplate {
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

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn has_param(&self, name: &str) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Param(p) | Segment::Rest(p) if p == name))
    }

    /// The parameters when `path` matches, else `None`.
    pub(crate) fn matches<'a>(&'a self, path: &'a str) -> Option<Params<'a>> {
        let mut rest = path.strip_prefix('/')?;
        let mut params = Params::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if let Segment::Rest(name) = segment {
                params.push((name.as_str(), rest));
                return Some(params);
            }
            // A byte scan: segments are short, too short for `str::find`'s searcher.
            let (part, tail) = match rest.bytes().position(|b| b == b'/') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Param(name) if !part.is_empty() => params.push((name.as_str(), part)),
                _ => return None,
            }
            match tail {
                Some(tail) => rest = tail,
                None if i + 1 == self.segments.len() => return Some(params),
                None => return None,
            }
        }
        // All segments matched; only the empty remainder of a trailing slash is left.
        (self.segments.is_empty() && rest.is_empty()).then_some(params)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A tag with `{param}` placeholders filled from the route's parameters.
#[derive(Debug, Clone)]
pub(crate) struct TagTemplate {
    parts: Vec<TagPart>,
}

#[derive(Debug, Clone)]
enum TagPart {
    Literal(String),
    Param(String),
}

impl TagTemplate {
    /// Parse `tag`, whose placeholders must all be parameters of `route`.
    pub(crate) fn parse(tag: &str, route: &PathTemplate) -> Result<Self, ConfigError> {
        if tag.is_empty() || tag.chars().any(char::is_control) {
            return Err(ConfigError::InvalidTag(tag.to_owned()));
        }
        let mut parts = Vec::new();
        let mut rest = tag;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| ConfigError::InvalidTag(tag.to_owned()))?;
            if open > 0 {
                parts.push(TagPart::Literal(rest[..open].to_owned()));
            }
            let name = &rest[open + 1..close];
            if !route.has_param(name) {
                return Err(ConfigError::UnknownTagParam {
                    tag: tag.to_owned(),
                    param: name.to_owned(),
                    route: route.source().to_owned(),
                });
            }
            parts.push(TagPart::Param(name.to_owned()));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TagPart::Literal(rest.to_owned()));
        }
        Ok(TagTemplate { parts })
    }

    pub(crate) fn render(&self, params: &Params<'_>) -> String {
        let mut tag = String::new();
        for part in &self.parts {
            match part {
                TagPart::Literal(text) => tag.push_str(text),
                TagPart::Param(name) => {
                    if let Some((_, value)) = params.iter().find(|(n, _)| n == name) {
                        tag.push_str(value);
                    }
                }
            }
        }
        tag
    }
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
    fn bad_templates_and_tags_are_refused() {
        for bad in ["api", "/a/{", "/a/x{id}", "/{*rest}/a", "/{a-b}"] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
        let t = PathTemplate::parse("/api/items/{id}").unwrap();
        assert!(TagTemplate::parse("item:{nope}", &t).is_err());
        assert!(TagTemplate::parse("", &t).is_err());
        assert!(TagTemplate::parse("a\nb", &t).is_err());
        let tag = TagTemplate::parse("item:{id}:x", &t).unwrap();
        assert_eq!(tag.render(&t.matches("/api/items/7").unwrap()), "item:7:x");
    }
}
