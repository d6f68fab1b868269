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
        let out = std::process::Command::new("bash")
            .arg(pg_sh())
            .arg("start")
            .arg(&dir)
            .output()
            .expect("run .ci/pg.sh");
        assert!(
            out.status.success(),
            "cannot start a PostgreSQL cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let watch = std::process::Command::new("bash")
            .arg(pg_sh())
            .arg("watch")
            .arg(&dir)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("run .ci/pg.sh watch");
        Server {
            url,
            _watch: Some(watch),
        }
    })
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
