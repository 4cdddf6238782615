//! Property tests of every parser that reads what a person, a browser or a script sends: the key
//! token, the fields of the key forms, the keys and audit pages' URLs, names, emails and scopes.
//!
//! Two properties for each. Whatever it is sent (any Unicode, control and text-direction characters
//! included, thousands of characters, near misses of real values), a parser answers without panicking,
//! and what it accepts is already in the form it would write itself. And what the product writes (a
//! token, a name from its tables, a form's fields, a page's URL) reads back as the same value.
//!
//! Random text almost never hits a real name, so every parser is also sent near misses: real values
//! in other case, padded, cut short, doubled or with one character changed or put in.

use super::token::{CHECKSUM_LEN, KeyToken, PRODUCT_PREFIX, RANDOM_LEN, VISIBLE_RANDOM_LEN};
use super::{
    AuditAction, AuditQuery, CustomScope, Environment, Expiration, FieldError, KeyName, KeyQuery, KeySort, KeyStatus,
    ManagementScope, NewKey, PAGE_SIZES, Plan, RateLimit, RateWindow, Role, RotationGrace, Scope, ScopePreset,
    ScopeSet, Staleness, describe_user_agent, normalize_email, organization_name, project_name, validate_new_password,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::collections::HashMap;
use std::fmt::Debug;
use strum::VariantArray;
use uuid::Uuid;

/// `resource.action`, as the scope grammar allows it.
const SCOPE_GRAMMAR: &str = "[a-z][a-z0-9_]{0,31}\\.[a-z][a-z0-9_]{0,31}";

/// Any text a client could send: every Unicode scalar value can appear (`any::<String>()` alone
/// leaves out control and format characters), and now and then there are thousands of them.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => vec(any::<char>(), 0..40).prop_map(String::from_iter),
        1 => vec(any::<char>(), 1_000..5_000).prop_map(String::from_iter),
    ]
}

/// One of `names`, as it is or slightly wrong.
fn near(names: Vec<&'static str>) -> impl Strategy<Value = String> {
    (select(names), 0..7u8, any::<char>(), any::<Index>()).prop_map(|(name, edit, c, at)| {
        let mut chars: Vec<char> = name.chars().collect();
        match edit {
            0 => {}
            1 => return name.to_uppercase(),
            2 => return format!(" {name}\u{3000}"),
            3 => chars.truncate(at.index(chars.len() + 1)),
            4 => chars.insert(at.index(chars.len() + 1), c),
            5 if !chars.is_empty() => {
                let i = at.index(chars.len());
                chars[i] = c;
            }
            _ => return name.repeat(2),
        }
        chars.into_iter().collect()
    })
}

/// What a parser of `names` may be sent.
fn input(names: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop_oneof![any_text(), near(names)]
}

/// Text for a number field: anything, something number-like, or a number.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(),
        "[ +-]?[0-9]{0,12} ?",
        any::<u32>().prop_map(|n| n.to_string()),
        select(vec!["0", "1", "2", "10", "25", "50", "100", "-1"]).prop_map(str::to_owned),
    ]
}

/// A date anywhere in chrono's range: the API takes any, the dialog's date picker years 1 to 9999.
fn any_date() -> impl Strategy<Value = NaiveDate> {
    (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
        .prop_map(|days| NaiveDate::from_num_days_from_ce_opt(days).expect("within chrono's range"))
}

/// Text for a date field: anything, something date-like, or a real date.
fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(),
        "[+-]?[0-9]{1,12}-[0-9]{1,3}-[0-9]{1,3}",
        any_date().prop_map(|d| d.format("%Y-%m-%d").to_string()),
    ]
}

/// A moment this century, as the server's clock reads.
fn a_now() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..4_102_444_800).prop_map(|secs| DateTime::from_timestamp(secs, 0).expect("within range"))
}

/// Every name the product writes and reads back: in URLs, forms, the database, the API.
fn every_name() -> Vec<&'static str> {
    let mut names = Vec::new();
    names.extend(Environment::VARIANTS.iter().copied().map(Environment::as_str));
    names.extend(Environment::VARIANTS.iter().copied().map(Environment::token_segment));
    names.extend(KeyStatus::VARIANTS.iter().copied().map(KeyStatus::as_str));
    names.extend(RateWindow::VARIANTS.iter().copied().map(RateWindow::as_str));
    names.extend(RotationGrace::VARIANTS.iter().copied().map(RotationGrace::as_str));
    names.extend(Role::VARIANTS.iter().copied().map(Role::as_str));
    names.extend(Plan::VARIANTS.iter().copied().map(Plan::as_str));
    names.extend(KeySort::VARIANTS.iter().copied().map(KeySort::as_str));
    names.extend(AuditAction::VARIANTS.iter().copied().map(AuditAction::as_str));
    names.extend(ManagementScope::VARIANTS.iter().copied().map(ManagementScope::as_str));
    names.extend(ScopePreset::VARIANTS.iter().copied().map(ScopePreset::as_str));
    names
}

/// A parser of names accepts `raw` only if it is, exactly, the name of the value it answers.
fn only_its_name<T: Copy + Debug>(
    raw: &str,
    parsed: Option<T>,
    name: fn(T) -> &'static str,
) -> Result<(), TestCaseError> {
    if let Some(value) = parsed {
        prop_assert_eq!(name(value), raw, "{:?} was read from {:?}", value, raw);
    }
    Ok(())
}

#[test]
fn every_name_the_product_writes_reads_back() {
    for &environment in Environment::VARIANTS {
        assert_eq!(environment.as_str().parse::<Environment>(), Ok(environment));
        assert_eq!(Environment::from_token_segment(environment.token_segment()), Some(environment));
    }
    for &status in KeyStatus::VARIANTS {
        assert_eq!(KeyStatus::from_name(status.as_str()), Some(status));
    }
    for &window in RateWindow::VARIANTS {
        assert_eq!(RateWindow::from_name(window.as_str()), Some(window));
    }
    for &grace in RotationGrace::VARIANTS {
        assert_eq!(RotationGrace::from_name(grace.as_str()), Ok(grace));
    }
    for &role in Role::VARIANTS {
        assert_eq!(Role::parse(role.as_str()), Some(role));
    }
    for &plan in Plan::VARIANTS {
        assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
    }
    for &sort in KeySort::VARIANTS {
        assert_eq!(KeySort::from_name(sort.as_str()), Some(sort));
    }
    for &action in AuditAction::VARIANTS {
        assert_eq!(AuditAction::parse(action.as_str()), Some(action));
    }
    for &scope in ManagementScope::VARIANTS {
        assert_eq!(ManagementScope::from_name(scope.as_str()), Some(scope));
        assert_eq!(Scope::parse(scope.as_str()), Ok(Scope::from(scope)));
    }
    for &preset in ScopePreset::VARIANTS {
        assert_eq!(ScopePreset::from_name(preset.as_str()), Some(preset));
        let stored = preset.scopes().to_strings();
        assert_eq!(ScopeSet::parse(stored.iter().map(String::as_str)), Ok(preset.scopes()));
    }
}

proptest! {
    #[test]
    fn a_name_is_accepted_only_when_exact(raw in input(every_name())) {
        only_its_name(&raw, raw.parse::<Environment>().ok(), Environment::as_str)?;
        only_its_name(&raw, Environment::from_token_segment(&raw), Environment::token_segment)?;
        only_its_name(&raw, KeyStatus::from_name(&raw), KeyStatus::as_str)?;
        only_its_name(&raw, RateWindow::from_name(&raw), RateWindow::as_str)?;
        // Read from a form field: blanks around it are forgiven, nothing else.
        only_its_name(raw.trim(), RotationGrace::from_name(&raw).ok(), RotationGrace::as_str)?;
        only_its_name(&raw, Role::parse(&raw), Role::as_str)?;
        only_its_name(&raw, raw.parse::<Plan>().ok(), Plan::as_str)?;
        only_its_name(&raw, KeySort::from_name(&raw), KeySort::as_str)?;
        only_its_name(&raw, AuditAction::parse(&raw), AuditAction::as_str)?;
        only_its_name(&raw, ManagementScope::from_name(&raw), ManagementScope::as_str)?;
        only_its_name(&raw, ScopePreset::from_name(&raw), ScopePreset::as_str)?;
    }
}

// The key token.

/// The checksum as `token.rs` documents it, computed here independently: the CRC32 of everything
/// before it, as six base62 digits, most significant first.
fn documented_checksum(body: &str) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let crc = u64::from(crc32fast::hash(body.as_bytes()));
    (0..CHECKSUM_LEN as u32).rev().map(|place| char::from(DIGITS[(crc / 62u64.pow(place) % 62) as usize])).collect()
}

/// A token as `KeyToken::generate` writes it, for any environment, with randomness the test picks.
fn well_formed_token() -> impl Strategy<Value = (Environment, String)> {
    let base62: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
    (select(Environment::VARIANTS.to_vec()), vec(select(base62), RANDOM_LEN)).prop_map(|(environment, random)| {
        let body = format!("{PRODUCT_PREFIX}_{}_{}", environment.token_segment(), String::from_iter(random));
        let token = format!("{body}{}", documented_checksum(&body));
        (environment, token)
    })
}

/// A well-formed token with one edit: cut short, lengthened, or one character replaced by any other.
fn damaged_token() -> impl Strategy<Value = String> {
    (well_formed_token(), 0..4u8, any::<char>(), any::<Index>()).prop_map(|((_, token), edit, c, at)| {
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        match edit {
            0 => chars.truncate(i),
            1 => chars.insert(i, c),
            2 => chars.push(c),
            _ => chars[i] = c,
        }
        chars.into_iter().collect()
    })
}

proptest! {
    #[test]
    fn the_token_parser_accepts_only_well_formed_tokens(
        raw in prop_oneof![any_text(), damaged_token(), well_formed_token().prop_map(|(_, token)| token)],
    ) {
        let Ok(token) = KeyToken::parse(&raw) else { return Ok(()) };
        prop_assert_eq!(token.expose_secret(), raw.as_str());
        let head = format!("{PRODUCT_PREFIX}_{}_", token.environment().token_segment());
        let tail = raw.strip_prefix(&head).unwrap_or_default();
        prop_assert_eq!(tail.len(), RANDOM_LEN + CHECKSUM_LEN, "{:?}", raw);
        prop_assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric()), "{:?}", raw);
        let (body, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
        prop_assert_eq!(sum, documented_checksum(body));
        // What the dashboard keeps and shows of it.
        prop_assert_eq!(token.visible_prefix(), &raw[..head.len() + VISIBLE_RANDOM_LEN]);
        prop_assert!(token.masked().starts_with(&token.visible_prefix()));
    }

    #[test]
    fn a_well_formed_token_parses_back_to_its_parts((environment, raw) in well_formed_token()) {
        let token = KeyToken::parse(&raw);
        prop_assert_eq!(token.as_ref().map(KeyToken::environment), Ok(environment));
        prop_assert_eq!(token.as_ref().map(KeyToken::expose_secret), Ok(raw.as_str()));
    }

    #[test]
    fn any_one_character_changed_in_a_token_is_refused(
        (_, raw) in well_formed_token(),
        at in any::<Index>(),
        c in any::<char>(),
    ) {
        let mut chars: Vec<char> = raw.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != c);
        chars[i] = c;
        let changed = String::from_iter(chars);
        prop_assert!(KeyToken::parse(&changed).is_err(), "{:?} was accepted", changed);
    }
}

#[cfg(feature = "ssr")]
proptest! {
    // Each case draws a token from the operating system: fewer of them.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_generated_token_parses_back_to_itself(environment in select(Environment::VARIANTS.to_vec())) {
        let token = KeyToken::generate(environment);
        prop_assert_eq!(token.environment(), environment);
        prop_assert_eq!(KeyToken::parse(token.expose_secret()), Ok(token));
    }
}

// The fields of the create and edit forms.

fn expiration() -> impl Strategy<Value = Expiration> {
    prop_oneof![
        Just(Expiration::Never),
        select(Expiration::PRESET_DAYS.to_vec()).prop_map(Expiration::Days),
        any_date().prop_map(Expiration::On),
    ]
}

/// The create dialog's fields for `expiration`: its `expiration` choice and its `expires_on` date.
fn expiry_fields(expiration: Expiration) -> (String, Option<String>) {
    match expiration {
        Expiration::Never => ("never".to_owned(), None),
        Expiration::Days(days) => (days.to_string(), None),
        Expiration::On(date) => ("date".to_owned(), Some(date.format("%Y-%m-%d").to_string())),
    }
}

/// A new key with `description`, the rest as plain as can be.
fn described(description: &str) -> NewKey {
    NewKey {
        name: "k".into(),
        description: Some(description.to_owned()),
        project_id: Uuid::nil(),
        environment: Environment::Production,
        scopes: Vec::new(),
        expiration: Expiration::Never,
        rate_limit: None,
        credits: None,
        ip_allowlist: Vec::new(),
        external_id: None,
        meta: None,
        decoy: false,
    }
}

fn scope_text() -> impl Strategy<Value = String> {
    prop_oneof![
        SCOPE_GRAMMAR,
        input(ManagementScope::VARIANTS.iter().copied().map(ManagementScope::as_str).collect::<Vec<_>>()),
        "[ a-zA-Z0-9_.-]{0,70}"
    ]
}

fn scope_list_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => SCOPE_GRAMMAR,
        1 => select(ManagementScope::VARIANTS.iter().copied().map(ManagementScope::as_str).collect::<Vec<_>>()).prop_map(str::to_owned),
        1 => Just(" ".to_owned()),
    ]
}

proptest! {
    #[test]
    fn the_expiry_fields_never_set_a_key_to_live_beyond_five_years(
        choice in input(vec!["never", "date", "30", "60", "90", "180", "365"]),
        date in option::of(date_text()),
        now in a_now(),
    ) {
        if let Ok(expiration) = Expiration::from_form(&choice, date.as_deref())
            && let Ok(Some(at)) = expiration.expires_at(now)
        {
            prop_assert!(at > now && at <= now + Duration::days(Expiration::MAX_DAYS), "{:?}", expiration);
        }
    }

    #[test]
    fn every_expiry_reads_back_from_its_fields(expiration in expiration()) {
        let (choice, date) = expiry_fields(expiration);
        prop_assert_eq!(Expiration::from_form(&choice, date.as_deref()), Ok(expiration));
    }

    // The API sets any number of days or any date, without the form: checked all the same.
    #[test]
    fn an_expiry_from_the_api_never_sets_a_key_to_live_beyond_five_years(
        days in any::<u16>(),
        date in any_date(),
        now in a_now(),
    ) {
        for expiration in [Expiration::Days(days), Expiration::On(date)] {
            if let Ok(Some(at)) = expiration.expires_at(now) {
                prop_assert!(at > now && at <= now + Duration::days(Expiration::MAX_DAYS), "{:?}", expiration);
            }
        }
    }

    #[test]
    fn the_rate_limit_fields_accept_only_limits_within_bounds(
        requests in option::of(number_text()),
        window in input(vec!["none", "second", "minute", "hour"]),
    ) {
        if let Ok(Some(limit)) = RateLimit::from_form(requests.as_deref(), &window) {
            prop_assert!((1..=RateLimit::MAX_REQUESTS).contains(&limit.requests), "{:?}", limit);
            prop_assert_eq!(limit.window.as_str(), window.trim());
        }
    }

    #[test]
    fn every_rate_limit_reads_back_from_its_fields(
        requests in 1..=RateLimit::MAX_REQUESTS,
        window in select(RateWindow::VARIANTS.to_vec()),
    ) {
        let limit = RateLimit { requests, window };
        prop_assert_eq!(RateLimit::from_form(Some(&requests.to_string()), window.as_str()), Ok(Some(limit)));
    }

    #[test]
    fn a_name_or_description_accepted_is_already_clean(raw in prop_oneof![any_text(), "\\PC{0,100}"]) {
        if let Ok(name) = KeyName::parse(&raw) {
            prop_assert_eq!(name.as_str(), raw.trim());
            prop_assert!(name.as_str().chars().count() <= KeyName::MAX_CHARS);
            prop_assert_eq!(KeyName::parse(name.as_str()), Ok(name.clone()));
        }
        type NameReader = fn(&str) -> Result<String, FieldError>;
        let readers: [NameReader; 2] = [organization_name, project_name];
        for read in readers {
            if let Ok(name) = read(&raw) {
                prop_assert_eq!(read(&name), Ok(name.clone()));
            }
        }
        if let Ok(Some(description)) = described(&raw).validated_description() {
            prop_assert_eq!(described(&description).validated_description(), Ok(Some(description.clone())));
        }
    }

    #[test]
    fn an_email_accepted_is_already_normal(
        raw in prop_oneof![
            any_text(),
            (any_text(), any_text()).prop_map(|(local, domain)| format!("{local}@{domain}.test")),
            "[ A-Za-z.]{0,6}@[A-Za-z.]{0,8}",
        ],
    ) {
        if let Ok(email) = normalize_email(&raw) {
            prop_assert_eq!(normalize_email(&email), Ok(email.clone()));
        }
    }

    #[test]
    fn user_agents_and_passwords_are_read_whatever_they_hold(raw in any_text()) {
        prop_assert!(!describe_user_agent(Some(&raw)).is_empty());
        if validate_new_password(&raw).is_ok() {
            prop_assert!((10..=128).contains(&raw.chars().count()));
        }
    }

    #[test]
    fn a_scope_is_accepted_only_in_the_form_it_is_stored_in(raw in scope_text()) {
        if let Ok(scope) = Scope::parse(&raw) {
            prop_assert_eq!(scope.as_str(), raw.trim());
            prop_assert_eq!(Scope::parse(scope.as_str()), Ok(scope.clone()));
        }
    }

    #[test]
    fn every_resource_dot_action_is_a_scope(raw in SCOPE_GRAMMAR) {
        prop_assert_eq!(Scope::parse(&raw).map(String::from), Ok(raw.clone()));
    }

    #[test]
    fn a_scope_set_reads_back_from_the_strings_it_is_stored_as(
        raw in prop_oneof![
            // Lists a form or the API sends: valid scopes, catalog ones repeated, blank lines, and
            // sometimes more than a key may hold.
            vec(scope_list_entry(), 0..=ScopeSet::MAX_SCOPES + 20),
            // Or anything at all.
            vec(scope_text(), 0..10),
        ],
    ) {
        match ScopeSet::parse(raw.iter().map(String::as_str)) {
            Ok(set) => {
                prop_assert!(set.len() <= ScopeSet::MAX_SCOPES);
                let stored = set.to_strings();
                prop_assert_eq!(ScopeSet::parse(stored.iter().map(String::as_str)), Ok(set.clone()));
            }
            Err(refused) => prop_assert_eq!(refused.field, "scopes"),
        }
    }

    #[test]
    fn a_custom_scope_accepted_is_already_clean(
        name in scope_text(),
        description in prop_oneof![any_text(), "\\PC{0,250}"],
    ) {
        if let Ok(scope) = CustomScope::define(&name, &description) {
            prop_assert!(ManagementScope::from_name(&scope.name).is_none(), "{:?}", scope);
            prop_assert_eq!(CustomScope::define(&scope.name, &scope.description), Ok(scope.clone()));
        }
    }
}

// The keys and audit pages' URLs.

/// Words typed in the search box, often more than it keeps (where a cut can fall on a space).
fn typed_search() -> impl Strategy<Value = String> {
    vec("[a-zA-Z0-9_-]{1,8}", 0..24).prop_map(|words| words.join(" "))
}

/// A URL parameter: absent, anything, or near a value the page writes.
fn param(values: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
    option::of(input(values))
}

fn uuid_param() -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        any_text(),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).simple().to_string()),
    ])
}

/// The named parameters that are present.
fn present<const N: usize>(named: [(&'static str, Option<String>); N]) -> HashMap<&'static str, String> {
    named.into_iter().filter_map(|(name, value)| Some((name, value?))).collect()
}

/// Parameters as a browser could send them to the keys page.
fn keys_page_params() -> impl Strategy<Value = HashMap<&'static str, String>> {
    (
        option::of(prop_oneof![1 => any_text(), 2 => typed_search()]),
        uuid_param(),
        param(Environment::VARIANTS.iter().copied().map(Environment::as_str).collect::<Vec<_>>()),
        param(KeyStatus::VARIANTS.iter().copied().map(KeyStatus::as_str).collect::<Vec<_>>()),
        param(vec!["1", "true", "0", "false"]),
        param(KeySort::VARIANTS.iter().copied().map(KeySort::as_str).collect::<Vec<_>>()),
        option::of(number_text()),
        option::of(number_text()),
    )
        .prop_map(|(q, project, env, status, hide_revoked, sort, page, per_page)| {
            present([
                ("q", q),
                ("project", project),
                ("env", env),
                ("status", status),
                ("hide_revoked", hide_revoked),
                ("sort", sort),
                ("page", page),
                ("per_page", per_page),
            ])
        })
}

/// A query the keys page can make: its search as the box sets it (trimmed), and everything within
/// what the key service accepts.
fn valid_key_query() -> impl Strategy<Value = KeyQuery> {
    let search = prop_oneof![typed_search(), "\\PC{0,64}"]
        .prop_map(|s| s.chars().take(KeyQuery::MAX_SEARCH_CHARS).collect::<String>().trim().to_owned());
    (
        search,
        option::of(any::<u128>().prop_map(Uuid::from_u128)),
        option::of(select(Environment::VARIANTS.to_vec())),
        option::of(select(KeyStatus::VARIANTS.to_vec())),
        any::<bool>(),
        option::of("\\PC{1,256}".prop_map(|id| id.trim().to_owned()).prop_filter("blank", |id| !id.is_empty())),
        select(KeySort::VARIANTS.to_vec()),
        1..=crate::model::MAX_PAGE,
        select(PAGE_SIZES.to_vec()),
        option::of(select(Staleness::VARIANTS.to_vec())),
    )
        .prop_map(|(search, project, environment, status, hide_revoked, external_id, sort, page, per_page, unused)| {
            KeyQuery { search, project, environment, status, hide_revoked, external_id, unused, sort, page, per_page }
        })
        .prop_filter("the key service refuses it", |query| query.validated().is_ok())
}

fn read_keys_url(params: &HashMap<&str, String>) -> KeyQuery {
    KeyQuery::from_params(|name| params.get(name).cloned())
}

/// `query` written to the keys page's URL, and read back from it as a reload does.
fn keys_page_reloaded(query: &KeyQuery) -> KeyQuery {
    read_keys_url(&query.to_params().into_iter().collect())
}

/// Parameters as a browser could send them to the audit page.
fn audit_page_params() -> impl Strategy<Value = HashMap<&'static str, String>> {
    (
        uuid_param(),
        param(AuditAction::VARIANTS.iter().copied().map(AuditAction::as_str).collect::<Vec<_>>()),
        uuid_param(),
        option::of(date_text()),
        option::of(date_text()),
        option::of(number_text()),
    )
        .prop_map(|(actor, action, key, from, to, page)| {
            present([("actor", actor), ("action", action), ("key", key), ("from", from), ("to", to), ("page", page)])
        })
}

/// Any filters and page of the audit page. Its URL holds no page size: the page always asks for the
/// default one (the API, which takes another, has no URL to round-trip).
fn audit_query() -> impl Strategy<Value = AuditQuery> {
    (
        option::of(any::<u128>().prop_map(Uuid::from_u128)),
        option::of(select(AuditAction::VARIANTS.to_vec())),
        option::of(any::<u128>().prop_map(Uuid::from_u128)),
        option::of(any_date()),
        option::of(any_date()),
        any::<u32>(),
    )
        .prop_map(|(actor, action, key, from, to, page)| AuditQuery {
            actor,
            action,
            key,
            from,
            to,
            page,
            per_page: AuditQuery::DEFAULT_PER_PAGE,
        })
}

fn read_audit_url(params: &HashMap<&str, String>) -> AuditQuery {
    AuditQuery::from_params(|name| params.get(name).cloned())
}

/// `query` written to the audit page's URL (and its CSV link), and read back from it.
fn audit_page_reloaded(query: &AuditQuery) -> AuditQuery {
    read_audit_url(&query.to_params().into_iter().collect())
}

proptest! {
    #[test]
    fn the_keys_page_reads_any_url_and_rewrites_it_to_read_back_the_same(params in keys_page_params()) {
        let query = read_keys_url(&params);
        prop_assert_eq!(keys_page_reloaded(&query), query);
    }

    #[test]
    fn every_valid_keys_query_survives_its_url(query in valid_key_query()) {
        prop_assert_eq!(keys_page_reloaded(&query), query);
    }

    #[test]
    fn the_audit_page_reads_any_url_and_rewrites_it_to_read_back_the_same(params in audit_page_params()) {
        let query = read_audit_url(&params);
        prop_assert_eq!(audit_page_reloaded(&query), query);
    }

    #[test]
    fn every_valid_audit_query_survives_its_url(query in audit_query()) {
        // As the audit service holds it once checked.
        let validated = query.validated();
        prop_assume!(validated.is_ok());
        let query = validated.expect("checked just above");
        prop_assert_eq!(audit_page_reloaded(&query), query);
    }
}
