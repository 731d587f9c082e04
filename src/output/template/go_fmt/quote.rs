//! Go's `strconv` quoting: `strconv.Quote` (`%q`, and strings under `%#v`), `%#U`, and the
//! `strconv.IsPrint` they rest on.

/// `text` as Go's `strconv.Quote` writes it (and so `%q`, and `%#v` for strings).
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// A rune as Go's `%#U` writes it: `U+0021 '!'`, or `U+0009` for one that does not print.
pub(crate) fn unicode_verbose(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", u32::from(c))
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Exact for Latin-1; beyond it, controls, spaces and separators, format characters, private
/// use, noncharacters and the unassigned planes are refused, and everything else (unassigned
/// code points among assigned ones included) taken as printable.
fn is_print(c: char) -> bool {
    let code = u32::from(c);
    if code <= 0xff {
        return (0x20..=0x7e).contains(&code) || ((0xa1..=0xff).contains(&code) && code != 0xad);
    }
    const FORMAT: &[(u32, u32)] = &[
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x206f),
        (0xd800, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0000, 0xe00ff),
        (0xe01f0, 0x10ffff),
        // Unassigned in Unicode 15 (Go 1.23's tables), whole blocks only.
        (0x2fa20, 0x2ffff),
        (0x323b0, 0xdffff),
    ];
    !c.is_control()
        && !c.is_whitespace()
        && code & 0xfffe != 0xfffe
        && !FORMAT
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&code))
}
