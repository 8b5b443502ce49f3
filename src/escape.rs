//! User strings (data values, labels, paths) shown safely wherever they land: a terminal
//! (no control or escape byte reaches it raw) and Markdown (no value closes a code fence or a
//! table cell, or becomes HTML).

/// `text` with every control character but line breaks and tabs written out (`\u{1b}`), so
/// that a data value cannot set a terminal's title or clear its screen.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// One line of user text: [`visible`], with line breaks written out too.
pub fn one_line(text: &str) -> String {
    visible(text).replace('\n', "\\n").replace('\t', " ")
}

/// `text` as a Markdown code block: fenced by more backticks than any run in it, so that no
/// line of it closes the block.
pub fn fenced(text: &str, info: &str) -> String {
    let text = visible(text);
    let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
    let end = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{text}{end}{fence}")
}

/// `text` as a Markdown code span on one line (`` `path` ``).
pub fn code_span(text: &str) -> String {
    let text = one_line(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// `text` as a Markdown table cell's text: one line, `|` and Markdown's and HTML's special
/// characters escaped.
pub fn cell(text: &str) -> String {
    let mut out = String::new();
    for c in one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn longest_backtick_run(text: &str) -> usize {
    (text.split(|c| c != '`')).map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_user_string_escapes_its_place() {
        assert_eq!(visible("a\u{1b}]0;x\u{7}b\nc"), "a\\u{1b}]0;x\\u{7}b\nc");
        assert_eq!(fenced("plain\n", ""), "```\nplain\n```");
        let closing = "x\n```\n<img src=y>\n";
        let block = fenced(closing, "");
        assert!(
            block.starts_with("````\n") && block.ends_with("\n````"),
            "{block}"
        );
        assert_eq!(code_span("/a/b.csv"), "`/a/b.csv`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("a\nb"), "`a\\nb`");
        assert_eq!(cell("x|y\n<img src=z>"), "x\\|y\\\\n&lt;img src=z&gt;");
    }
}
