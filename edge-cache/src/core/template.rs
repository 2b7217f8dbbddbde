//! Tag templates (`item:{id}`) filled from the parameters of a route's
//! [`PathTemplate`] (edge-core's).

pub(crate) use edge_core::path::{Params, PathTemplate};

use crate::ConfigError;

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
    fn tags_take_their_route_s_parameters() {
        let t = PathTemplate::parse("/api/items/{id}").unwrap();
        assert!(TagTemplate::parse("item:{nope}", &t).is_err());
        assert!(TagTemplate::parse("", &t).is_err());
        assert!(TagTemplate::parse("a\nb", &t).is_err());
        let tag = TagTemplate::parse("item:{id}:x", &t).unwrap();
        assert_eq!(tag.render(&t.matches("/api/items/7").unwrap()), "item:7:x");
    }
}
