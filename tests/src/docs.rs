//! The documentation as tests read it: the shell blocks of a page, each under a
//! `<!-- test: NAME -->` marker naming the test that runs it, and the pages' links.

use std::path::{Path, PathBuf};

use crate::{files_below, workspace_root};

/// One shell block of a page, with the marker above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellBlock {
    /// The name in the `<!-- test: NAME -->` line just above the block, if there is one.
    pub test: Option<String>,
    /// The block's lines, as written.
    pub text: String,
}

/// Every ```` ```sh ```` block of a page (a path from the workspace's root).
pub fn shell_blocks(page: &str) -> Vec<ShellBlock> {
    let text = std::fs::read_to_string(workspace_root().join(page))
        .unwrap_or_else(|e| panic!("{page}: {e}"));
    let mut blocks = Vec::new();
    let mut marker = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line
            .strip_prefix("<!-- test: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            marker = Some(name.to_owned());
        } else if line.trim_start().starts_with("```sh") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            blocks.push(ShellBlock {
                test: marker.take(),
                text: body.join("\n"),
            });
        } else if !line.trim().is_empty() {
            marker = None;
        }
    }
    blocks
}

/// The shell block of `page` that names `test` as the test that runs it.
///
/// # Panics
/// When the page has no such block: the docs and the test must move together.
pub fn shell_block(page: &str, test: &str) -> String {
    shell_blocks(page)
        .into_iter()
        .find(|b| b.test.as_deref() == Some(test))
        .unwrap_or_else(|| panic!("{page} has no shell block marked <!-- test: {test} -->"))
        .text
}

/// The Markdown pages of the repository: the README, the top-level guides and `docs/`.
pub fn pages() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut pages: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "DEVELOP.md", "CHANGELOG.md"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    pages.extend(files_below(&root.join("docs"), "md"));
    pages.extend(files_below(&root.join("infra/examples"), "md"));
    pages.sort();
    pages
}

/// The targets of a page's Markdown links, `[text](target)`, outside code.
pub fn link_targets(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            targets.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    targets
}

/// GitHub's anchor for a heading: lowercase, spaces as `-`, punctuation other than `-` and
/// `_` dropped.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings.
pub fn anchors(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let mut in_code = false;
    let mut anchors = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            anchors.push(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_githubs_rules() {
        assert_eq!(
            anchor(" tokengate's own tokens (`tokengate` style)"),
            "tokengates-own-tokens-tokengate-style"
        );
        assert_eq!(
            anchor(" `/oauth2/token`: any OAuth 2.0 client"),
            "oauth2token-any-oauth-20-client"
        );
    }
}
