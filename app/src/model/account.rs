//! A person's own account: the organizations they belong to, their sessions, their password.

use super::{AllValid, FieldError, FieldErrors, Role, validate_new_password};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An organization the signed-in person may switch to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationChoice {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
}

/// A signed-in session, as its owner sees it in their list. Never its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    /// "Firefox on Linux", from the browser's user agent when it signed in.
    pub device: String,
    pub ip: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub signed_in_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The session this page is being viewed with.
    pub current: bool,
}

/// The change-password form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

impl PasswordChange {
    /// Refuses a new password that is too short, too long, or the same as the current one.
    pub fn validated(self) -> Result<Self, FieldErrors> {
        let current = if self.current_password.is_empty() {
            Err(FieldError::new("current_password", "is required"))
        } else {
            Ok(())
        };
        let new = validate_new_password(&self.new_password)
            .map_err(|e| FieldError::new("new_password", e.reason))
            .and_then(|()| {
                if self.new_password == self.current_password {
                    Err(FieldError::new("new_password", "must differ from the current password"))
                } else {
                    Ok(())
                }
            });
        (current, new).all_valid()?;
        Ok(self)
    }
}

/// "Chrome on macOS": enough for a person to recognise a session, from a user-agent string. Browsers
/// name several engines in theirs, so the more specific names are tried first.
pub fn describe_user_agent(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    let find = |table: &[(&str, &'static str)]| table.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, n)| *n);
    match (find(&BROWSERS), find(&SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "Unknown device".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_named_by_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0", "Firefox on Windows"),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
                "Edge on Windows",
            ),
            ("curl/8.5.0", "curl"),
            ("", "Unknown device"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe_user_agent(Some(ua)), expected, "{ua}");
        }
        assert_eq!(describe_user_agent(None), "Unknown device");
    }

    #[test]
    fn a_new_password_must_be_valid_and_new() {
        let change = |current: &str, new: &str| {
            PasswordChange { current_password: current.into(), new_password: new.into() }.validated()
        };
        assert_eq!(change("", "a long new password").unwrap_err().first().field, "current_password");
        assert_eq!(change("old password!", "short").unwrap_err().first().field, "new_password");
        // Both at once.
        let both = change("", "short").unwrap_err();
        assert_eq!(both.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["current_password", "new_password"]);
        let same = change("the same password", "the same password").unwrap_err();
        let same = same.first();
        assert_eq!(
            (same.field.as_str(), same.reason.as_str()),
            ("new_password", "must differ from the current password")
        );
        assert!(change("old password!", "a long new password").is_ok());
    }
}
