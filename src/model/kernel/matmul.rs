//! Row-major single-precision matrix products for the kernel's shapes.
//!
//! The products here are small and repeated: `[batch, hidden] x [hidden, gates * hidden]` once
//! per step, with the same right-hand matrix every time. A general-purpose GEMM (the `gemm`
//! crate, which burn-flex uses) packs the right-hand matrix into its own layout on every call;
//! at these sizes the packing costs about as much as the arithmetic. The weights are already
//! row-major and hot in cache, so this register-tiled loop reads them directly: two rows of the
//! left matrix against a 32-column strip of the right one, 16 accumulators kept in registers,
//! one fused multiply-add per value. On x86-64 it is compiled a second time for AVX2 + FMA and
//! chosen at run time; elsewhere (and on older CPUs) the portable build runs.

use super::KernelError;
use super::fma::madd;

/// Columns per register strip: four AVX vectors.
const STRIP: usize = 32;

/// `dst (m x n) = [dst +] lhs (m x k) · rhs (k x n)`, every matrix row-major and contiguous.
///
/// With `accumulate` the product is added to what `dst` holds (a recurrent step adding `h · W_h`
/// to the precomputed input projection); otherwise `dst` is overwritten.
pub fn matmul(
    dst: &mut [f32],
    lhs: &[f32],
    rhs: &[f32],
    [m, k, n]: [usize; 3],
    accumulate: bool,
) -> Result<(), KernelError> {
    if dst.len() != m * n || lhs.len() != m * k || rhs.len() != k * n {
        return Err(KernelError::Shape {
            what: "matmul",
            expected: m * k + k * n + m * n,
            found: lhs.len() + rhs.len() + dst.len(),
        });
    }
    if !accumulate {
        dst.fill(0.0);
    }
    if m == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above; it implies AVX2 and FMA), all
        // the `target_feature` function requires; its body is safe code.
        unsafe { accumulate_avx512(dst, lhs, rhs, k, n) };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), all the
        // `target_feature` function requires; its body is safe code.
        unsafe { accumulate_fma(dst, lhs, rhs, k, n) };
        return Ok(());
    }
    accumulate_into::<2, false>(dst, lhs, rhs, k, n);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn accumulate_avx512(dst: &mut [f32], lhs: &[f32], rhs: &[f32], k: usize, n: usize) {
    // Two rows x two zmm vectors of accumulators: measured faster than four rows here.
    accumulate_into::<2, true>(dst, lhs, rhs, k, n);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn accumulate_fma(dst: &mut [f32], lhs: &[f32], rhs: &[f32], k: usize, n: usize) {
    // 16 ymm registers: two rows x four vectors of accumulators.
    accumulate_into::<2, true>(dst, lhs, rhs, k, n);
}

/// `dst += lhs · rhs` with lengths already checked (`lhs` has `k` columns, `rhs` and `dst` `n`),
/// `R` rows at a time (as many as the vector registers hold accumulators for), then the
/// remaining rows one by one.
#[inline(always)]
fn accumulate_into<const R: usize, const FMA: bool>(
    dst: &mut [f32],
    lhs: &[f32],
    rhs: &[f32],
    k: usize,
    n: usize,
) {
    let mut blocks = dst.chunks_exact_mut(R * n);
    let mut lhs_blocks = lhs.chunks_exact(R * k);
    for (d, l) in (&mut blocks).zip(&mut lhs_blocks) {
        let mut d_rows = d.chunks_exact_mut(n);
        let mut l_rows = l.chunks_exact(k);
        let d_rows: [&mut [f32]; R] = std::array::from_fn(|_| d_rows.next().unwrap_or_default());
        let l_rows: [&[f32]; R] = std::array::from_fn(|_| l_rows.next().unwrap_or_default());
        rows::<R, FMA>(d_rows, l_rows, rhs, n);
    }
    let rest = blocks.into_remainder().chunks_exact_mut(n);
    for (d, l) in rest.zip(lhs_blocks.remainder().chunks_exact(k)) {
        rows::<1, FMA>([d], [l], rhs, n);
    }
}

/// `R` rows of the product, a strip of [`STRIP`] columns at a time accumulated in registers,
/// then the columns past the last whole strip one at a time.
#[inline(always)]
fn rows<const R: usize, const FMA: bool>(
    mut dst: [&mut [f32]; R],
    lhs: [&[f32]; R],
    rhs: &[f32],
    n: usize,
) {
    let strips = n / STRIP;
    for strip in 0..strips {
        let c0 = strip * STRIP;
        let mut acc = [[0.0f32; STRIP]; R];
        for (p, w) in rhs.chunks_exact(n).enumerate() {
            // A fixed-size strip, so the compiler unrolls it into whole vector registers.
            let Some(w) = w
                .get(c0..c0 + STRIP)
                .and_then(|w| <&[f32; STRIP]>::try_from(w).ok())
            else {
                continue;
            };
            for (acc, l) in acc.iter_mut().zip(&lhs) {
                let x = l.get(p).copied().unwrap_or(0.0);
                for j in 0..STRIP {
                    acc[j] = madd::<FMA>(x, w[j], acc[j]);
                }
            }
        }
        for (d, acc) in dst.iter_mut().zip(&acc) {
            for (d, a) in d[c0..c0 + STRIP].iter_mut().zip(acc) {
                *d += a;
            }
        }
    }
    for c in strips * STRIP..n {
        for (d, l) in dst.iter_mut().zip(&lhs) {
            let mut a = 0.0f32;
            for (w, &x) in rhs.chunks_exact(n).zip(l.iter()) {
                a = madd::<FMA>(x, w[c], a);
            }
            d[c] += a;
        }
    }
}

/// `buffer` becomes `rows` copies of `row`.
pub(super) fn fill_rows(buffer: &mut Vec<f32>, row: &[f32], rows: usize) {
    buffer.clear();
    for _ in 0..rows {
        buffer.extend_from_slice(row);
    }
}

/// `buffer` becomes `len` zeros.
pub(super) fn reset(buffer: &mut Vec<f32>, len: usize) {
    buffer.clear();
    buffer.resize(len, 0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(lhs: &[f32], rhs: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| lhs[i * k + p] * rhs[p * n + j]).sum();
            }
        }
        out
    }

    #[test]
    fn equals_the_naive_product_and_accumulates() {
        for (m, k, n) in [
            (5, 7, 9),
            (4, 33, 128),
            (3, 32, 96),
            (1, 64, 256),
            (2, 5, 40),
        ] {
            check_shape(m, k, n);
        }
    }

    fn check_shape(m: usize, k: usize, n: usize) {
        let lhs: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&lhs, &rhs, m, k, n);
        let mut dst = vec![123.0; m * n];
        matmul(&mut dst, &lhs, &rhs, [m, k, n], false).unwrap();
        for (a, b) in dst.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
        }
        matmul(&mut dst, &lhs, &rhs, [m, k, n], true).unwrap();
        for (a, b) in dst.iter().zip(&expected) {
            assert!(
                (a - 2.0 * b).abs() < 2e-4 * (1.0 + b.abs()),
                "{a} vs {}",
                2.0 * b
            );
        }
    }

    /// One compiled variant of [`accumulate_into`].
    type Accumulate = fn(&mut [f32], &[f32], &[f32], usize, usize);

    /// Every row blocking and the non-FMA build, not only the one this CPU dispatches to.
    #[test]
    fn every_variant_equals_the_naive_product() {
        for (m, k, n) in [(7, 33, 128), (5, 32, 40), (1, 8, 96)] {
            let lhs: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let rhs: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let expected = naive(&lhs, &rhs, m, k, n);
            let variants: [Accumulate; 4] = [
                accumulate_into::<1, false>,
                accumulate_into::<2, false>,
                accumulate_into::<4, false>,
                accumulate_into::<4, true>,
            ];
            for variant in variants {
                let mut dst = vec![0.0; m * n];
                variant(&mut dst, &lhs, &rhs, k, n);
                for (a, b) in dst.iter().zip(&expected) {
                    assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_are_an_error_not_a_crash() {
        let mut dst = vec![0.0; 3];
        let err = matmul(&mut dst, &[1.0; 4], &[1.0; 4], [2, 2, 2], false);
        assert!(matches!(err, Err(KernelError::Shape { .. })));
    }
}
