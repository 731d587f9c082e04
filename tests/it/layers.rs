//! Each crate of the workspace imports downwards only, and no two of its modules import each
//! other. One checker reads both `src/` trees, kreflect's and kreflect-sim's; each crate's
//! layering is data ([`KREFLECT`], [`SIM`]): its layers, the lower layers a layer may not import
//! all the same, and the files above every layer.
//!
//! kreflect's layers, bottom up (`src/lib.rs`, "Layout", says what each owns):
//! - leaves, importing nothing from the crate: `error_chain`, `quote`, `runtime`;
//! - `connect/` (the HTTP stack and credentials) and `wire/` (the wire formats and the cached
//!   object), side by side: neither imports the other;
//! - `cache/`: the reflector, the store and the list/watch seam they pull objects through;
//! - `api/` (the seam over HTTP, discovery) and `output/` (what reaches stdout), side by side;
//!   `output` does not import `connect` either (output never asks the server anything);
//! - `cli/`: the command line, its configuration and shell completion.
//!
//! The crate root (`lib.rs`, `entry.rs`, `wiring.rs`) is above every layer; `main.rs` and
//! `allocator.rs` belong to the binary.
//!
//! kreflect-sim's layers, bottom up (`kreflect-sim/src/lib.rs`, "Layout"): leaves (`body`,
//! `options`) import nothing from the crate, `wire/` imports leaves, `world/` imports `wire` and
//! leaves, `serve/` imports anything. The crate root (`lib.rs`, and its end-to-end `tests.rs`
//! with its submodules in `tests/`) is above every layer.
//!
//! The check reads the source: in every file of a layer, each `crate::NAME` path (comments
//! aside, spaces around `::` ignored, `$crate::` in macros included) must name the file's own
//! layer or a lower one; a root item (`crate::run`, `crate::World`) counts as upwards, and so
//! does an alias of the root (`use crate as root`, `extern crate self`), and so do `#[path]` and
//! `include!`, which would bring another layer's file in without naming it. `super::` reaches
//! the parent module inside a layer only: in a top-level file or a layer's `mod.rs`, where
//! `super` at file level is the crate root, it may only be `super::*` inside an inline `mod` (a
//! test module's glob), and `super::super` is refused everywhere. Within and across layers, the
//! modules (one per file: `cache::reflector`, `cache::reflector::watch`, `cache::store`, ...)
//! form no circle, counting every module a file names by `crate::`, `super::` or `self::` paths,
//! `use` groups expanded, and each parent as naming its children; a child naming its own
//! ancestors does not count (a child is part of its parent).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One crate's layering, as the checker reads it.
struct Rules {
    /// The crate's directory, relative to the workspace root (`""` for kreflect itself).
    crate_dir: &'static str,
    /// The layers from the bottom up; a module may import its own layer and those of lower rank.
    /// Layers of the same rank may not import each other.
    layers: &'static [(&'static str, usize)],
    /// Lower layers a layer may not import all the same, as its module doc says.
    apart: &'static [(&'static str, &'static str)],
    /// Top-level files outside the layers: the crate root (and a binary's own files).
    root_files: &'static [&'static str],
    /// Top-level directories of a root file's submodules, one level deep, outside the layers too.
    root_dirs: &'static [&'static str],
    /// The fewest `.rs` files the crate's `src/` holds; fewer means the walk went wrong.
    at_least_files: usize,
}

/// kreflect's layering (this crate's `src/`).
const KREFLECT: Rules = Rules {
    crate_dir: "",
    layers: &[
        ("error_chain", 0),
        ("quote", 0),
        ("runtime", 0),
        ("connect", 1),
        ("wire", 1),
        ("cache", 2),
        ("api", 3),
        ("output", 3),
        ("cli", 4),
    ],
    apart: &[("output", "connect")],
    root_files: &["lib.rs", "entry.rs", "wiring.rs", "main.rs", "allocator.rs"],
    root_dirs: &[],
    at_least_files: 31,
};

/// kreflect-sim's layering (`kreflect-sim/src/`).
const SIM: Rules = Rules {
    crate_dir: "kreflect-sim",
    layers: &[
        ("body", 0),
        ("options", 0),
        ("wire", 1),
        ("world", 2),
        ("serve", 3),
    ],
    apart: &[],
    root_files: &["lib.rs", "tests.rs"],
    root_dirs: &["tests"],
    at_least_files: 11,
};

impl Rules {
    /// The rank of a layer, `None` for a name that is no layer.
    fn rank(&self, module: &str) -> Option<usize> {
        self.layers
            .iter()
            .find(|(name, _)| *name == module)
            .map(|(_, rank)| *rank)
    }

    /// Whether code in `layer` may name `target` (a first path segment after `crate::`).
    fn may_import(&self, layer: &str, target: &str) -> bool {
        if self.apart.contains(&(layer, target)) {
            return false;
        }
        match (self.rank(layer), self.rank(target)) {
            _ if layer == target => true,
            (Some(own), Some(other)) => other < own,
            _ => false,
        }
    }

    /// The layer of a file under `src/` (`None` for the root's files), whether its `super` is
    /// the crate root, and its module (`cache/reflector/watch.rs`: `cache::reflector::watch`).
    fn place(&self, parts: &[&str]) -> Option<(String, bool, String)> {
        let stem = |name: &str| name.trim_end_matches(".rs").to_owned();
        match parts {
            [name] if self.root_files.contains(name) => None,
            [dir, _] if self.root_dirs.contains(dir) => None,
            [name] => Some((stem(name), true, stem(name))),
            [dir, rest @ ..] => {
                let top = rest == ["mod.rs"];
                let mut module = vec![dir.to_string()];
                module.extend(rest.iter().map(|part| stem(part)));
                if module.last().is_some_and(|last| last == "mod") {
                    module.pop();
                }
                Some((dir.to_string(), top, module.join("::")))
            }
            [] => None,
        }
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

/// The identifier at the start of `text`: `serve` of `serve::list::L`.
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

/// Every `.rs` file under `dir`, appended to `out`.
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

/// Every layering violation in `source`, a file of `layer` under `rules`; `top` when the file's
/// own `super` is the crate root (a top-level file or a layer's `mod.rs`).
fn violations(rules: &Rules, layer: &str, top: bool, source: &str) -> Vec<String> {
    let code = squeeze(&code_of(source));
    let mut found: Vec<String> = crate_paths(&code)
        .into_iter()
        .filter(|target| !rules.may_import(layer, target))
        .map(|target| format!("`{layer}` imports `crate::{target}`"))
        .collect();
    for (at, _) in code.match_indices("crate as ") {
        let before = code[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            found.push("an alias of the crate root (name layers with `crate::` paths)".to_owned());
        }
    }
    for (bypass, why) in [
        ("extern crate self", "an alias of the crate root"),
        ("#[path", "a module loaded from another file's path"),
        ("include!(", "code included from another file"),
    ] {
        if code.contains(bypass) {
            found.push(format!(
                "`{bypass}`: {why} (name layers with `crate::` paths)"
            ));
        }
    }
    if code.contains("super::super") {
        found.push("`super::super` (name other modules with `crate::` paths)".to_owned());
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

/// The use tree at the start of `text`, braces included: `a::{b, c::d}` of `a::{b, c::d};`.
fn tree_at(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return &text[..i],
            '}' if depth == 1 => return &text[..=i],
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || "_:$*".contains(c)) => return &text[..i],
            _ => {}
        }
    }
    text
}

/// The paths a use tree names, its groups expanded: `crate::a::{b::C, d as e}` gives
/// `crate::a::b::C` and `crate::a::d`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        Some(open) if tree.ends_with('}') => {
            let base = format!("{prefix}{}", tree[..open].trim());
            let (mut depth, mut start) = (0, open + 1);
            for (i, c) in tree.char_indices().skip(open + 1) {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    ',' | '}' if depth == 0 => {
                        if !tree[start..i].trim().is_empty() {
                            expand(&base, &tree[start..i], out);
                        }
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        }
        _ => out.push(format!(
            "{prefix}{}",
            tree.split_whitespace().next().unwrap_or_default()
        )),
    }
}

/// The module a path names, the deepest of `known` it reaches: `crate::cache::store::Store` in
/// any file names `cache::store`, `super::store::Store` in `cache/reflector.rs` too. `own` is
/// the file's module and `inline` how many inline `mod` blocks enclose the path; `None` when the
/// path stays inside the file or names the crate root.
fn resolve(path: &str, own: &[&str], inline: usize, known: &BTreeSet<String>) -> Option<String> {
    let mut segments = path.split("::").peekable();
    let (mut base, mut inline) = (own.to_vec(), inline);
    match segments.next()? {
        "crate" | "$crate" => base.clear(),
        "self" => {}
        "super" => {
            let mut up = 1;
            while segments.next_if_eq(&"super").is_some() {
                up += 1;
            }
            for _ in 0..up {
                if inline > 0 {
                    inline -= 1;
                } else {
                    base.pop()?;
                }
            }
        }
        _ => return None,
    }
    if inline > 0 {
        return None;
    }
    let mut found = (!base.is_empty()).then(|| base.join("::"));
    for segment in segments {
        base.push(segment);
        let module = base.join("::");
        if !known.contains(&module) {
            break;
        }
        found = Some(module);
    }
    found
}

/// The modules of `known` that `source`, the file of module `own`, names by `crate::`,
/// `super::` or `self::` paths, `use` groups expanded. A module's own ancestors do not count: a
/// child is part of its parent (as every test module's `use super::*` says).
fn modules_named(own: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = squeeze(&code_of(source));
    let own: Vec<&str> = own.split("::").collect();
    let mut found = BTreeSet::new();
    for keyword in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(keyword) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let start = if before == Some('$') { at - 1 } else { at };
            let mut paths = Vec::new();
            expand("", tree_at(&code[start..]), &mut paths);
            let inline = inline_modules_around(&code, at);
            for path in paths {
                let Some(module) = resolve(&path, &own, inline, known) else {
                    continue;
                };
                let segments: Vec<&str> = module.split("::").collect();
                let ancestor = segments.len() <= own.len() && own.starts_with(&segments);
                if !ancestor {
                    found.insert(module);
                }
            }
        }
    }
    found
}

/// A circle in `edges` (module → the modules it names), as the path around it.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on_path| on_path == module) {
            let mut found = path[start..].to_vec();
            found.push(module.to_owned());
            return Some(found);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in edges.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|module| visit(module, edges, &mut Vec::new(), &mut done))
}

/// Checks every file under the `src/` of `rules`' crate: each imports only its own layer and
/// lower ones, and its modules form no circle.
fn check_tree(rules: &Rules) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = workspace.join(rules.crate_dir).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut modules = Vec::new();
    for file in &files {
        let shown = file.strip_prefix(workspace).expect("under the workspace");
        let relative = file.strip_prefix(&src).expect("under src");
        let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
        let Some((layer, top, module)) = rules.place(&parts) else {
            continue;
        };
        if rules.rank(&layer).is_none() {
            problems.push(format!(
                "{}: in no layer (add it to its crate's layers in tests/it/layers.rs, or move it \
                 into one)",
                shown.display()
            ));
            continue;
        }
        let source = fs::read_to_string(file).expect("reading a source file");
        for problem in violations(rules, &layer, top, &source) {
            problems.push(format!("{}: {problem}", shown.display()));
        }
        modules.push((module, source));
    }
    let known: BTreeSet<String> = modules.iter().map(|(module, _)| module.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, source) in &modules {
        edges
            .entry(module.clone())
            .or_default()
            .extend(modules_named(module, source, &known));
        // A parent holds its children: `cache::reflector` stands for `cache::reflector::watch`
        // too, so a module its child imports may not import it.
        if let Some((parent, _)) = module.rsplit_once("::") {
            edges
                .entry(parent.to_owned())
                .or_default()
                .insert(module.clone());
        }
    }
    assert!(
        files.len() >= rules.at_least_files,
        "found only {} files under {}",
        files.len(),
        src.display()
    );
    assert!(
        problems.is_empty(),
        "imports against the layering:\n{}",
        problems.join("\n")
    );
    if let Some(found) = circle(&edges) {
        panic!(
            "modules of {} that import each other: {}",
            src.display(),
            found.join(" → ")
        );
    }
}

#[test]
fn every_module_imports_only_its_own_layer_and_lower_ones_and_no_two_import_each_other() {
    check_tree(&KREFLECT);
}

#[test]
fn every_sim_module_imports_only_its_own_layer_and_lower_ones_and_no_two_import_each_other() {
    check_tree(&SIM);
}

#[test]
fn the_check_refuses_imports_upwards_and_sideways_and_accepts_downwards() {
    let check = |layer, top, source| violations(&KREFLECT, layer, top, source);
    assert!(check("cache", false, "use crate::wire::object::RawObject;").is_empty());
    assert!(
        check(
            "cli",
            false,
            "use crate::{api::resolve, output::render::R};"
        )
        .is_empty()
    );
    assert!(check("wire", false, "use crate::quote::escape_controls;").is_empty());
    assert!(check("wire", true, "mod tests {\n    use super::*;\n}").is_empty());

    assert_eq!(
        check("wire", false, "use crate::cache::store::Store;").len(),
        1
    );
    assert_eq!(
        check("wire", false, "use crate::connect::client::C;").len(),
        1
    );
    assert_eq!(
        check("output", false, "use crate::api::resolve::R;").len(),
        1
    );
    assert_eq!(
        check("output", false, "use crate::connect::client::C;").len(),
        1
    );
    assert_eq!(
        check("cache", false, "let c = crate::Config::default();").len(),
        1
    );
    assert_eq!(check("quote", true, "use crate::wire::object::O;").len(), 1);
    assert_eq!(
        check("cache", false, "use crate :: cli::args::Cli;").len(),
        1
    );
    assert_eq!(check("cache", false, "use crate as root;").len(), 1);
    assert_eq!(check("cache", false, "use super::super::api::A;").len(), 1);
    assert_eq!(check("cache", true, "use super::api::A;").len(), 1);
    assert_eq!(
        check("wire", false, "extern crate self as k;\nuse k::cli::C;").len(),
        1
    );
    assert_eq!(
        check("wire", false, "#[path = \"../cli/args.rs\"]\nmod args;").len(),
        1
    );
    assert_eq!(
        check("wire", false, "include!(\"../cli/args.rs\");").len(),
        1
    );
}

#[test]
fn the_check_refuses_the_sims_imports_upwards_and_accepts_downwards() {
    let check = |layer, top, source| violations(&SIM, layer, top, source);
    assert!(
        check(
            "wire",
            false,
            "use crate::wire::status::X;\nuse crate::body::Body;"
        )
        .is_empty()
    );
    assert!(check("world", false, "use crate::{wire::encode::f, options::O};").is_empty());
    assert!(check("serve", false, "use crate::world::state::World;").is_empty());
    assert!(
        check(
            "world",
            false,
            "/// [`crate::FakeApiServer`]\nuse super::pods::p;"
        )
        .is_empty()
    );
    assert!(check("body", true, "mod tests {\n    use super::*;\n}").is_empty());

    assert_eq!(check("wire", false, "use crate::serve::list::L;").len(), 1);
    assert_eq!(
        check(
            "world",
            false,
            "use crate::{wire::encode::f, serve::faults::F};"
        )
        .len(),
        1
    );
    assert_eq!(
        check(
            "wire",
            false,
            "let pod = crate::realistic_pod(\"a\", \"b\", 0);"
        )
        .len(),
        1
    );
    assert_eq!(check("options", true, "use crate::body::Body;").len(), 1);
    assert_eq!(
        check("world", false, "use super::super::serve::server::S;").len(),
        1
    );
    assert_eq!(
        check("world", true, "use super::serve::server::S;").len(),
        1
    );
    assert_eq!(
        check("wire", false, "#[path = \"../serve/list.rs\"]\nmod list;").len(),
        1
    );
    assert_eq!(
        check("wire", false, "include!(\"../serve/list.rs\");").len(),
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
        .filter(|(layer, top, code)| violations(&SIM, layer, *top, code).is_empty())
        .map(|(layer, _, code)| format!("`{layer}`: {code}"))
        .collect();
    assert!(
        accepted.is_empty(),
        "imports upwards accepted:\n{}",
        accepted.join("\n")
    );
    let inside = "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn f() {}\n}\nfn g() {}";
    assert!(violations(&SIM, "wire", true, inside).is_empty());
}

#[test]
fn the_check_leaves_a_root_directorys_files_outside_the_layers_one_level_deep_only() {
    assert_eq!(SIM.place(&["tests.rs"]), None);
    assert_eq!(SIM.place(&["tests", "list.rs"]), None);
    // Deeper, or in a crate without that root directory, the file is placed in a layer named
    // `tests`, which no crate has: the tree check finds it in no layer.
    assert_eq!(
        SIM.place(&["tests", "deep", "x.rs"]),
        Some(("tests".to_owned(), false, "tests::deep::x".to_owned()))
    );
    assert_eq!(
        KREFLECT.place(&["tests", "list.rs"]),
        Some(("tests".to_owned(), false, "tests::list".to_owned()))
    );
    assert_eq!((KREFLECT.rank("tests"), SIM.rank("tests")), (None, None));
}

#[test]
fn the_check_finds_modules_that_name_each_other() {
    let known: BTreeSet<String> = [
        "quote",
        "cache",
        "cache::store",
        "cache::reflector",
        "cache::reflector::watch",
        "cache::reflector::restore",
    ]
    .map(str::to_owned)
    .into();
    let named = |own: &str, source: &str| -> Vec<String> {
        modules_named(own, source, &known).into_iter().collect()
    };
    assert_eq!(
        named(
            "cache::metrics",
            "use crate::cache::store::{Store, new_store};\nuse crate::quote::q;"
        ),
        ["cache::store", "quote"]
    );
    // Groups, `super::` to a sibling, and `$crate::` in a macro name modules too.
    assert_eq!(
        named(
            "cache::metrics",
            "use crate::{cache::{store::S, reflector::R}};"
        ),
        ["cache::reflector", "cache::store"]
    );
    assert_eq!(
        named("cache::store", "use super::reflector::R;"),
        ["cache::reflector"]
    );
    assert_eq!(
        named("cache::reflector::restore", "use super::watch::W;"),
        ["cache::reflector::watch"]
    );
    assert_eq!(
        named(
            "cache::metrics",
            "macro_rules! m { () => { $crate::quote::q() } }"
        ),
        ["quote"]
    );
    // A module's ancestors, and its own inline test module, do not count.
    assert!(
        named(
            "cache::reflector::watch",
            "use super::Reflector; use crate::cache::X;"
        )
        .is_empty()
    );
    assert!(named("cache::store", "mod tests {\n    use super::*;\n}").is_empty());
    let edges = |pairs: &[(&str, &str)]| {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            edges
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
        }
        edges
    };
    assert_eq!(
        circle(&edges(&[("wire::a", "wire::b"), ("wire::b", "wire::c")])),
        None
    );
    assert_eq!(
        circle(&edges(&[
            ("wire::a", "wire::b"),
            ("wire::b", "wire::c"),
            ("wire::c", "wire::a")
        ])),
        Some(vec![
            "wire::a".to_owned(),
            "wire::b".to_owned(),
            "wire::c".to_owned(),
            "wire::a".to_owned()
        ])
    );
}
