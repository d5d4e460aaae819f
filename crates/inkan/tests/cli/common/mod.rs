//! Running the `inkan` binary in tests: the command, and a PKI server that lives as long as the
//! test holds it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn inkan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_inkan"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `inkan pki serve`, killed when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `inkan pki serve --dir DIR --listen 127.0.0.1:PORT` and waits until it listens.
pub fn serve(dir: &Path, port: u16) -> Server {
    let mut child = inkan()
        .args(["pki", "serve", "--dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    // Keep draining what the server prints, so it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Server(child)
}

/// `inkan pki init` for `org` on a free port, then `inkan pki serve`.
pub fn init_and_serve(dir: &Path, org: &str) -> Server {
    let port = free_port();
    inkan_testkit::run_ok(inkan().args(["pki", "init", "--dir"]).arg(dir).args([
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
        "--org",
        org,
    ]));
    serve(dir, port)
}
pub mod service;
