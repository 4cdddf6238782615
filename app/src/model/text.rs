//! What any name or description a person types must be: trimmed, bounded, and plain text.

use super::FieldError;

/// An organization's name: trimmed, 1 to 80 characters.
pub fn organization_name(raw: &str) -> Result<String, FieldError> {
    bounded("name", raw, 80)
}

pub(super) fn bounded(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    plain_text(field, value)?;
    Ok(value.to_owned())
}

/// Refuses what has no place in a name or a description: NUL and other control characters (a line
/// break in a name, a NUL that PostgreSQL cannot store), and the bidirectional overrides and
/// isolates that make text display in another order than it reads (a "Trojan Source" name).
pub fn plain_text(field: &str, value: &str) -> Result<(), FieldError> {
    let hidden = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if value.chars().any(hidden) {
        return Err(FieldError::new(field, "must not contain control or text-direction characters"));
    }
    Ok(())
}

/// A count as people read it: "12,345" (in English, as the rest of the dashboard is).
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [(0, "0"), (999, "999"), (1_000, "1,000"), (12_345, "12,345"), (1_234_567, "1,234,567")] {
            assert_eq!(grouped(n), text);
        }
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn names_refuse_hidden_characters() {
        for bad in ["Acme\0", "Ac\nme", "Acme \u{202E}gnp.exe", "\u{2066}Acme\u{2069}", "Acme\u{7}"] {
            let refused = organization_name(bad).expect_err(bad);
            assert_eq!(refused.field, "name");
            assert!(refused.reason.contains("control"), "{refused:?}");
        }
        assert_eq!(organization_name("  Åcme Robotics — Zürich  "), Ok("Åcme Robotics — Zürich".to_owned()));
    }
}
