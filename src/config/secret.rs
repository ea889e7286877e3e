//! Secrets in settings (passwords, tokens): usable by the code that connects, invisible everywhere
//! else — `Debug` and serialisation (what `config` prints) show `***`, and URLs lose their
//! password before they reach an error message or a log line.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret setting; empty means "not set".
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one call that authenticates with it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether a value is set.
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.is_set() { "***" } else { "" }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

/// Serialised as `***` (or empty): settings are printed and compared, never round-tripped with
/// a secret in them (loading deserialises the file and environment values directly).
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// `scheme://user:password@host...` with the password replaced by `***`; other text unchanged.
pub fn redact_url(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let rest = &text[scheme_end + 3..];
    let Some(at) = rest.find('@') else {
        return text.to_owned();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &text[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        // A bare token as userinfo (`nats://token@host`) is a secret too.
        None if !userinfo.is_empty() => format!("{}***{}", &text[..scheme_end + 3], &rest[at..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "\"***\"");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{:?}", Secret::default()), "\"\"");
        let back: Secret = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back.expose(), "x");
    }

    #[test]
    fn passwords_and_tokens_in_urls_are_hidden() {
        assert_eq!(redact_url("redis://u:secret@h:1"), "redis://u:***@h:1");
        assert_eq!(redact_url("nats://s3cr3t@h:4222"), "nats://***@h:4222");
        assert_eq!(redact_url("nats://h:4222"), "nats://h:4222");
        assert_eq!(
            redact_url("url = \"mongodb://a:b@h/db\""),
            "url = \"mongodb://a:***@h/db\""
        );
    }
}
