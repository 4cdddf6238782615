//! All of the server's configuration, from flags or environment variables.

use clap::Parser;
use std::net::SocketAddr;

#[derive(Debug, Clone, Parser)]
#[command(name = "keyward", version, about = "Keyward: self-hosted API key management")]
pub struct Config {
    /// Database URL: SQLite (the default, a file under ./data/) or PostgreSQL (postgres://...).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/keyward.db")]
    pub database_url: String,

    /// Address to listen on. Defaults to Leptos's `site-addr` (Leptos.toml, or LEPTOS_SITE_ADDR).
    #[arg(long, env = "KEYWARD_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Log filter, in `tracing` syntax (e.g. `info`, `keyward=debug,tower_http=info`).
    #[arg(long, env = "KEYWARD_LOG", default_value = "info")]
    pub log: String,

    /// Mark the session cookie `Secure`: set this when Keyward is served over HTTPS.
    #[arg(long, env = "KEYWARD_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// How often usage counted in memory (last used, calls per hour) is written to the database, in seconds.
    #[arg(long, env = "KEYWARD_USAGE_FLUSH_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub usage_flush_secs: u64,

    /// The Leptos site settings file.
    #[arg(long, env = "KEYWARD_LEPTOS_TOML", default_value = "Leptos.toml")]
    pub leptos_toml: String,
}

impl Config {
    pub fn usage_flush_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.usage_flush_secs)
    }
}
