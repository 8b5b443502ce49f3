//! The shape of the code, checked: no import circle between the crate's modules (so data
//! flows one way, config → plan → trials → train → store → analysis → outputs), `main.rs`
//! only dispatches, and the README stays a landing page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The text of a file without its test module (`#[cfg(test)]` then `mod …`, to the end of
/// its braces) and without comments: what the library itself imports.
fn library_code(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.ends_with('{'))
        {
            let mut depth = 0i32;
            for inner in lines.by_ref() {
                depth += inner.matches('{').count() as i32 - inner.matches('}').count() as i32;
                if depth == 0 {
                    break;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The crate's top-level modules each file's library code names (`crate::x`, and the
/// names inside `use crate::{x, y::z}`).
fn named_modules(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find("};").or_else(|| group.find('}')).unwrap_or(0)];
            // Names at the group's first level: after `{` or `,`, outside nested braces.
            let mut depth = 0;
            let mut word = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        word.push(c)
                    }
                    _ if depth == 0 && !word.is_empty() => {
                        named.insert(std::mem::take(&mut word));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                named.insert(word);
            }
        } else {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.insert(word);
        }
    }
    named.retain(|m| modules.contains(m));
    named
}

/// The top-level module a file belongs to (`sweep` for src/sweep/execute.rs).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_str().unwrap().trim_end_matches(".rs").to_string()
}

/// The import graph between the top-level modules, from the library's code.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(&src());
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| m != "main" && m != "lib")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        if module == "main" || module == "lib" {
            continue;
        }
        let code = library_code(&std::fs::read_to_string(file).unwrap());
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(
            named_modules(&code, &modules)
                .into_iter()
                .filter(|m| *m != module),
        );
    }
    graph
}

/// A circle through `start`, if there is one: the modules along it.
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![start.to_string()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_import_circle_between_modules() {
    let graph = import_graph();
    assert!(graph.len() > 10, "read {} modules", graph.len());
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|module| circle_through(&graph, module))
        .map(|circle| circle.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles between modules (each must go one way):\n  {}",
        circles.join("\n  ")
    );
}

/// The checker finds a circle where there is one, through `use crate::{…}` groups too.
#[test]
fn the_circle_checker_sees_circles() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let code = "use crate::{b::X, c};\nfn f() { crate::a::g(); }\n";
    assert_eq!(
        named_modules(code, &modules),
        ["a", "b", "c"].map(String::from).into()
    );
    let stripped = library_code("use crate::b;\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\n");
    assert_eq!(named_modules(&stripped, &modules), ["b".to_string()].into());
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])]
            .into_iter()
            .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
            .collect();
    assert_eq!(
        circle_through(&graph, "a"),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}

#[test]
fn main_only_dispatches_and_the_readme_is_a_landing_page() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    assert!(
        main.lines().count() < 100,
        "main.rs: {} lines",
        main.lines().count()
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 250,
        "README.md: {} lines",
        readme.lines().count()
    );
    // Every document the README links to is there.
    for link in readme.split("](").skip(1) {
        let target = &link[..link.find(')').unwrap()];
        if target.starts_with("http") {
            continue;
        }
        let file = target.split('#').next().unwrap();
        assert!(
            root.join(file).exists(),
            "README.md links to {target}, which is missing"
        );
    }
}

/// docs/methods.md's table of settings is the one the methods' declarations draw.
#[test]
fn the_settings_table_of_the_docs_is_the_declarations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/methods.md")).unwrap();
    let table = fairbinn_sweep::train::methods::settings_table();
    assert!(
        doc.contains(&table),
        "docs/methods.md's settings table differs from the declarations; it should read:\n{table}"
    );
}
