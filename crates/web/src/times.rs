//! Times as people and programs read them, written digit by digit: a list prints one or two per
//! row, and the general formatter was a tenth of a list page's time.

use time::{OffsetDateTime, UtcOffset};

fn push2(out: &mut String, n: u8) {
    out.push(char::from(b'0' + n / 10 % 10));
    out.push(char::from(b'0' + n % 10));
}

/// `2026-11-25` followed by `sep`, or `None` for a year outside 0000–9999.
fn push_date(out: &mut String, t: OffsetDateTime, sep: char) -> Option<()> {
    let year = u16::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    #[allow(clippy::cast_possible_truncation)] // year ≤ 9999: both halves < 100
    {
        push2(out, (year / 100) as u8);
        push2(out, (year % 100) as u8);
    }
    out.push('-');
    push2(out, u8::from(t.month()));
    out.push('-');
    push2(out, t.day());
    out.push(sep);
    Some(())
}

/// `2026-11-25 10:00`, China time, to the minute.
pub fn local_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::macros::offset!(+8));
    let mut out = String::with_capacity(16);
    if push_date(&mut out, t, ' ').is_none() {
        return String::new();
    }
    push2(&mut out, t.hour());
    out.push(':');
    push2(&mut out, t.minute());
    out
}

/// RFC 3339 in UTC, `2026-11-25T02:00:00Z`, with the fraction of a second when there is one
/// (as `time`'s own RFC 3339 formatting writes it).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut out = String::with_capacity(30);
    if push_date(&mut out, t, 'T').is_none() {
        return String::new();
    }
    push2(&mut out, t.hour());
    out.push(':');
    push2(&mut out, t.minute());
    out.push(':');
    push2(&mut out, t.second());
    let mut nanos = t.nanosecond();
    if nanos != 0 {
        out.push('.');
        let mut width = 9;
        while nanos.is_multiple_of(10) {
            nanos /= 10;
            width -= 1;
        }
        let digits = nanos.to_string();
        out.extend(std::iter::repeat_n('0', width - digits.len()));
        out.push_str(&digits);
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::{local_time, rfc3339};
    use time::format_description::well_known::Rfc3339;
    use time::macros::datetime;

    #[test]
    fn times_show_in_china_time_to_the_minute() {
        assert_eq!(local_time(datetime!(2026-11-25 02:05:59 UTC)), "2026-11-25 10:05");
        assert_eq!(local_time(datetime!(2026-12-31 16:00 UTC)), "2027-01-01 00:00", "the date turns at CST midnight");
        assert_eq!(local_time(datetime!(0999-03-04 00:00 +08:00)), "0999-03-04 00:00");
    }

    #[test]
    fn rfc3339_is_what_the_time_crate_writes_in_utc() {
        let mut t = datetime!(1970-01-01 00:00 UTC);
        let mut nanos: i64 = 1;
        for i in 0..20_000i64 {
            t += time::Duration::seconds(i % 1_000 * 7_919 + 13) + time::Duration::nanoseconds(nanos % 1_000_000_000);
            nanos = nanos.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407).abs();
            let t = if i % 3 == 0 { t.replace_nanosecond(0).unwrap() } else { t };
            assert_eq!(rfc3339(t), t.format(&Rfc3339).unwrap(), "{t:?}");
        }
        assert_eq!(rfc3339(datetime!(2026-11-25 10:00 +08:00)), "2026-11-25T02:00:00Z");
        assert_eq!(rfc3339(datetime!(2026-11-25 10:00:00.5 UTC)), "2026-11-25T10:00:00.5Z");
    }
}
