//! The layer rules of `docs/ARCHITECTURE.md`, checked against the source.
//!
//! Each module sits on a layer and may use only modules on layers below it. The table is read
//! from the document's `layers` block, so the document and the check cannot drift apart; the
//! imports are read from every `use crate::…`, `crate::…` and `super::…` path under `src/`.
//! Test modules inside a file are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A source file: its path under `src/` (e.g. `state/journal.rs`) and its text.
type Source = (String, String);

/// Every `.rs` file under `src/`.
fn sources() -> Vec<Source> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<Source>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|entry| entry.path());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// The `layers` block of `docs/ARCHITECTURE.md`: module name → layer number.
fn documented_layers() -> BTreeMap<String, u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).unwrap();
    parse_layers(&text)
}

fn parse_layers(document: &str) -> BTreeMap<String, u32> {
    let block = document
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/ARCHITECTURE.md has a ```layers block");
    let mut layers = BTreeMap::new();
    for line in block.lines().filter(|line| !line.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let rank: u32 = words.next().unwrap().parse().expect("a layer number");
        for module in words {
            layers.insert(module.to_owned(), rank);
        }
    }
    layers
}

/// The module path of a file: `state/journal.rs` → `[state, journal]`, `graph/mod.rs` →
/// `[graph]`, `clock.rs` → `[clock]`.
fn module_path(file: &str) -> Vec<String> {
    let without = file.trim_end_matches(".rs");
    let mut path: Vec<String> = without.split('/').map(str::to_owned).collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// The file that defines a module path, if any.
fn file_of(path: &[String], files: &BTreeSet<String>) -> Option<String> {
    let joined = path.join("/");
    [format!("{joined}.rs"), format!("{joined}/mod.rs")]
        .into_iter()
        .find(|candidate| files.contains(candidate))
}

/// The text without test modules (`#[cfg(test)]` followed by `mod …`, to the end of the
/// file, where this project keeps them) and without comments.
fn code_of(source: &str) -> String {
    let mut code = source;
    let mut search = 0;
    while let Some(at) = code[search..].find("#[cfg(test)]") {
        let at = search + at;
        let after = code[at + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") {
            code = &code[..at];
            break;
        }
        search = at + 1;
    }
    code.lines()
        .map(|line| match line.find("//") {
            Some(comment) => &line[..comment],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path the file's code names through `crate::`, `super::` or `self::`, braces of
/// `use` groups expanded, as absolute module paths (item names included).
fn named_paths(file: &str, source: &str) -> Vec<Vec<String>> {
    let code = code_of(source);
    let here = module_path(file);
    let mut out = Vec::new();
    // `use` statements, which may span lines and hold groups.
    for statement in code.split(';') {
        let Some(at) = statement.find("use ") else {
            continue;
        };
        let before = &statement[..at];
        if !(before.trim().is_empty()
            || before.trim_end().ends_with("pub")
            || before.trim_end().ends_with(')'))
        {
            continue;
        }
        let tree: String = statement[at + 4..]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for path in expand(&tree) {
            if let Some(absolute) = absolute(&path, &here) {
                out.push(absolute);
            }
        }
    }
    // Paths written inline (`crate::domain::PERMISSION_MANAGEMENT`).
    for start in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(start) {
            let preceded = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !preceded {
                let path: Vec<String> = tail[..end]
                    .split("::")
                    .filter(|segment| !segment.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(absolute) = absolute(&path, &here) {
                    out.push(absolute);
                }
            }
            rest = &rest[at + end.max(1)..];
        }
    }
    out
}

/// `a::{b, c::{d, e}}` → `[a::b, a::c::d, a::c::e]` (as segment lists).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim_matches(|c| c == ',');
    match tree.find('{') {
        None => vec![
            tree.split(" as ")
                .next()
                .unwrap_or(tree)
                .split("::")
                .filter(|segment| !segment.is_empty())
                .map(str::to_owned)
                .collect(),
        ],
        Some(open) => {
            let prefix: Vec<String> = tree[..open]
                .split("::")
                .filter(|segment| !segment.is_empty())
                .map(str::to_owned)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut parts = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (index, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..index]);
                        start = index + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            parts
                .into_iter()
                .filter(|part| !part.is_empty())
                .flat_map(expand)
                .map(|rest| {
                    let mut path = prefix.clone();
                    path.extend(rest.into_iter().filter(|segment| segment != "self"));
                    path
                })
                .collect()
        }
    }
}

/// A path as an absolute module path, resolving `crate`, `super` and `self` from the file's
/// module `here`; `None` for paths into other crates.
fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "super" | "self" => here.to_vec(),
        _ => return None,
    };
    let mut rest = &path[1..];
    if first == "super" {
        base.pop();
        while rest.first().is_some_and(|segment| segment == "super") {
            base.pop();
            rest = &rest[1..];
        }
    }
    base.extend(rest.iter().filter(|segment| *segment != "*").cloned());
    Some(base)
}

/// An import between two files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    from: String,
    to: String,
    /// The path as written, resolved (for the message).
    path: String,
}

/// Every import between two different files of `sources`.
fn imports(sources: &[Source]) -> Vec<Import> {
    let files: BTreeSet<String> = sources.iter().map(|(file, _)| file.clone()).collect();
    let mut out = BTreeSet::new();
    for (file, source) in sources {
        for path in named_paths(file, source) {
            // The longest prefix that is a module with a file of its own.
            let target = (1..=path.len())
                .rev()
                .find_map(|length| file_of(&path[..length], &files));
            if let Some(target) = target
                && target != *file
            {
                out.insert(Import {
                    from: file.clone(),
                    to: target,
                    path: format!("crate::{}", path.join("::")),
                });
            }
        }
    }
    out.into_iter().collect()
}

/// The top-level module of a file (`state/journal.rs` → `state`).
fn top_module(file: &str) -> String {
    module_path(file).into_iter().next().unwrap_or_default()
}

/// Files the layer rules do not apply to: the crate root and the binary's entry.
fn is_root(file: &str) -> bool {
    file == "lib.rs" || file == "main.rs"
}

/// Every import that points to a layer above or beside its own, as a message.
fn layer_violations(sources: &[Source], layers: &BTreeMap<String, u32>) -> Vec<String> {
    let mut problems = Vec::new();
    for import in imports(sources) {
        if is_root(&import.from) {
            continue;
        }
        let (from, to) = (top_module(&import.from), top_module(&import.to));
        if from == to {
            continue;
        }
        let (Some(&from_layer), Some(&to_layer)) = (layers.get(&from), layers.get(&to)) else {
            continue;
        };
        if to_layer >= from_layer {
            let direction = if to_layer == from_layer {
                "beside it"
            } else {
                "above it"
            };
            problems.push(format!(
                "src/{} uses {} (module `{to}`, layer {to_layer}), a layer {direction}: `{from}` is \
                 on layer {from_layer} and may use only layers below {from_layer}. Move what both \
                 need down (into `domain` or `state`), or hand it over as plain data.",
                import.from, import.path
            ));
        }
    }
    problems
}

/// Circles of files importing each other, each as `a → b → … → a`.
fn circles(sources: &[Source]) -> Vec<String> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for import in imports(sources) {
        if is_root(&import.from) || is_root(&import.to) {
            continue;
        }
        edges.entry(import.from).or_default().insert(import.to);
    }
    // Depth-first search for back edges; each circle reported once, from its smallest file.
    let mut found = BTreeSet::new();
    let nodes: Vec<String> = edges.keys().cloned().collect();
    for start in &nodes {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    let smallest = circle.iter().min().unwrap().clone();
                    let at = circle.iter().position(|file| *file == smallest).unwrap();
                    circle.rotate_left(at);
                    circle.push(circle[0].clone());
                    found.insert(circle.join(" → "));
                } else if !path.contains(next) && next > start {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_module_uses_a_layer_above_or_beside_its_own() {
    let problems = layer_violations(&sources(), &documented_layers());
    assert!(
        problems.is_empty(),
        "The layers of docs/ARCHITECTURE.md are broken. Each layer may use only the layers \
         below it, so the Graph and control layers can change without breaking each other and \
         the rules stay testable on their own:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let found = circles(&sources());
    assert!(
        found.is_empty(),
        "Files import each other in a circle, so none of them can be read, tested or moved \
         alone. Move what they share into a file both can use (as graph/call.rs holds what every \
         endpoint needs):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn every_module_has_a_place_in_the_layer_table() {
    let layers = documented_layers();
    let unplaced: BTreeSet<String> = sources()
        .iter()
        .filter(|(file, _)| !is_root(file))
        .map(|(file, _)| top_module(file))
        .filter(|module| !layers.contains_key(module))
        .collect();
    assert!(
        unplaced.is_empty(),
        "These modules are not in the ```layers block of docs/ARCHITECTURE.md, so nothing checks \
         what they may use: add each on the lowest layer above everything it uses: {unplaced:?}"
    );
}

#[test]
fn the_domain_uses_no_framework_no_runtime_and_no_clock() {
    let forbidden = [
        "axum::",
        "tokio::",
        "hyper::",
        "parking_lot::",
        "dashmap::",
        "Utc::now",
    ];
    let mut problems = Vec::new();
    for (file, source) in sources() {
        if top_module(&file) != "domain" {
            continue;
        }
        let code = code_of(&source);
        for word in forbidden {
            if code.contains(word) {
                problems.push(format!("src/{file} uses {word}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "domain/ holds pure rules: no HTTP, no runtime, no locks, and `now` as an argument, so \
         every rule can be tested with plain values:\n  {}",
        problems.join("\n  ")
    );
}

// ---- The checker itself: it must catch the arrows this project once had. ----

fn source(file: &str, text: &str) -> Source {
    (file.to_owned(), text.to_owned())
}

fn sample_layers() -> BTreeMap<String, u32> {
    parse_layers(
        "```layers\n1 clock domain\n2 fixtures\n3 store\n4 state\n5 graph control\n6 server\n```",
    )
}

#[test]
fn the_checker_catches_an_arrow_up_and_one_sideways() {
    let sources = vec![
        source(
            "state/mod.rs",
            "mod journal;\nuse crate::control::faults::Faults;\n",
        ),
        source(
            "state/journal.rs",
            "use crate::graph::{GraphError, handler::Reply};\n",
        ),
        source("control/mod.rs", "pub mod faults;\n"),
        source("control/faults.rs", "pub struct Faults;\n"),
        source(
            "graph/mod.rs",
            "pub mod handler;\npub use handler::GraphError;\n",
        ),
        source("graph/handler.rs", "pub struct Reply;\n"),
        source(
            "store.rs",
            "use crate::control::{number_fixture, token_fixture};\n",
        ),
        source(
            "graph/other.rs",
            "fn f() { let x = crate::control::faults::Faults; }\n",
        ),
    ];
    let problems = layer_violations(&sources, &sample_layers());
    let joined = problems.join("\n");
    assert!(
        joined.contains("src/state/mod.rs uses crate::control::faults::Faults"),
        "{joined}"
    );
    assert!(
        joined.contains("src/state/journal.rs uses crate::graph::handler::Reply"),
        "{joined}"
    );
    assert!(
        joined.contains("src/store.rs uses crate::control::number_fixture"),
        "{joined}"
    );
    assert!(
        joined.contains("src/graph/other.rs uses crate::control::faults::Faults"),
        "{joined}"
    );
    assert!(joined.contains("a layer beside it"), "{joined}");
}

#[test]
fn the_checker_catches_a_circle_and_ignores_tests_and_comments() {
    let sources = vec![
        source("graph/mod.rs", "pub mod handler;\npub mod messages;\n"),
        source(
            "graph/handler.rs",
            "use super::messages::{SendCall, SendReceipt};\n",
        ),
        source("graph/messages.rs", "use super::handler::authorize;\n"),
        source(
            "state/world.rs",
            "// crate::graph is only named in a comment\n#[cfg(test)]\nmod tests {\n    use crate::graph::GraphError;\n}\n",
        ),
    ];
    assert_eq!(
        circles(&sources),
        ["graph/handler.rs → graph/messages.rs → graph/handler.rs"]
    );
    assert!(layer_violations(&sources, &sample_layers()).is_empty());
}

#[test]
fn use_groups_and_relative_paths_resolve_to_files() {
    assert_eq!(
        expand("crate::{a::{b,c},d}"),
        [
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c"],
            vec!["crate", "d"]
        ]
    );
    let here = module_path("graph/read.rs");
    assert_eq!(
        absolute(&["super".into(), "call".into(), "Call".into()], &here).unwrap(),
        ["graph", "call", "Call"]
    );
    assert_eq!(module_path("graph/mod.rs"), ["graph"]);
}
