//! A hand-written SVG horizontal bar chart (no plotting crates): one block of bars per
//! parameter (thread count, reader mode), one colour per contender.

use std::fmt::Write as _;

/// One bar.
#[derive(Clone, Debug)]
pub struct Bar {
    pub series: String,
    pub value: f64,
    pub label: String,
}

/// One block of bars sharing a parameter.
#[derive(Clone, Debug)]
pub struct Block {
    pub title: String,
    pub bars: Vec<Bar>,
}

const PALETTE: [&str; 10] = [
    "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 250.0;
const VALUE_W: f64 = 170.0;
const BAR_H: f64 = 16.0;
const GAP: f64 = 4.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the chart. Bars scale linearly unless the values span more than 20×, then
/// logarithmically (said in the caption).
pub fn bar_chart(title: &str, caption: &str, series_order: &[String], blocks: &[Block]) -> String {
    let values: Vec<f64> = blocks
        .iter()
        .flat_map(|b| b.bars.iter().map(|bar| bar.value))
        .filter(|v| *v > 0.0)
        .collect();
    let max = values.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min).min(max);
    let log = max / min > 20.0;
    let span = WIDTH - LABEL_W - VALUE_W;
    let length = |v: f64| -> f64 {
        if v <= 0.0 {
            return 0.0;
        }
        if log {
            // Leave the smallest bar a visible stub: map [min/2, max] onto [0, span].
            let lo = (min / 2.0).log10();
            span * (v.log10() - lo) / (max.log10() - lo)
        } else {
            span * v / max
        }
    };
    let rows: usize = blocks.iter().map(|b| b.bars.len()).sum();
    let height = 70.0 + blocks.len() as f64 * 26.0 + rows as f64 * (BAR_H + GAP) + 30.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="16" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let scale = if log { "log scale" } else { "linear scale" };
    let _ = writeln!(
        svg,
        r##"<text x="10" y="42" fill="#444">{} ({scale})</text>"##,
        escape(caption)
    );
    let mut y = 64.0;
    for block in blocks {
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y + 14.0,
            escape(&block.title)
        );
        y += 22.0;
        for bar in &block.bars {
            let colour = series_order
                .iter()
                .position(|s| *s == bar.series)
                .map_or("#333333", |i| PALETTE[i % PALETTE.len()]);
            let w = length(bar.value).max(1.0);
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                LABEL_W - 8.0,
                y + BAR_H - 4.0,
                escape(&bar.series)
            );
            let _ = writeln!(
                svg,
                r#"<rect x="{LABEL_W}" y="{y}" width="{w:.1}" height="{BAR_H}" fill="{colour}"/>"#
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{}">{}</text>"#,
                LABEL_W + w + 6.0,
                y + BAR_H - 4.0,
                escape(&bar.label)
            );
            y += BAR_H + GAP;
        }
        y += 4.0;
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_escaped_bars_on_a_log_scale_when_values_span_widely() {
        let blocks = vec![Block {
            title: "2 threads".into(),
            bars: vec![
                Bar {
                    series: "rcu-core".into(),
                    value: 1.0,
                    label: "1.0 ns".into(),
                },
                Bar {
                    series: "std RwLock<Vec>".into(),
                    value: 100.0,
                    label: "100 ns".into(),
                },
            ],
        }];
        let svg = bar_chart(
            "t",
            "c",
            &["rcu-core".into(), "std RwLock<Vec>".into()],
            &blocks,
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("std RwLock&lt;Vec&gt;"));
        assert!(svg.contains("log scale"));
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
