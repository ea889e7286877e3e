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

/// Every `scheme://user:password@host...` in `text` with the password replaced by `***` (a bare
/// token as userinfo too); other text unchanged.
///
/// A comma-separated server list holds several URLs, each redacted; a password may itself hold
/// `@`, `:` or `,`, so a URL's userinfo ends at the *last* `@` before the next URL, quote or
/// whitespace. Over-redacting a path that holds `@` is the safe way to be wrong.
pub fn redact_url(text: &str) -> String {
    let starts = url_starts(text);
    if starts.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..starts[0].0]);
    for (i, &(scheme_start, authority)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(text.len(), |s| s.0);
        let span = &text[authority..next];
        let len = span
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(span.len());
        let (url, rest) = span.split_at(len);
        out.push_str(&text[scheme_start..authority]);
        match url.rfind('@') {
            Some(at) => {
                let userinfo = &url[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None if !userinfo.is_empty() => out.push_str("***"),
                    None => {}
                }
                out.push_str(&url[at..]);
            }
            None => out.push_str(url),
        }
        out.push_str(rest);
    }
    out
}

/// For every URL in `text`: where its scheme starts and where its authority starts (after `://`).
fn url_starts(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("://").map(|p| p + from) {
        let mut start = pos;
        while start > 0
            && bytes
                .get(start - 1)
                .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        {
            start -= 1;
        }
        if start < pos {
            found.push((start, pos + 3));
        }
        from = pos + 3;
    }
    found
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

    #[test]
    fn every_url_of_a_list_and_passwords_with_at_signs_are_hidden() {
        assert_eq!(
            redact_url("nats://u:p1@h1:4222,nats://u:p2@h2:4222"),
            "nats://u:***@h1:4222,nats://u:***@h2:4222"
        );
        assert_eq!(redact_url("nats://u:p@ss@h:4222"), "nats://u:***@h:4222");
        assert_eq!(
            redact_url("redis://u:a@b,c@h:1 and tls://t@k@h2"),
            "redis://u:***@h:1 and tls://***@h2"
        );
        assert_eq!(redact_url("no url here"), "no url here");
        for text in ["nats://u:pa@s,s@h", "x nats://u:p@h1, nats://v:q@w@h2"] {
            let shown = redact_url(text);
            for secret in ["pa@s", "s,s", "p@h1", "q@w"] {
                assert!(!shown.contains(secret), "{shown} leaks {secret}");
            }
        }
    }
}
