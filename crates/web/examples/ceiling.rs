//! The ceiling `scripts/bench-web` measures against: a hello-world on the same axum and tokio as
//! sealdesk (the lockfile's), with tokio's default multi-thread runtime.
//!
//! `cargo run --release -p web --example ceiling -- 127.0.0.1:18500`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18500".into());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ceiling listening on http://{addr}/");
    axum::serve(listener, app).await
}
