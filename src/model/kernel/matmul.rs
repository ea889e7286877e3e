//! Row-major single-precision matrix products through the `gemm` crate.
//!
//! `gemm` is the kernel burn's flex backend itself calls: cache-blocked, with AVX2/AVX-512/NEON
//! micro-kernels picked at run time. Calling it directly skips the tensor layer's per-operation
//! cost (allocation, shape bookkeeping, dispatch), which is most of the time of a small recurrent
//! step. The one `unsafe` call is behind a check of every slice length against the shape.

use super::KernelError;

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
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return Ok(());
    }
    let (k_i, n_i) = (to_isize(k)?, to_isize(n)?);
    // SAFETY: the lengths were checked above: `lhs` holds m rows of k values (row stride k,
    // column stride 1), `rhs` k rows of n values (stride n, 1), `dst` m rows of n values
    // (stride n, 1); `dst` is a unique borrow and cannot alias the shared `lhs`/`rhs`. gemm
    // computes `dst = alpha * dst + beta * lhs * rhs`, reading `dst` only when `read_dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n_i,
            accumulate,
            lhs.as_ptr(),
            1,
            k_i,
            rhs.as_ptr(),
            1,
            n_i,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    Ok(())
}

fn to_isize(value: usize) -> Result<isize, KernelError> {
    isize::try_from(value).map_err(|_| KernelError::Shape {
        what: "matmul stride",
        expected: isize::MAX as usize,
        found: value,
    })
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
        let (m, k, n) = (5, 7, 9);
        let lhs: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&lhs, &rhs, m, k, n);
        let mut dst = vec![123.0; m * n];
        matmul(&mut dst, &lhs, &rhs, [m, k, n], false).unwrap();
        for (a, b) in dst.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        matmul(&mut dst, &lhs, &rhs, [m, k, n], true).unwrap();
        for (a, b) in dst.iter().zip(&expected) {
            assert!((a - 2.0 * b).abs() < 1e-5, "{a} vs {}", 2.0 * b);
        }
    }

    #[test]
    fn wrong_lengths_are_an_error_not_a_crash() {
        let mut dst = vec![0.0; 3];
        let err = matmul(&mut dst, &[1.0; 4], &[1.0; 4], [2, 2, 2], false);
        assert!(matches!(err, Err(KernelError::Shape { .. })));
    }
}
