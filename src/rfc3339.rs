//! RFC 3339 timestamps (UTC `Z` or numeric offsets) to and from Unix seconds, without a
//! date-time dependency. Civil-date arithmetic after H. Hinnant's `days_from_civil`.

use anyhow::{Context, Result, bail};

/// Parse `2026-11-26T08:00:00Z` (fractional seconds and `+hh:mm` offsets accepted).
pub(crate) fn parse(text: &str) -> Result<u64> {
    let bad = || format!("not an RFC 3339 time (e.g. 2026-11-26T08:00:00Z): {text:?}");
    let t = text.trim();
    if t.len() < 20 || !t.is_ascii() {
        bail!(bad());
    }
    let (date, rest) = t.split_at(10);
    let sep = rest.as_bytes()[0];
    if !matches!(sep, b'T' | b't' | b' ') {
        bail!(bad());
    }
    let rest = &rest[1..];
    let num = |s: &str| s.parse::<i64>().with_context(bad);
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        bail!(bad())
    };
    let (year, month, day) = (num(y)?, num(mo)?, num(da)?);
    if rest.len() < 9 {
        bail!(bad());
    }
    let (clock, zone) = rest.split_at(8);
    let c: Vec<&str> = clock.split(':').collect();
    let [h, mi, s] = c.as_slice() else {
        bail!(bad())
    };
    let (hour, minute, second) = (num(h)?, num(mi)?, num(s)?);
    let zone = zone.trim_start_matches(|ch: char| ch == '.' || ch.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (num(&z[1..3])? * 3600 + num(&z[4..6])? * 60)
        }
        _ => bail!(bad()),
    };
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        bail!(bad());
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).with_context(|| format!("time before 1970: {text:?}"))
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

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
