//! The rooms of the house: no product source file over 600 lines and no function over 80
//! (tests aside), and no import loop between the modules of a crate.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tokengate_tests::{files_below, workspace_root};

/// The product crates' sources.
const PRODUCT: [&str; 4] = [
    "shared/src",
    "functions/authorizer/src",
    "functions/token-issuer/src",
    "infra/src",
];

const MAX_FILE_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 80;

#[test]
fn no_product_file_is_over_600_lines_and_no_function_over_80_tests_aside() {
    let mut over = Vec::new();
    for crate_src in PRODUCT {
        for file in rust_files(&workspace_root().join(crate_src)) {
            let lines = product_lines(&file);
            let shown = file
                .strip_prefix(workspace_root())
                .unwrap()
                .display()
                .to_string();
            if lines.len() > MAX_FILE_LINES {
                over.push(format!("{shown}: {} lines", lines.len()));
            }
            for (name, length) in functions(&lines) {
                if length > MAX_FUNCTION_LINES {
                    over.push(format!("{shown}: fn {name} is {length} lines"));
                }
            }
        }
    }
    assert!(over.is_empty(), "rooms too big:\n{}", over.join("\n"));
}

#[test]
fn no_crate_has_an_import_loop_between_its_modules() {
    for crate_src in PRODUCT {
        let graph = module_graph(&workspace_root().join(crate_src));
        for module in graph.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<(String, Vec<String>)> =
                vec![(module.clone(), vec![module.clone()])];
            while let Some((at, path)) = stack.pop() {
                for next in graph.get(&at).into_iter().flatten() {
                    assert!(
                        next != module,
                        "{crate_src}: an import loop: {} -> {next}",
                        path.join(" -> ")
                    );
                    if seen.insert(next.clone()) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push((next.clone(), longer));
                    }
                }
            }
        }
    }
}

#[test]
fn the_checks_see_functions_and_imports_as_written() {
    let lines: Vec<String> = [
        "pub fn short() {",
        "    let x = 1;",
        "}",
        "    pub(crate) async fn method(",
        "        &self,",
        "    ) -> u8 {",
        "        1",
        "    }",
        "fn declared();",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(
        functions(&lines),
        [("short".to_owned(), 3), ("method".to_owned(), 5)]
    );
    let imports =
        imported_modules("use crate::a::B;\n// crate::c\nuse crate::{d::E, f};\nx(crate::g::h)");
    assert_eq!(
        imports,
        ["a", "d", "f", "g"]
            .map(str::to_owned)
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir, "rs")
}

/// A file's lines before its unit tests.
fn product_lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .map(str::to_owned)
        .collect()
}

/// Every function with a body, and its length in lines (rustfmt's layout: the closing brace
/// at the signature's indentation).
fn functions(lines: &[String]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let signature = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "async ",
            "const ",
            "unsafe ",
        ]
        .iter()
        .fold(trimmed, |rest, prefix| {
            rest.strip_prefix(prefix).unwrap_or(rest)
        });
        let signature = signature.strip_prefix("async ").unwrap_or(signature);
        let Some(rest) = signature.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let opens = lines[start..]
            .iter()
            .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'));
        let Some(opens) = opens else { continue };
        if lines[start + opens].trim_end().ends_with(';') {
            continue;
        }
        let closing = format!("{indent}}}");
        if let Some(end) = lines[start + opens..].iter().position(|l| *l == closing) {
            found.push((name, opens + end + 1));
        }
    }
    found
}

/// The crate's top-level modules, each with the modules it imports (unit tests and comments
/// aside).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = product_lines(&file).join("\n");
        sources.entry(top).or_default().push_str(&text);
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .into_iter()
        .map(|(module, text)| {
            let imports = imported_modules(&text)
                .into_iter()
                .filter(|m| modules.contains(m) && *m != module)
                .collect();
            (module, imports)
        })
        .collect()
}

/// The first path segment after every `crate::` outside comments, and in `crate::{…}`
/// groups.
fn imported_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name = ident(item.trim());
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                found.insert(ident(rest));
            }
        }
    }
    found
}
