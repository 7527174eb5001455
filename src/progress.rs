//! Progress on stderr: simulated time, events and events per second (wall clock, which
//! only the binary reads; nothing of it reaches a report).

use std::time::Duration;

use icsim_reports::RunReport;
use icsim_sim::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display, silent when quiet.
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub(crate) fn new(quiet: bool, name: &str) -> Self {
        if quiet {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} PLCs done  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        Bar { bar: Some(bar) }
    }

    pub(crate) fn update(&self, p: Progress, wall: Duration) {
        let Some(bar) = &self.bar else { return };
        bar.set_length(p.devices);
        bar.set_position(p.devices_done);
        let rate = p.events as f64 / wall.as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "simulated {:.2} h, {} events, {:.2} M events/s",
            p.simulated.as_secs_f64() / 3600.0,
            p.events,
            rate / 1e6
        ));
    }

    pub(crate) fn finish(&self, report: &RunReport, wall: Duration) {
        let Some(bar) = &self.bar else { return };
        bar.finish_and_clear();
        eprintln!(
            "simulated {:.2} h in {:.2} s wall: {} events, {:.2} M events/s",
            report.engine.simulated_h,
            wall.as_secs_f64(),
            report.engine.events,
            report.engine.events as f64 / wall.as_secs_f64().max(1e-9) / 1e6
        );
    }
}
