//! `cargo xtask fake-jira-server` writes a private key for the user to try; stopping it with
//! SIGTERM (`kill`, a container stopping) must remove the key, as Ctrl-C does.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[cfg(unix)]
#[test]
fn sigterm_removes_the_fake_servers_private_key() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fake-jira-server"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.trim().strip_prefix("private key") {
                let path = rest.trim().split("   ").next().unwrap().to_owned();
                tx.send(path).unwrap();
            }
        }
    });
    // Bounded: the fake prints its banner at once or fails.
    let key = std::path::PathBuf::from(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    assert!(key.exists(), "{}", key.display());
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!key.exists(), "{} was left behind", key.display());
    assert!(!key.parent().unwrap().exists());
}
