//! A service whose `/orders` only answers callers with a Keyward key holding `orders.read`.
//! KEYWARD_URL=http://127.0.0.1:3000 KEYWARD_ROOT_KEY=<a key with api_keys.verify> cargo run --example protected_service
use axum::{Extension, Router, routing::get};
use keyward_client::{Client, RequireKey, VerifiedKey};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keyward = Client::new(&std::env::var("KEYWARD_URL")?, std::env::var("KEYWARD_ROOT_KEY")?)?;
    let orders = |Extension(key): Extension<VerifiedKey>| async move { format!("orders of {}\n", key.name) };
    let app = Router::new().route("/orders", get(orders)).layer(RequireKey::new(keyward).scopes(["orders.read"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
