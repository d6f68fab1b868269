//! Wildcard matching for actions, resources, `String*Like` values and ARN operators.
//!
//! Implements the matching rules of
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>
//! and <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>:
//! `*` matches any run of characters (crossing `/` and `:` in Resource), `?` matches exactly one
//! *character* (never a byte, so `?` matches `é`). ARN operators split both sides into the six
//! colon-separated segments and match each separately, so a `*` never crosses a segment.
//!
//! Must never allocate while matching: variables are resolved into a stack array of `&str`.

use super::variables::{MAX_VARS, Resolver, Tok, VarRef};

/// A compiled pattern (possibly without any wildcard or variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    toks: Box<[Tok]>,
    has_vars: bool,
}

impl Pattern {
    pub(crate) fn new(toks: Vec<Tok>) -> Self {
        let has_vars = toks.iter().any(|t| matches!(t, Tok::Var(_)));
        Self {
            toks: toks.into_boxed_slice(),
            has_vars,
        }
    }

    /// Iterates the variable references in this pattern.
    pub(crate) fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.toks.iter().filter_map(|t| match t {
            Tok::Var(v) => Some(v),
            _ => None,
        })
    }

    /// Matches `text`. `fold`: compare characters case-insensitively. An unresolved variable
    /// (absent or multi-valued key without a default) makes the pattern never match.
    pub(crate) fn matches<R: Resolver + ?Sized>(&self, text: &str, fold: bool, vars: &R) -> bool {
        // Fast paths for the overwhelmingly common shapes.
        match &*self.toks {
            [] => return text.is_empty(),
            [Tok::Star] => return true,
            [Tok::Lit(l)] => return eq_str(l, text, fold),
            [Tok::Lit(l), Tok::Star] => return starts_with(text, l, fold),
            [Tok::Star, Tok::Lit(l)] => return ends_with(text, l, fold),
            _ => {}
        }
        // Cheap rejection on the literal prefix before any variable lookup.
        if let Some(Tok::Lit(l)) = self.toks.first()
            && !starts_with(text, l, fold)
        {
            return false;
        }
        let mut resolved: [&str; MAX_VARS] = [""; MAX_VARS];
        if self.has_vars {
            for v in self.vars() {
                let Some(value) = vars.resolve(&v.key).or(v.default.as_deref()) else {
                    return false;
                };
                match resolved.get_mut(usize::from(v.slot)) {
                    Some(slot) => *slot = value,
                    None => return false,
                }
            }
        }
        glob(&self.toks, &resolved, text, fold)
    }
}

/// What a pattern can still match once a prefix of the text is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterPrefix {
    /// No text starting with the prefix matches (or only the prefix itself).
    Nothing,
    /// Some text that continues the prefix matches.
    Some,
    /// Every text that continues the prefix matches (the rest of the pattern is `*`).
    Everything,
}

impl Pattern {
    /// Which texts `prefix` + (at least one more character) the pattern matches, for
    /// patterns without variables (actions): `iam:Get*` after `iam:` matches some, `*` and
    /// `iam:*` every, `s3:*` none. Case-folded, as actions are.
    pub(crate) fn after_prefix(&self, prefix: &str) -> AfterPrefix {
        // The pattern as single elements; a variable (never in actions) counts as `*`.
        let mut elems: Vec<Elem> = Vec::new();
        for t in self.toks.iter() {
            match t {
                Tok::Lit(l) => elems.extend(l.chars().map(Elem::Char)),
                Tok::One => elems.push(Elem::One),
                Tok::Star | Tok::Var(_) => elems.push(Elem::Star),
            }
        }
        // The set of positions reachable after each character (an NFA run: linear in the
        // pattern per character, no backtracking), `*` also matching nothing.
        let close = |set: &mut Vec<bool>| {
            for i in 0..elems.len() {
                if set.get(i) == Some(&true)
                    && matches!(elems.get(i), Some(Elem::Star))
                    && let Some(next) = set.get_mut(i + 1)
                {
                    *next = true;
                }
            }
        };
        let mut states = vec![false; elems.len() + 1];
        if let Some(first) = states.first_mut() {
            *first = true;
        }
        close(&mut states);
        for c in prefix.chars() {
            let mut next = vec![false; elems.len() + 1];
            for (i, e) in elems.iter().enumerate() {
                if states.get(i) != Some(&true) {
                    continue;
                }
                let to = match e {
                    Elem::Star => i,
                    Elem::One => i + 1,
                    Elem::Char(pc) if eq_char(*pc, c, true) => i + 1,
                    _ => continue,
                };
                if let Some(n) = next.get_mut(to) {
                    *n = true;
                }
            }
            close(&mut next);
            states = next;
        }
        let live = |i: usize| states.get(i) == Some(&true);
        if (0..elems.len()).any(|i| {
            live(i)
                && elems
                    .get(i..)
                    .is_some_and(|r| r.iter().all(|e| matches!(e, Elem::Star)))
        }) {
            AfterPrefix::Everything
        } else if (0..elems.len()).any(live) {
            AfterPrefix::Some
        } else {
            AfterPrefix::Nothing
        }
    }
}

fn eq_str(a: &str, b: &str, fold: bool) -> bool {
    if !fold {
        return a == b;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let (mut x, mut y) = (a.chars(), b.chars());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if eq_char(p, q, true) => {}
            _ => return false,
        }
    }
}

fn eq_char(a: char, b: char, fold: bool) -> bool {
    a == b
        || (fold
            && if a.is_ascii() && b.is_ascii() {
                a.eq_ignore_ascii_case(&b)
            } else {
                a.to_lowercase().eq(b.to_lowercase())
            })
}

/// Whether `text` starts with `prefix` (character-wise, optionally case-folded).
fn starts_with(text: &str, prefix: &str, fold: bool) -> bool {
    if !fold {
        return text.starts_with(prefix);
    }
    // ASCII on both sides (every action name): a byte comparison gives the same answer.
    if let Some(head) = text.as_bytes().get(..prefix.len())
        && prefix.is_ascii()
        && head.is_ascii()
    {
        return head.eq_ignore_ascii_case(prefix.as_bytes());
    }
    let mut t = text.chars();
    prefix
        .chars()
        .all(|p| t.next().is_some_and(|c| eq_char(p, c, true)))
}

/// Whether `text` ends with `suffix` (character-wise, optionally case-folded).
fn ends_with(text: &str, suffix: &str, fold: bool) -> bool {
    if !fold {
        return text.ends_with(suffix);
    }
    let mut t = text.chars().rev();
    suffix
        .chars()
        .rev()
        .all(|p| t.next().is_some_and(|c| eq_char(p, c, true)))
}

#[derive(Clone, Copy)]
struct Pos {
    tok: usize,
    off: usize,
}

enum Elem {
    End,
    Star,
    One,
    Char(char),
}

/// The next pattern element at `p` and the position after it.
fn elem(toks: &[Tok], resolved: &[&str], mut p: Pos) -> (Elem, Pos) {
    loop {
        let s: &str = match toks.get(p.tok) {
            None => return (Elem::End, p),
            Some(Tok::Star) => {
                return (
                    Elem::Star,
                    Pos {
                        tok: p.tok + 1,
                        off: 0,
                    },
                );
            }
            Some(Tok::One) => {
                return (
                    Elem::One,
                    Pos {
                        tok: p.tok + 1,
                        off: 0,
                    },
                );
            }
            Some(Tok::Lit(l)) => l,
            Some(Tok::Var(v)) => resolved.get(usize::from(v.slot)).copied().unwrap_or(""),
        };
        match s.get(p.off..).and_then(|r| r.chars().next()) {
            Some(c) => {
                return (
                    Elem::Char(c),
                    Pos {
                        tok: p.tok,
                        off: p.off + c.len_utf8(),
                    },
                );
            }
            None => {
                p = Pos {
                    tok: p.tok + 1,
                    off: 0,
                }
            }
        }
    }
}

/// Classic single-backtrack-point glob: linear for patterns with one `*`, O(n·m) worst case,
/// never recursive (so no stack exhaustion on hostile input).
fn glob(toks: &[Tok], resolved: &[&str], text: &str, fold: bool) -> bool {
    let mut p = Pos { tok: 0, off: 0 };
    let mut t = 0usize;
    let mut star: Option<(Pos, usize)> = None;
    loop {
        let (e, next) = elem(toks, resolved, p);
        let tc = text.get(t..).and_then(|r| r.chars().next());
        match (e, tc) {
            (Elem::End, None) => return true,
            (Elem::Star, _) => {
                star = Some((next, t));
                p = next;
                continue;
            }
            (Elem::One, Some(c)) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            (Elem::Char(pc), Some(c)) if eq_char(pc, c, fold) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        let Some((sp, st)) = star else { return false };
        let Some(c) = text.get(st..).and_then(|r| r.chars().next()) else {
            return false;
        };
        let nt = st + c.len_utf8();
        star = Some((sp, nt));
        p = sp;
        t = nt;
    }
}

/// An ARN pattern for the `Arn*` operators: six segments matched separately; a value without
/// any literal colon (`*`, `${aws:PrincipalArn}`) is one whole-string pattern; a value with
/// 2..5 segments can never match an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArnPattern {
    Segments(Box<[Pattern; 6]>),
    Whole(Pattern),
    Never,
}

impl ArnPattern {
    /// Splits tokens at literal `:` into at most six segments (the sixth keeps its colons,
    /// as in `arn:aws:sns:us-east-1:123:topic:sub`).
    pub(crate) fn new(toks: Vec<Tok>) -> Self {
        let mut segs: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in &toks {
            match t {
                Tok::Lit(l) => {
                    let mut rest: &str = l;
                    while segs.len() < 6 {
                        let Some((head, tail)) = rest.split_once(':') else {
                            break;
                        };
                        push_lit(&mut segs, head);
                        segs.push(Vec::new());
                        rest = tail;
                    }
                    push_lit(&mut segs, rest);
                }
                other => {
                    if let Some(cur) = segs.last_mut() {
                        cur.push(other.clone());
                    }
                }
            }
        }
        if segs.len() == 1 {
            return ArnPattern::Whole(Pattern::new(toks));
        }
        match <[Vec<Tok>; 6]>::try_from(segs) {
            Ok(six) => ArnPattern::Segments(Box::new(six.map(Pattern::new))),
            Err(_) => ArnPattern::Never,
        }
    }

    pub(crate) fn matches<R: Resolver + ?Sized>(&self, arn: &str, vars: &R) -> bool {
        match self {
            ArnPattern::Whole(p) => p.matches(arn, false, vars),
            ArnPattern::Never => false,
            ArnPattern::Segments(segs) => {
                let mut n = 0;
                for (seg, pat) in arn.splitn(6, ':').zip(segs.iter()) {
                    if !pat.matches(seg, false, vars) {
                        return false;
                    }
                    n += 1;
                }
                n == 6
            }
        }
    }
}

fn push_lit(segs: &mut [Vec<Tok>], s: &str) {
    if let (false, Some(cur)) = (s.is_empty(), segs.last_mut()) {
        cur.push(Tok::Lit(s.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::variables::{NoVars, tokenize};
    use super::*;

    fn pat(s: &str) -> Pattern {
        Pattern::new(tokenize(s, true, false).unwrap())
    }

    /// One row per case: pattern, prefix, what it matches after the prefix.
    #[test]
    fn after_prefix_table() {
        use AfterPrefix::*;
        let rows: &[(&str, &str, AfterPrefix)] = &[
            ("*", "iam:", Everything),
            ("iam:*", "iam:", Everything),
            ("IAM:**", "iam:", Everything),
            ("i*", "iam:", Everything),
            ("iam:Get*", "iam:", Some),
            ("iam:GetUser", "iam:", Some),
            ("*:Get*", "iam:", Some),
            ("?am:*", "iam:", Everything),
            ("ia?:List*", "iam:", Some),
            ("s3:*", "iam:", Nothing),
            ("iam", "iam:", Nothing),
            ("iam:", "iam:", Nothing),
            ("iamx:*", "iam:", Nothing),
            ("*x", "iam:", Some),
            ("", "iam:", Nothing),
        ];
        for (p, prefix, want) in rows {
            assert_eq!(pat(p).after_prefix(prefix), *want, "{p} after {prefix}");
        }
    }

    /// One row per case: pattern, text, case-fold, expected.
    #[test]
    fn wildcard_table() {
        let rows: &[(&str, &str, bool, bool)] = &[
            ("*", "", false, true),
            ("*", "anything:at/all", false, true),
            ("a*", "a", false, true),
            ("a*c", "abbbc", false, true),
            ("a*c", "abbbd", false, false),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("a?c", "aéc", false, true),
            ("a??c", "aéc", false, false),
            ("?", "日", false, true),
            ("*?", "", false, false),
            ("*a*b*c*", "xxaxxbxxcxx", false, true),
            ("*a*b*c*", "xxaxxcxxbxx", false, false),
            (
                "arn:aws:s3:::bucket/*",
                "arn:aws:s3:::bucket/a/b:c",
                false,
                true,
            ),
            ("s3:Get*", "s3:getobject", true, true),
            ("s3:Get*", "s3:getobject", false, false),
            ("iam:*User", "IAM:CreateUSER", true, true),
            ("", "", false, true),
            ("*Object", "s3:GetOBJECT", true, true),
            ("*Object", "s3:GetOBJECT", false, false),
            ("*é", "café", false, true),
            ("CAF*", "café", true, true),
            ("k*", "\u{212A}x", true, true),
            ("abc", "ab", false, false),
        ];
        for (p, t, fold, want) in rows {
            assert_eq!(pat(p).matches(t, *fold, &NoVars), *want, "{p} vs {t}");
        }
    }

    #[test]
    fn arn_segments() {
        let rows: &[(&str, &str, bool)] = &[
            (
                "arn:aws:iam::*:role/x",
                "arn:aws:iam::123456789012:role/x",
                true,
            ),
            ("arn:aws:iam::*", "arn:aws:iam::123456789012:role/x", false),
            ("arn:aws:iam::*:*", "arn:aws:iam::123456789012:role/x", true),
            (
                "arn:*:iam::123456789012:role/*",
                "arn:aws:iam::123456789012:role/a/b",
                true,
            ),
            (
                "arn:aws:sns:*:*:topic:*",
                "arn:aws:sns:us-east-1:1:topic:sub",
                true,
            ),
            (
                "arn:aws:sns:*:*:topic",
                "arn:aws:sns:us-east-1:1:topic:sub",
                false,
            ),
            ("*", "not-an-arn", true),
            ("arn:aws:iam::1:role/x", "arn:aws:iam::1:role/x", true),
            ("arn:aws:iam::?:role/x", "arn:aws:iam::12:role/x", false),
        ];
        for (p, t, want) in rows {
            let a = ArnPattern::new(tokenize(p, true, false).unwrap());
            assert_eq!(a.matches(t, &NoVars), *want, "{p} vs {t}");
        }
    }
}
