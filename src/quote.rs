//! How keys are written in line-based output (listings, `--events`, `--diff`, `-o wide`).
//!
//! # The quoting rule
//! The API server accepts names with control characters for some kinds (RBAC names only follow
//! path-segment rules), and a raw newline in a key would split one listing into two. So, as git
//! does for paths with `core.quotePath`, these bytes are written as C-style escapes:
//!
//! | byte                   | written as |
//! |------------------------|------------|
//! | newline (0x0a)         | `\n`       |
//! | tab (0x09)             | `\t`       |
//! | carriage return (0x0d) | `\r`       |
//! | backslash (0x5c)       | `\\`       |
//! | other bytes below 0x20, and 0x7f | `\xHH` (two lowercase hex digits) |
//!
//! Every other byte, UTF-8 included, is written as is, and unlike git the key is not put in
//! double quotes. Escaping is reversible (the tests' `unquote` reads it back), so distinct keys
//! stay distinct. Sorting is unaffected: keys are sorted bytewise on the raw key before quoting.
//! `-o json` writes the exact names (JSON has its own escapes).

use std::borrow::Cow;

/// Whether `byte` is written as an escape.
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7f || byte == b'\\'
}

/// How many bytes of `bytes` [`quote_into`] would escape. Written without early exit so the
/// compiler vectorizes it: one pass over a whole rendered listing is the fast check that no key
/// needed quoting.
pub fn count_escapable(bytes: &[u8]) -> usize {
    // Byte-wide counters over chunks of at most 255 bytes cannot overflow and fill whole SIMD
    // registers; a usize counter per byte is three times slower.
    bytes
        .chunks(255)
        .map(|chunk| {
            let count = chunk.iter().fold(0u8, |count, &byte| {
                count.wrapping_add(u8::from((byte < 0x20) | (byte == 0x7f) | (byte == b'\\')))
            });
            usize::from(count)
        })
        .sum()
}

/// Appends `key` to `out`, quoted. A key with no byte to escape is copied in one go, with no
/// allocation of its own.
pub fn quote_into(out: &mut Vec<u8>, key: &str) {
    let bytes = key.as_bytes();
    if !bytes.iter().copied().any(needs_escape) {
        out.extend_from_slice(bytes);
        return;
    }
    for &byte in bytes {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            byte if needs_escape(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 0xf)],
                ]);
            }
            byte => out.push(byte),
        }
    }
}

/// `key`, quoted; borrowed (no allocation) when nothing needs escaping.
pub fn quote(key: &str) -> Cow<'_, str> {
    if !key.bytes().any(needs_escape) {
        return Cow::Borrowed(key);
    }
    let mut out = Vec::with_capacity(key.len() + 8);
    quote_into(&mut out, key);
    // Only ASCII bytes were replaced, by ASCII escapes, so the result is still UTF-8.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()),
    )
}

/// A server's or a parser's message made safe for one line of a terminal: control characters
/// escaped as [`quote`] does, backslashes left as they are (a message is read, not parsed back,
/// and escaping it twice would double them).
pub fn escape_controls(message: &str) -> Cow<'_, str> {
    if !message
        .bytes()
        .any(|byte| byte != b'\\' && needs_escape(byte))
    {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    let mut buffer = [0; 4];
    for character in message.chars() {
        match character {
            '\\' => out.push('\\'),
            other => out.push_str(&quote(other.encode_utf8(&mut buffer))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`quote`]: the raw key, or `None` when `quoted` is not something [`quote`]
    /// writes (a raw control byte, an unknown or cut-off escape, an escape `quote` would not use).
    fn unquote(quoted: &str) -> Option<String> {
        let mut raw = Vec::with_capacity(quoted.len());
        let mut bytes = quoted.bytes();
        while let Some(byte) = bytes.next() {
            if byte != b'\\' {
                if needs_escape(byte) {
                    return None;
                }
                raw.push(byte);
                continue;
            }
            let unescaped = match bytes.next()? {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'\\' => b'\\',
                b'x' => {
                    let digit = |byte: Option<u8>| char::from(byte?).to_digit(16);
                    let value = digit(bytes.next())? * 16 + digit(bytes.next())?;
                    let value = u8::try_from(value).ok()?;
                    if !needs_escape(value) || matches!(value, b'\n' | b'\t' | b'\r' | b'\\') {
                        return None;
                    }
                    value
                }
                _ => return None,
            };
            raw.push(unescaped);
        }
        String::from_utf8(raw).ok()
    }

    #[test]
    fn messages_get_control_characters_escaped_and_backslashes_kept() {
        assert_eq!(escape_controls("plain \\d+ text"), "plain \\d+ text");
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("<h1>\n\x1b]0;x\x07 \\ é\r"),
            "<h1>\\n\\x1b]0;x\\x07 \\ é\\r"
        );
    }

    use proptest::prelude::*;

    #[test]
    fn plain_keys_are_borrowed_unchanged() {
        for key in [
            "default/web-0",
            "kube-system/coredns",
            "ü/名前",
            "a b/c'd\"e",
        ] {
            assert!(
                matches!(quote(key), Cow::Borrowed(k) if k == key),
                "{key:?}"
            );
        }
    }

    #[test]
    fn control_bytes_and_backslash_become_c_escapes() {
        assert_eq!(quote("ns/a\n\nb"), "ns/a\\n\\nb");
        assert_eq!(quote("a\tb\rc"), "a\\tb\\rc");
        assert_eq!(quote("back\\slash"), "back\\\\slash");
        assert_eq!(quote("x\u{1}y\u{1f}z\u{7f}"), "x\\x01y\\x1fz\\x7f");
        assert_eq!(quote("\u{0}"), "\\x00");
    }

    #[test]
    fn count_escapable_counts_what_quote_escapes() {
        assert_eq!(count_escapable(b"plain/key"), 0);
        assert_eq!(count_escapable(b"a\nb\tc\\d\x7f\x01"), 5);
        assert_eq!(
            count_escapable(&[b'\\'; 1000]),
            1000,
            "past one 255-byte chunk"
        );
    }

    #[test]
    fn quote_into_appends_like_quote() {
        let mut out = b"+".to_vec();
        quote_into(&mut out, "a\nb");
        quote_into(&mut out, "/plain");
        assert_eq!(out, b"+a\\nb/plain");
    }

    #[test]
    fn unquote_refuses_what_quote_never_writes() {
        for bad in [
            "a\nb",
            "trailing\\",
            "\\q",
            "\\x4",
            "\\x41",
            "\\x0a",
            "\\xzz",
        ] {
            assert_eq!(unquote(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn quoting_round_trips_and_leaves_no_control_bytes(key in any::<String>()) {
            let quoted = quote(&key);
            prop_assert!(!quoted.bytes().any(|b| b < 0x20 || b == 0x7f), "{:?}", quoted);
            prop_assert_eq!(unquote(&quoted), Some(key.clone()));
        }

        #[test]
        fn control_heavy_keys_round_trip(key in "[a\\\\\\x00-\\x1f\\x7f/é]{0,24}") {
            let quoted = quote(&key);
            prop_assert!(!quoted.contains('\n'));
            prop_assert_eq!(unquote(&quoted), Some(key.clone()));
        }
    }
}
