//! Small Markdown helpers for the generated pages and the block checks.

/// Text made safe for one cell of a Markdown table: one line, pipes and angle brackets escaped.
pub fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline code for a table cell (pipes escaped, as GitHub requires even inside code spans).
pub fn code(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

/// The anchor GitHub (and mdBook) gives a heading: lower case, punctuation dropped, spaces to
/// dashes.
pub fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A fenced code block: its info string, first line (1-based) and text.
pub struct Block {
    /// The info string after the opening fence (`rust`, `sh no-run`, …).
    pub info: String,
    /// Line of the opening fence.
    pub line: usize,
    /// The lines between the fences, with the fence's indentation removed.
    pub text: String,
}

/// The fenced code blocks of a Markdown text.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
        if fence_len < 3 {
            index += 1;
            continue;
        }
        let fence = &trimmed[..fence_len];
        let info = trimmed[fence_len..].trim().to_owned();
        let start = index;
        let mut text = Vec::new();
        index += 1;
        while index < lines.len() && !lines[index].trim().starts_with(fence) {
            let body = lines[index];
            text.push(body.get(indent..).unwrap_or(body.trim_start()));
            index += 1;
        }
        blocks.push(Block {
            info,
            line: start + 1,
            text: text.join("\n"),
        });
        index += 1;
    }
    blocks
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("GET /__emulator/numbers/{id}"),
        "get-__emulatornumbersid"
    );
    assert_eq!(slug("Persistence (`--data-dir`)"), "persistence---data-dir");
}

#[test]
fn cells_are_one_escaped_line() {
    assert_eq!(cell("a |\n b <c>"), "a \\| b &lt;c&gt;");
}
