//! The real `tessera` binary: restart and `kill -9` survival, and `tessera account create`
//! seen by a running server at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::Region;
use common::Creds;

const ROOT_ID: &str = "AKIATESSERATESTROOTA";
const ROOT_SECRET: &str = "tesseraTestRootSecretKey0123456789abcdef";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// As `start`, with extra environment variables.
    fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_logging(dir, env, Stdio::inherit())
    }

    /// As `start_with`, the server's log (stderr) going to `stderr`.
    fn start_logging(dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .env("TESSERA_ROOT_ACCESS_KEY_ID", ROOT_ID)
            .env("TESSERA_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .env("TESSERA_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, endpoint }
    }

    /// A new user `name` of the default account and the credentials of its access key.
    async fn user_with_key(&self, name: &str) -> Creds {
        let iam = self.iam(&root());
        iam.create_user().user_name(name).send().await.unwrap();
        let k = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        Creds::new(k.access_key_id(), k.secret_access_key())
    }

    /// SIGKILL: no shutdown hooks, no flush.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn conf(&self, c: &Creds) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    c.access_key_id.clone(),
                    c.secret.clone(),
                    c.token.clone(),
                    None,
                    "t",
                )),
            )
            .build()
    }

    fn sts(&self, c: &Creds) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.conf(c))
    }

    fn iam(&self, c: &Creds) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.conf(c))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> Creds {
    Creds::new(ROOT_ID, ROOT_SECRET)
}

/// Runs `tessera ARGS --data-dir DIR`, which must succeed, and returns its stdout.
fn tessera_ok(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let iam = s.iam(&root());
    let user = s.user_with_key("durable").await;
    let session = Creds::from(
        s.sts(&user)
            .get_session_token()
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );

    // Writes in flight when the process dies: every acknowledged one must survive.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let iam = iam.clone();
        tasks.push(tokio::spawn(async move {
            iam.create_user()
                .user_name(format!("burst{i}"))
                .send()
                .await
                .is_ok()
                .then_some(i)
        }));
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.kill9();
    let mut acked = Vec::new();
    for t in tasks {
        if let Ok(Some(i)) = t.await {
            acked.push(i);
        }
    }

    let s = Server::start(dir.path());
    let iam = s.iam(&root());
    for i in &acked {
        iam.get_user()
            .user_name(format!("burst{i}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("acknowledged user burst{i} lost: {e:?}"));
    }
    // Keys, users and earlier session tokens are still valid.
    let me = s.sts(&user).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::000000000000:user/durable"));
    let me = s.sts(&session).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::000000000000:user/durable"));
    // The root key came from the environment and stays the same on restart.
    s.sts(&root()).get_caller_identity().send().await.unwrap();
}

/// `tessera audit tail -n N` on `dir`: the records' issued temporary key ids.
fn audited_key_ids(dir: &Path) -> Vec<String> {
    let out = tessera_ok(&["audit", "tail", "-n", "100000"], dir);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.get("issued_access_key_id")?.as_str().map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn kill_9_keeps_the_audit_record_of_every_credential_handed_out() {
    kill_9_keeps_audit_records("copy").await;
}

#[tokio::test]
async fn kill_9_keeps_the_audit_record_of_every_credential_with_synced_batches() {
    kill_9_keeps_audit_records("batch").await;
}

async fn kill_9_keeps_audit_records(audit_sync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("TESSERA_AUDIT_SYNC", audit_sync)];
    let s = Server::start_with(dir.path(), &env);
    let user = s.user_with_key("audited").await;
    // Records guarding credentials are committed to the audit journal and reach SQLite up to
    // 100 ms later: the process dies right after the last answer, before any copy.
    let sts = s.sts(&user);
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let sts = sts.clone();
        tasks.push(tokio::spawn(async move {
            sts.get_session_token()
                .duration_seconds(900)
                .send()
                .await
                .ok()
                .and_then(|o| Some(o.credentials()?.access_key_id().to_owned()))
        }));
    }
    let mut issued = Vec::new();
    for t in tasks {
        issued.extend(t.await.unwrap());
    }
    s.kill9();
    assert_eq!(issued.len(), 40);

    // Read with the server down (from SQLite and the journal) ...
    let seen = audited_key_ids(dir.path());
    for id in &issued {
        assert!(seen.contains(id), "no audit record for {id} after kill -9");
    }
    // ... and after a restart has copied the journal into SQLite: each exactly once.
    let s = Server::start_with(dir.path(), &env);
    s.sts(&user).get_caller_identity().send().await.unwrap();
    for attempt in 0.. {
        let seen = audited_key_ids(dir.path());
        let ok = issued
            .iter()
            .all(|id| seen.iter().filter(|s| *s == id).count() == 1);
        if ok {
            break;
        }
        assert!(
            attempt < 50,
            "records lost or doubled after restart: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(s);
}

#[test]
fn an_unknown_audit_sync_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("TESSERA_AUDIT_SYNC", "fsync")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("audit_sync") && err.contains("`fsync`"),
        "{err}"
    );
}

#[tokio::test]
async fn account_create_is_seen_by_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "account",
            "create",
            "--id",
            "111122223333",
            "--alias",
            "second",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["AccountId"], "111122223333");
    let creds = Creds::new(
        v["AccessKeyId"].as_str().unwrap(),
        v["SecretAccessKey"].as_str().unwrap(),
    );
    let me = s.sts(&creds).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::111122223333:root"));
    assert_eq!(me.account(), Some("111122223333"));

    // A second account with the same id is refused; a random id is 12 digits.
    let dup = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["account", "create", "--id", "111122223333", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["account", "create", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["AccountId"].as_str().unwrap();
    assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn keys_rotate_keeps_earlier_sessions_valid() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let before = Creds::from(
        s.sts(&root())
            .get_session_token()
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    s.kill9();
    tessera_ok(&["keys", "rotate"], dir.path());
    let s = Server::start(dir.path());
    s.sts(&before).get_caller_identity().send().await.unwrap();
    let after = Creds::from(
        s.sts(&root())
            .get_session_token()
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    s.sts(&after).get_caller_identity().send().await.unwrap();
    // Long-term keys (sealed at rest) survive two rotations: they are re-sealed each time.
    s.kill9();
    for _ in 0..2 {
        tessera_ok(&["keys", "rotate"], dir.path());
    }
    let s = Server::start(dir.path());
    s.sts(&root()).get_caller_identity().send().await.unwrap();
    let e = s
        .sts(&before)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        common::code(&e),
        "InvalidClientTokenId",
        "two rotations retire the oldest key"
    );
}

/// `tessera audit tail -n 0 --follow` prints only the records that arrive after it starts.
#[tokio::test]
async fn tail_n_0_follow_prints_only_new_records() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let sts = s.sts(&root());
    let token = |sts: aws_sdk_sts::Client| async move {
        sts.get_session_token()
            .duration_seconds(900)
            .send()
            .await
            .unwrap()
            .credentials()
            .unwrap()
            .access_key_id()
            .to_owned()
    };
    let old = token(sts.clone()).await;
    // Wait until the old record is in SQLite (the copier runs every 100 ms).
    std::thread::sleep(Duration::from_millis(300));
    let mut tail = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["audit", "tail", "-n", "0", "--follow", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = tail.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    let new = token(sts.clone()).await;
    let mut lines = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            let done = l.contains(&new);
            lines.push(l);
            if done {
                break;
            }
        }
    }
    tail.kill().unwrap();
    tail.wait().unwrap();
    assert!(lines.iter().any(|l| l.contains(&new)), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains(&old)),
        "an old record: {lines:?}"
    );
}

/// SIGTERM under load: requests in flight finish, the process logs "shutting down" and exits 0,
/// and every credential handed out before the signal has its audit record, in SQLite already.
#[tokio::test]
async fn sigterm_under_load_exits_cleanly_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    let mut s = Server::start_logging(
        &data,
        &[("TESSERA_LOG", "info")],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let user = s.user_with_key("busy").await;
    let sts = s.sts(&user);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (sts, stop) = (sts.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut issued = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match sts.get_session_token().duration_seconds(900).send().await {
                    Ok(o) => issued.push(o.credentials().unwrap().access_key_id().to_owned()),
                    Err(_) => break,
                }
            }
            issued
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut issued = Vec::new();
    for t in tasks {
        issued.extend(t.await.unwrap());
    }
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("every audit record committed"), "{log}");
    assert!(issued.len() > 16, "load was running: {}", issued.len());
    // Everything is in SQLite (the journal was drained): read the table alone.
    let seen = audited_key_ids(&data);
    for id in &issued {
        assert!(seen.contains(id), "no audit record for {id} after SIGTERM");
    }
    let copied = audit_table_key_ids(&data);
    for id in &issued {
        assert!(
            copied.contains(id),
            "{id} only in the journal after a clean stop"
        );
    }
}

/// The issued key ids in the SQLite audit table itself: `audit tail` on a copy of the data dir
/// without its journal.
fn audit_table_key_ids(data: &Path) -> Vec<String> {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name != "audit.journal" {
            std::fs::copy(&path, copy.path().join(name)).unwrap();
        }
    }
    audited_key_ids(copy.path())
}
