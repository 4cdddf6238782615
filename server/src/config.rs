//! The `keyward` command line: `serve` (the default), `migrate` and `create-owner`, with every
//! setting from a flag or an environment variable.

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
    Serve(Config),
    /// Bring the database schema up to date, then exit: for deployments that migrate in a separate
    /// step before rolling out new instances.
    Migrate(MigrateArgs),
    /// Create an organization and its owner without the browser (the first one, or another one).
    /// The password is read from KEYWARD_OWNER_PASSWORD, or else from the first line of stdin.
    CreateOwner(CreateOwnerArgs),
}

impl Cli {
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
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

    /// Redis URL (redis://host:6379/0). With it, per-key rate limits are counted across every
    /// instance that uses the same Redis; without it, each instance counts its own.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// A bearer token that `/metrics` requires. Without it, `/metrics` is open: keep it off the
    /// public network then (its figures name no key, but they describe your traffic).
    #[arg(long, env = "KEYWARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The Leptos site settings file.
    #[arg(long, env = "KEYWARD_LEPTOS_TOML", default_value = "Leptos.toml")]
    pub leptos_toml: String,
}

impl Config {
    pub fn usage_flush_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.usage_flush_secs)
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
}
