//! The crate's layout rules, checked on the source tree:
//! - no import cycle between top-level modules (`src/*.rs`, `src/*/`), other than a module and
//!   its own children;
//! - `rusqlite` is spoken only below `src/store/`;
//! - only the HTTP edge (`src/http/`) and startup (`src/server.rs`) know axum.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text without `//` comments (doc comments name other modules freely).
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every source file with its top-level module name (`src/iam/users.rs` -> `iam`).
fn sources() -> Vec<(String, PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&src).unwrap();
            let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
            let top = first.trim_end_matches(".rs").to_owned();
            (top != "lib" && top != "main").then(|| {
                let code = code_of(&p);
                (top, p, code)
            })
        })
        .collect()
}

/// The top-level modules a file names through `crate::…` paths, including grouped imports
/// (`use crate::{a, b::c}`).
fn references(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let files = sources();
    for (top, _, _) in &files {
        graph.entry(top.clone()).or_default();
    }
    for (top, _, code) in &files {
        let refs: Vec<String> = references(code)
            .into_iter()
            .filter(|m| m != top && graph.contains_key(m))
            .collect();
        graph.get_mut(top).unwrap().extend(refs);
    }
    // A module is in a cycle when it reaches itself.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = graph[from].iter().cloned().collect();
        while let Some(m) = todo.pop() {
            if seen.insert(m.clone()) {
                todo.extend(graph[&m].iter().cloned());
            }
        }
        seen
    };
    let cyclic: Vec<String> = graph
        .keys()
        .filter(|m| reach(m).contains(*m))
        .map(|m| format!("{m} -> {:?}", graph[m]))
        .collect();
    assert!(
        cyclic.is_empty(),
        "top-level modules in an import cycle:\n{}",
        cyclic.join("\n")
    );
}

#[test]
fn sql_stays_in_the_store() {
    let outside: Vec<String> = sources()
        .into_iter()
        .filter(|(top, _, code)| top != "store" && code.contains("rusqlite"))
        .map(|(_, p, _)| p.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "rusqlite used outside src/store/: {outside:?}"
    );
}

#[test]
fn only_the_edge_knows_axum() {
    let outside: Vec<String> = sources()
        .into_iter()
        .filter(|(top, _, code)| top != "http" && top != "server" && code.contains("axum"))
        .map(|(_, p, _)| p.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "axum used outside the edge: {outside:?}"
    );
}
