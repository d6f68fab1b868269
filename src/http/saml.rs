//! `/saml`: the browser sign-in's HTTP side (the decisions are `crate::sts::saml_signin`'s).
//!
//! `POST /saml` takes `application/x-www-form-urlencoded` bodies of two kinds: the IdP's
//! (`SAMLResponse`, optional `RelayState`, which is ignored) and the role picker's
//! (`SigninState`, `RoleArn`, with the picker's cookie). Every answer is a small
//! server-rendered HTML page: everything interpolated is HTML-escaped, nothing is cached, no
//! script runs (`Content-Security-Policy: default-src 'none'`, the one inline style allowed
//! by its hash), no page may be framed, and no referrer leaves. Refusals are pages with a safe
//! message (the API's public text) and 400 (malformed) or 403 (refused); the log and the audit
//! record get the reason, as for `AssumeRoleWithSAML`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};

use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::protocol::Action;
use crate::protocol::params::Params;
use crate::request::{Anonymous, Cx, RequestInfo};
use crate::rfc3339::{self, Fraction};
use crate::state::AppState;
use crate::sts::saml_signin::{self, Csrf, Page, Picker, SignInError, SignedIn};
use crate::wipe::Wiped;

/// The largest form `/saml` reads: a 100,000-character `SAMLResponse` with every character
/// percent-encoded (as browsers encode `+`, `/` and `=`) is 300,000 bytes; a picker's form is
/// at most [`saml_signin::MAX_STATE_CHARS`] plus a role ARN. Lower if `max_body_bytes` is.
pub(crate) const MAX_FORM_BYTES: usize = 512 * 1024;
/// Most cookies of the picker's names looked at.
const MAX_CSRF_COOKIES: usize = 8;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}pre,code{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.75rem;white-space:pre-wrap;word-break:break-all;user-select:all}button{font:inherit;padding:.3rem .8rem;margin:.2rem 0}li{margin:.4rem 0}";

/// `'sha256-…'` of [`STYLE`], as the policy names it.
fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(STYLE.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

/// HTML-escape `s` for text and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\n<body><main>\n{body}</main></body></html>\n",
        escape(title)
    )
}

fn page(status: StatusCode, html: String, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(html));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let csp = format!(
        "default-src 'none'; style-src {}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        style_hash()
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// A refusal page: `message` is safe to show (the API's public text).
fn error_page(status: StatusCode, message: &str, request_id: &str) -> Response<Body> {
    let body = format!(
        "<h1>Sign-in refused</h1>\n<p id=\"error\">{}</p>\n<p>Request id <code>{}</code></p>\n",
        escape(message),
        escape(request_id)
    );
    page(
        status,
        document("tessera: sign-in refused", &body),
        request_id,
    )
}

/// `GET /saml`: the endpoint takes form posts only.
pub(crate) async fn get() -> Response<Body> {
    let rid = super::new_request_id();
    let body = "<h1>tessera SAML sign-in</h1>\n<p>This is tessera's SAML assertion consumer service. Sign in at your identity provider: it posts here.</p>\n";
    let mut resp = page(
        StatusCode::METHOD_NOT_ALLOWED,
        document("tessera: SAML sign-in", body),
        &rid,
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    resp
}

/// The picker's cookies the request carries (of either name), at most a few.
fn csrf_cookies(headers: &HeaderMap) -> Vec<Csrf> {
    let mut out = Vec::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else {
                continue;
            };
            let secure = match name.trim() {
                Csrf::HOST_NAME => true,
                Csrf::NAME => false,
                _ => continue,
            };
            let value = value.trim().trim_matches('"');
            if value.is_empty() || value.len() > 128 || out.len() >= MAX_CSRF_COOKIES {
                continue;
            }
            out.push(Csrf {
                value: value.to_owned(),
                secure,
            });
        }
    }
    out
}

fn set_cookie(c: &Csrf, max_age: i64) -> Option<HeaderValue> {
    let secure = if c.secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
        c.name(),
        c.value
    ))
    .ok()
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

fn status_of(e: &SignInError) -> StatusCode {
    match e.error.code {
        ErrorCode::Throttling => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ if e.error.status() >= 500 => StatusCode::INTERNAL_SERVER_ERROR,
        _ if e.malformed => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    }
}

/// What the page says of a refusal: the API's public text, without the sealed authorization
/// message (that one is for the role's account, through the API).
fn public_message(e: &ApiError) -> &str {
    e.message
        .split_once(crate::error::ENCODED_AUTHORIZATION_MARKER)
        .map_or(e.message.as_str(), |(head, _)| head.trim_end())
}

/// `POST /saml`.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let started = std::time::Instant::now();
    let request_id = super::new_request_id();
    // Counted and logged as the API's AssumeRoleWithSAML is.
    let mut answered = super::Answered {
        action: Some(Action::AssumeRoleWithSAML),
        ..Default::default()
    };
    let response = sign_in(&state, peer, req, &request_id, &mut answered).await;
    super::finish(&state, &request_id, peer, &answered, &response, started);
    response
}

/// Verify a posted response or a picker's choice, audit it, and render the page.
async fn sign_in(
    state: &Arc<AppState>,
    peer: SocketAddr,
    req: Request<Body>,
    request_id: &str,
    answered: &mut super::Answered,
) -> Response<Body> {
    let request_id = request_id.to_owned();
    let now = state.clock.now();
    let (parts, body) = req.into_parts();
    let info = RequestInfo {
        request_id: request_id.clone(),
        source_ip: peer.ip(),
        now,
        action: Action::AssumeRoleWithSAML,
        region: None,
        notes: crate::audit::NoteCell::default(),
    };
    let refuse = |e: SignInError, answered: &mut super::Answered| {
        let page = error_page(status_of(&e), public_message(&e.error), &request_id);
        answered.error = Some(e.error.clone());
        let info = &info;
        async move {
            let _ = super::audit(state, info, &Caller::Anonymous, Err(&e.error)).await;
            page
        }
    };
    let malformed = |message: &str| SignInError {
        malformed: true,
        error: ApiError::malformed_query(message.to_owned()),
    };

    if parts.method != Method::POST {
        return get().await;
    }
    if super::headers_too_large(&parts.headers) {
        return refuse(
            malformed("Too many or too large request headers."),
            answered,
        )
        .await;
    }
    if let Some(limit) = &state.unsigned_limit
        && !limit.admit(peer.ip(), now)
    {
        let e = ApiError::new(ErrorCode::Throttling, "Rate exceeded")
            .with_detail("unsigned_rate_limit_per_source reached for this source address");
        return refuse(
            SignInError {
                malformed: false,
                error: e,
            },
            answered,
        )
        .await;
    }
    if !is_form(&parts.headers) {
        return refuse(
            malformed("The sign-in takes application/x-www-form-urlencoded posts."),
            answered,
        )
        .await;
    }
    let limit = state.config.max_body_bytes.min(MAX_FORM_BYTES);
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        return refuse(
            SignInError {
                malformed: true,
                error: ApiError::request_entity_too_large(),
            },
            answered,
        )
        .await;
    };
    let params = match Params::parse(b"", Some(&body)) {
        Ok(p) => p,
        Err(e) => return refuse(SignInError::from(e), answered).await,
    };
    drop(body);

    let cx = Cx {
        state,
        caller: &Anonymous,
        info: &info,
    };
    let cookies = csrf_cookies(&parts.headers);
    let result = match (
        params.get("SAMLResponse"),
        params.get("SigninState"),
        params.get("RoleArn"),
    ) {
        (Some(response), None, None) => {
            saml_signin::consume(&cx, Wiped::new(response.to_owned())).await
        }
        (None, Some(token), Some(role)) => saml_signin::choose(&cx, token, &cookies, role).await,
        _ => Err(malformed(
            "Post either SAMLResponse, or SigninState with RoleArn.",
        )),
    };
    match result {
        Ok(Page::Picker(p)) => picker_page(&p, &request_id),
        Ok(Page::SignedIn(s)) => {
            // Credentials are shown only once their audit record is committed.
            if let Err(e) = super::audit(state, &info, &Caller::Anonymous, Ok(())).await {
                let page = error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    public_message(&e),
                    &request_id,
                );
                answered.error = Some(e);
                return page;
            }
            tracing::debug!(request_id = %request_id, "saml sign-in: credentials issued");
            let mut resp = signed_in_page(&s, &request_id);
            // The picker's cookie has done its work.
            for c in &cookies {
                if let Some(v) = set_cookie(c, 0) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(e) => refuse(e, answered).await,
    }
}

fn picker_page(p: &Picker, request_id: &str) -> Response<Body> {
    let mut roles = String::new();
    for r in &p.roles {
        roles.push_str(&format!(
            "<li><button type=\"submit\" name=\"RoleArn\" value=\"{arn}\">{name}</button> <code>{arn}</code> (account {account})</li>\n",
            arn = escape(&r.role_arn),
            name = escape(&r.role_name),
            account = escape(&r.account),
        ));
    }
    let body = format!(
        "<h1>Choose a role</h1>\n<p>Signed in as <code id=\"subject\">{subject}</code> by <code>{issuer}</code>.</p>\n<form method=\"post\">\n<input type=\"hidden\" name=\"SigninState\" value=\"{state}\">\n<ul id=\"roles\">\n{roles}</ul>\n</form>\n<p>Choose before {expires}.</p>\n",
        subject = escape(&p.subject),
        issuer = escape(&p.issuer),
        state = escape(&p.state),
        expires = rfc3339::format(p.expires, Fraction::Auto),
    );
    let mut resp = page(
        StatusCode::OK,
        document("tessera: choose a role", &body),
        request_id,
    );
    let max_age = saml_signin::STATE_LIFETIME.num_seconds();
    if let Some(v) = set_cookie(&p.csrf, max_age) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn signed_in_page(s: &SignedIn, request_id: &str) -> Response<Body> {
    let session = &s.output.session;
    let issued = &session.issued;
    let (id, secret, token) = (
        escape(&issued.access_key_id),
        Wiped::new(escape(issued.secret.expose())),
        Wiped::new(escape(&issued.token)),
    );
    let expires = rfc3339::format(issued.expiration, Fraction::Auto);
    let profile = escape(&s.role_name);
    let body = Wiped::new(format!(
        concat!(
            "<h1>Signed in</h1>\n",
            "<p><code id=\"subject\">{subject}</code> as <code id=\"arn\">{arn}</code>, until <time id=\"expiration\" datetime=\"{expires}\">{expires}</time>.</p>\n",
            "<h2>Shell</h2>\n",
            "<pre id=\"env\">export AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY={secret} AWS_SESSION_TOKEN={token}</pre>\n",
            "<h2>AWS credentials file</h2>\n",
            "<pre id=\"profile\">[{profile}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\naws_session_token = {token}</pre>\n",
            "<p>These are tessera credentials: point your AWS client at tessera (<code>AWS_ENDPOINT_URL</code>), not at AWS.</p>\n",
        ),
        subject = escape(&s.subject),
        arn = escape(&session.assumed_role_arn),
        expires = expires,
        id = id,
        secret = &*secret,
        token = &*token,
        profile = profile,
    ));
    page(
        StatusCode::OK,
        document("tessera: signed in", &body),
        request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert('x')</script>&"q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;"
        );
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn the_style_hash_is_of_the_style() {
        let h = style_hash();
        assert!(h.starts_with("'sha256-") && h.ends_with('\''));
        assert_eq!(h.len(), "'sha256-'".len() + 44);
    }

    #[test]
    fn cookies_are_read_by_name_and_bounded() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=b; tessera-saml-csrf=one; __Host-tessera-saml-csrf=two"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("tessera-saml-csrf"),
        );
        let got = csrf_cookies(&h);
        assert_eq!(
            got,
            [
                Csrf {
                    value: "one".into(),
                    secure: false
                },
                Csrf {
                    value: "two".into(),
                    secure: true
                }
            ]
        );
        let many = vec!["tessera-saml-csrf=x"; 50].join("; ");
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&many).unwrap());
        assert_eq!(csrf_cookies(&h).len(), MAX_CSRF_COOKIES);
    }

    #[test]
    fn cookies_are_strict_http_only_and_host_prefixed_when_secure() {
        let c = Csrf {
            value: "v".into(),
            secure: true,
        };
        assert_eq!(
            set_cookie(&c, 300).unwrap(),
            "__Host-tessera-saml-csrf=v; Path=/; Max-Age=300; HttpOnly; SameSite=Strict; Secure"
        );
        let c = Csrf {
            value: "v".into(),
            secure: false,
        };
        assert_eq!(
            set_cookie(&c, 0).unwrap(),
            "tessera-saml-csrf=v; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        );
    }
}
