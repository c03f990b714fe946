//! The ceiling of `make bench`: bare actix-web on the same machine, in its own process, with
//! actix's default workers like `payram-merchant serve`. `POST /webhook` reads the whole body
//! and answers 200 `{"ok":true}`; nothing is parsed, authenticated or stored. What the webhook
//! reaches, as a fraction of this, is the cost of doing the work.
//!
//! It listens on a free port of 127.0.0.1 and prints `bench-ceiling listening on http://ADDR`
//! alone on a line, as the server does. The benchmark (`benches/webhook/`) builds and starts
//! it; it is an example only so that it may use the dev-dependencies.

use std::io::Write as _;

use actix_web::{App, HttpResponse, HttpServer, web};

async fn webhook(body: web::Bytes) -> HttpResponse {
    // The body is read in full before this runs; its length keeps it from being optimised out.
    std::hint::black_box(body.len());
    HttpResponse::Ok().content_type("application/json").body(r#"{"ok":true}"#)
}

fn main() -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async {
        let server = HttpServer::new(|| App::new().route("/webhook", web::post().to(webhook)))
            .bind(("127.0.0.1", 0))?;
        let addr = server.addrs().first().copied().ok_or(std::io::ErrorKind::AddrNotAvailable)?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "bench-ceiling listening on http://{addr}")?;
        stdout.flush()?;
        server.run().await
    })
}
