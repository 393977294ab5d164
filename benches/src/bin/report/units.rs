//! How numbers read: times in ns/µs/ms/s, rates in /s, k/s, M/s, G/s, and the scale an
//! axis uses for a given maximum.

/// `1.23 ns`, `12.3 µs`, `1.20 ms`, `1.50 s`.
pub fn format_time(ns: f64) -> String {
    let (scale, unit) = time_scale(ns);
    format!("{:.2} {unit}", ns / scale)
}

/// `825 M/s`, `9.20 M/s`, `120 k/s`.
pub fn format_rate(per_sec: f64) -> String {
    let (scale, unit) = rate_scale(per_sec);
    let v = per_sec / scale;
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// The divisor and unit that show `ns` with 1 to 3 integer digits.
pub fn time_scale(ns: f64) -> (f64, &'static str) {
    if ns < 1e3 {
        (1.0, "ns")
    } else if ns < 1e6 {
        (1e3, "µs")
    } else if ns < 1e9 {
        (1e6, "ms")
    } else {
        (1e9, "s")
    }
}

/// The divisor and unit that show a rate with 1 to 3 integer digits.
pub fn rate_scale(per_sec: f64) -> (f64, &'static str) {
    if per_sec >= 1e9 {
        (1e9, "G/s")
    } else if per_sec >= 1e6 {
        (1e6, "M/s")
    } else if per_sec >= 1e3 {
        (1e3, "k/s")
    } else {
        (1.0, "/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_time(1.234), "1.23 ns");
        assert_eq!(format_time(12_500.0), "12.50 µs");
        assert_eq!(format_time(48_130.0), "48.13 µs");
        assert_eq!(format_time(10.2e6), "10.20 ms");
        assert_eq!(format_rate(825e6), "825 M/s");
        assert_eq!(format_rate(9.2e6), "9.20 M/s");
        assert_eq!(format_rate(1.52e9), "1.52 G/s");
        assert_eq!(rate_scale(999.0), (1.0, "/s"));
    }
}
