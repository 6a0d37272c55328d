//! The engine's layering, checked from its sources: no module imports from a module that
//! imports it back, at the level of files (`autopilot/runner.rs`) and of top-level modules
//! (`autopilot`, `features`, `insights`, ...).
//!
//! A module's references are every `crate::…`, `super::…` and `self::…` path in its code (`use`
//! declarations with their brace groups expanded, and paths written inline), resolved to the
//! deepest module they name. Comments and `#[cfg(test)]` code are left out, and so are a parent's
//! edges to its own children (declaring a child and re-exporting its items is not a dependency).
//! Std only, so it also compiles on its own: `rustc --edition 2024 --test architecture.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path, e.g. `["autopilot", "runner"]`; the crate root is empty.
type ModPath = Vec<String>;

/// The sources of one crate: module path → code (comments and test code removed).
struct Crate {
    modules: BTreeMap<ModPath, String>,
}

impl Crate {
    /// Reads every module file under `src` (from `lib.rs`, following `mod name;`).
    fn read(src: &Path) -> Crate {
        let mut modules = BTreeMap::new();
        let mut todo = vec![(Vec::new(), src.join("lib.rs"))];
        while let Some((path, file)) = todo.pop() {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let code = strip_test_code(&strip_comments(&text));
            for child in declared_modules(&code) {
                let mut child_path = path.clone();
                child_path.push(child.clone());
                todo.push((child_path, child_file(src, &file, &path, &child)));
            }
            modules.insert(path, code);
        }
        Crate { modules }
    }

    /// The deepest module of this crate that `path` names, resolved from module `from`.
    fn resolve(&self, from: &ModPath, path: &[String]) -> Option<ModPath> {
        let (mut base, rest): (ModPath, &[String]) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (from.clone(), &path[1..]),
            Some("super") => {
                let mut base = from.clone();
                let mut i = 0;
                while path.get(i).map(String::as_str) == Some("super") {
                    base.pop()?;
                    i += 1;
                }
                (base, &path[i..])
            }
            _ => return None,
        };
        for seg in rest {
            let mut next = base.clone();
            next.push(seg.clone());
            if !self.modules.contains_key(&next) {
                break;
            }
            base = next;
        }
        Some(base)
    }

    /// Edges module → module it references (not itself, not its own children).
    fn edges(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut out: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for (module, code) in &self.modules {
            let targets = out.entry(module.clone()).or_default();
            for path in referenced_paths(code) {
                if let Some(target) = self.resolve(module, &path)
                    && &target != module
                    && !(target.len() == module.len() + 1 && target.starts_with(module))
                {
                    targets.insert(target);
                }
            }
        }
        out
    }
}

/// The file of child module `child` declared in `file` (module `path`).
fn child_file(src: &Path, file: &Path, path: &ModPath, child: &str) -> PathBuf {
    let dir: PathBuf = if path.is_empty() || file.ends_with("mod.rs") {
        file.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.iter().fold(src.to_path_buf(), |d, s| d.join(s))
    };
    let flat = dir.join(format!("{child}.rs"));
    if flat.is_file() {
        flat
    } else {
        dir.join(child).join("mod.rs")
    }
}

/// Removes comments and the contents of string and char literals (`"…"` stays as `""`).
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            'r' if (next == Some('"') || next == Some('#'))
                && (i == 0 || !is_ident_char(chars[i - 1])) =>
            {
                // A raw string: r"…", r#"…"#, ...
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    let close: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let body: String = chars[i + 2 + hashes..].iter().collect();
                    let len = body.find(&close).map_or(body.len(), |e| e + close.len());
                    out.push_str("\"\"");
                    i += 2 + hashes + body[..len].chars().count();
                    continue;
                }
                out.push(c);
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                out.push_str("\"\"");
            }
            '\'' if next == Some('\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Removes every item annotated `#[cfg(test)]` (an inline `mod tests { … }`, a `mod x;`
/// declaration, a function).
fn strip_test_code(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let after = at + "#[cfg(test)]".len();
        let end = item_end(&out[after..]).map_or(out.len(), |e| after + e);
        out.replace_range(at..end, "");
    }
    out
}

/// The end of the item starting at the beginning of `code`: after its `;` or its balanced
/// `{ … }` block, whichever comes first.
fn item_end(code: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            ';' if depth == 0 => return Some(i + 1),
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The names of `mod name;` declarations (modules in their own files).
fn declared_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim();
        let line = line
            .strip_prefix("pub(crate) ")
            .or_else(|| line.strip_prefix("pub "))
            .unwrap_or(line);
        if let Some(rest) = line.strip_prefix("mod ")
            && let Some(name) = rest.strip_suffix(';')
        {
            out.push(name.trim().to_string());
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path starting with `crate`, `super` or `self` in `code`: inline paths and `use`
/// declarations, brace groups expanded.
fn referenced_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident_char(bytes[i - 1]);
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        if starts_word && rest.starts_with("use ") {
            let end = bytes[i..]
                .iter()
                .position(|&c| c == ';')
                .map_or(bytes.len(), |e| i + e);
            let decl: String = bytes[i + 4..end].iter().collect();
            expand_use(&compact(&decl), &mut Vec::new(), &mut out);
            i = end;
            continue;
        }
        if starts_word
            && ["crate::", "super::", "self::"]
                .iter()
                .any(|p| rest.starts_with(p))
        {
            let mut path = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < bytes.len() && is_ident_char(bytes[j]) {
                    j += 1;
                }
                if start == j {
                    break;
                }
                path.push(bytes[start..j].iter().collect());
                if j + 1 < bytes.len() && bytes[j] == ':' && bytes[j + 1] == ':' {
                    j += 2;
                } else {
                    break;
                }
            }
            out.push(path);
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// A `use` tree with whitespace only where it separates words (`X as Y`).
fn compact(decl: &str) -> String {
    let words: Vec<&str> = decl.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        let glue = out.ends_with(|c: char| is_ident_char(c)) && w.starts_with(is_ident_char);
        if glue {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Expands one `use` tree (see [`compact`]) under `prefix` into full paths.
fn expand_use(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.strip_prefix("::").unwrap_or(tree);
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let n = prefix.len();
        prefix.extend(head);
        for part in split_top_level(inner) {
            expand_use(part, prefix, out);
        }
        prefix.truncate(n);
    } else {
        let name = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.clone();
        path.extend(
            name.split("::")
                .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                .map(String::from),
        );
        if !path.is_empty() {
            out.push(path);
        }
    }
}

/// Splits a brace group's contents at its top-level commas.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The strongly connected components of more than one node (Tarjan).
fn cycles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct State<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on_stack: BTreeSet<N>,
        out: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(n: &N, edges: &BTreeMap<N, BTreeSet<N>>, s: &mut State<N>) {
        let i = s.index.len();
        s.index.insert(n.clone(), i);
        s.low.insert(n.clone(), i);
        s.stack.push(n.clone());
        s.on_stack.insert(n.clone());
        for m in edges.get(n).into_iter().flatten() {
            if !s.index.contains_key(m) {
                visit(m, edges, s);
                let low = s.low[n].min(s.low[m]);
                s.low.insert(n.clone(), low);
            } else if s.on_stack.contains(m) {
                let low = s.low[n].min(s.index[m]);
                s.low.insert(n.clone(), low);
            }
        }
        if s.low[n] == s.index[n] {
            let mut scc = Vec::new();
            while let Some(m) = s.stack.pop() {
                s.on_stack.remove(&m);
                let done = &m == n;
                scc.push(m);
                if done {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for n in edges.keys() {
        if !s.index.contains_key(n) {
            visit(n, edges, &mut s);
        }
    }
    s.out
}

/// The cycles of one crate at file level and at top-level-module level, readable.
fn crate_cycles(src: &Path) -> Vec<String> {
    let krate = Crate::read(src);
    let files = krate.edges();
    let name = |m: &ModPath| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.join("::")
        }
    };
    let mut found: Vec<String> = cycles(&files)
        .iter()
        .map(|c| {
            let mut s = format!(
                "files: {}",
                c.iter().map(name).collect::<Vec<_>>().join(" ⇄ ")
            );
            for a in c {
                for b in c {
                    if files[a].contains(b) {
                        s.push_str(&format!("\n    {} → {}", name(a), name(b)));
                    }
                }
            }
            s
        })
        .collect();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, targets) in &files {
        let Some(ta) = a.first() else { continue };
        for b in targets {
            if let Some(tb) = b.first()
                && ta != tb
            {
                top.entry(ta.clone()).or_default().insert(tb.clone());
            }
        }
    }
    found.extend(
        cycles(&top)
            .iter()
            .map(|c| format!("top-level: {}", c.join(" ⇄ "))),
    );
    found
}

fn workspace_root() -> PathBuf {
    match option_env!("CARGO_MANIFEST_DIR") {
        Some(dir) => Path::new(dir).join(".."),
        None => std::env::current_dir().expect("current directory"),
    }
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for krate in ["engine/src", "cli/src", "serve/src"] {
        let src = root.join(krate);
        assert!(src.join("lib.rs").is_file(), "{} not found", src.display());
        for c in crate_cycles(&src) {
            problems.push(format!("{krate}: {c}"));
        }
    }
    assert!(
        problems.is_empty(),
        "module cycles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_a_cycle_and_its_resolution_rules() {
    let code = "use crate::{a::{self, b::X}, c};\nfn f() { super::d::g(); } // crate::z\n\
                #[cfg(test)]\nmod tests { use crate::t; }";
    let paths = referenced_paths(&strip_test_code(&strip_comments(code)));
    let want: Vec<Vec<String>> = [
        vec!["crate", "a"],
        vec!["crate", "a", "b", "X"],
        vec!["crate", "c"],
        vec!["super", "d", "g"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(paths, want);
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    edges.entry("a").or_default().insert("b");
    edges.entry("b").or_default().insert("c");
    edges.entry("c").or_default().insert("a");
    edges.entry("d").or_default().insert("a");
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}

#[test]
fn the_engine_graph_is_read_whole() {
    let krate = Crate::read(&workspace_root().join("engine/src"));
    let edges = krate.edges();
    assert!(edges.len() > 40, "only {} modules read", edges.len());
    let m = |p: &str| -> ModPath { p.split("::").map(String::from).collect() };
    assert!(edges[&m("autopilot::runner")].contains(&m("store")));
    assert!(edges[&m("session::run")].contains(&m("features")));
    assert!(!edges[&m("features::image")].contains(&m("model")));
}
