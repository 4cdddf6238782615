//! The gitleaks rule the README publishes for Keyward keys: it finds every token Keyward makes, in
//! any environment and wherever it sits in a line, and nothing else in the project's test data
//! (which is full of prefixes, previews and malformed tokens).

use app::model::Environment;
use app::model::token::KeyToken;
use regex::Regex;
use std::path::Path;

/// The rule's regex, read from the README's gitleaks block, so that what is published is what is tested.
fn published_rule() -> Regex {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let block = readme.split("```toml").nth(1).and_then(|rest| rest.split("```").next()).expect("a toml block");
    assert!(block.contains("[[rules]]") && block.contains("id = \"keyward-api-key\""), "{block}");
    let pattern = block
        .lines()
        .find_map(|line| line.trim().strip_prefix("regex = '''").and_then(|p| p.strip_suffix("'''")))
        .expect("the rule's regex");
    Regex::new(pattern).expect("a regex gitleaks (Go's RE2) and Rust's regex both read")
}

#[test]
fn the_published_rule_finds_every_generated_token() {
    let rule = published_rule();
    for environment in [Environment::Production, Environment::Staging, Environment::Development] {
        for _ in 0..300 {
            let token = KeyToken::generate(environment);
            let secret = token.expose_secret();
            for line in [
                secret.to_owned(),
                format!("KEYWARD_KEY={secret}"),
                format!("Authorization: Bearer {secret}\n"),
                format!("{{\"key\": \"{secret}\"}}"),
            ] {
                let found = rule.captures(&line).and_then(|c| c.get(1)).map(|m| m.as_str());
                assert_eq!(found, Some(secret), "in {line:?}");
            }
        }
    }
}

#[test]
fn the_published_rule_finds_nothing_else_in_the_test_data() {
    let rule = published_rule();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut read = 0;
    for folder in ["app/tests/it", "app/src", "server/tests/it", "server/src", "end2end/tests"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("folder").flatten() {
            let path = entry.path();
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            read += 1;
            let found: Vec<&str> = rule.find_iter(&text).map(|m| m.as_str()).collect();
            assert!(found.is_empty(), "{} holds what the rule takes for a key: {found:?}", path.display());
        }
    }
    assert!(read > 40, "only {read} files read");
    // Near misses: too short, an unknown environment, another product's prefix, a token inside a word.
    for near in [
        "kw_live_a1b2c3d4",
        "kw_live_a1b2c3d4••••••••",
        "kw_prod_0123456789abcdefghijABCDEFGHIJ0123456789",
        "xkw_live_0123456789abcdefghijABCDEFGHIJ01234567",
        "kw_live_0123456789abcdefghijABCDEFGHIJ0123456789",
        "sk_live_0123456789abcdefghijABCDEFGHIJ01234567",
    ] {
        assert!(!rule.is_match(near), "{near}");
    }
}
