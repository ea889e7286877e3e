//! The bundled font. plotters' `ab_glyph` text renderer only knows fonts registered with it, so
//! DejaVu Sans (Bitstream Vera licence, `DejaVuSans-LICENSE.txt` next to it) is compiled into the
//! binary and registered once per process: the pictures then need no system fonts or fontconfig
//! and render the same everywhere.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use super::PlotError;

/// The family every text of the pictures is drawn in. plotters' own defaults (axis labels,
/// legend) ask for the generic `sans-serif` family, so registering the bundled face under that
/// name covers them as well as our explicit text styles.
pub(super) const FAMILY: &str = "sans-serif";

/// DejaVu Sans Book, as shipped by Debian's `fonts-dejavu-core`.
static DEJAVU_SANS: &[u8] = include_bytes!("DejaVuSans.ttf");

/// Whether the registration succeeded, decided by the first caller.
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the bundled font with plotters (first call only; later calls return the first
/// call's outcome).
pub(super) fn ensure_registered() -> Result<(), PlotError> {
    let registered =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if registered {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_font_registers_and_registering_again_is_harmless() {
        assert!(ensure_registered().is_ok());
        assert!(ensure_registered().is_ok());
    }
}
