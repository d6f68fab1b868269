//! Small helpers for taking untrusted text apart.

/// The pieces `parts` yields if there are exactly `N` of them, else `None`: the shape check of
/// fixed-layout strings (`a/b/c/d/e` credential scopes, `$`-separated password hashes, ARNs
/// split with `splitn`, where the last piece keeps the rest).
pub(crate) fn exactly<'a, const N: usize>(
    mut parts: impl Iterator<Item = &'a str>,
) -> Option<[&'a str; N]> {
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// `s.split(sep)` for an ASCII `sep`, found with `memchr`. The request path splits many short
/// strings (a SigV4 header's parts, its credential scope, its signed-header list), where the
/// standard library's char searcher costs more to set up than the scan itself.
pub(crate) fn split_ascii(s: &str, sep: u8) -> SplitAscii<'_> {
    splitn_ascii(s, usize::MAX, sep)
}

/// `s.splitn(n, sep)` for an ASCII `sep` (see [`split_ascii`]): the last piece keeps the rest.
pub(crate) fn splitn_ascii(s: &str, n: usize, sep: u8) -> SplitAscii<'_> {
    debug_assert!(sep.is_ascii());
    SplitAscii {
        rest: (n > 0).then_some(s),
        left: n,
        sep,
    }
}

/// `s.split_once(sep)` for an ASCII `sep` (see [`split_ascii`]).
pub(crate) fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = memchr::memchr(sep, s.as_bytes())?;
    // An ASCII byte is a character of its own: both sides are on character boundaries.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The iterator of [`split_ascii`].
#[derive(Debug, Clone)]
pub(crate) struct SplitAscii<'a> {
    /// What is left to split; `None` once the last piece was yielded.
    rest: Option<&'a str>,
    /// Pieces still to yield, the last one whole.
    left: usize,
    sep: u8,
}

impl<'a> Iterator for SplitAscii<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        self.left = self.left.saturating_sub(1);
        if self.left == 0 {
            self.rest = None;
            return Some(rest);
        }
        match split_once_ascii(rest, self.sep) {
            Some((piece, tail)) => {
                self.rest = Some(tail);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// An address as `Display` writes it; IPv4 (nearly every caller) without the formatter.
pub(crate) fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    let std::net::IpAddr::V4(v4) = ip else {
        let _ = std::fmt::Write::write_fmt(out, format_args!("{ip}"));
        return;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

#[cfg(test)]
mod tests {
    use super::{exactly, split_ascii, split_once_ascii, splitn_ascii};

    #[test]
    fn push_ip_is_display() {
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "127.0.0.1",
            "::1",
            "2001:db8::7",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            super::push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
    }

    #[test]
    fn split_ascii_is_split() {
        for s in ["", ";", "a", "a;b", ";a;;b;", "é;ü;;", "ü", ";;"] {
            assert_eq!(
                split_ascii(s, b';').collect::<Vec<_>>(),
                s.split(';').collect::<Vec<_>>(),
                "{s:?}"
            );
            assert_eq!(split_once_ascii(s, b';'), s.split_once(';'), "{s:?}");
            for n in 0..5 {
                assert_eq!(
                    splitn_ascii(s, n, b';').collect::<Vec<_>>(),
                    s.splitn(n, ';').collect::<Vec<_>>(),
                    "{s:?} {n}"
                );
            }
        }
    }

    #[test]
    fn exactly_n_pieces_or_none() {
        assert_eq!(exactly::<3>("a/b/c".split('/')), Some(["a", "b", "c"]));
        assert_eq!(exactly::<3>("a/b".split('/')), None);
        assert_eq!(exactly::<3>("a/b/c/d".split('/')), None);
        assert_eq!(
            exactly::<3>("a:b:c:d".splitn(3, ':')),
            Some(["a", "b", "c:d"])
        );
        assert_eq!(exactly::<2>("/".split('/')), Some(["", ""]));
    }
}
