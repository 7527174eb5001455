//! The plot of the attack matrix: per attack, the share of attempts that succeeded with
//! every defence on and with its own defence off (horizontal bars).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::AttackMatrix;
use crate::error::ReportError;
use crate::plots::{HEIGHT, Plot, WIDTH, encode_png, font, policy_color, register_font};

const NAME: &str = "attack_matrix";
const TITLE: &str = "Attacks that succeeded: every defence on vs its defence off";

fn share(succeeded: u64, attempts: u64) -> f64 {
    if attempts == 0 {
        0.0
    } else {
        succeeded as f64 * 100.0 / attempts as f64
    }
}

fn draw<DB: DrawingBackend>(m: &AttackMatrix, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let de = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(de)?;
    let n = m.rows.len().max(1);
    // Category k (0 at the bottom) is centred on y = k; the first row is at the top.
    let mut chart = ChartBuilder::on(root)
        .caption(TITLE, font(24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(190)
        .build_cartesian_2d(0f64..100f64, -0.5f64..(n as f64 - 0.5))
        .map_err(de)?;
    let labels: Vec<String> = m.rows.iter().map(|r| r.attack.clone()).collect();
    chart
        .configure_mesh()
        .x_desc("attempts that succeeded (%)")
        .axis_desc_style(font(18))
        .label_style(font(14))
        .y_labels(n + 1)
        .y_label_formatter(&|y: &f64| {
            let k = y.round();
            if (y - k).abs() > 0.01 || k < 0.0 {
                return String::new();
            }
            let row = n as i64 - 1 - k as i64;
            usize::try_from(row)
                .ok()
                .and_then(|i| labels.get(i).cloned())
                .unwrap_or_default()
        })
        .disable_y_mesh()
        .draw()
        .map_err(de)?;
    let (on, off) = (policy_color(0), policy_color(1));
    let (on, off) = (RGBColor(on.0, on.1, on.2), RGBColor(off.0, off.1, off.2));
    for (i, r) in m.rows.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let defended = share(r.defended.succeeded, r.defended.attempts);
        let ablated = share(r.ablated.succeeded, r.ablated.attempts);
        // A success, however rare, stays visible.
        let visible = |v: f64, count: u64| if count > 0 { v.max(0.8) } else { v };
        chart
            .draw_series([
                Rectangle::new(
                    [
                        (0.0, y + 0.05),
                        (visible(defended, r.defended.succeeded).max(0.3), y + 0.35),
                    ],
                    on.filled(),
                ),
                Rectangle::new(
                    [
                        (0.0, y - 0.35),
                        (visible(ablated, r.ablated.succeeded), y - 0.05),
                    ],
                    off.filled(),
                ),
            ])
            .map_err(de)?;
        let text = |c: &super::MatrixCell| format!("{}/{}", c.succeeded, c.attempts);
        let ablated_x = if ablated < 80.0 { ablated + 1.0 } else { 81.0 };
        chart
            .draw_series([
                Text::new(text(&r.defended), (1.5, y + 0.38), font(12)),
                Text::new(text(&r.ablated), (ablated_x, y - 0.02), font(12)),
            ])
            .map_err(de)?;
    }
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(de)?
        .label("every defence on")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], on.filled()));
    chart
        .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
        .map_err(de)?
        .label("its own defence off")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], off.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(de)?;
    Ok(())
}

/// Draw the matrix plot as SVG and PNG (the same matrix gives the same bytes).
pub fn matrix_plot(m: &AttackMatrix) -> Result<Plot, ReportError> {
    register_font()?;
    let plot_err = |message: String| ReportError::Plot {
        plot: NAME.to_string(),
        message,
    };
    let height = HEIGHT.max(120 + 34 * m.rows.len() as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        draw(m, &root).map_err(plot_err)?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    let mut rgb = vec![0u8; (WIDTH * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, height)).into_drawing_area();
        draw(m, &root).map_err(plot_err)?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    let png = encode_png(&rgb, WIDTH, height).map_err(|message| ReportError::Png {
        plot: NAME.to_string(),
        message,
    })?;
    Ok(Plot {
        name: NAME.to_string(),
        title: TITLE.to_string(),
        svg,
        png,
    })
}
