//! Slow, idle and greedy clients against the real binary (plain HTTP): each deadline cuts the
//! client it is for, and the connection cap holds. Hand-built requests, since what is tested
//! is exactly what SDKs never do: trickle headers or a body, go silent, stop reading.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::{Served, closed_within};

/// One `GET /healthz` on a keep-alive connection; the status line and the whole answer read.
fn healthz(tcp: &mut TcpStream) -> String {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .unwrap();
    read_answer(tcp)
}

/// Read one HTTP answer (headers, then Content-Length bytes of body).
fn read_answer(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert_eq!(
            tcp.read(&mut byte).unwrap(),
            1,
            "closed mid-answer: {got:?}"
        );
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    tcp.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn a_silent_connection_and_an_idle_keep_alive_are_cut_at_the_header_deadline() {
    // The flag wins over the environment.
    let server = Served::start(
        &["--header-read-timeout-ms", "800"],
        &[("TESSERA_HEADER_READ_TIMEOUT_MS", "60000")],
    )
    .unwrap();

    let tcp = TcpStream::connect(server.addr).unwrap();
    let took = closed_within(&tcp, Duration::from_secs(5));
    assert!(took >= MS(700), "cut too early: {took:?}");

    let mut tcp = TcpStream::connect(server.addr).unwrap();
    assert!(healthz(&mut tcp).starts_with("HTTP/1.1 200"));
    let took = closed_within(&tcp, Duration::from_secs(5));
    assert!(took >= MS(700), "cut too early: {took:?}");

    // The deadline is per request, not per connection: a busy keep-alive connection lives on.
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    let started = Instant::now();
    while started.elapsed() < MS(2500) {
        assert!(healthz(&mut tcp).starts_with("HTTP/1.1 200"));
        std::thread::sleep(MS(100));
    }
}

#[test]
fn headers_trickled_byte_by_byte_are_cut_at_the_header_deadline() {
    let server = Served::start(&["--header-read-timeout-ms", "800"], &[]).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    let mut writer = tcp.try_clone().unwrap();
    let started = Instant::now();
    // A slowloris: a valid start, then one more header byte every 100 ms, for ever.
    let trickle = std::thread::spawn(move || {
        if writer
            .write_all(b"POST / HTTP/1.1\r\nHost: tessera\r\nX-Slow: ")
            .is_err()
        {
            return;
        }
        for _ in 0..200 {
            std::thread::sleep(MS(100));
            if writer.write_all(b"a").is_err() {
                return;
            }
        }
    });
    closed_within(&tcp, Duration::from_secs(5));
    let took = started.elapsed();
    assert!(took >= MS(700), "cut too early: {took:?}");
    drop(tcp);
    trickle.join().unwrap();
}

#[test]
fn a_body_trickled_past_the_request_deadline_is_answered_request_timeout() {
    let server = Served::start(&[], &[("TESSERA_REQUEST_TIMEOUT_MS", "1000")]).unwrap();
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    let mut writer = tcp.try_clone().unwrap();
    let started = Instant::now();
    writer
        .write_all(
            b"POST / HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15",
        )
        .unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..100 {
            std::thread::sleep(MS(100));
            if writer.write_all(b"&").is_err() {
                return;
            }
        }
    });
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let answer = read_answer(&mut tcp);
    let took = started.elapsed();
    assert!(took >= MS(900), "answered too early: {took:?}");
    assert!(took < Duration::from_secs(5), "answered too late: {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("<Code>RequestTimeout</Code>"), "{answer}");
    assert!(answer.contains("<Type>Sender</Type>"), "{answer}");
    closed_within(&tcp, Duration::from_secs(5));
    drop(tcp);
    trickle.join().unwrap();
    assert!(
        server.log().contains("request timed out"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_cut_at_the_request_deadline() {
    use tokio::io::AsyncWriteExt as _;
    let server = Served::start(&["--request-timeout-ms", "1000"], &[]).unwrap();
    // A small receive window, so that the server's answers back up quickly.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(server.addr).await.unwrap();
    // Pipelined requests, never reading an answer (each answer, a 404 document, is larger than
    // its request).
    let burst = b"GET /nothing-here HTTP/1.1\r\nHost: tessera\r\n\r\n".repeat(256);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let cut = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still open after 60 s"
        );
        match tokio::time::timeout(MS(200), tcp.write_all(&burst)).await {
            Ok(Ok(())) => last_progress = Instant::now(),
            Ok(Err(e)) => break e,
            Err(_) => {}
        }
    };
    assert!(
        matches!(
            cut.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{cut:?}"
    );
    // The server stopped reading once its answers backed up, and gave up on the client
    // request_timeout after its first write waited (the client may have filled the server's
    // receive buffer for a while after that, hence the loose lower bound).
    let stalled = last_progress.elapsed();
    assert!(stalled >= MS(300), "cut too early: {stalled:?}");
    assert!(
        stalled < Duration::from_secs(10),
        "cut too late: {stalled:?}"
    );
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once_and_slots_come_back() {
    let server = Served::start(&[], &[("TESSERA_MAX_CONNECTIONS", "2")]).unwrap();
    let mut a = TcpStream::connect(server.addr).unwrap();
    let mut b = TcpStream::connect(server.addr).unwrap();
    assert!(healthz(&mut a).starts_with("HTTP/1.1 200"));
    assert!(healthz(&mut b).starts_with("HTTP/1.1 200"));

    // A third is closed without an answer, long before any deadline.
    let mut c = TcpStream::connect(server.addr).unwrap();
    let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        server
            .wait_log(
                0,
                &["WARN", "connections refused", "max_connections=2"],
                Duration::from_secs(5)
            )
            .is_some(),
        "{}",
        server.log()
    );

    // The two it serves still work; once one closes, its slot serves a newcomer.
    assert!(healthz(&mut b).starts_with("HTTP/1.1 200"));
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = TcpStream::connect(server.addr).unwrap();
        d.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        d.write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 12];
        if d.read_exact(&mut first).is_ok() {
            assert_eq!(&first, b"HTTP/1.1 200");
            break;
        }
        assert!(Instant::now() < deadline, "the slot did not come back");
        std::thread::sleep(MS(50));
    }
}
