//! The plots, drawn with plotters' SVG backend: a horizontal bar chart for each group
//! (one bar per contender and parameter, values printed on the bars) and, for the groups
//! that sweep thread counts, throughput against threads with the oversubscribed range
//! shaded. Every axis is linear, starts at zero and names its unit; colours come from
//! [`crate::palette`], so a colour means the same contender in every chart.

use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::criterion::Results;
use crate::groups::{Metric, Scaling, Spec, functions, params};
use crate::palette::colour;
use crate::units::{rate_scale, time_scale};

const WIDTH: u32 = 1000;
const ROW_H: u32 = 24;
const FONT: &str = "sans-serif";
/// Light grey band behind every other parameter block of a bar chart.
const BAND: RGBColor = RGBColor(240, 240, 240);

fn err(e: impl std::fmt::Display) -> String {
    format!("plotting: {e}")
}

/// A markdown title as plain text (no code ticks).
fn plain(title: &str) -> String {
    title.replace('`', "")
}

/// Tick labels: whole numbers on axes that reach 10 or more, one decimal below.
fn tick(max: f64) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        if max >= 10.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }
}

/// Axis scale, unit and description of `metric` for values up to `max` (ns or per second).
fn axis(metric: Metric, max: f64) -> (f64, String) {
    match metric {
        Metric::Rate => {
            let (scale, unit) = rate_scale(max);
            (
                scale,
                format!("aggregate operations per second ({unit}), linear scale; longer is better"),
            )
        }
        Metric::NsPerOp => {
            let (scale, unit) = time_scale(max);
            (
                scale,
                format!("time per operation per thread ({unit}), linear scale; shorter is better"),
            )
        }
        Metric::Latency => {
            let (scale, unit) = time_scale(max);
            (
                scale,
                format!("time per call ({unit}), linear scale; shorter is better"),
            )
        }
    }
}

struct Row {
    label: String,
    contender: String,
    value: f64,
    text: String,
    block: usize,
}

/// The bar chart of `spec`'s group, or `None` if the group was not measured.
pub fn bar_chart(results: &Results, spec: &Spec<'_>) -> Result<Option<String>, String> {
    let functions = functions(results, spec);
    let mut rows = Vec::new();
    for (block, p) in params(results, spec.group).iter().enumerate() {
        for f in &functions {
            if let Some(m) = results.get(spec.group, f, p) {
                let (value, text) = spec.metric.value(m);
                rows.push(Row {
                    label: format!("{} · {f}", spec.column(p)),
                    contender: f.clone(),
                    value,
                    text,
                    block,
                });
            }
        }
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let max = rows.iter().map(|r| r.value).fold(0.0, f64::max);
    let (scale, desc) = axis(spec.metric, max);
    let n = rows.len() as i32;
    let label_w = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(10) as u32
        * 7
        + 16;
    let height = 110 + ROW_H * rows.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x_max = max / scale * 1.22;
        let mut chart = ChartBuilder::on(&root)
            .caption(plain(spec.title), (FONT, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(label_w.min(WIDTH / 2))
            .build_cartesian_2d(0.0..x_max, (0..n - 1).into_segmented())
            .map_err(err)?;
        // Row i is drawn at position n - 1 - i, so that the first row is at the top.
        let at = |i: usize| n - 1 - i as i32;
        let labels = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(pos) => rows
                .get((n - 1 - pos) as usize)
                .map_or_else(String::new, |r| r.label.clone()),
            _ => String::new(),
        };
        // Bands first, so that the grid lines stay visible on them.
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .filter(|(_, r)| r.block % 2 == 1)
                    .map(|(i, _)| {
                        Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(at(i))),
                                (x_max, SegmentValue::Exact(at(i) + 1)),
                            ],
                            BAND.filled(),
                        )
                    }),
            )
            .map_err(err)?;
        let x_ticks = tick(x_max);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(rows.len())
            .y_label_formatter(&labels)
            .x_label_formatter(&x_ticks)
            .x_desc(desc)
            .label_style((FONT, 13))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(at(i))),
                        (r.value / scale, SegmentValue::Exact(at(i) + 1)),
                    ],
                    colour(&r.contender).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                Text::new(
                    format!(" {}", r.text),
                    (r.value / scale, SegmentValue::CenterOf(at(i))),
                    TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}

/// One contender's (threads, operations per second) points.
type Series = (String, Vec<(f64, f64)>);

/// Throughput against threads for a scaling group (`cores`: the machine's), or `None` if
/// the group is not a scaling one or has no numeric parameters. A group with panels gets
/// one chart per panel, stacked, each with its own linear axis from zero.
pub fn line_chart(
    results: &Results,
    spec: &Spec<'_>,
    cores: usize,
) -> Result<Option<String>, String> {
    let Some(scaling) = spec.scaling else {
        return Ok(None);
    };
    let all: Vec<Series> = functions(results, spec)
        .into_iter()
        .map(|f| {
            let mut points: Vec<(f64, f64)> = results
                .group(spec.group)
                .filter(|m| m.function == f)
                .filter_map(|m| Some((m.param.parse::<f64>().ok()?, m.rate())))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (f, points)
        })
        .filter(|(_, points)| !points.is_empty())
        .collect();
    if all.is_empty() {
        return Ok(None);
    }
    // Contenders named by no panel join the last one.
    let mut panels: Vec<(String, Vec<Series>)> = Vec::new();
    for (i, (title, members)) in spec.panels.iter().enumerate() {
        let last = i + 1 == spec.panels.len();
        let series: Vec<Series> = all
            .iter()
            .filter(|(f, _)| {
                members.contains(&f.as_str())
                    || (last && !spec.panels.iter().any(|(_, m)| m.contains(&f.as_str())))
            })
            .cloned()
            .collect();
        if !series.is_empty() {
            panels.push((format!("{}: {title}", plain(spec.title)), series));
        }
    }
    if panels.is_empty() {
        panels.push((plain(spec.title), all.clone()));
    }
    let max_threads = all
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(t, _)| *t))
        .fold(1.0, f64::max);
    let panel_h = 480;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, panel_h * panels.len() as u32))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, (title, series)) in areas.iter().zip(&panels) {
            let own_axis = panels.len() > 1;
            draw_panel(area, title, series, scaling, cores, max_threads, own_axis)?;
        }
        root.present().map_err(err)?;
    }
    Ok(Some(svg))
}

/// One throughput-against-threads chart with its legend on the right (`own_axis`: one of
/// several panels, each with its own y axis, which its label says).
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
    scaling: Scaling,
    cores: usize,
    max_threads: f64,
    own_axis: bool,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let max_rate = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, r)| *r))
        .fold(0.0, f64::max);
    let (scale, unit) = rate_scale(max_rate);
    let y_max = max_rate / scale * 1.1;
    let x_max = max_threads * 1.05 + 0.2;
    // Threads beyond this many measured ones are oversubscribed.
    let boundary = cores.saturating_sub(scaling.busy_background) as f64;
    let (left, legend) = area.split_horizontally(WIDTH - 250);
    let mut chart = ChartBuilder::on(&left)
        .caption(title, (FONT, 18))
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(err)?;
    let x_labels = |x: &f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            String::new()
        }
    };
    let writer = match scaling.busy_background {
        0 => String::new(),
        n => format!(" (+{n} busy {})", scaling.background),
    };
    let y_ticks = tick(y_max);
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&x_labels)
        .y_label_formatter(&y_ticks)
        .x_desc(format!("{}{writer}, linear scale", scaling.threads))
        .y_desc(format!(
            "aggregate operations per second ({unit}), linear scale{}",
            if own_axis { ", this panel's own" } else { "" }
        ))
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    if boundary < max_threads {
        let shade_from = boundary.max(0.0) + 0.5;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(shade_from, 0.0), (x_max, y_max)],
                BLACK.mix(0.08).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("oversubscribed: > {cores} busy threads"),
                (shade_from, y_max * 0.97),
                (FONT, 13).into_font(),
            )))
            .map_err(err)?;
    }
    for (name, points) in series {
        let c = colour(name);
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(t, r)| (t, r / scale)),
                c.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(t, r)| Circle::new((t, r / scale), 4, c.filled())),
            )
            .map_err(err)?;
    }
    for (i, (name, _)) in series.iter().enumerate() {
        let y = 60 + 24 * i as i32;
        let c = colour(name);
        legend
            .draw(&PathElement::new([(10, y), (40, y)], c.stroke_width(3)))
            .map_err(err)?;
        legend
            .draw(&Circle::new((25, y), 4, c.filled()))
            .map_err(err)?;
        legend
            .draw(&Text::new(
                name.clone(),
                (48, y),
                TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criterion::tests::fake;

    fn results() -> Results {
        let m = |function: &str, param: &str, ns: f64| fake("read_side", function, param, ns);
        Results {
            all: vec![
                m("rcu-core", "1", 1.0),
                m("rcu-core", "2", 1.0),
                m("rcu-core", "4", 2.0),
                m("std Mutex", "1", 12.0),
                m("std Mutex", "2", 200.0),
            ],
        }
    }

    #[test]
    fn bars_are_linear_with_units_and_palette_colours() {
        let results = results();
        let svg = bar_chart(&results, &Spec::of(&results, "read_side"))
            .unwrap()
            .unwrap();
        assert!(svg.contains("time per operation per thread (ns), linear scale"));
        assert!(svg.contains("2 thr · std Mutex"));
        assert!(svg.contains("200.00 ns"));
        // rcu-core's red and std Mutex's olive from the palette.
        assert!(svg.contains("#D62728"), "{svg}");
        assert!(svg.contains("#BCBD22"));
        assert!(
            bar_chart(&results, &Spec::of(&results, "polling"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn list_charts_have_one_panel_per_layout() {
        let results = Results {
            all: [
                ("rcu-queue RcuTailq", 100.0),
                ("std RwLock<linked list>", 120.0),
                ("rcu-core RcuCell<Vec>", 10.0),
                ("a future contender", 50.0),
            ]
            .into_iter()
            .flat_map(|(f, ns)| ["1", "2"].map(|p| fake("list_traversal", f, p, ns)))
            .collect(),
        };
        let spec = Spec::of(&results, "list_traversal");
        let svg = line_chart(&results, &spec, 2).unwrap().unwrap();
        assert!(svg.contains("5a. 64-element list traversal, no writer: linked lists"));
        assert!(svg.contains("5a. 64-element list traversal, no writer: vectors"));
        assert!(svg.contains("a future contender"));
        // Each panel scales its own axis: the lists' is in M/s (20 M/s at most), the
        // vectors' too (200 M/s at most), and both are labelled.
        assert_eq!(
            svg.matches(
                "aggregate operations per second (M/s), linear scale, this panel&apos;s own"
            )
            .count(),
            2
        );
    }

    #[test]
    fn scaling_chart_shades_the_oversubscribed_range() {
        let results = results();
        let spec = Spec::of(&results, "read_side");
        let svg = line_chart(&results, &spec, 2).unwrap().unwrap();
        assert!(svg.contains("measured threads, linear scale"));
        assert!(svg.contains("oversubscribed: &gt; 2 busy threads"), "{svg}");
        assert!(svg.contains("aggregate operations per second (G/s), linear scale"));
        let wide = line_chart(&results, &spec, 8).unwrap().unwrap();
        assert!(!wide.contains("oversubscribed"));
        let latency = Spec::of(&results, "synchronize_rcu");
        assert!(line_chart(&results, &latency, 2).unwrap().is_none());
    }
}
