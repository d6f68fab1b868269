//! Databases for the tests: on the server `TESSERA_TEST_DATABASE_URL` names (`.ci/run` starts one
//! with `.ci/pg.sh`), or else on a throwaway cluster this process starts the same way and stops
//! at exit. Never skipped: without PostgreSQL, the PostgreSQL tests fail.

use std::path::Path;
use std::sync::OnceLock;

struct Server {
    url: String,
    /// Stops the cluster this process started once this process is gone (its stdin closes).
    _watch: Option<std::process::Child>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// The test suite's variable (not the server's: `serve --help` does not list it).
const SERVER_URL_VAR: &str = "TESSERA_TEST_DATABASE_URL";

fn pg_sh() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/pg.sh")
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var(SERVER_URL_VAR)
            && !url.is_empty()
        {
            return Server { url, _watch: None };
        }
        let dir = std::env::temp_dir().join(format!("tessera-pg-{}", std::process::id()));
        let (url, watch) = start_cluster(&dir);
        Server {
            url,
            _watch: Some(watch),
        }
    })
}

/// `.ci/pg.sh CMD DIR`, which must succeed; its output.
fn pg_sh_run(cmd: &str, dir: &Path) -> String {
    let out = std::process::Command::new("bash")
        .arg(pg_sh())
        .arg(cmd)
        .arg(dir)
        .output()
        .expect("run .ci/pg.sh");
    assert!(
        out.status.success(),
        "pg.sh {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A cluster under `dir` (serving TLS with the certificates in `tls`, if given) and the
/// watcher that stops it once this process is gone.
fn start_cluster_with(dir: &Path, tls: Option<&Path>) -> (String, std::process::Child) {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(pg_sh()).arg("start").arg(dir);
    if let Some(t) = tls {
        cmd.env("PG_TLS_DIR", t);
    }
    let out = cmd.output().expect("run .ci/pg.sh");
    assert!(
        out.status.success(),
        "pg.sh start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let watch = std::process::Command::new("bash")
        .arg(pg_sh())
        .arg("watch")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run .ci/pg.sh watch");
    (url, watch)
}

fn start_cluster(dir: &Path) -> (String, std::process::Child) {
    start_cluster_with(dir, None)
}

/// A PostgreSQL server of the test's own, to stop and start again (the database going away).
pub(crate) struct OwnServer {
    pub url: String,
    dir: std::path::PathBuf,
    _watch: std::process::Child,
}

impl OwnServer {
    pub(crate) fn start() -> OwnServer {
        Self::start_with(None)
    }

    /// A server that also speaks TLS with `certs/make-dev-certs.sh`'s `server.{pem,key}` in
    /// `tls`.
    pub(crate) fn start_with(tls: Option<&Path>) -> OwnServer {
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::remove_dir_all(&dir).unwrap();
        let (url, watch) = start_cluster_with(&dir, tls);
        OwnServer {
            url,
            dir,
            _watch: watch,
        }
    }

    /// Stop the server (fast shutdown): every connection drops, new ones are refused.
    pub(crate) fn pause(&self) {
        pg_sh_run("pause", &self.dir);
    }

    /// Start it again, on the same port.
    pub(crate) fn resume(&self) {
        pg_sh_run("resume", &self.dir);
    }
}

/// `url` with its database name replaced by `db`.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_end..].find('/') {
        Some(i) => &base[..host_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// The URL of a database of its own for `place` (the same database for the same place),
/// created if it does not exist yet.
pub(crate) fn database_for(place: &Path) -> String {
    use sha2::Digest as _;

    let digest = sha2::Sha256::digest(place.as_os_str().as_encoded_bytes());
    let name: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("t_{name}");
    let db = name.clone();
    let server = server();
    let url = server.url.clone();
    // A thread of its own: the caller may be async.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL server");
            tokio::spawn(conn);
            match client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
            {
                Ok(()) => {}
                Err(e)
                    if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
                Err(e) => panic!("create database {name}: {e}"),
            }
        });
    })
    .join()
    .unwrap();
    with_database(&server.url, &db)
}
