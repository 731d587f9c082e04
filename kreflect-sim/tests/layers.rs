//! The sim's modules import downwards only: leaves (`body`, `options`) import nothing from the
//! crate, `wire` imports leaves, `world` imports `wire` and leaves, `serve` imports anything.
//! The crate root (`lib.rs`, and its end-to-end `tests.rs` with its submodules in `tests/`) is
//! above every layer.
//!
//! The check reads the source: in every file of a layer, each `crate::NAME` path (comments
//! aside, spaces around `::` ignored, `$crate::` in macros included) must name the file's own
//! layer or a lower one; a root re-export (`crate::World`) counts as upwards, and so does an
//! alias of the root (`use crate as root`). `super::` reaches the parent module inside a layer
//! only: in a top-level file or a layer's `mod.rs`, where `super` at file level is the crate
//! root, it may only be `super::*` inside an inline `mod` (a test module's glob), and
//! `super::super` is refused everywhere.

use std::fs;
use std::path::{Path, PathBuf};

/// The layers from the bottom up; a module may import its own layer and the ones before it.
/// Leaves have the same rank but may not import each other.
const LAYERS: &[(&str, usize)] = &[
    ("body", 0),
    ("options", 0),
    ("wire", 1),
    ("world", 2),
    ("serve", 3),
];

/// Top-level files outside the layers.
const ROOT_FILES: &[&str] = &["lib.rs", "tests.rs"];
/// The directory of `tests.rs`'s submodules, outside the layers too.
const ROOT_TESTS_DIR: &str = "tests";

fn rank(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, rank)| *rank)
}

/// Whether code in `layer` may name `target` (a first path segment after `crate::`).
fn may_import(layer: &str, target: &str) -> bool {
    match (rank(layer), rank(target)) {
        _ if layer == target => true,
        (Some(own), Some(other)) => other < own,
        _ => false,
    }
}

/// The first segments of every `crate::` path in `code`: `crate::a::b` gives `a`,
/// `crate::{a::b, c}` gives `a` and `c`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        // `$crate::` (a macro's path to this crate) counts like `crate::`.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut segment_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => segment_start = true,
                    c if c.is_whitespace() => {}
                    _ if segment_start => {
                        segment_start = false;
                        found.push(identifier(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(rest));
        }
    }
    found
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The file's code without comment lines (docs may mention any layer).
fn code_of(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `code` without whitespace next to `::`, so `crate :: serve` reads as `crate::serve`.
fn squeeze(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            let after = rest.trim_start();
            if after.starts_with("::") || out.ends_with("::") {
                rest = after;
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// How many inline `mod NAME { .. }` blocks enclose byte `at` of `code`.
fn inline_modules_around(code: &str, at: usize) -> usize {
    let mut blocks = Vec::new();
    for (i, c) in code[..at].char_indices() {
        match c {
            '{' => {
                let words: Vec<&str> = code[..i].split_whitespace().rev().take(2).collect();
                blocks.push(words.len() == 2 && words[1] == "mod");
            }
            '}' => {
                blocks.pop();
            }
            _ => {}
        }
    }
    blocks.into_iter().filter(|is_mod| *is_mod).count()
}

/// Every layering violation in `source`, a file of `layer`; `top` when the file's own `super`
/// is the crate root (a top-level file or a layer's `mod.rs`).
fn violations(layer: &str, top: bool, source: &str) -> Vec<String> {
    let code = squeeze(&code_of(source));
    let mut found: Vec<String> = crate_paths(&code)
        .into_iter()
        .filter(|target| !may_import(layer, target))
        .map(|target| format!("`{layer}` imports `crate::{target}`"))
        .collect();
    for (at, _) in code.match_indices("crate as ") {
        let before = code[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            found.push("an alias of the crate root (name layers with `crate::` paths)".to_owned());
        }
    }
    if code.contains("super::super") {
        found.push("`super::super` (name other layers with `crate::` paths)".to_owned());
    }
    if top {
        for (at, _) in code.match_indices("super::") {
            let glob = code[at + "super::".len()..].starts_with('*');
            if !glob || inline_modules_around(&code, at) == 0 {
                found.push(
                    "`super::` from a top-level file or a `mod.rs` (use `crate::`)".to_owned(),
                );
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("reading the source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_imports_only_its_own_layer_and_lower_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
        let (layer, top) = match parts[..] {
            [name] if ROOT_FILES.contains(&name) => continue,
            [dir, _] if dir == ROOT_TESTS_DIR => continue,
            [name] => (name.trim_end_matches(".rs"), true),
            [dir, ..] => (dir, parts.len() == 2 && parts[1] == "mod.rs"),
            [] => continue,
        };
        if rank(layer).is_none() {
            problems.push(format!(
                "{}: in no layer (add it to LAYERS in tests/layers.rs, or move it into one)",
                relative.display()
            ));
            continue;
        }
        let source = fs::read_to_string(file).expect("reading a source file");
        for problem in violations(layer, top, &source) {
            problems.push(format!("{}: {problem}", relative.display()));
        }
    }
    assert!(
        files.len() > 10,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    assert!(
        problems.is_empty(),
        "imports against the layering:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_refuses_imports_upwards_and_accepts_downwards() {
    assert!(
        violations(
            "wire",
            false,
            "use crate::wire::status::X;\nuse crate::body::Body;"
        )
        .is_empty()
    );
    assert!(violations("world", false, "use crate::{wire::encode::f, options::O};").is_empty());
    assert!(violations("serve", false, "use crate::world::state::World;").is_empty());
    assert!(
        violations(
            "world",
            false,
            "/// [`crate::FakeApiServer`]\nuse super::pods::p;"
        )
        .is_empty()
    );
    assert!(violations("body", true, "mod tests {\n    use super::*;\n}").is_empty());

    assert_eq!(
        violations("wire", false, "use crate::serve::list::L;").len(),
        1
    );
    assert_eq!(
        violations(
            "world",
            false,
            "use crate::{wire::encode::f, serve::faults::F};"
        )
        .len(),
        1
    );
    assert_eq!(
        violations(
            "wire",
            false,
            "let pod = crate::realistic_pod(\"a\", \"b\", 0);"
        )
        .len(),
        1
    );
    assert_eq!(
        violations("options", true, "use crate::body::Body;").len(),
        1
    );
    assert_eq!(
        violations("world", false, "use super::super::serve::server::S;").len(),
        1
    );
    assert_eq!(
        violations("world", true, "use super::serve::server::S;").len(),
        1
    );
}

#[test]
fn the_check_sees_through_spacing_macros_aliases_and_root_globs() {
    let upwards = [
        ("wire", false, "use crate :: serve::list::L;"),
        ("wire", false, "use crate::\n    serve::list::L;"),
        (
            "wire",
            false,
            "macro_rules! m {\n    () => {\n        $crate::serve::list::f()\n    };\n}",
        ),
        (
            "wire",
            false,
            "use crate as root;\nuse root::serve::list::L;",
        ),
        ("wire", false, "use crate::{self as root};"),
        ("world", false, "use super :: super::serve::server::S;"),
        // At file level, `super` is the crate root: its glob brings in every layer.
        ("body", true, "use super::*;\nfn f(_: serve::server::S) {}"),
        (
            "wire",
            true,
            "use super::*;\nfn f() {\n    use super::*;\n}",
        ),
    ];
    let accepted: Vec<String> = upwards
        .iter()
        .filter(|(layer, top, code)| violations(layer, *top, code).is_empty())
        .map(|(layer, _, code)| format!("`{layer}`: {code}"))
        .collect();
    assert!(
        accepted.is_empty(),
        "imports upwards accepted:\n{}",
        accepted.join("\n")
    );
    let inside = "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn f() {}\n}\nfn g() {}";
    assert!(violations("wire", true, inside).is_empty());
}
