//! RFC 3339 timestamps to and from Unix seconds, without a date-time dependency: parsing
//! is the scenario files' (`icsim_sim::scenario::parse_epoch`), formatting uses H.
//! Hinnant's `civil_from_days`.

use anyhow::{Result, anyhow};

/// Parse `2026-11-26T08:00:00Z` (fractional seconds, dropped, and `+hh:mm` offsets
/// accepted) with the scenario files' parser.
pub(crate) fn parse(text: &str) -> Result<u64> {
    icsim_sim::scenario::parse_epoch(text.trim())
        .map(|t| t.unix_secs())
        .ok_or_else(|| {
            anyhow!("not an RFC 3339 time from 1970 on (e.g. 2026-11-26T08:00:00Z): {text:?}")
        })
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_round_trip() {
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse("2026-11-26T08:30:00Z").unwrap(), 1_795_681_800);
        assert_eq!(parse("2026-11-26T09:30:00+01:00").unwrap(), 1_795_681_800);
        assert_eq!(parse("2024-02-29T12:00:00.250Z").unwrap(), 1_709_208_000);
        assert_eq!(format(1_795_681_800), "2026-11-26T08:30:00Z");
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-26",
            "yesterday",
            "2026-11-26T25:00:00Z",
            "2026-11-26T08:30:00",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
