//! How every output writes a time: one RFC 3339 spelling, UTC with
//! microseconds and `Z`, so that string order is time order in JSON, CSV,
//! HTML and the table's machine columns alike.

use chrono::{DateTime, SecondsFormat, Utc};

/// The one output form: UTC, microseconds, `Z`; string order is time order.
/// Written digit by digit (reports and exports format one per row, and
/// chrono's general formatter costs several times more); years outside
/// 0–9999 and leap seconds, which no export holds, go through chrono.
pub fn format(time: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let t = time.naive_utc();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
        return time.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, t.year() as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 6, nanos / 1_000);
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The digit-by-digit form is chrono's RFC 3339 form, microseconds.
        #[test]
        fn format_is_chronos_rfc3339(secs in -62_167_219_200i64..253_402_300_800, nanos in 0u32..1_000_000_000) {
            let time = DateTime::from_timestamp(secs, nanos).unwrap();
            proptest::prop_assert_eq!(format(time), time.to_rfc3339_opts(SecondsFormat::Micros, true));
        }
    }
}
