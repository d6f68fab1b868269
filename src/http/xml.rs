//! XML bodies of the AWS Query protocol: `<OpResponse xmlns=..><OpResult>..</OpResult>
//! <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></OpResponse>` and the
//! `ErrorResponse` envelope. See AWS-REFERENCE §1.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::ApiError;

pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Builds the `<OpResult>` content of a response. Elements are written in call order.
#[derive(Debug, Default, Clone)]
pub struct Xml {
    buf: String,
}

impl Xml {
    pub fn new() -> Self {
        Self {
            buf: String::with_capacity(512),
        }
    }

    /// `<name>escaped text</name>`
    pub fn elem(&mut self, name: &str, text: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        escape_into(&mut self.buf, text);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// Escaped text with no element around it (list members of plain strings).
    pub fn elem_text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.buf, text);
        self
    }

    /// `elem` only when there is a value.
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.elem(name, t);
        }
        self
    }

    pub fn num(&mut self, name: &str, n: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.buf, "<{name}>{n}</{name}>");
        self
    }

    pub fn boolean(&mut self, name: &str, b: bool) -> &mut Self {
        self.elem(name, if b { "true" } else { "false" })
    }

    /// ISO-8601 UTC with milliseconds, as AWS writes timestamps.
    pub fn time(&mut self, name: &str, t: DateTime<Utc>) -> &mut Self {
        self.elem(name, &iso8601(t))
    }

    /// `<name>` ... `</name>` around whatever `f` writes.
    pub fn nest(&mut self, name: &str, f: impl FnOnce(&mut Xml)) -> &mut Self {
        let _ = write!(self.buf, "<{name}>");
        f(self);
        let _ = write!(self.buf, "</{name}>");
        self
    }

    /// `<name><member>..</member>...</name>` — a Query-protocol list.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Xml, T),
    ) -> &mut Self {
        let _ = write!(self.buf, "<{name}>");
        for item in items {
            self.buf.push_str("<member>");
            f(self, item);
            self.buf.push_str("</member>");
        }
        let _ = write!(self.buf, "</{name}>");
        self
    }

    pub fn into_string(self) -> String {
        self.buf
    }
}

pub fn iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Escape text for element content (and attribute values).
pub fn escape_into(out: &mut String, s: &str) {
    // Most values (ids, ARNs, tokens) need no escaping: copy them whole.
    if !s
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'') || b < 0x20)
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped rather than producing a
            // document SDK parsers reject.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// A whole success document.
pub fn success(action: &str, namespace: &str, result: Option<&Xml>, request_id: &str) -> String {
    let mut out = String::with_capacity(256 + result.map_or(0, |r| r.buf.len()));
    let _ = writeln!(out, "<{action}Response xmlns=\"{namespace}\">");
    if let Some(r) = result {
        let _ = writeln!(out, "  <{action}Result>{}</{action}Result>", r.buf);
    }
    out.push_str("  <ResponseMetadata>\n    <RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId>\n  </ResponseMetadata>\n");
    let _ = writeln!(out, "</{action}Response>");
    out
}

/// The error envelope; `RequestId` is a sibling of `Error`.
pub fn error(err: &ApiError, namespace: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(256 + err.message.len());
    let _ = write!(
        out,
        "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    <Message>",
        err.fault_type(),
        err.code
    );
    escape_into(&mut out, &err.message);
    out.push_str("</Message>\n  </Error>\n  <RequestId>");
    escape_into(&mut out, request_id);
    out.push_str("</RequestId>\n</ErrorResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut x = Xml::new();
        x.nest("A", |x| {
            x.elem("B", "<&>\u{1}");
        });
        assert_eq!(x.into_string(), "<A><B>&lt;&amp;&gt;</B></A>");
    }

    #[test]
    fn error_envelope_has_request_id_sibling() {
        let e = error(&ApiError::missing_parameter("RoleArn"), STS_NS, "rid");
        assert!(e.contains("<Code>MissingParameter</Code>"));
        assert!(e.contains("</Error>\n  <RequestId>rid</RequestId>"));
    }
}
