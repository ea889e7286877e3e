//! `signal-worker config`: the effective settings (defaults, file, environment) as TOML.

use super::EXIT_USAGE;
use crate::config::Settings;
use crate::config::secret::redact_url;
use std::process::ExitCode;

/// Hides the password of `scheme://user:password@host` URLs so the output can be shared
/// (secret settings already print as `***`).
fn redact(text: &str) -> String {
    text.lines().map(redact_url).collect::<Vec<_>>().join("\n")
}

/// Prints the effective settings.
pub fn run(settings: &Settings) -> ExitCode {
    match toml::to_string_pretty(settings) {
        Ok(text) => {
            println!("{}", redact(&text));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact("url = \"redis://u:secret@h:1\""),
            "url = \"redis://u:***@h:1\""
        );
        assert_eq!(redact("url = \"nats://h:4222\""), "url = \"nats://h:4222\"");
    }
}
