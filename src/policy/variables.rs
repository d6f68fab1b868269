//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the escapes
//! `${*}` `${?}` `${$}`, tokenized once at parse time.
//!
//! Implements <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>.
//! Owns the text → token translation only; resolution happens at match time in
//! [`super::pattern`] through the [`Resolver`] trait, without building strings. Variables are
//! only recognized under Version `2012-10-17`; under `2008-10-17` (or no Version) `${...}` is
//! literal text.

use super::parse::PolicyError;

/// Most variables one value may hold; resolution uses a fixed stack array of this size so
/// matching never allocates.
pub(crate) const MAX_VARS: usize = 16;

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Literal characters (escapes already folded in).
    Lit(Box<str>),
    /// `*`: any run of characters, including none (crosses `/` and `:`).
    Star,
    /// `?`: exactly one character (a `char`, never a byte).
    One,
    /// A policy variable, resolved from the request context when matched.
    Var(VarRef),
}

/// A policy variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarRef {
    /// Context key, lowercased (keys are case-insensitive).
    pub key: Box<str>,
    /// `${key, 'default'}` value used when the key is absent.
    pub default: Option<Box<str>>,
    /// Position in the per-match resolution array (< [`MAX_VARS`]).
    pub slot: u8,
}

/// Looks up the single string value of a context key (lowercase) for variable substitution.
/// Multi-valued or absent keys resolve to `None`.
pub(crate) trait Resolver {
    fn resolve(&self, key: &str) -> Option<&str>;
}

/// A resolver for patterns that cannot contain variables (actions, principals).
pub(crate) struct NoVars;

impl Resolver for NoVars {
    fn resolve(&self, _key: &str) -> Option<&str> {
        None
    }
}

/// Splits policy text into tokens. `wildcards`: `*`/`?` are wildcards (Like operators,
/// resources, actions) rather than literal characters. `vars`: `${...}` is interpreted
/// (Version 2012-10-17 and an element that allows variables).
pub(crate) fn tokenize(text: &str, wildcards: bool, vars: bool) -> Result<Vec<Tok>, PolicyError> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut slots: usize = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if vars
            && rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            let inner = rest.get(2..end).unwrap_or("");
            match inner {
                // INVARIANT: an escape is always literal, even where `*` is a wildcard.
                "*" | "?" | "$" => lit.push_str(inner),
                _ => match parse_var(inner) {
                    Some((key, default)) => {
                        if slots >= MAX_VARS {
                            return Err(PolicyError::malformed(format!(
                                "A policy value can contain at most {MAX_VARS} policy variables."
                            )));
                        }
                        flush(&mut toks, &mut lit);
                        toks.push(Tok::Var(VarRef {
                            key: key.to_ascii_lowercase().into(),
                            default: default.map(Into::into),
                            slot: u8::try_from(slots).unwrap_or(u8::MAX),
                        }));
                        slots += 1;
                    }
                    // Not variable syntax: keep the text as written.
                    None => lit.push_str(rest.get(..=end).unwrap_or("")),
                },
            }
            rest = rest.get(end + 1..).unwrap_or("");
            continue;
        }
        match c {
            '*' if wildcards => {
                flush(&mut toks, &mut lit);
                // `**` ≡ `*`; collapsing keeps backtracking linear in practice.
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
            }
            '?' if wildcards => {
                flush(&mut toks, &mut lit);
                toks.push(Tok::One);
            }
            _ => lit.push(c),
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    flush(&mut toks, &mut lit);
    Ok(toks)
}

/// The context keys of the variables in `text`, as written (case kept), in order, as
/// [`tokenize`] with `vars` finds them.
pub(crate) fn variable_keys(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let Some(tail) = rest.get(i..) else { break };
        let Some(end) = tail.find('}') else { break };
        let inner = tail.get(2..end).unwrap_or("");
        if !matches!(inner, "*" | "?" | "$")
            && let Some((key, _)) = parse_var(inner)
        {
            out.push(key);
        }
        rest = tail.get(end + 1..).unwrap_or("");
    }
    out
}

fn flush(toks: &mut Vec<Tok>, lit: &mut String) {
    if !lit.is_empty() {
        toks.push(Tok::Lit(std::mem::take(lit).into_boxed_str()));
    }
}

/// `key` or `key, 'default'` (spaces around the comma allowed). Keys are the characters
/// AWS context keys use; anything else means "this is not a variable".
fn parse_var(inner: &str) -> Option<(&str, Option<&str>)> {
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d))
        }
    };
    let key_ok = !key.is_empty()
        && key.contains(':')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+=".contains(c));
    key_ok.then_some((key, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Tok {
        Tok::Lit(s.into())
    }

    #[test]
    fn tokens() {
        assert_eq!(
            tokenize("a*b?c", true, false).unwrap(),
            vec![lit("a"), Tok::Star, lit("b"), Tok::One, lit("c")]
        );
        assert_eq!(tokenize("a*b?c", false, false).unwrap(), vec![lit("a*b?c")]);
        assert_eq!(
            tokenize("x${*}y${?}${$}", true, true).unwrap(),
            vec![lit("x*y?$")]
        );
        assert_eq!(
            tokenize("${aws:username}", true, false).unwrap(),
            vec![lit("${aws:username}")]
        );
        let t = tokenize("u/${aws:PrincipalTag/Team, 'none'}/*", true, true).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.get(1),
            Some(&Tok::Var(VarRef {
                key: "aws:principaltag/team".into(),
                default: Some("none".into()),
                slot: 0
            }))
        );
        assert_eq!(tokenize("${nope", true, true).unwrap(), vec![lit("${nope")]);
        assert_eq!(
            tokenize("a**b", true, false).unwrap(),
            vec![lit("a"), Tok::Star, lit("b")]
        );
    }
}
