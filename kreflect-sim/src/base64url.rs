//! Unpadded URL-safe base64 (RFC 4648 §5), the encoding of real continue tokens.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `input` without padding.
pub(crate) fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Decodes unpadded (or padded) URL-safe base64; `None` on any invalid character or length.
pub(crate) fn decode(input: &str) -> Option<Vec<u8>> {
    let trimmed = input.trim_end_matches('=');
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in trimmed.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        acc = (acc << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_real_continue_token() {
        let token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzE1NDgsInN0YXJ0IjoiYzFcdTAwMDAifQ";
        let decoded = decode(token).unwrap();
        assert_eq!(
            std::str::from_utf8(&decoded).unwrap(),
            r#"{"v":"meta.k8s.io/v1","rv":31548,"start":"c1\u0000"}"#
        );
        assert_eq!(encode(&decoded), token);
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..10 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(decode(&encode(&data)).unwrap(), data);
        }
        assert!(decode("a").is_none());
        assert!(decode("ab!c").is_none());
    }
}
