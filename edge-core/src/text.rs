//! Text writers the crates need on hot paths, without the formatting machinery:
//! decimals and RFC 3339 timestamps, written into stack buffers.

/// `n` in decimal, on the stack.
///
/// ```
/// assert_eq!(edge_core::text::Decimal::new(1024).as_str(), "1024");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n`.
    pub fn new(mut n: u64) -> Decimal {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // ASCII digits are always UTF-8.
        std::str::from_utf8(&self.digits[self.start..]).unwrap_or("0")
    }
}

/// How many fractional digits an [`Rfc3339`] timestamp has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// Always milliseconds (`.123`): log lines of one width.
    Millis,
    /// As few as the value needs, none, 3, 6 or 9 (what chrono's `Serialize` writes).
    Shortest,
}

/// A UTC timestamp as RFC 3339 text (`2026-11-23T06:00:00.123Z`), on the stack.
///
/// ```
/// use edge_core::text::{Fraction, Rfc3339};
///
/// let at = Rfc3339::new(1_795_413_600, 123_000_000, Fraction::Millis).unwrap();
/// assert_eq!(at.as_str(), "2026-11-23T06:00:00.123Z");
/// let exact = Rfc3339::new(1_795_413_600, 0, Fraction::Shortest).unwrap();
/// assert_eq!(exact.as_str(), "2026-11-23T06:00:00Z");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339 {
    text: [u8; 30],
    len: usize,
}

impl Rfc3339 {
    /// The time `unix_secs` seconds and `nanos` nanoseconds after the Unix epoch;
    /// `None` outside years 0–9999 or for `nanos` of a second or more.
    pub fn new(unix_secs: i64, nanos: u32, fraction: Fraction) -> Option<Rfc3339> {
        if nanos >= 1_000_000_000 {
            return None;
        }
        let (days, second_of_day) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
        let second_of_day = u32::try_from(second_of_day).ok()?;
        let mut out = Rfc3339 {
            text: [0; 30],
            len: 0,
        };
        for (value, digits, separator) in [
            (year, 4, b'-'),
            (month, 2, b'-'),
            (day, 2, b'T'),
            (second_of_day / 3600, 2, b':'),
            (second_of_day % 3600 / 60, 2, b':'),
        ] {
            out.push_digits(value, digits);
            out.push(separator);
        }
        out.push_digits(second_of_day % 60, 2);
        let fraction = match fraction {
            Fraction::Millis => Some((nanos / 1_000_000, 3)),
            Fraction::Shortest if nanos == 0 => None,
            Fraction::Shortest if nanos.is_multiple_of(1_000_000) => Some((nanos / 1_000_000, 3)),
            Fraction::Shortest if nanos.is_multiple_of(1_000) => Some((nanos / 1_000, 6)),
            Fraction::Shortest => Some((nanos, 9)),
        };
        if let Some((value, digits)) = fraction {
            out.push(b'.');
            out.push_digits(value, digits);
        }
        out.push(b'Z');
        Some(out)
    }

    /// The time `unix_ms` milliseconds after the Unix epoch, with milliseconds.
    pub fn from_unix_ms(unix_ms: u64) -> Option<Rfc3339> {
        let secs = i64::try_from(unix_ms / 1000).ok()?;
        let nanos = u32::try_from(unix_ms % 1000).ok()? * 1_000_000;
        Rfc3339::new(secs, nanos, Fraction::Millis)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len]).unwrap_or("")
    }

    fn push(&mut self, byte: u8) {
        self.text[self.len] = byte;
        self.len += 1;
    }

    /// `value` in exactly `digits` digits, zero-padded.
    fn push_digits(&mut self, mut value: u32, digits: usize) {
        for slot in self.text[self.len..self.len + digits].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += digits;
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (era * 400 + yoe + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_match_display() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            1024,
            65_535,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(Decimal::new(n).as_str(), n.to_string());
        }
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn timestamps_are_rfc_3339() {
        let text = |secs, nanos, fraction| {
            Rfc3339::new(secs, nanos, fraction)
                .unwrap()
                .as_str()
                .to_owned()
        };
        assert_eq!(text(0, 0, Fraction::Millis), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            text(951_782_400, 5_000_000, Fraction::Millis),
            "2000-02-29T00:00:00.005Z"
        );
        assert_eq!(
            text(1_795_450_144, 785_035_000, Fraction::Shortest),
            "2026-11-23T16:09:04.785035Z"
        );
        assert_eq!(
            text(1_795_450_144, 1, Fraction::Shortest),
            "2026-11-23T16:09:04.000000001Z"
        );
        assert_eq!(text(-1, 0, Fraction::Shortest), "1969-12-31T23:59:59Z");
        assert_eq!(
            Rfc3339::from_unix_ms(1_795_450_144_007).unwrap().as_str(),
            "2026-11-23T16:09:04.007Z"
        );
        assert!(
            Rfc3339::new(253_402_300_800, 0, Fraction::Millis).is_none(),
            "year 10000"
        );
        assert!(Rfc3339::new(0, 1_000_000_000, Fraction::Millis).is_none());
    }
}
