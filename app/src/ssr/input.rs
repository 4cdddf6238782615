//! Input that did not deserialize, as a field and a reason a person can act on.
//!
//! Both edges use it: the REST API's JSON bodies and query strings, and the server functions' forms.
//! serde says "invalid type: string "x", expected u16"; a person reads "must be a whole number from
//! 0 to 65,535". The value itself is never echoed: it may be a secret pasted into the wrong field.

use crate::model::FieldError;

/// The field at `path` (serde_path_to_error's form, `.` for the top) and serde's `message` about it.
pub fn fault(path: &str, message: &str) -> FieldError {
    let path = path.trim_start_matches('.');
    let within = |field: &str| if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") };
    if let Some(field) = quoted_after(message, "missing field `") {
        return FieldError::new(within(field), "is required");
    }
    if let Some(field) = quoted_after(message, "unknown field `") {
        // serde_path_to_error's path already ends at the unknown field; serde_qs's does not.
        let parent = path.strip_suffix(field).map_or(path, |p| p.trim_end_matches('.'));
        // Named only when it looks like a field name: a key pasted in as one must not come back.
        if field.len() <= 32 && !field.is_empty() && field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return FieldError::new(within_path(parent, field), "is not a known field");
        }
        let at = if parent.is_empty() { "body".to_owned() } else { parent.to_owned() };
        return FieldError::new(at, "has a field that is not known");
    }
    let field = if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, reason(message))
}

/// Why a value was refused, in words.
pub fn reason(message: &str) -> String {
    // serde_json appends where it was; the field already says that.
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.starts_with("UUID parsing failed") {
        return "must be an id (a UUID)".into();
    }
    if ["invalid digit", "cannot parse integer", "number too large", "number too small"]
        .iter()
        .any(|start| message.starts_with(start))
    {
        return "must be a whole number".into();
    }
    let Some((_, expected)) = message.split_once(", expected ") else {
        return "is not valid".into();
    };
    if message.starts_with("unknown variant") {
        return format!("must be {}", choices(expected));
    }
    match expected {
        "u8" => "must be a whole number from 0 to 255".into(),
        "u16" => "must be a whole number from 0 to 65,535".into(),
        "u32" => "must be a whole number from 0 to 4,294,967,295".into(),
        "u64" | "usize" => "must be a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "must be a whole number".into(),
        "f32" | "f64" => "must be a number".into(),
        "a boolean" => "must be true or false".into(),
        "a string" | "a borrowed string" => "must be a string".into(),
        "a sequence" => "must be a list".into(),
        "a map" => "must be an object".into(),
        "a UUID string" => "must be an id (a UUID)".into(),
        _ if expected.starts_with("struct ") => "must be an object".into(),
        _ if expected.contains("date and time") => "must be a date and time like 2027-01-31T00:00:00Z".into(),
        _ if expected.contains("date") => "must be a date like 2027-01-31".into(),
        _ => format!("must be {}", choices(expected)),
    }
}

/// "one of `a`, `b`, `c`" → "one of a, b or c"; "`a` or `b`" → "a or b".
fn choices(expected: &str) -> String {
    let bare = expected.replace('`', "");
    let (one_of, list) = match bare.strip_prefix("one of ") {
        Some(list) => (true, list.to_owned()),
        None => (false, bare),
    };
    let list = match list.rsplit_once(", ") {
        Some((head, last)) => format!("{head} or {last}"),
        None => list,
    };
    if one_of && list.contains(" or ") { format!("one of {list}") } else { list }
}

fn within_path(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

/// The text between `prefix` and the next backtick, if `message` starts with `prefix`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Environment, FieldError};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        window: Option<Window>,
        requests: Option<u16>,
        environment: Option<Environment>,
        id: Option<uuid::Uuid>,
        tags: Option<Vec<String>>,
        flag: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Window {
        Second,
        Minute,
        Hour,
    }

    fn json(body: &str) -> FieldError {
        let mut de = serde_json::Deserializer::from_str(body);
        let e = serde_path_to_error::deserialize::<_, Body>(&mut de).expect_err(body);
        fault(&e.path().to_string(), &e.inner().to_string())
    }

    #[test]
    fn faults_read_as_sentences_and_name_the_field() {
        assert_eq!(json("{}"), FieldError::new("name", "is required"));
        assert_eq!(
            json(r#"{"name":"a","window":"fortnight"}"#),
            FieldError::new("window", "must be one of second, minute or hour")
        );
        assert_eq!(
            json(r#"{"name":"a","requests":"many"}"#),
            FieldError::new("requests", "must be a whole number from 0 to 65,535")
        );
        assert_eq!(
            json(r#"{"name":"a","requests":70000}"#),
            FieldError::new("requests", "must be a whole number from 0 to 65,535")
        );
        assert_eq!(json(r#"{"name":"a","id":"nope"}"#), FieldError::new("id", "must be an id (a UUID)"));
        assert_eq!(json(r#"{"name":"a","tags":"x"}"#), FieldError::new("tags", "must be a list"));
        assert_eq!(json(r#"{"name":"a","tags":[1]}"#), FieldError::new("tags[0]", "must be a string"));
        assert_eq!(json(r#"{"name":"a","flag":"yes"}"#), FieldError::new("flag", "must be true or false"));
        assert_eq!(json(r#"{"name":5}"#), FieldError::new("name", "must be a string"));
        assert_eq!(json(r#"{"name":"a","colour":1}"#), FieldError::new("colour", "is not a known field"));
        assert_eq!(json(r#"{"name":"a","kw_live_Ab3x":1}"#), FieldError::new("body", "has a field that is not known"));
    }

    #[test]
    fn a_refused_value_is_never_echoed() {
        let secret = "kw_live_abcdefghijklmnopqrstuvwxyz";
        for body in [
            format!(r#"{{"name":"a","environment":"{secret}"}}"#),
            format!(r#"{{"name":"a","window":"{secret}"}}"#),
            format!(r#"{{"name":"a","id":"{secret}"}}"#),
            format!(r#"{{"name":"a","requests":"{secret}"}}"#),
        ] {
            let fault = json(&body);
            assert!(!fault.reason.contains(secret), "{fault:?}");
            assert!(!fault.reason.contains("one of one of"), "{fault:?}");
        }
    }

    #[test]
    fn choices_read_as_a_list() {
        assert_eq!(choices("one of `a`, `b`, `c`"), "one of a, b or c");
        assert_eq!(choices("`a` or `b`"), "a or b");
        assert_eq!(choices("`a`"), "a");
    }
}
