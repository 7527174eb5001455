//! The plots of a comparison, each as SVG and PNG, drawn with plotters and the embedded
//! DejaVu Sans (so no system font is ever needed, and the PNG is the same on every machine).
//!
//! - `patched_over_time`: share of the fleet patched over time, a line per policy (the mean
//!   over the runs) with its 95 % confidence band shaded;
//! - `completion_cdf`: the pooled completion-time CDF per policy;
//! - `downtime`: process downtime (device-hours) and whole-cell downtime (cell-hours), bars
//!   with 95 % CI whiskers;
//! - `bytes_per_tier`: megabytes per link tier, bars per policy with whiskers;
//! - `failures`: device updates rolled back, rejected, failed and retried, bars per policy.
//!
//! Drawing is a pure function of the report: the same report gives the same SVG text and
//! the same PNG bytes.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::compare::{BandPoint, CdfPoint, ComparisonReport};
use crate::error::ReportError;

mod bars;

/// DejaVu Sans (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family the font is registered under (and that the SVG text asks for).
const FAMILY: &str = "sans-serif";
/// Width of every plot, pixels.
pub const WIDTH: u32 = 1000;
/// Height of every plot, pixels.
pub const HEIGHT: u32 = 600;

/// One rendered plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File stem (`patched_over_time`, …).
    pub name: String,
    /// Human-readable title.
    pub title: String,
    /// The SVG document.
    pub svg: String,
    /// The PNG image.
    pub png: Vec<u8>,
}

/// The fixed palette (Okabe–Ito, readable with colour-vision deficiencies), by policy index.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(120, 120, 120),
];

/// The colour of the policy at `index` (the palette repeats after eight).
pub fn policy_color(index: usize) -> (u8, u8, u8) {
    let c = PALETTE[index % PALETTE.len()];
    (c.0, c.1, c.2)
}

fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

#[derive(Clone, Copy)]
enum Kind {
    PatchedOverTime,
    CompletionCdf,
    Downtime,
    BytesPerTier,
    Failures,
}

const KINDS: [(Kind, &str, &str); 5] = [
    (
        Kind::PatchedOverTime,
        "patched_over_time",
        "Fleet patched over time",
    ),
    (
        Kind::CompletionCdf,
        "completion_cdf",
        "Completion time CDF (runs pooled)",
    ),
    (Kind::Downtime, "downtime", "Process downtime"),
    (
        Kind::BytesPerTier,
        "bytes_per_tier",
        "Traffic per link tier",
    ),
    (
        Kind::Failures,
        "failures",
        "Rollbacks, rejections, failures and retries",
    ),
];

pub(crate) fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(ReportError::Font) }
}

/// Render every plot of a comparison, in a fixed order: `patched_over_time`,
/// `completion_cdf`, `downtime`, `bytes_per_tier`, `failures`. Empty reports give empty
/// (but labelled) plots.
pub fn plots(report: &ComparisonReport) -> Result<Vec<Plot>, ReportError> {
    register_font()?;
    KINDS
        .iter()
        .map(|&(kind, name, title)| render(kind, name, title, report))
        .collect()
}

fn render(kind: Kind, name: &str, title: &str, r: &ComparisonReport) -> Result<Plot, ReportError> {
    let plot_err = |message: String| ReportError::Plot {
        plot: name.to_string(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(kind, title, r, &root).map_err(plot_err)?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(kind, title, r, &root).map_err(plot_err)?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    let png = encode_png(&rgb, WIDTH, HEIGHT).map_err(|message| ReportError::Png {
        plot: name.to_string(),
        message,
    })?;
    Ok(Plot {
        name: name.to_string(),
        title: title.to_string(),
        svg,
        png,
    })
}

/// Encode an RGB buffer of `width` x `height` pixels as PNG.
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(rgb).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn de<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn draw<DB: DrawingBackend>(
    kind: Kind,
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(de)?;
    match kind {
        Kind::PatchedOverTime => patched_over_time(title, r, root),
        Kind::CompletionCdf => completion_cdf(title, r, root),
        Kind::Downtime => bars::downtime(title, r, root),
        Kind::BytesPerTier => bars::bytes_per_tier(title, r, root),
        Kind::Failures => bars::failures(title, r, root),
    }
}

/// The instant after which a band no longer changes.
fn band_settles(band: &[BandPoint]) -> f64 {
    let Some(last) = band.last() else { return 0.0 };
    let same = |b: &BandPoint| b.mean == last.mean && b.lo == last.lo && b.hi == last.hi;
    let first_final = band.iter().rposition(|b| !same(b)).map_or(0, |i| i + 1);
    band.get(first_final).map_or(last.t_h, |b| b.t_h)
}

/// The band clipped to `[0, x_max]`, ending with a point at `x_max` carrying the last value
/// (the fleet keeps its state after a run ends).
fn clip_band(band: &[BandPoint], x_max: f64) -> Vec<BandPoint> {
    let mut out: Vec<BandPoint> = band
        .iter()
        .filter(|b| b.t_h >= 0.0 && b.t_h <= x_max)
        .cloned()
        .collect();
    if let Some(last) = band.iter().take_while(|b| b.t_h <= x_max).last()
        && last.t_h < x_max
    {
        out.push(BandPoint {
            t_h: x_max,
            ..last.clone()
        });
    }
    out
}

fn mesh_style() -> (RGBColor, RGBColor) {
    (RGBColor(238, 238, 238), RGBColor(205, 205, 205))
}

fn legend_box<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<impl Ranged, impl Ranged>>,
    pos: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(150, 150, 150))
        .label_font(font(16))
        .margin(12)
        .draw()
        .map_err(de)
}

fn patched_over_time<DB: DrawingBackend>(
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let settle = r
        .policies
        .iter()
        .map(|p| band_settles(&p.timeline))
        .fold(0.0f64, f64::max);
    let end = r
        .policies
        .iter()
        .filter_map(|p| p.timeline.last().map(|b| b.t_h))
        .fold(0.0f64, f64::max);
    // Stop a little after the last change of any band (the curves are flat after it; the
    // fleet keeps its state after a run ends, so the last value carries forward).
    let x_max = if settle > 0.0 { settle * 1.06 } else { end };
    let x_max = if x_max.is_finite() && x_max > 0.0 {
        x_max
    } else {
        1.0
    };
    let (light, bold) = mesh_style();
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(26))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(0f64..x_max, 0f64..100f64)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc("hours after release (h)")
        .y_desc("fleet patched (% of devices to update)")
        .axis_desc_style(font(20))
        .label_style(font(16))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(light)
        .bold_line_style(bold)
        .max_light_lines(4)
        .draw()
        .map_err(de)?;
    let bands: Vec<Vec<BandPoint>> = r
        .policies
        .iter()
        .map(|p| clip_band(&p.timeline, x_max))
        .collect();
    for (i, band) in bands.iter().enumerate() {
        let mut poly = simplify(band.iter().map(|b| (b.t_h, b.lo * 100.0)).collect(), x_max);
        let upper = simplify(band.iter().map(|b| (b.t_h, b.hi * 100.0)).collect(), x_max);
        poly.extend(upper.into_iter().rev());
        if poly.len() >= 3 {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    color(i).mix(0.25).filled(),
                )))
                .map_err(de)?;
        }
    }
    for (i, (p, band)) in r.policies.iter().zip(&bands).enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                simplify(
                    band.iter().map(|b| (b.t_h, b.mean * 100.0)).collect(),
                    x_max,
                ),
                c.stroke_width(3),
            ))
            .map_err(de)?
            .label(format!("{} (mean of {} runs)", p.policy, p.runs))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    }
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(de)?
        .label("shaded band: 95 % CI of the mean")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 7), (x + 24, y + 7)],
                RGBColor(110, 110, 110).mix(0.3).filled(),
            )
        });
    legend_box(&mut chart, SeriesLabelPosition::LowerRight)
}

/// Drop the points of a line (x in 0..x_max, y in 0..100) closer than about a pixel to
/// the last point kept (the last point always stays): sub-pixel jogs make thick lines
/// sprout spikes in the bitmap rendering and only bloat the SVG.
fn simplify(points: Vec<(f64, f64)>, x_max: f64) -> Vec<(f64, f64)> {
    // The plotting area is about 890 × 470 pixels.
    let (sx, sy) = (890.0 / x_max, 470.0 / 100.0);
    let mut kept: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    let n = points.len();
    for (i, p) in points.into_iter().enumerate() {
        let far = kept
            .last()
            .is_none_or(|q| ((p.0 - q.0) * sx).abs() >= 1.0 || ((p.1 - q.1) * sy).abs() >= 1.0);
        if far || i + 1 == n {
            kept.push(p);
        }
    }
    // Then the middle points of horizontal and vertical runs.
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(kept.len());
    for (i, &p) in kept.iter().enumerate() {
        if let (Some(&q), Some(&r)) = (out.last(), kept.get(i + 1))
            && ((q.1 == p.1 && p.1 == r.1) || (q.0 == p.0 && p.0 == r.0))
        {
            continue;
        }
        out.push(p);
    }
    out
}

fn cdf_steps(cdf: &[CdfPoint], x_max: f64) -> Vec<(f64, f64)> {
    let mut pts = vec![(0.0, 0.0)];
    let mut prev = 0.0;
    for p in cdf.iter().filter(|p| p.t_h <= x_max) {
        let t = p.t_h.max(0.0);
        pts.push((t, prev * 100.0));
        pts.push((t, p.share * 100.0));
        prev = p.share;
    }
    pts.push((x_max, prev * 100.0));
    pts
}

fn completion_cdf<DB: DrawingBackend>(
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let last = r
        .policies
        .iter()
        .filter_map(|p| p.completion_cdf.last().map(|c| c.t_h))
        .fold(0.0f64, f64::max);
    let x_max = if last.is_finite() && last > 0.0 {
        last * 1.05
    } else {
        1.0
    };
    let (light, bold) = mesh_style();
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(26))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(0f64..x_max, 0f64..100f64)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_desc("completion time, hours after release (h)")
        .y_desc("devices patched (% of devices to update)")
        .axis_desc_style(font(20))
        .label_style(font(16))
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(light)
        .bold_line_style(bold)
        .max_light_lines(4)
        .draw()
        .map_err(de)?;
    for (i, p) in r.policies.iter().enumerate() {
        let c = color(i);
        let final_share = p.completion_cdf.last().map_or(0.0, |c| c.share);
        chart
            .draw_series(LineSeries::new(
                simplify(cdf_steps(&p.completion_cdf, x_max), x_max),
                c.stroke_width(3),
            ))
            .map_err(de)?
            .label(format!(
                "{} ({} runs, {:.1} % patched)",
                p.policy,
                p.runs,
                final_share * 100.0
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3)));
    }
    legend_box(&mut chart, SeriesLabelPosition::LowerRight)
}

/// A tick label: at most four decimals, trailing zeros dropped (`100`, `2.5`, `0.02`).
fn tick(v: &f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}
