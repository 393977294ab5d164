//! Numbers for people: latencies and durations in ns/µs/ms/s with three significant digits, rates
//! with k/M/G prefixes. Only the text output uses them; `--json` keeps raw numbers.

use std::time::Duration;

/// A latency in nanoseconds, e.g. `287 ns`, `1.54 µs`, `10.5 ms`, `1.20 s`.
///
/// ```
/// use qdev_demo::util::units::latency_ns;
/// assert_eq!(latency_ns(287), "287 ns");
/// assert_eq!(latency_ns(1_536), "1.54 µs");
/// assert_eq!(latency_ns(11_534_335), "11.5 ms");
/// assert_eq!(latency_ns(1_200_000_000), "1.20 s");
/// ```
pub fn latency_ns(ns: u64) -> String {
    let v = ns as f64;
    let (value, unit) = if ns < 1_000 {
        return format!("{ns} ns");
    } else if ns < 1_000_000 {
        (v / 1e3, "µs")
    } else if ns < 1_000_000_000 {
        (v / 1e6, "ms")
    } else {
        (v / 1e9, "s")
    };
    format!("{} {unit}", three_digits(value))
}

/// A duration the same way as [`latency_ns`] below a minute, without decimals when it is a
/// whole number of its unit (`20 µs`, `1 s`, `1.25 s`), in whole seconds with `humantime`'s units
/// above (`1m 30s`, `2h`).
///
/// ```
/// use std::time::Duration;
/// use qdev_demo::util::units::duration;
/// assert_eq!(duration(Duration::from_micros(20)), "20 µs");
/// assert_eq!(duration(Duration::from_millis(1250)), "1.25 s");
/// assert_eq!(duration(Duration::from_secs(7200)), "2h");
/// ```
pub fn duration(d: Duration) -> String {
    if d >= Duration::from_secs(60) {
        return humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
    }
    let ns = d.as_nanos();
    let (scale, unit) = match ns {
        0..1_000 => (1, "ns"),
        1_000..1_000_000 => (1_000, "µs"),
        1_000_000..1_000_000_000 => (1_000_000, "ms"),
        _ => (1_000_000_000, "s"),
    };
    if ns % scale == 0 {
        format!("{} {unit}", ns / scale)
    } else {
        latency_ns(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

/// A rate or count with an SI prefix, e.g. `950`, `12.3k`, `2.47M`.
///
/// ```
/// use qdev_demo::util::units::si;
/// assert_eq!(si(950.0), "950");
/// assert_eq!(si(12_345.0), "12.3k");
/// assert_eq!(si(2_470_000.0), "2.47M");
/// ```
pub fn si(value: f64) -> String {
    let v = value.max(0.0);
    if v < 1e3 {
        format!("{v:.0}")
    } else if v < 1e6 {
        format!("{}k", three_digits(v / 1e3))
    } else if v < 1e9 {
        format!("{}M", three_digits(v / 1e6))
    } else {
        format!("{}G", three_digits(v / 1e9))
    }
}

/// A ratio with three significant digits, e.g. `1.30x`, `14.8x`, `166x`.
///
/// ```
/// use qdev_demo::util::units::times;
/// assert_eq!((times(1.3), times(14.83), times(165.91)), ("1.30x".into(), "14.8x".into(), "166x".into()));
/// ```
pub fn times(ratio: f64) -> String {
    format!("{}x", three_digits(ratio.max(0.0)))
}

/// A share (0-1) as a percentage with enough digits for small ones: `0%`, `0.031%`, `2.4%`,
/// `41%`.
///
/// ```
/// use qdev_demo::util::units::share;
/// assert_eq!(share(0.0), "0%");
/// assert_eq!(share(0.000_31), "0.031%");
/// assert_eq!(share(0.024), "2.4%");
/// assert_eq!(share(0.41), "41%");
/// assert_eq!(share(1e-9), "<0.001%");
/// ```
pub fn share(fraction: f64) -> String {
    let pct = fraction * 100.0;
    if pct == 0.0 {
        "0%".to_owned()
    } else if pct < 0.001 {
        "<0.001%".to_owned()
    } else if pct < 0.1 {
        format!("{pct:.3}%")
    } else if pct < 10.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    }
}

/// A share as a whole percentage, e.g. `97%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// `value` (1 to 999.5) with three significant digits: `1.54`, `11.5`, `287`.
fn three_digits(value: f64) -> String {
    if value < 9.995 {
        format!("{value:.2}")
    } else if value < 99.95 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(latency_ns(0), "0 ns");
        assert_eq!(latency_ns(999), "999 ns");
        assert_eq!(latency_ns(1_000), "1.00 µs");
        assert_eq!(latency_ns(999_999), "1000 µs");
        assert_eq!(si(-1.0), "0");
        assert_eq!(si(3.4e9), "3.40G");
        assert_eq!(percent(0.971), "97%");
    }
}
