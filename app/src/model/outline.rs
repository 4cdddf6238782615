//! A key summed up in words before it is made, and the command that tries it once it is: what the
//! create dialog and the shown-once token dialog tell a person.

use super::{Environment, ScopeSet};
use chrono::{DateTime, Datelike, Utc};
use std::fmt;

/// "Can read keys and the audit log, in Production, expires 23 Feb 2027."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOutline {
    pub scopes: ScopeSet,
    pub environment: Environment,
    /// `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Display for KeyOutline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, in {}, ", self.scopes.in_words(), self.environment.label())?;
        match self.expires_at {
            Some(at) => write!(f, "expires {}.", day_in_words(at)),
            None => f.write_str("never expires."),
        }
    }
}

/// "23 Feb 2027": a day no reader can take for another (unlike 02/03), in UTC as everywhere.
pub fn day_in_words(at: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{} {} {}", at.day(), MONTHS[at.month0() as usize], at.year())
}

/// The website's own address (`scheme://host[:port]`), which the commands shown to a person name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOrigin(pub String);

/// A command that verifies `token` against this Keyward, ready to paste: the caller's own
/// verifier key comes from the environment, so that it is never shown beside the new one.
pub fn verify_command(origin: &str, token: &str) -> String {
    format!(
        "curl -s {origin}/api/v1/keys/verify -H \"X-API-Key: $KEYWARD_VERIFIER_KEY\" \
         -H \"Content-Type: application/json\" -d '{{\"key\": \"{token}\"}}'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScopePreset;
    use chrono::TimeZone;

    #[test]
    fn a_new_key_is_summed_up_in_one_sentence() {
        let at = Utc.with_ymd_and_hms(2027, 2, 23, 12, 0, 0).single();
        let outline = KeyOutline {
            scopes: ScopeSet::parse(["api_keys.read", "audit.read"]).expect("valid"),
            environment: Environment::Production,
            expires_at: at,
        };
        assert_eq!(outline.to_string(), "Can read keys and the audit log, in Production, expires 23 Feb 2027.");
        let never =
            KeyOutline { scopes: ScopePreset::Verifier.scopes(), environment: Environment::Staging, expires_at: None };
        assert_eq!(never.to_string(), "Can verify keys, in Staging, never expires.");
    }

    #[test]
    fn the_verify_command_names_the_site_and_the_key_only() {
        let command = verify_command("https://keys.example.com", "kw_live_abc");
        assert!(command.starts_with("curl -s https://keys.example.com/api/v1/keys/verify "), "{command}");
        assert!(command.contains(r#"-d '{"key": "kw_live_abc"}'"#), "{command}");
        // The verifier's secret is the reader's own, from their environment.
        assert!(command.contains("X-API-Key: $KEYWARD_VERIFIER_KEY"), "{command}");
    }
}
