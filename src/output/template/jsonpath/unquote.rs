//! Go's `UnquoteExtend` (client-go's jsonpath) over `strconv.UnquoteChar`: a quoted string of
//! the template, `"..."` or `'...'`, with Go's escapes.

/// Go's `UnquoteExtend`: a `"..."` or `'...'` string with Go's escapes, as bytes.
pub(crate) fn unquote(text: &str) -> Result<Vec<u8>, ()> {
    let bytes = text.as_bytes();
    let quote = *bytes.first().ok_or(())?;
    if bytes.len() < 2 || bytes[bytes.len() - 1] != quote || !matches!(quote, b'"' | b'\'') {
        return Err(());
    }
    let mut rest = &bytes[1..bytes.len() - 1];
    let mut out = Vec::with_capacity(rest.len());
    while let Some(&first) = rest.first() {
        if first == quote {
            return Err(());
        }
        if first != b'\\' {
            out.push(first);
            rest = &rest[1..];
            continue;
        }
        let (&escape, tail) = rest.get(1..).and_then(<[u8]>::split_first).ok_or(())?;
        rest = tail;
        match escape {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' => out.push(b'\\'),
            b'\'' | b'"' if escape == quote => out.push(escape),
            b'x' | b'u' | b'U' => {
                let count = match escape {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = rest.get(..count).ok_or(())?;
                rest = &rest[count..];
                let mut code: u32 = 0;
                for &digit in hex {
                    let value = char::from(digit).to_digit(16).ok_or(())?;
                    code = code.checked_mul(16).ok_or(())? | value;
                }
                if escape == b'x' {
                    out.push(u8::try_from(code).map_err(|_| ())?);
                } else {
                    let c = char::from_u32(code).ok_or(())?;
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            b'0'..=b'7' => {
                let mut code = u32::from(escape - b'0');
                let digits = rest.get(..2).ok_or(())?;
                rest = &rest[2..];
                for &digit in digits {
                    if !(b'0'..=b'7').contains(&digit) {
                        return Err(());
                    }
                    code = code * 8 + u32::from(digit - b'0');
                }
                out.push(u8::try_from(code).map_err(|_| ())?);
            }
            _ => return Err(()),
        }
    }
    Ok(out)
}
