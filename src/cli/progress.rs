//! Progress display on a terminal (hidden automatically when stderr is not one).

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner that counts rows and shows the rate.
pub fn row_spinner(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {prefix}: {human_pos} rows ({per_sec}) {elapsed}")
    {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// A bar over a known number of steps.
pub fn bar(label: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix}: [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar
}
