//! The Keyward server: configuration, migrations, the router, graceful shutdown.

mod config;
mod router;

use app::ssr::{AppState, db};
use clap::Parser;
use config::Config;
use leptos::config::get_configuration;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let mut leptos_options = get_configuration(Some(&config.leptos_toml))?.leptos_options;
    if let Some(listen) = config.listen {
        leptos_options.site_addr = listen;
    }
    let addr = leptos_options.site_addr;

    let db = db::connect_and_migrate(&config.database_url).await?;
    tracing::info!(backend = ?db.get_database_backend(), "database ready, migrations applied");

    let state = AppState { leptos_options, db, secure_cookies: config.secure_cookies };
    let app = router::build(state.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Keyward is ready at http://{addr}");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    state.db.close().await?;
    tracing::info!("Keyward stopped");
    Ok(())
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
