//! The one switch between fused and plain multiply-adds that every kernel loop goes through.

/// `a + x * w`, as one fused instruction when the caller is compiled with FMA (`f32::mul_add`
/// is a slow library call without it, so the portable build passes `FMA = false`).
#[inline(always)]
pub(super) fn madd<const FMA: bool>(x: f32, w: f32, a: f32) -> f32 {
    if FMA { x.mul_add(w, a) } else { a + x * w }
}
