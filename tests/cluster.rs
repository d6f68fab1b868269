//! Two `tessera serve` processes on one PostgreSQL database: what one node changes, the other
//! serves within a second; an MFA code is accepted once across both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::time::{Duration, Instant};

use common::process::{ROOT_ID, ROOT_SECRET, Served};
use common::{Creds, sdk_config_at};

/// How soon a change made on one node must be served by the other.
const COHERENCE: Duration = Duration::from_secs(1);

/// The master key every node of the test clusters is given.
const MASTER_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// Two nodes, each with a data dir of its own, on one fresh database; and its URL.
fn cluster() -> (Served, Served, String) {
    let place = tempfile::tempdir().unwrap();
    let url = common::pg::database_for(place.path());
    let args = ["--database-url", url.as_str()];
    let env = [("TESSERA_MASTER_KEY", MASTER_KEY)];
    let a = Served::start(&args, &env).unwrap();
    let b = Served::start(&args, &env).unwrap();
    (a, b, url)
}

fn root() -> Creds {
    Creds::new(ROOT_ID, ROOT_SECRET)
}

fn sts(s: &Served, c: &Creds) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&sdk_config_at(&s.url, c))
}

fn iam(s: &Served, c: &Creds) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config_at(&s.url, c))
}

/// Poll `check` until it holds; how long that took (fails past `within`).
async fn within<F, Fut>(within: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within + Duration::from_secs(5),
            "not within {within:?} (nor 5 s more)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn user_with_key(node: &Served, name: &str) -> Creds {
    let iam = iam(node, &root());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_and_key_made_on_one_node_work_on_the_other_and_a_deactivation_follows_within_a_second()
 {
    let (a, b, _) = cluster();
    let alice = user_with_key(&a, "alice").await;
    let took = within(COHERENCE, || {
        let c = sts(&b, &alice);
        async move { c.get_caller_identity().send().await.is_ok() }
    })
    .await;
    assert!(took < COHERENCE, "new key served by B after {took:?}");
    let who = sts(&b, &alice).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/alice"));
    iam(&b, &root())
        .get_user()
        .user_name("alice")
        .send()
        .await
        .unwrap();

    iam(&a, &root())
        .update_access_key()
        .user_name("alice")
        .access_key_id(&alice.access_key_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let took = within(COHERENCE, || {
        let c = sts(&b, &alice);
        async move {
            match c.get_caller_identity().send().await {
                Ok(_) => false,
                Err(e) => common::code(&e) == "InvalidClientTokenId",
            }
        }
    })
    .await;
    assert!(
        took < COHERENCE,
        "deactivated key refused by B after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_policy_changed_on_one_node_applies_on_the_other() {
    let (a, b, _) = cluster();
    let bob = user_with_key(&a, "bob").await;
    let trust = |who: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{who}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    iam(&a, &root())
        .create_role()
        .role_name("deploy")
        .assume_role_policy_document(trust("bob"))
        .send()
        .await
        .unwrap();
    let assume = |node: &Served| {
        sts(node, &bob)
            .assume_role()
            .role_arn("arn:aws:iam::000000000000:role/deploy")
            .role_session_name("deploy-session")
    };
    within(COHERENCE, || {
        let r = assume(&b);
        async move { r.send().await.is_ok() }
    })
    .await;
    // A user created alongside, so the new trust policy names someone who exists.
    iam(&a, &root())
        .create_user()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    iam(&a, &root())
        .update_assume_role_policy()
        .role_name("deploy")
        .policy_document(trust("carol"))
        .send()
        .await
        .unwrap();
    let took = within(COHERENCE, || {
        let r = assume(&b);
        async move {
            match r.send().await {
                Ok(_) => false,
                Err(e) => common::code(&e) == "AccessDenied",
            }
        }
    })
    .await;
    assert!(
        took < COHERENCE,
        "new trust policy applied by B after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mfa_code_used_on_one_node_is_refused_on_the_other() {
    let (a, b, _) = cluster();
    let dave = user_with_key(&a, "dave").await;
    let admin = iam(&a, &root());
    let dev = admin
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("dave-phone")
        .send()
        .await
        .unwrap();
    let dev = dev.virtual_mfa_device().unwrap();
    let serial = dev.serial_number().to_owned();
    let seed = common::mfa_seed(dev);
    let now = chrono::Utc::now().timestamp();
    admin
        .enable_mfa_device()
        .user_name("dave")
        .serial_number(&serial)
        .authentication_code1(common::totp(&seed, now - 30))
        .authentication_code2(common::totp(&seed, now))
        .send()
        .await
        .unwrap();
    // A code of the next step: neither enabling code, so both nodes may take it once.
    let code = common::totp(&seed, now + 30);
    let session = |node: &Served| {
        sts(node, &dave)
            .get_session_token()
            .serial_number(&serial)
            .token_code(&code)
    };
    // Wait for B to know the device (a wrong code would fail the same way: give it a moment).
    tokio::time::sleep(COHERENCE).await;
    session(&a).send().await.unwrap();
    let again = session(&b).send().await.unwrap_err();
    assert_eq!(common::code(&again), "AccessDenied", "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_keys_rotate_new_tokens_from_one_node_verify_on_the_other() {
    let (a, b, url) = cluster();
    let erin = user_with_key(&a, "erin").await;
    let session = |node: &Served| sts(node, &erin).get_session_token();
    let before = session(&a).send().await.unwrap();
    let before = Creds::from(before.credentials().unwrap());
    let old_key = tessera::credentials::sealed_with(before.token.as_deref().unwrap()).unwrap();

    let out = common::process::tessera()
        .args(["keys", "rotate", "--database-url", &url])
        .env("TESSERA_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cluster keyring rotated"));

    // A seals with the new key within a second...
    let fresh = std::sync::Mutex::new(None);
    let took = within(COHERENCE, || {
        let s = session(&a);
        let fresh = &fresh;
        async move {
            let c = Creds::from(s.send().await.unwrap().credentials().unwrap());
            let key = tessera::credentials::sealed_with(c.token.as_deref().unwrap());
            *fresh.lock().unwrap() = Some(c);
            key != Some(old_key)
        }
    })
    .await;
    assert!(took < COHERENCE, "A took the new key after {took:?}");
    // ... B takes its tokens within a second too (at once, when it looks on meeting a key it
    // does not hold yet), and the tokens sealed before still work on both.
    let fresh = fresh.into_inner().unwrap().unwrap();
    let took = within(COHERENCE, || {
        let c = sts(&b, &fresh);
        async move { c.get_caller_identity().send().await.is_ok() }
    })
    .await;
    assert!(took < COHERENCE, "B took A's new tokens after {took:?}");
    for node in [&b, &a] {
        for creds in [&fresh, &before] {
            let who = sts(node, creds).get_caller_identity().send().await.unwrap();
            assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/erin"));
        }
    }
    // Both nodes still open the secrets stored before (re-sealed by the rotation): erin's key.
    let who = sts(&b, &erin).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/erin"));
}

#[test]
fn a_node_without_the_master_key_or_with_another_one_refuses_to_start() {
    let place = tempfile::tempdir().unwrap();
    let url = common::pg::database_for(place.path());
    let args = ["--database-url", url.as_str()];
    let err = Served::start(&args, &[]).err().unwrap();
    assert!(err.contains("TESSERA_MASTER_KEY"), "{err}");
    let _a = Served::start(&args, &[("TESSERA_MASTER_KEY", MASTER_KEY)]).unwrap();
    let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let err = Served::start(&args, &[("TESSERA_MASTER_KEY", other)])
        .err()
        .unwrap();
    assert!(err.contains("not the one"), "{err}");
    assert!(!err.contains(other) && !err.contains(MASTER_KEY), "{err}");
}

/// A database nobody answers at: the node says where it looked (never the password) and stops.
#[test]
fn a_node_whose_database_does_not_answer_says_where_it_looked() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://tessera:hunter2@127.0.0.1:{port}/nowhere");
    let err = Served::start(
        &["--database-url", url.as_str()],
        &[("TESSERA_MASTER_KEY", MASTER_KEY)],
    )
    .err()
    .unwrap();
    assert!(
        err.contains(&format!("tessera@127.0.0.1:{port}/nowhere")),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

/// An STS client that does not retry (the SDK retries `ServiceUnavailable` by default).
fn sts_once(s: &Served, c: &Creds) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::from(&sdk_config_at(&s.url, c))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

async fn readyz(s: &Served) -> u16 {
    reqwest::get(format!("{}/readyz", s.url))
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// A role `name` that `user` may assume.
async fn assumable_role(node: &Served, name: &str, user: &str) {
    iam(node, &root())
        .create_role()
        .role_name(name)
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{user}"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_sessions_still_work_issuing_is_refused_and_both_recover() {
    let db = common::pg::OwnServer::start();
    let args = ["--database-url", db.url.as_str()];
    let a = Served::start(&args, &[("TESSERA_MASTER_KEY", MASTER_KEY)]).unwrap();
    let frank = user_with_key(&a, "frank").await;
    assumable_role(&a, "ops", "frank").await;
    let assume = || {
        sts_once(&a, &frank)
            .assume_role()
            .role_arn("arn:aws:iam::000000000000:role/ops")
            .role_session_name("ops-session")
    };
    let session = Creds::from(assume().send().await.unwrap().credentials().unwrap());
    assert_eq!(readyz(&a).await, 200);

    db.pause();
    // What needs no database still works: a session, and a long-term key.
    for creds in [&session, &frank] {
        sts_once(&a, creds)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
    }
    // Issuing needs its audit record committed: refused, promptly, as a temporary failure.
    let started = Instant::now();
    let err = assume().send().await.unwrap_err();
    assert_eq!(common::code(&err), "ServiceUnavailable", "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let iam_err = iam(&a, &root())
        .create_user()
        .user_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::iam_code(&iam_err), "ServiceUnavailable");
    within(COHERENCE, || async { readyz(&a).await == 503 }).await;
    sts_once(&a, &session)
        .get_caller_identity()
        .send()
        .await
        .unwrap();

    db.resume();
    within(Duration::from_secs(10), || async {
        assume().send().await.is_ok() && readyz(&a).await == 200
    })
    .await;
    sts_once(&a, &session)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_has_an_audit_record_for_every_credential_it_handed_out() {
    let (a, b, url) = cluster();
    let gail = user_with_key(&a, "gail").await;
    assumable_role(&a, "batch", "gail").await;
    let issued = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = sts_once(&a, &gail);
            let issued = issued.clone();
            tokio::spawn(async move {
                loop {
                    match client
                        .assume_role()
                        .role_arn("arn:aws:iam::000000000000:role/batch")
                        .role_session_name("batch-session")
                        .send()
                        .await
                    {
                        Ok(out) => issued
                            .lock()
                            .unwrap()
                            .push(out.credentials().unwrap().access_key_id().to_owned()),
                        // The node is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let issued = issued.lock().unwrap().clone();
    assert!(issued.len() > 20, "only {} sessions issued", issued.len());

    // B keeps serving.
    let who = sts(&b, &gail).get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/gail"));

    // Every credential handed out has its record.
    let out = common::process::tessera()
        .args(["audit", "tail", "-n", "1000000", "--database-url", &url])
        .env("TESSERA_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trail = String::from_utf8(out.stdout).unwrap();
    let recorded: std::collections::HashSet<String> = trail
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["issued_access_key_id"].as_str().map(str::to_owned))
        .collect();
    let missing: Vec<_> = issued.iter().filter(|k| !recorded.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} without a record: {missing:?}",
        missing.len(),
        issued.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_copy_moves_an_installation_in_and_refuses_to_do_it_twice() {
    // An embedded installation, killed (its last audit frames only in the journal).
    let local = Served::start(&[], &[]).unwrap();
    let hana = user_with_key(&local, "hana").await;
    let admin = iam(&local, &root());
    admin
        .tag_user()
        .user_name("hana")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("infra")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    admin
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("hana-phone")
        .send()
        .await
        .unwrap();
    assumable_role(&local, "deploy", "hana").await;
    let session = sts(&local, &hana)
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/deploy")
        .role_session_name("before-the-move")
        .send()
        .await
        .unwrap();
    let session = Creds::from(session.credentials().unwrap());
    let data = local.dir.path().join("data");
    let mut local = local;
    local.child.kill().unwrap();
    local.child.wait().unwrap();

    let place = tempfile::tempdir().unwrap();
    let url = common::pg::database_for(place.path());
    let copy = || {
        common::process::tessera()
            .args(["store", "copy", "--from"])
            .arg(&data)
            .args(["--to", &url])
            .env("TESSERA_MASTER_KEY", MASTER_KEY)
            .output()
            .unwrap()
    };
    let out = copy();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("secrets re-sealed"), "{said}");
    assert!(
        said.contains("audit records") && said.contains("127.0.0.1"),
        "{said}"
    );

    // A node on the database serves what the data dir held: the key (its secret re-sealed
    // under the cluster keyring), the tags, the role, the MFA device.
    let node = Served::start(
        &["--database-url", url.as_str()],
        &[("TESSERA_MASTER_KEY", MASTER_KEY)],
    )
    .unwrap();
    let who = sts(&node, &hana)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/hana"));
    let admin = iam(&node, &root());
    let tags = admin
        .list_user_tags()
        .user_name("hana")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].value(), "infra");
    admin.get_role().role_name("deploy").send().await.unwrap();
    let devices = admin.list_virtual_mfa_devices().send().await.unwrap();
    assert_eq!(devices.virtual_mfa_devices().len(), 1);
    sts(&node, &hana)
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/deploy")
        .role_session_name("after-the-move")
        .send()
        .await
        .unwrap();
    // The audit trail came along, the record of the session issued before the move included.
    let out = common::process::tessera()
        .args(["audit", "tail", "-n", "1000", "--database-url", &url])
        .env("TESSERA_MASTER_KEY", MASTER_KEY)
        .output()
        .unwrap();
    let trail = String::from_utf8_lossy(&out.stdout);
    assert!(trail.contains(&session.access_key_id), "{trail}");

    // Twice: refused, nothing duplicated.
    let out = copy();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds accounts"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users = admin.list_users().send().await.unwrap();
    assert_eq!(users.users().len(), 1);
}
