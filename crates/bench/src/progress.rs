//! A progress bar on the terminal (indicatif), or nothing.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows what is running. Cheap to clone; a hidden one costs an atomic
/// add per tick.
#[derive(Clone)]
pub struct Progress {
    enabled: bool,
}

/// The bar of one step; workers call [`Tick::inc`] from any task.
#[derive(Clone)]
pub struct Tick {
    bar: ProgressBar,
}

/// What a step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    Ops,
}

impl Progress {
    /// A bar on standard error when `enabled` (the caller decides: the
    /// command line shows one when standard output is a terminal).
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    pub fn hidden() -> Self {
        Self::new(false)
    }

    /// Starts a step called `label` that counts to `total` (`None` when it
    /// runs for a time rather than a count).
    pub fn step(&self, label: String, total: Option<u64>, unit: Unit) -> Tick {
        if !self.enabled {
            return Tick {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = match (total.is_some(), unit) {
            (true, Unit::Bytes) => {
                "{spinner} {msg:<40} [{bar:30}] {binary_bytes}/{binary_total_bytes} {elapsed}"
            }
            (true, Unit::Ops) => "{spinner} {msg:<40} [{bar:30}] {human_pos}/{human_len} {elapsed}",
            (false, Unit::Bytes) => "{spinner} {msg:<40} {binary_bytes} {elapsed}",
            (false, Unit::Ops) => "{spinner} {msg:<40} {human_pos} {elapsed}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label);
        bar.enable_steady_tick(Duration::from_millis(200));
        Tick { bar }
    }
}

impl Tick {
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
