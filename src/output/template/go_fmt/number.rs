//! Go's numbers: a decoded JSON number as kubectl holds it (`int64` or `float64`), and a
//! float as `fmt` (`%v`, `%g` with the shortest digits) and `encoding/json` write it. Rust's
//! shortest digits are Go's, except for an exact tie, which Go breaks to even.

use serde_json::Number;

/// A JSON number as kubectl holds it after decoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum GoNumber {
    /// It parsed as an `int64`.
    Int(i64),
    /// Anything else: a fraction, an exponent, or an integer too large for `int64`.
    Float(f64),
}

impl GoNumber {
    /// The Go value a decoded JSON number becomes.
    pub(crate) fn of(number: &Number) -> Self {
        match number.as_i64() {
            Some(int) => GoNumber::Int(int),
            None => GoNumber::Float(number.as_f64().unwrap_or(f64::NAN)),
        }
    }
}

/// A float's shortest decimal digits: the value is `0.DIGITS × 10^point`, negative if `negative`.
struct Digits {
    /// The sign (Go prints `-0` for negative zero).
    negative: bool,
    /// The significant digits, no leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// Where the decimal point goes, counted from the first digit.
    point: i32,
}

impl Digits {
    /// The shortest digits that read back as `float` (what Go's precision `-1` gives).
    fn of(float: f64) -> Self {
        let negative = float.is_sign_negative();
        if float == 0.0 || !float.is_finite() {
            return Digits {
                negative,
                digits: Vec::new(),
                point: 0,
            };
        }
        let (mut digits, exponent) = scientific(&format!("{:e}", float.abs()));
        round_tie_to_even(float.abs(), &mut digits, exponent);
        Digits {
            negative,
            digits,
            point: exponent.saturating_add(1),
        }
    }

    /// Go's `%f` with `decimals` digits after the point.
    fn fixed(&self, decimals: i32, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        if self.point > 0 {
            for index in 0..self.point {
                out.push(self.digit(index));
            }
        } else {
            out.push(b'0');
        }
        if decimals > 0 {
            out.push(b'.');
            for index in 0..decimals {
                out.push(self.digit(self.point.saturating_add(index)));
            }
        }
    }

    /// Go's `%e` with `decimals` digits after the point: `1.5e+07`, `1e-05`.
    fn exponent(&self, decimals: i32, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        out.push(self.digit(0));
        if decimals > 0 {
            out.push(b'.');
            for index in 1..=decimals {
                out.push(self.digit(index));
            }
        }
        let exponent = if self.digits.is_empty() {
            0
        } else {
            self.point - 1
        };
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(magnitude.to_string().as_bytes());
    }

    /// The digit at `index`, `0` outside the significant ones.
    fn digit(&self, index: i32) -> u8 {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.digits.get(index).copied())
            .unwrap_or(b'0')
    }

    /// How many significant digits there are.
    fn count(&self) -> i32 {
        i32::try_from(self.digits.len()).unwrap_or(i32::MAX)
    }
}

/// The digits and exponent of Rust's `{:e}` text (`1.25e-7`: `125`, -7).
fn scientific(text: &str) -> (Vec<u8>, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    (digits, exponent.parse().unwrap_or(0))
}

/// Where two shortest digit strings read back as the float and it lies exactly halfway
/// between them, Go (Ryū) takes the even one and Rust the upper one: make it Go's.
fn round_tie_to_even(magnitude: f64, digits: &mut [u8], exponent: i32) {
    let Some(&last) = digits.last() else {
        return;
    };
    // Distinct decimals of 15 digits or fewer never read back as the same float: no tie.
    if last % 2 == 0 || digits.len() < 16 {
        return;
    }
    // The float's exact decimal value (a double has at most 767 significant digits).
    let (exact, exact_exponent) = scientific(&format!("{magnitude:.800e}"));
    let significant = exact
        .iter()
        .rposition(|digit| *digit != b'0')
        .map_or(0, |i| i + 1);
    let exact = &exact[..significant];
    for neighbour in [last - 1, last + 1] {
        if !(b'1'..=b'9').contains(&neighbour) {
            continue;
        }
        let mut midpoint = digits.to_vec();
        midpoint.pop();
        midpoint.extend([last.min(neighbour), b'5']);
        if exact_exponent != exponent || exact != midpoint.as_slice() {
            continue;
        }
        let mut candidate = digits.to_vec();
        candidate.pop();
        candidate.push(neighbour);
        let text = format!(
            "0.{}e{}",
            String::from_utf8_lossy(&candidate),
            exponent.saturating_add(1)
        );
        if text.parse::<f64>() == Ok(magnitude)
            && let Some(end) = digits.last_mut()
        {
            *end = neighbour;
        }
        return;
    }
}

/// A float as `fmt` prints it with `%v`: `%g` with the shortest digits, an exponent below
/// 1e-4 and from 1e+06 on.
pub(crate) fn sprint_float(float: f64, out: &mut Vec<u8>) {
    if !float.is_finite() {
        return non_finite(float, out);
    }
    let digits = Digits::of(float);
    let exponent = digits.point - 1;
    if !digits.digits.is_empty() && !(-4..6).contains(&exponent) {
        digits.exponent(digits.count() - 1, out);
    } else {
        digits.fixed((digits.count() - digits.point).max(0), out);
    }
}

/// A float as `encoding/json` writes it: plain decimals from 1e-6 up to 1e21, an exponent
/// outside (`1e+21`, `1e-7`).
pub(crate) fn json_float(float: f64, out: &mut Vec<u8>) {
    if !float.is_finite() {
        return non_finite(float, out);
    }
    let digits = Digits::of(float);
    let magnitude = float.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let start = out.len();
        digits.exponent(digits.count() - 1, out);
        // Go's clean-up: e-07 becomes e-7.
        let written = &out[start..];
        let n = written.len();
        if n >= 4 && written[n - 4] == b'e' && written[n - 3] == b'-' && written[n - 2] == b'0' {
            out.remove(start + n - 2);
        }
    } else {
        digits.fixed((digits.count() - digits.point).max(0), out);
    }
}

/// `+Inf`, `-Inf` or `NaN`, as `fmt` prints them (JSON input never holds them).
fn non_finite(float: f64, out: &mut Vec<u8>) {
    let text: &[u8] = if float.is_nan() {
        b"NaN"
    } else if float > 0.0 {
        b"+Inf"
    } else {
        b"-Inf"
    };
    out.extend_from_slice(text);
}
