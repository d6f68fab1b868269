//! The operator's side of the real binary: a port in use, host names in `--listen`, logs
//! without colour codes when not at a terminal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn tessera() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.env_remove("TESSERA_ROOT_ACCESS_KEY_ID")
        .env_remove("TESSERA_ROOT_SECRET_ACCESS_KEY")
        .env_remove("TESSERA_LOG");
    c
}

#[test]
fn a_port_in_use_is_named_and_the_data_dir_is_left_alone() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = tessera()
        .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{addr}: address already in use")),
        "{stderr}"
    );
    assert!(
        !data.exists(),
        "nothing is created before the listener is bound"
    );
}

#[test]
fn listen_takes_a_host_name_and_logs_carry_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tessera()
        .args(["serve", "--listen", "localhost:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut listening = None;
    while listening.is_none() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Some(url) = line.strip_prefix("tessera listening on ")
        {
            listening = Some(url.to_owned());
        }
    }
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    let url = listening.expect("the server says where it listens");
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://[::1]:"),
        "{url}"
    );
    assert!(stderr.contains("tessera serving"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr:?}");
}

/// `tessera serve --help` lists every `TESSERA_*` environment variable the source reads.
#[test]
fn serve_help_lists_every_environment_variable() {
    let out = tessera().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let mut read = std::collections::BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("env::var(\"TESSERA_") {
                let name: String = text[i + "env::var(\"".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                read.insert(name);
            }
            for (i, _) in text.match_indices("try_from_env(\"TESSERA_") {
                let name: String = text[i + "try_from_env(\"".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                    .collect();
                read.insert(name);
            }
        }
    }
    assert!(read.len() >= 6, "found {read:?}");
    for name in &read {
        assert!(
            help.contains(name.as_str()),
            "`serve --help` does not list {name}"
        );
    }
}

/// `tessera serve` on `data`, once it says where it listens: the child and its URL.
fn serve(data: &std::path::Path) -> (std::process::Child, String) {
    let mut child = tessera()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Some(url) = line.strip_prefix("tessera listening on ")
        {
            return (child, url.to_owned());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    panic!("the server did not start");
}

#[test]
fn one_server_per_data_dir_and_cli_commands_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut first, _url) = serve(&data);
    let started = Instant::now();
    let out = tessera()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "refused at once"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("data dir {} is in use", data.display()))
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    // Commands that do not serve keep working beside the server.
    let tail = tessera()
        .args(["audit", "tail", "-n", "5", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        tail.status.success(),
        "{}",
        String::from_utf8_lossy(&tail.stderr)
    );
    let account = tessera()
        .args(["account", "create", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        account.status.success(),
        "{}",
        String::from_utf8_lossy(&account.stderr)
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // Once the first is gone (even killed), the data dir is free again.
    let (mut again, _) = serve(&data);
    again.kill().unwrap();
    again.wait().unwrap();
}

#[test]
fn every_file_in_the_data_dir_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, _) = serve(&data);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    for name in [
        "tessera.db",
        "tessera.db-wal",
        "audit.db",
        "keyring",
        "audit.journal",
        "root-credentials",
        "serve.lock",
    ] {
        assert!(seen.iter().any(|s| s == name), "{name} in {seen:?}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn listening_beyond_loopback_without_tls_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tessera()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut warned = false;
    while !warned && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            warned = line.contains("WARN") && line.contains("without TLS");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(warned, "no warning for a non-loopback listener without TLS");
}
