//! No module of the `vetpay` crate imports another in a circle, directly or
//! through others. Imports are read from the source (`use crate::…`,
//! `use super::…` and inline `crate::…` paths); an import between two modules
//! counts between the siblings that contain them (`store::billing` →
//! `store::plans`, `service` → `store`), and a parent using its own children
//! is not a dependency of the children.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.extend(expand(&format!("{prefix}{}", &inner[start..i])));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(expand(&format!("{prefix}{}", &inner[start..])));
    out
}

/// Resolves a `crate::…` or `super::…` path to module segments.
fn resolve(module: &Module, path: &str) -> Option<Module> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut base: Module = match segments.next()? {
        "crate" => Vec::new(),
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for s in segments {
        if s == "super" {
            base.pop();
        } else if s != "self" {
            base.push(s.to_owned());
        }
    }
    Some(base)
}

/// The paths a file names, as module paths from the crate root.
fn imports(module: &Module, source: &str) -> Vec<Module> {
    // Code after `#[cfg(test)]` is a file's test module: it may use anything.
    let source = source.split("#[cfg(test)]").next().unwrap_or(source);
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    // `use` trees, braces expanded.
    for part in code.split(';') {
        let part = part.trim();
        let tree = part
            .strip_prefix("pub use ")
            .or_else(|| part.strip_prefix("pub(crate) use "))
            .or_else(|| part.strip_prefix("use "))
            .or_else(|| part.rsplit_once("\nuse ").map(|(_, t)| t))
            .or_else(|| part.rsplit_once("\npub use ").map(|(_, t)| t));
        if let Some(tree) = tree {
            let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
            for path in expand(&tree) {
                let path = path.split(" as ").next().unwrap_or(&path).to_owned();
                found.extend(resolve(module, &path));
            }
        }
    }
    // Inline paths in code, such as `crate::plugin::types::Money`.
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::").or_else(|| rest.find("super::")) {
        let (head, tail) = rest.split_at(at);
        let path: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        rest = &tail[path.len().max(1)..];
        // `vetpay_money::…`, `$crate::…` and the like are not ours.
        if head.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        found.extend(resolve(module, &path));
    }
    found
}

#[test]
fn no_module_imports_another_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let modules: BTreeSet<Module> = all.iter().map(|f| module_of(&src, f)).collect();
    // Edges between siblings, per parent.
    let mut edges: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &all {
        let from = module_of(&src, file);
        if from.is_empty() {
            continue; // lib.rs / main.rs compose everything
        }
        let source = std::fs::read_to_string(file).unwrap();
        for path in imports(&from, &source) {
            // The longest prefix that is a module of ours.
            let to = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // itself, a parent or a child
            }
            edges
                .entry(from[..common].to_vec())
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    assert!(
        edges
            .get(&vec!["store".to_string()])
            .is_some_and(|e| !e.is_empty()),
        "the reader found no imports inside store/: it is broken"
    );
    let mut rings = Vec::new();
    for (parent, graph) in &edges {
        for start in graph.keys() {
            // Depth-first search for a path back to `start`.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                for next in graph.get(&at).into_iter().flatten() {
                    if next == start {
                        let mut ring = path.clone();
                        ring.push(start.clone());
                        rings.push(format!("{}: {}", parent.join("::"), ring.join(" → ")));
                    } else if seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }
    rings.sort();
    rings.dedup();
    assert!(
        rings.is_empty(),
        "modules import each other in a circle:\n{}",
        rings.join("\n")
    );
}
