//! The `keyward` binary: `serve` (configuration, migrations, the router, graceful shutdown),
//! `migrate`, and `create-owner`.

use app::model::SetupForm;
use app::ssr::rate_limit::{RateLimiter, SharedWindows};
use app::ssr::services::webhooks::{self, WebhookSettings};
use app::ssr::services::{Client, auth};
use app::ssr::verification_log::VerificationLog;
use app::ssr::{AppState, Core, db, invalidation};
use clap::Parser;
use keyward::config::{Cli, Command, Common, Config, CreateOwnerArgs, LogFormat};
use keyward::{router, security, tasks, telemetry};
use leptos::config::get_configuration;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

type Failure = Box<dyn std::error::Error>;

/// How often each instance looks for due webhook deliveries: an event is sent within about this
/// long (a look that finds nothing due is one indexed read).
const WEBHOOKS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

#[tokio::main]
async fn main() -> ExitCode {
    let command = Cli::parse().command();
    let common = match &command {
        Command::Serve(config) => &config.common,
        Command::Migrate(args) => &args.common,
        Command::CreateOwner(args) => &args.common,
    };
    init_logging(common);
    let outcome = match command {
        Command::Serve(config) => serve(*config).await,
        Command::Migrate(args) => migrate(&args.common).await,
        Command::CreateOwner(args) => create_owner(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(common: &Common) {
    let filter = EnvFilter::try_new(&common.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match common.log_format {
        LogFormat::Text => logs.init(),
        // One object per line; the request's span (method, path, request id) goes with every event.
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    // A bad setting stops the start here, with its variable named, before anything is opened.
    let sessions = config.session_policy()?;
    let metrics = telemetry::install_recorder()?;
    let mut leptos_options = get_configuration(Some(&config.leptos_toml))?.leptos_options;
    if let Some(listen) = config.listen {
        leptos_options.site_addr = listen;
    }
    let addr = leptos_options.site_addr;
    require_hash_file(&leptos_options)?;

    let db = db::connect_and_migrate(&config.common.database_url).await?;
    tracing::info!(backend = ?db.get_database_backend(), "database ready, migrations applied");

    let secret = config.server_secret()?;
    webhooks::adopt_server_secret(&db, &secret).await.map_err(|e| e.to_string())?;
    let allow_private = config.webhook_allow_private;
    let sender = keyward::webhooks::Sender::new(allow_private)?;
    let mut core = Core::new(db)
        .with_session_policy(sessions)
        .with_verification_log(VerificationLog::keeping(config.verification_log_days))
        .with_webhooks(WebhookSettings { secret, allow_private })
        .with_leak_reporters(config.leak_reporters()?);
    if let Some(url) = &config.redis_url {
        let shared = SharedWindows::connect(url).await.map_err(|e| format!("REDIS_URL: cannot reach Redis: {e}"))?;
        core = core.with_limiter(RateLimiter::shared(shared));
        tracing::info!("rate limits are shared through Redis");
    }
    let listener_task = invalidation::spawn_listener(&core.db, core.cache.clone()).await?;
    if listener_task.is_some() {
        tracing::info!(channel = invalidation::CHANNEL, "listening for key changes made by other instances");
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flusher = tasks::spawn_usage_flush(core.clone(), config.usage_flush_interval(), stopped.clone());
    let purger = tasks::spawn_session_purge(core.clone(), tasks::SESSION_PURGE_EVERY, stopped.clone());
    let proxies = security::parse_trusted_proxies(&config.trusted_proxies)?;
    let site = security::Site::new(config.public_url.as_deref(), addr, proxies, config.secure_cookies)?;
    let mailer = match &config.smtp_url {
        Some(url) => {
            let mailer = keyward::mail::Mailer::new(url, &config.smtp_from, &site.origin)?;
            tracing::info!("expiry reminders are emailed to each key's creator");
            Some(keyward::mail::spawn_reminder_emails(core.clone(), mailer, stopped.clone()))
        }
        None => None,
    };
    let deliverer = keyward::webhooks::spawn_delivery(core.clone(), sender, WEBHOOKS_EVERY, stopped);
    tracing::info!(origin = %site.origin, trusted_proxies = site.trusted_proxies.len(), "browser requests must come from this origin");
    let state = AppState::new(leptos_options, core.clone(), config.secure_cookies);
    let app = router::build(state, site).merge(telemetry::routes(metrics, core.clone(), config.metrics_token.clone()));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Keyward is ready at http://{addr}");
    // The peer address goes into the audit log.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    // In-flight requests are done: write what they counted, then close.
    let _ = stop.send(true);
    if let Err(e) = flusher.await {
        tracing::error!(error = %e, "usage flush task failed");
    }
    if let Err(e) = purger.await {
        tracing::error!(error = %e, "session purge task failed");
    }
    if let Err(e) = deliverer.await {
        tracing::error!(error = %e, "webhook delivery task failed");
    }
    if let Some(Err(e)) = match mailer {
        Some(task) => Some(task.await),
        None => None,
    } {
        tracing::error!(error = %e, "reminder email task failed");
    }
    if let Some(task) = listener_task {
        task.abort();
    }
    db::settle(&core.db, std::time::Duration::from_secs(5)).await;
    core.db.close().await?;
    tracing::info!("Keyward stopped");
    Ok(())
}

async fn migrate(common: &Common) -> Result<(), Failure> {
    let db = db::connect_and_migrate(&common.database_url).await?;
    tracing::info!(backend = ?db.get_database_backend(), "migrations applied; the schema is up to date");
    db.close().await?;
    Ok(())
}

async fn create_owner(args: CreateOwnerArgs) -> Result<(), Failure> {
    let password = match std::env::var("KEYWARD_OWNER_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            eprintln!(
                "Password for {} (at least {} characters), then Enter:",
                args.email,
                app::model::MIN_PASSWORD_CHARS
            );
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let db = db::connect_and_migrate(&args.common.database_url).await?;
    // The session opened for the new owner is closed below, so its lifetimes do not matter here.
    let core = Core::new(db.clone());
    let form = SetupForm { organization: args.organization, name: args.name, email: args.email, password };
    let first = auth::needs_setup(&db).await?;
    let client = Client { ip: None, user_agent: Some("keyward create-owner".into()) };
    let session = if first {
        auth::set_up(&core, form, &client).await
    } else {
        auth::register_organization(&core, form, &client).await
    }
    .map_err(|e| e.to_string())?;
    // Nobody signs in from the command line: the session set up for the browser is not kept.
    auth::sign_out(&db, &session.token).await?;
    let what = if first { "the first organization" } else { "a new organization" };
    tracing::info!("created {what} and its owner; sign in at the dashboard");
    db.close().await?;
    Ok(())
}

/// With `hash-files` on, the pages name the site's files from `hash.txt`, which cargo-leptos writes
/// beside the binary it builds; leptos panics rendering any page without it. Refused at start
/// instead, saying what to do.
fn require_hash_file(options: &leptos::config::LeptosOptions) -> Result<(), Failure> {
    if !options.hash_files {
        return Ok(());
    }
    let exe = std::env::current_exe()?;
    let hash_file = exe.parent().unwrap_or(std::path::Path::new(".")).join(&*options.hash_file);
    if hash_file.exists() {
        return Ok(());
    }
    Err(format!(
        "{} is missing: the site's files are named by their hash (hash-files in Leptos.toml), and `cargo leptos build` \
         writes this file beside the binary it builds. Copy it with the binary, or set LEPTOS_HASH_FILES=false for a \
         server that serves no pages.",
        hash_file.display()
    )
    .into())
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
