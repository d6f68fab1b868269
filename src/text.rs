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

#[cfg(test)]
mod tests {
    use super::exactly;

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
