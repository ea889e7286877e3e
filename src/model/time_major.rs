//! Window layout helpers: turn row-major feature rows into the time-major batches the network
//! reads (see [`Network::forward`](super::network::Network::forward)).
//!
//! Kept apart so training and inference build windows with the same code.

/// Copy the windows ending at each row of `ends` out of `rows` (row-major, `inputs` values per
/// row) into `out` as a time-major block `[steps * ends.len(), inputs]`.
///
/// The window ending at row `e` is rows `e + 1 - steps ..= e`. The caller guarantees
/// `e + 1 >= steps` and `(e + 1) * inputs <= rows.len()` (the split only yields such rows).
/// `out` is cleared and reused, so a training loop allocates it once.
pub fn gather_time_major(
    rows: &[f32],
    inputs: usize,
    steps: usize,
    ends: &[usize],
    out: &mut Vec<f32>,
) {
    let batch = ends.len();
    out.clear();
    out.reserve(steps * batch * inputs);
    for t in 0..steps {
        for &end in ends {
            let row = end + 1 + t - steps;
            out.extend_from_slice(&rows[row * inputs..(row + 1) * inputs]);
        }
    }
}

/// Reorder batch-major windows `[batch, steps, inputs]` into time-major `[steps * batch,
/// inputs]`, each row appended through `append(row, out)` (the scaler's
/// [`extend_scaled_bounded`](super::scaler::Scaler::extend_scaled_bounded)), so the copy that
/// must happen anyway does the scaling too.
pub fn batch_to_time_major(
    windows: &[f32],
    batch: usize,
    steps: usize,
    inputs: usize,
    out: &mut Vec<f32>,
    append: impl Fn(&[f32], &mut Vec<f32>),
) {
    out.clear();
    out.reserve(steps * batch * inputs);
    for t in 0..steps {
        for b in 0..batch {
            let start = (b * steps + t) * inputs;
            append(&windows[start..start + inputs], out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_transpose_agree() {
        // 6 rows of 2 features: row r = [r, 10 r].
        let rows: Vec<f32> = (0..6).flat_map(|r| [r as f32, 10.0 * r as f32]).collect();
        let mut gathered = Vec::new();
        gather_time_major(&rows, 2, 3, &[2, 5], &mut gathered);
        // Batch-major copy of the same two windows.
        let batch_major: Vec<f32> = [0usize, 3]
            .iter()
            .flat_map(|&s| rows[s * 2..(s + 3) * 2].to_vec())
            .collect();
        let mut transposed = Vec::new();
        batch_to_time_major(&batch_major, 2, 3, 2, &mut transposed, |row, out| {
            out.extend_from_slice(row)
        });
        assert_eq!(gathered, transposed);
        // Step 0 of sample 0 is row 0, step 0 of sample 1 is row 3, step 2 of sample 1 is row 5.
        assert_eq!(&gathered[0..2], &[0.0, 0.0]);
        assert_eq!(&gathered[2..4], &[3.0, 30.0]);
        assert_eq!(&gathered[10..12], &[5.0, 50.0]);
    }
}
