//! The bar charts: `downtime`, `bytes_per_tier` and `failures` (bars with 95 % CI
//! whiskers on a category axis).

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{WIDTH, color, de, font, legend_box, mesh_style, tick};
use crate::compare::ComparisonReport;
use crate::stats::Stat;

/// A category axis: category `i` is centred on `i`, from -0.5 to `n - 0.5`, with a tick at
/// each centre (and nowhere else).
struct Categories(usize);

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = (value + 0.5) / self.0.max(1) as f64;
        let px = f64::from(limit.0) + frac * f64::from(limit.1 - limit.0);
        // `as` saturates (and maps NaN to 0): no panic on any input.
        px.round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.0).map(|i| i as f64).collect()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        -0.5..(self.0 as f64 - 0.5)
    }
}

/// A bar: mean, lower and upper end of the whisker (already scaled).
type Bar = Option<(f64, f64, f64)>;

fn bar(stat: Option<&Stat>, scale: f64) -> Bar {
    match stat {
        Some(s) if s.reached > 0 => Some((s.mean * scale, s.ci95_lo * scale, s.ci95_hi * scale)),
        Some(_) => None,
        None => Some((0.0, 0.0, 0.0)),
    }
}

/// Grouped bars: one group per category, one bar per policy (`values[policy][category]`),
/// with CI whiskers and a legend of the policies.
struct Bars<'a> {
    caption: &'a str,
    caption_size: u32,
    /// One category per policy (category `j` holds only policy `j`'s bar, drawn wide).
    per_policy: bool,
    categories: Vec<String>,
    values: Vec<Vec<Bar>>,
    x_desc: &'a str,
    y_desc: &'a str,
}

fn bar_chart<DB: DrawingBackend>(
    b: &Bars<'_>,
    r: &ComparisonReport,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let n_cat = b.categories.len().max(1);
    let n_pol = r.policies.len().max(1);
    let top = b
        .values
        .iter()
        .flatten()
        .flatten()
        .map(|&(m, _, hi)| m.max(hi))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Headroom for the legend box above the bars.
    let legend_frac = (0.08 + 0.055 * (r.policies.len() + 1) as f64).min(0.6);
    let y_max = if top > 0.0 {
        top / (1.0 - legend_frac)
    } else {
        1.0
    };
    let (light, bold) = mesh_style();
    let mut chart = ChartBuilder::on(area)
        .caption(b.caption, font(b.caption_size))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(86)
        .build_cartesian_2d(Categories(n_cat), 0f64..y_max)
        .map_err(de)?;
    let cats = &b.categories;
    let x_fmt = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            cats.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(b.x_desc)
        .y_desc(b.y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&tick)
        .axis_desc_style(font(20))
        .label_style(font(16))
        .light_line_style(light)
        .bold_line_style(bold)
        .max_light_lines(1)
        .draw()
        .map_err(de)?;
    if top <= 0.0 {
        chart
            .draw_series(std::iter::once(Text::new(
                "0 in every run",
                ((n_cat as f64 - 1.0) / 2.0, y_max * 0.3),
                font(20).pos(Pos::new(HPos::Center, VPos::Center)),
            )))
            .map_err(de)?;
    }
    // The bar of policy `j` in category `cat`: left edge, width, centre.
    let w = 0.8 / n_pol as f64;
    let slot = |j: usize, cat: usize| -> (f64, f64, f64) {
        if b.per_policy {
            (cat as f64 - 0.3, 0.6, cat as f64)
        } else {
            let x0 = cat as f64 - 0.4 + j as f64 * w + 0.05 * w;
            (x0, 0.9 * w, x0 + 0.45 * w)
        }
    };
    for (j, p) in r.policies.iter().enumerate() {
        let c = color(j);
        let rects = b
            .values
            .get(j)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(cat, v)| {
                let (m, _, _) = (*v)?;
                let (x0, bw, _) = slot(j, cat);
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + bw, m.max(0.0))],
                    c.filled(),
                ))
            });
        chart
            .draw_series(rects)
            .map_err(de)?
            .label(p.policy.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], c.filled()));
    }
    let whisker = RGBColor(30, 30, 30).stroke_width(2);
    for (j, row) in b.values.iter().enumerate() {
        for (cat, v) in row.iter().enumerate() {
            let Some((_, lo, hi)) = *v else { continue };
            if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
                continue;
            }
            let (_, bw, xc) = slot(j, cat);
            let cap = 0.22 * bw;
            let (lo, hi) = (lo.max(0.0), hi.min(y_max));
            chart
                .draw_series([
                    PathElement::new(vec![(xc, lo), (xc, hi)], whisker),
                    PathElement::new(vec![(xc - cap, lo), (xc + cap, lo)], whisker),
                    PathElement::new(vec![(xc - cap, hi), (xc + cap, hi)], whisker),
                ])
                .map_err(de)?;
        }
    }
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(de)?
        .label("whiskers: 95 % CI of the mean")
        .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 7), (x + 10, y + 7)], whisker));
    legend_box(&mut chart, SeriesLabelPosition::UpperRight)
}

pub(super) fn downtime<DB: DrawingBackend>(
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let root = root
        .titled(
            &format!("{title} per policy (bars: mean over runs)"),
            font(26),
        )
        .map_err(de)?;
    let (left, right) = root.split_horizontally(WIDTH / 2);
    let names: Vec<String> = r.policies.iter().map(|p| p.policy.clone()).collect();
    // Category j holds policy j's bar only.
    let values = |metric: &str| -> Vec<Vec<Bar>> {
        r.policies
            .iter()
            .enumerate()
            .map(|(j, p)| {
                (0..names.len())
                    .map(|c| {
                        if c == j {
                            bar(p.metric(metric), 1.0)
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .collect()
    };
    bar_chart(
        &Bars {
            caption: "Devices rebooting",
            caption_size: 22,
            per_policy: true,
            categories: names.clone(),
            values: values("impact.downtime_device_h"),
            x_desc: "policy",
            y_desc: "process downtime (device-hours)",
        },
        r,
        &left,
    )?;
    bar_chart(
        &Bars {
            caption: "Whole redundancy cell down",
            caption_size: 22,
            per_policy: true,
            categories: names.clone(),
            values: values("impact.downtime_cell_h"),
            x_desc: "policy",
            y_desc: "cell downtime (cell-hours)",
        },
        r,
        &right,
    )
}

pub(super) fn bytes_per_tier<DB: DrawingBackend>(
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let mut tiers: Vec<String> = r.policies.iter().flat_map(|p| p.tiers()).collect();
    tiers.sort();
    tiers.dedup();
    let values = r
        .policies
        .iter()
        .map(|p| {
            tiers
                .iter()
                .map(|t| bar(p.metric(&format!("network.{t}.bytes")), 1e-6))
                .collect()
        })
        .collect();
    let caption = format!("{title} (bars: mean over runs)");
    bar_chart(
        &Bars {
            caption: &caption,
            caption_size: 26,
            per_policy: false,
            categories: tiers,
            values,
            x_desc: "link tier",
            y_desc: "traffic offered (MB = 10⁶ bytes)",
        },
        r,
        root,
    )
}

pub(super) fn failures<DB: DrawingBackend>(
    title: &str,
    r: &ComparisonReport,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    let metrics = [
        ("rolled back", "outcomes.rolled_back"),
        ("rejected", "outcomes.rejected"),
        ("failed", "outcomes.failed"),
        ("retried", "protocol.retries"),
    ];
    let values = r
        .policies
        .iter()
        .map(|p| metrics.iter().map(|(_, m)| bar(p.metric(m), 1.0)).collect())
        .collect();
    let caption = format!("{title} (bars: mean over runs)");
    bar_chart(
        &Bars {
            caption: &caption,
            caption_size: 26,
            per_policy: false,
            categories: metrics.iter().map(|(l, _)| l.to_string()).collect(),
            values,
            x_desc: "outcome (summed over updates)",
            y_desc: "device updates (count)",
        },
        r,
        root,
    )
}
