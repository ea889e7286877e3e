//! The element-wise half of a recurrent step: gate activations and the state update of every
//! sample in the batch, after the matrix products have filled the gate pre-activations.
//!
//! The loops are written so the compiler vectorises them; on x86-64 the same code is compiled a
//! second time with AVX2 + FMA and a third with AVX-512, the best chosen at run time (the
//! portable baseline is SSE2).

use super::activation::{lstm_cell, sigmoid_with, tanh_with};

/// LSTM update for `batch` samples.
///
/// `gates` is `[batch, 4 * hidden]` pre-activations in `[input | forget | output | candidate]`
/// order; `cell` and `hidden_out` are `[batch, hidden]`. `cell` is read as the previous cell
/// state and overwritten with the new one; `hidden_out` receives the new hidden state.
pub fn lstm_update(gates: &[f32], cell: &mut [f32], hidden_out: &mut [f32], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above), all the `target_feature`
        // function requires; its body is safe code.
        unsafe { lstm_update_avx512(gates, cell, hidden_out, hidden) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), which is all the
        // `target_feature` function requires; its body is safe code.
        unsafe { lstm_update_avx2(gates, cell, hidden_out, hidden) };
        return;
    }
    lstm_update_portable::<false>(gates, cell, hidden_out, hidden);
}

/// GRU update for `batch` samples (reset applied after the recurrent product).
///
/// `input_part` is `[batch, 3 * hidden]` input projections plus input bias in
/// `[update | reset | new]` order, `recurrent_part` the same shape holding `h · W_h + b_h`;
/// `state` is `[batch, hidden]`, read as the previous hidden state and overwritten with the new.
pub fn gru_update(input_part: &[f32], recurrent_part: &[f32], state: &mut [f32], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: as in `lstm_update`.
        unsafe { gru_update_avx512(input_part, recurrent_part, state, hidden) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: as in `lstm_update`.
        unsafe { gru_update_avx2(input_part, recurrent_part, state, hidden) };
        return;
    }
    gru_update_portable::<false>(input_part, recurrent_part, state, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn lstm_update_avx512(gates: &[f32], cell: &mut [f32], hidden_out: &mut [f32], hidden: usize) {
    lstm_update_portable::<true>(gates, cell, hidden_out, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn gru_update_avx512(input_part: &[f32], recurrent_part: &[f32], state: &mut [f32], hidden: usize) {
    gru_update_portable::<true>(input_part, recurrent_part, state, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn lstm_update_avx2(gates: &[f32], cell: &mut [f32], hidden_out: &mut [f32], hidden: usize) {
    lstm_update_portable::<true>(gates, cell, hidden_out, hidden);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gru_update_avx2(input_part: &[f32], recurrent_part: &[f32], state: &mut [f32], hidden: usize) {
    gru_update_portable::<true>(input_part, recurrent_part, state, hidden);
}

#[inline(always)]
fn lstm_update_portable<const FMA: bool>(
    gates: &[f32],
    cell: &mut [f32],
    hidden_out: &mut [f32],
    hidden: usize,
) {
    let rows = gates
        .chunks_exact(4 * hidden)
        .zip(cell.chunks_exact_mut(hidden))
        .zip(hidden_out.chunks_exact_mut(hidden));
    for ((g, c), h) in rows {
        let (input, rest) = g.split_at(hidden);
        let (forget, rest) = rest.split_at(hidden);
        let (output, candidate) = rest.split_at(hidden);
        // Zipped iterators rather than indexing, so no bounds check blocks vectorisation.
        let lanes = c
            .iter_mut()
            .zip(h.iter_mut())
            .zip(input.iter().zip(forget))
            .zip(output.iter().zip(candidate));
        for (((c, h), (&i, &f)), (&o, &g)) in lanes {
            (*c, *h) = lstm_cell::<FMA>(i, f, o, g, *c);
        }
    }
}

#[inline(always)]
fn gru_update_portable<const FMA: bool>(
    input_part: &[f32],
    recurrent_part: &[f32],
    state: &mut [f32],
    hidden: usize,
) {
    let rows = input_part
        .chunks_exact(3 * hidden)
        .zip(recurrent_part.chunks_exact(3 * hidden))
        .zip(state.chunks_exact_mut(hidden));
    for ((x, r), h) in rows {
        let (xu, rest) = x.split_at(hidden);
        let (xr, xn) = rest.split_at(hidden);
        let (ru, rest) = r.split_at(hidden);
        let (rr, rn) = rest.split_at(hidden);
        let lanes = h
            .iter_mut()
            .zip(xu.iter().zip(ru))
            .zip(xr.iter().zip(rr))
            .zip(xn.iter().zip(rn));
        for (((h, (&xu, &ru)), (&xr, &rr)), (&xn, &rn)) in lanes {
            let update = sigmoid_with::<FMA>(xu + ru);
            let reset = sigmoid_with::<FMA>(xr + rr);
            let new = tanh_with::<FMA>(xn + reset * rn);
            *h = new + update * (*h - new);
        }
    }
}
