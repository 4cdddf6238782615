//! The Keyward server: configuration, migrations, the router, graceful shutdown.

use app::ssr::{AppState, Core, db};
use clap::Parser;
use keyward::config::Config;
use keyward::{router, tasks};
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

    let core = Core::new(db);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flusher = tasks::spawn_usage_flush(core.clone(), config.usage_flush_interval(), stopped);
    let state = AppState::new(leptos_options, core.clone(), config.secure_cookies);
    let app = router::build(state);
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
    core.db.close().await?;
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
