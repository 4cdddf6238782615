//! The `keyward` command line: `serve` (the default), `migrate` and `create-owner`, with every
//! setting from a flag or an environment variable.

use app::ssr::services::auth::{SessionPolicy, SessionPolicyError};
use chrono::Duration;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;

#[derive(Debug, Clone, Parser)]
#[command(name = "keyward", version, about = "Keyward: self-hosted API key management")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `keyward` alone serves, with these settings.
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the APIs (the default). Runs pending migrations first.
    // Boxed: the serving settings are far larger than the other subcommands'.
    Serve(Box<Config>),
    /// Bring the database schema up to date, then exit: for deployments that migrate in a separate
    /// step before rolling out new instances.
    Migrate(MigrateArgs),
    /// Create an organization and its owner without the browser (the first one, or another one).
    /// The password is read from KEYWARD_OWNER_PASSWORD, or else from the first line of stdin.
    CreateOwner(CreateOwnerArgs),
}

impl Cli {
    pub fn command(self) -> Command {
        self.command.unwrap_or_else(|| Command::Serve(Box::new(self.serve)))
    }
}

/// Where the data lives, and how the process logs: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Database URL: SQLite (the default, a file under ./data/) or PostgreSQL (postgres://...).
    /// Its value is never printed (it may carry a password).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/keyward.db", hide_env_values = true)]
    pub database_url: String,

    /// Log filter, in `tracing` syntax (e.g. `info`, `keyward=debug,tower_http=info`).
    #[arg(long, env = "KEYWARD_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as text for people, or as one JSON object per line for a log pipeline.
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub common: Common,

    /// Address to listen on. Defaults to Leptos's `site-addr` (Leptos.toml, or LEPTOS_SITE_ADDR).
    #[arg(long, env = "KEYWARD_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Keyward is served over HTTPS: the session cookie is `Secure` and `__Host-` prefixed, and
    /// answers carry HSTS.
    #[arg(long, env = "KEYWARD_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// The address people open Keyward at (e.g. https://keys.example.com). A change sent from a
    /// browser must come from it. Defaults to http://<listen address>.
    #[arg(long, env = "KEYWARD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For / Forwarded is believed.
    /// Only a request whose TCP peer is one of them is taken to come from the address they name;
    /// without this setting, the TCP peer is the client.
    #[arg(long, env = "KEYWARD_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// How often usage counted in memory (last used, calls per hour) is written to the database, in seconds.
    #[arg(long, env = "KEYWARD_USAGE_FLUSH_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub usage_flush_secs: u64,

    /// How many days the verification log keeps each verification (key, verdict, caller's
    /// address, scopes asked, credits spent); 0 turns the log off.
    #[arg(long, env = "KEYWARD_VERIFICATION_LOG_DAYS", default_value_t = app::ssr::verification_log::DEFAULT_DAYS,
        value_parser = clap::value_parser!(u32).range(0..=3660))]
    pub verification_log_days: u32,

    /// Redis URL (redis://host:6379/0). With it, per-key rate limits are counted across every
    /// instance that uses the same Redis; without it, each instance counts its own.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// A bearer token that `/metrics` requires. Without it, `/metrics` is open: keep it off the
    /// public network then (its figures name no key, but they describe your traffic).
    #[arg(long, env = "KEYWARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The server's secret key, 64 hexadecimal characters (`openssl rand -hex 32`). Webhook
    /// signing secrets are derived from it, so none is stored in the database. Every instance
    /// must have the same one. Without it, the key in KEYWARD_SECRET_KEY_FILE is used, made there
    /// on first start.
    #[arg(long, env = "KEYWARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Where the server's secret key is kept when KEYWARD_SECRET_KEY is not set. Defaults to
    /// `secret.key` beside the SQLite database, or `data/secret.key` with PostgreSQL.
    #[arg(long, env = "KEYWARD_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,

    /// Send webhooks to loopback, private and link-local addresses too (receivers on your own
    /// network, or tests). Off, such destinations are refused at registration and at delivery.
    #[arg(long, env = "KEYWARD_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,

    /// An SMTP server for expiry reminders by email to each key's creator, as lettre reads it:
    /// `smtps://user:password@host:465` (TLS), `smtp://user:password@host:587?tls=required`
    /// (STARTTLS), `smtp://localhost:25` (plain, a local relay). Without it, reminders are webhook
    /// events and the keys page's panel only.
    #[arg(long, env = "KEYWARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The reminders' sender.
    #[arg(long, env = "KEYWARD_SMTP_FROM", default_value = "Keyward <keyward@localhost>")]
    pub smtp_from: String,

    /// The secret scanners whose leak reports `POST /api/v1/leaks/github` takes: their public keys
    /// in GitHub's format (`{"public_keys": [{"key_identifier": ..., "key": "-----BEGIN PUBLIC
    /// KEY-----..."}]}`), inline or as the path of a file holding it. Without it, leak reports
    /// are off (the endpoint answers 404); members can still report and check leaks in the dashboard.
    #[arg(long, env = "KEYWARD_LEAK_REPORT_KEYS")]
    pub leak_report_keys: Option<String>,

    /// The Leptos site settings file.
    #[arg(long, env = "KEYWARD_LEPTOS_TOML", default_value = "Leptos.toml")]
    pub leptos_toml: String,

    /// How long a dashboard session lasts after sign-in, however busy (e.g. 7d, 12h, 1d12h).
    #[arg(long, env = LIFETIME, default_value = "7d", value_parser = duration_of(LIFETIME))]
    pub session_lifetime: Duration,

    /// How long a dashboard session lasts without a request (e.g. 12h, 30m); at least 10m, at most
    /// the session lifetime.
    #[arg(long, env = IDLE_TIMEOUT, default_value = "12h", value_parser = duration_of(IDLE_TIMEOUT))]
    pub session_idle_timeout: Duration,
}

const LIFETIME: &str = "KEYWARD_SESSION_LIFETIME";
const IDLE_TIMEOUT: &str = "KEYWARD_SESSION_IDLE_TIMEOUT";

impl Config {
    /// The server's secret key, from KEYWARD_SECRET_KEY or its file; the refusal names the setting.
    pub fn server_secret(&self) -> Result<app::ssr::webhook_signing::ServerSecret, String> {
        use app::ssr::webhook_signing::ServerSecret;
        match &self.secret_key {
            Some(hex) => ServerSecret::from_hex(hex).map_err(|e| format!("KEYWARD_SECRET_KEY: {e}")),
            None => ServerSecret::load_or_create(&self.secret_key_path())
                .map_err(|e| format!("KEYWARD_SECRET_KEY_FILE: {e}")),
        }
    }

    /// The scanners leak reports are taken from (none without KEYWARD_LEAK_REPORT_KEYS); the
    /// refusal names the setting.
    pub fn leak_reporters(&self) -> Result<app::ssr::leak_reports::LeakReporters, String> {
        use app::ssr::leak_reports::LeakReporters;
        let Some(setting) = self.leak_report_keys.as_deref().map(str::trim) else {
            return Ok(LeakReporters::default());
        };
        let json = if setting.starts_with('{') {
            setting.to_owned()
        } else {
            std::fs::read_to_string(setting)
                .map_err(|e| format!("KEYWARD_LEAK_REPORT_KEYS: cannot read {setting}: {e}"))?
        };
        LeakReporters::from_json(&json).map_err(|e| format!("KEYWARD_LEAK_REPORT_KEYS: {e}"))
    }

    /// The secret key file: as set, or beside the SQLite database, or `data/secret.key`.
    pub fn secret_key_path(&self) -> std::path::PathBuf {
        if let Some(path) = &self.secret_key_file {
            return path.clone();
        }
        let url = &self.common.database_url;
        let sqlite_file = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"));
        match sqlite_file.map(|path| path.split('?').next().unwrap_or_default()) {
            Some(file) if !file.is_empty() && !file.starts_with(':') => {
                std::path::Path::new(file).with_file_name("secret.key")
            }
            _ => std::path::PathBuf::from("data/secret.key"),
        }
    }

    pub fn usage_flush_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.usage_flush_secs)
    }

    /// The session lifetimes, checked together; the refusal names the variable to change.
    pub fn session_policy(&self) -> Result<SessionPolicy, String> {
        let (absolute, idle) = (self.session_lifetime, self.session_idle_timeout);
        SessionPolicy::new(absolute, idle).map_err(|e| match e {
            SessionPolicyError::NoLifetime | SessionPolicyError::LifetimeTooLong => format!("{LIFETIME}: {e}"),
            SessionPolicyError::IdleTooShort => format!("{IDLE_TIMEOUT}: {e}"),
            SessionPolicyError::IdleBeyondLifetime => {
                format!("{IDLE_TIMEOUT} ({}) must not be longer than {LIFETIME} ({})", humane(idle), humane(absolute))
            }
        })
    }
}

/// A parser for the duration in `variable`, whose refusal names it: clap's own message names only
/// the flag, and most deployments set the variable.
fn duration_of(variable: &'static str) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text: &str| parse_duration(text).map_err(|reason| format!("{variable}: {reason}"))
}

/// A duration as people write it: whole numbers with a unit each, `d`, `h`, `m` or `s`, largest
/// first or not (`7d`, `12h`, `30m`, `1h30m`). A bare number is refused: minutes or seconds?
fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || "expected a duration such as 7d, 12h or 30m".to_owned();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(expected());
    }
    let mut seconds: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(expected)?;
        let number: i64 = rest[..digits].parse().map_err(|_| expected())?;
        let mut units = rest[digits..].chars();
        let unit = match units.next() {
            Some('d') => 86_400,
            Some('h') => 3_600,
            Some('m') => 60,
            Some('s') => 1,
            _ => return Err(expected()),
        };
        rest = units.as_str();
        seconds = number.checked_mul(unit).and_then(|s| seconds.checked_add(s)).ok_or_else(expected)?;
    }
    Duration::try_seconds(seconds).ok_or_else(expected)
}

/// A duration as `parse_duration` reads it, in its largest whole unit (`7d`, `90m`).
fn humane(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    match [(86_400, "d"), (3_600, "h"), (60, "m")].into_iter().find(|(unit, _)| seconds % unit == 0) {
        Some((unit, suffix)) if seconds != 0 => format!("{}{suffix}", seconds / unit),
        _ => format!("{seconds}s"),
    }
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct CreateOwnerArgs {
    #[command(flatten)]
    pub common: Common,

    /// The organization's name.
    #[arg(long)]
    pub organization: String,

    /// The owner's name, as the dashboard shows it.
    #[arg(long)]
    pub name: String,

    /// The owner's email: what they sign in with.
    #[arg(long)]
    pub email: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_serves_and_subcommands_take_their_own_flags() {
        let bare = Cli::try_parse_from(["keyward", "--listen", "127.0.0.1:4000"]).expect("bare flags");
        let Command::Serve(config) = bare.command() else { panic!("bare keyward serves") };
        assert_eq!(config.listen, Some("127.0.0.1:4000".parse().expect("address")));

        let migrate = Cli::try_parse_from(["keyward", "migrate", "--database-url", "postgres://db/keyward"])
            .expect("migrate")
            .command();
        assert!(matches!(migrate, Command::Migrate(m) if m.common.database_url == "postgres://db/keyward"));

        let error = Cli::try_parse_from(["keyward", "create-owner", "--email", "ada@acme.test"])
            .expect_err("organization and name are required");
        assert!(error.to_string().contains("--organization"), "{error}");
        assert!(Cli::try_parse_from(["keyward", "--log-format", "yaml"]).is_err());
    }

    fn serve(args: &[&str]) -> Result<Config, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("keyward").chain(args.iter().copied()))?;
        let Command::Serve(config) = cli.command() else { panic!("bare keyward serves") };
        Ok(*config)
    }

    #[test]
    fn durations_read_as_people_write_them() {
        for (text, seconds) in
            [("7d", 604_800), ("12h", 43_200), ("30m", 1_800), ("45s", 45), ("1h30m", 5_400), (" 2d ", 172_800)]
        {
            assert_eq!(parse_duration(text), Ok(Duration::seconds(seconds)), "{text}");
        }
        for text in ["", "7", "d", "7x", "-1h", "1.5h", "7 d", "h12", "99999999999999999999d", "9223372036854775807d"] {
            let refused = parse_duration(text).expect_err(text);
            assert!(refused.contains("such as 7d"), "{text:?}: {refused}");
        }
        for text in ["7d", "12h", "90m", "45s", "0s"] {
            assert_eq!(humane(parse_duration(text).expect("duration")), text);
        }
    }

    #[test]
    fn session_lifetimes_default_to_the_policys_and_are_read_from_flags() {
        let config = serve(&[]).expect("defaults");
        assert_eq!(config.session_policy(), Ok(SessionPolicy::default()));

        let config = serve(&["--session-lifetime", "12h", "--session-idle-timeout", "30m"]).expect("flags");
        let policy = config.session_policy().expect("a valid policy");
        assert_eq!((policy.absolute(), policy.idle()), (Duration::hours(12), Duration::minutes(30)));
    }

    #[test]
    fn the_secret_key_file_sits_beside_the_sqlite_database_unless_set() {
        let at = |args: &[&str]| serve(args).expect("parses").secret_key_path();
        let sqlite = at(&["--database-url", "sqlite:///srv/keyward/keyward.db?mode=rwc"]);
        assert_eq!(sqlite, std::path::PathBuf::from("/srv/keyward/secret.key"));
        assert_eq!(at(&["--database-url", "postgres://db/keyward"]), std::path::PathBuf::from("data/secret.key"));
        let set = at(&["--database-url", "postgres://db/keyward", "--secret-key-file", "/run/keys/keyward"]);
        assert_eq!(set, std::path::PathBuf::from("/run/keys/keyward"));
        let refused = serve(&["--secret-key", "not-hex"]).expect("parses").server_secret().expect_err("malformed");
        assert!(refused.starts_with("KEYWARD_SECRET_KEY:") && !refused.contains("not-hex"), "{refused}");
    }

    #[test]
    fn a_bad_session_setting_is_refused_naming_its_variable() {
        let error = serve(&["--session-lifetime", "a week"]).expect_err("not a duration");
        assert!(error.to_string().contains("KEYWARD_SESSION_LIFETIME"), "{error}");
        let error = serve(&["--session-idle-timeout", "30"]).expect_err("no unit");
        assert!(error.to_string().contains("KEYWARD_SESSION_IDLE_TIMEOUT"), "{error}");

        let refused = |args: &[&str]| serve(args).expect("parses").session_policy().expect_err("refused");
        let zero = refused(&["--session-lifetime", "0s", "--session-idle-timeout", "0s"]);
        assert!(zero.starts_with("KEYWARD_SESSION_LIFETIME:"), "{zero}");
        let too_long = refused(&["--session-lifetime", "400d"]);
        assert!(too_long.starts_with("KEYWARD_SESSION_LIFETIME:"), "{too_long}");
        let too_short = refused(&["--session-idle-timeout", "5m"]);
        assert!(too_short.starts_with("KEYWARD_SESSION_IDLE_TIMEOUT:"), "{too_short}");
        let beyond = refused(&["--session-lifetime", "1h", "--session-idle-timeout", "2h"]);
        assert_eq!(beyond, "KEYWARD_SESSION_IDLE_TIMEOUT (2h) must not be longer than KEYWARD_SESSION_LIFETIME (1h)");
    }
}
