//! Timestamps in responses: the text chrono's `Serialize` makes (RFC 3339, UTC as
//! `Z`, fractional seconds in 3, 6 or 9 digits as needed), written directly. Every
//! resource carries two of them, and chrono's formatting machinery cost more than
//! the rest of the row's JSON.
//!
//! Use as `#[serde(serialize_with = "crate::db::rfc3339::serialize")]`.

use chrono::{DateTime, Utc};
use edge_core::text::{Fraction, Rfc3339};
use serde::{Serialize, Serializer};

/// Serialize `at` as chrono does, without its formatter (edge-core's writer).
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match write(at) {
        Some(text) => serializer.serialize_str(text.as_str()),
        // Years outside 0..=9999 and leap seconds: chrono's own text.
        None => at.serialize(serializer),
    }
}

/// The text, or `None` where chrono's rules are not the simple ones.
fn write(at: &DateTime<Utc>) -> Option<Rfc3339> {
    Rfc3339::new(
        at.timestamp(),
        at.timestamp_subsec_nanos(),
        Fraction::Shortest,
    )
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
