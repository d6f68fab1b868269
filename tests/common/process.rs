//! The real `tessera serve` binary as a child process: started on `127.0.0.1:0` with a fixed
//! root key, its log collected line by line, killed when dropped.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const ROOT_ID: &str = "AKIATESSERAPROCESSAA";
pub(crate) const ROOT_SECRET: &str = "processRootSecretKey0123456789abcdefghij";

pub(crate) fn tessera() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TESSERA_") || k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("TESSERA_ROOT_ACCESS_KEY_ID", ROOT_ID)
        .env("TESSERA_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
        .env("TESSERA_LOG", "info");
    c
}

pub(crate) struct Served {
    pub child: Child,
    /// What the server printed: `http://127.0.0.1:PORT` or `https://…`.
    pub url: String,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

impl Served {
    /// `tessera serve --listen 127.0.0.1:0 --data-dir <temp> ARGS…` with `env`, once it says
    /// where it listens; or what it wrote to stderr when it exited instead.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Result<Served, String> {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, "127.0.0.1:0", args, env)
    }

    pub(crate) fn start_in(
        dir: tempfile::TempDir,
        listen: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Served, String> {
        let mut cmd = tessera();
        cmd.args(["serve", "--listen", listen, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
                && let Some(url) = line.strip_prefix("tessera listening on ")
            {
                let addr = url.rsplit("://").next().unwrap().parse().unwrap();
                return Ok(Served {
                    child,
                    url: url.to_owned(),
                    addr,
                    log,
                    dir,
                });
            }
            if let Ok(Some(_)) = child.try_wait() {
                // Let the reader drain what the process wrote before it exited.
                std::thread::sleep(Duration::from_millis(200));
                let text = log.lock().unwrap().join("\n");
                return Err(text);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not start");
    }

    /// Everything logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Wait (at most `within`) for a log line with every one of `parts`, logged after the
    /// first `skip` lines; returns its index.
    pub(crate) fn wait_log(&self, skip: usize, parts: &[&str], within: Duration) -> Option<usize> {
        let deadline = Instant::now() + within;
        loop {
            {
                let log = self.log.lock().unwrap();
                if let Some(i) = log
                    .iter()
                    .enumerate()
                    .skip(skip)
                    .find(|(_, l)| parts.iter().all(|p| l.contains(p)))
                    .map(|(i, _)| i)
                {
                    return Some(i);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many lines have been logged.
    pub(crate) fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Send a signal by name (`HUP`, `TERM`) with kill(1).
    pub(crate) fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait (at most `max`) until the server closes `tcp`, reading and discarding what it sends;
/// returns how long that took. Fails the test if it stays open.
pub(crate) fn closed_within(tcp: &std::net::TcpStream, max: Duration) -> Duration {
    use std::io::Read as _;
    let started = Instant::now();
    tcp.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut r = tcp;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return started.elapsed(),
        }
        assert!(
            started.elapsed() < max,
            "the connection is still open after {max:?}"
        );
    }
}
