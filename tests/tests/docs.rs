//! The documentation holds: every relative link resolves, and every shell block of the
//! README and the getting-started page is run by the test it names.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use tokengate_tests::docs::{anchors, link_targets, pages, shell_blocks};
use tokengate_tests::workspace_root;

/// The pages whose every command a test runs.
const RUN_PAGES: [&str; 2] = ["README.md", "docs/running-locally.md"];

#[test]
fn every_relative_link_in_the_docs_resolves_to_a_file_and_a_heading() {
    let root = workspace_root();
    let mut broken = Vec::new();
    for page in pages() {
        let dir = page.parent().unwrap();
        for target in link_targets(&page) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                dir.join(path)
            };
            let shown = page.strip_prefix(&root).unwrap().display().to_string();
            if !file.exists() {
                broken.push(format!("{shown}: {target} (no such file)"));
            } else if !fragment.is_empty()
                && file.extension().is_some_and(|e| e == "md")
                && !anchors(&file).contains(&fragment.to_owned())
            {
                broken.push(format!("{shown}: {target} (no such heading)"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_shell_block_of_the_readme_and_getting_started_is_run_by_the_test_it_names() {
    let sources = test_sources();
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).unwrap();
    for page in RUN_PAGES {
        let blocks = shell_blocks(page);
        assert!(!blocks.is_empty(), "{page} has no commands");
        for block in blocks {
            let test = block
                .test
                .unwrap_or_else(|| panic!("{page}: a shell block names no test:\n{}", block.text));
            if test == "ci" {
                // .ci/run runs these lines, exactly as written.
                for line in block.text.lines() {
                    assert!(
                        ci.lines().any(|l| l == line),
                        "{page}: .ci/run does not run {line}"
                    );
                }
                continue;
            }
            let (file, source) = sources
                .iter()
                .find(|(_, source)| source.contains(&format!("fn {test}(")))
                .unwrap_or_else(|| panic!("{page}: no test named {test}"));
            assert!(
                source.contains("shell_block(")
                    && source.contains(&format!("\"{page}\""))
                    && source.contains(&format!("\"{test}\"")),
                "{page}: {test} ({file}) does not read its block from the page"
            );
        }
    }
}

#[test]
fn the_readme_stays_a_front_door() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md is {lines} lines: the rest belongs in docs/"
    );
}

/// Every integration test's source in the workspace, by path.
fn test_sources() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut sources = Vec::new();
    for dir in [
        "tests/tests",
        "infra/tests",
        "functions/authorizer/tests",
        "functions/token-issuer/tests",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let shown = path
                    .strip_prefix(&root)
                    .unwrap_or(Path::new(""))
                    .display()
                    .to_string();
                sources.push((shown, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    sources
}
