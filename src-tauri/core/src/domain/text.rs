//! Text from elsewhere (a server, another process) made safe to show on one line.

/// `text` on one line: control characters (newlines, escape sequences that would move a terminal) become
/// spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
