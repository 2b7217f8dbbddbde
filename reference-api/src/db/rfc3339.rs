//! Timestamps in responses: the text chrono's `Serialize` makes (RFC 3339, UTC as
//! `Z`, fractional seconds in 3, 6 or 9 digits as needed), written directly. Every
//! resource carries two of them, and chrono's formatting machinery cost more than
//! the rest of the row's JSON.
//!
//! Use as `#[serde(serialize_with = "crate::db::rfc3339::serialize")]`.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `2026-11-23T12:09:04.785035Z`: the longest text written here is 30 bytes.
const MAX_LEN: usize = 30;

/// Serialize `at` as chrono does, without its formatter.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; MAX_LEN];
    match write(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        // Years outside 0..=9999 and leap seconds: chrono's own text.
        None => at.serialize(serializer),
    }
}

/// The text into `buffer`, or `None` where chrono's rules are not the simple ones.
fn write<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut len = 0;
    let fields: [(u32, u32, Option<u8>); 6] = [
        (year, 4, Some(b'-')),
        (at.month(), 2, Some(b'-')),
        (at.day(), 2, Some(b'T')),
        (at.hour(), 2, Some(b':')),
        (at.minute(), 2, Some(b':')),
        (at.second(), 2, None),
    ];
    for (value, digits, separator) in fields {
        decimal(buffer, &mut len, value, digits);
        if let Some(separator) = separator {
            buffer[len] = separator;
            len += 1;
        }
    }
    let fraction = if nanos == 0 {
        None
    } else if nanos.is_multiple_of(1_000_000) {
        Some((nanos / 1_000_000, 3))
    } else if nanos.is_multiple_of(1_000) {
        Some((nanos / 1_000, 6))
    } else {
        Some((nanos, 9))
    };
    if let Some((value, digits)) = fraction {
        buffer[len] = b'.';
        len += 1;
        decimal(buffer, &mut len, value, digits);
    }
    buffer[len] = b'Z';
    len += 1;
    std::str::from_utf8(&buffer[..len]).ok()
}

/// `value` in exactly `digits` decimal digits (zero-padded) at `buffer[*len..]`.
fn decimal(buffer: &mut [u8; MAX_LEN], len: &mut usize, mut value: u32, digits: u32) {
    let digits = digits as usize;
    for slot in buffer[*len..*len + digits].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    *len += digits;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The same JSON as chrono's own `Serialize`, for every fraction shape.
    #[test]
    fn text_is_chronos() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases = vec![
            Utc.with_ymd_and_hms(2026, 11, 23, 12, 9, 4).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-5, 3, 1, 0, 0, 0).unwrap(),
        ];
        for _ in 0..2000 {
            let secs = (next() % 400_000_000_000) as i64 - 100_000_000_000;
            let nanos = match next() % 4 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1_000,
                _ => (next() % 1_000_000_000) as u32,
            };
            cases.push(DateTime::from_timestamp(secs, nanos).unwrap());
        }
        for at in cases {
            let ours = serde_json::to_string(&Wrapped(at)).unwrap();
            let chronos = serde_json::to_string(&at).unwrap();
            assert_eq!(ours, chronos);
        }
    }

    #[derive(Serialize)]
    struct Wrapped(#[serde(serialize_with = "serialize")] DateTime<Utc>);
}
