//! A batch split over threads: each lane scores a contiguous chunk with its own buffers, in
//! parallel (rayon) once the batch is large enough to pay for it.

use super::{InferenceError, PARALLEL_MIN_BATCH};
use crate::model::kernel::{KernelError, Scratch};
use crate::model::side::NUM_CLASSES;
use rayon::prelude::*;

/// One thread's share of a batch: its scaled input, buffers and results.
#[derive(Debug, Default, Clone)]
pub(super) struct Lane {
    pub(super) input: Vec<f32>,
    pub(super) scratch: Scratch,
    pub(super) out: Vec<[f32; NUM_CLASSES]>,
}

/// Samples per lane when `batch` is split over `lanes` (everything in one lane below
/// [`PARALLEL_MIN_BATCH`]).
pub(super) fn lane_share(batch: usize, lanes: usize) -> usize {
    if batch < PARALLEL_MIN_BATCH || lanes <= 1 {
        batch.max(1)
    } else {
        batch.div_ceil(lanes)
    }
}

/// Runs `work(lane, first_sample, count)` over contiguous chunks of the batch, in parallel when
/// it pays, and appends the lanes' results to `out` in sample order.
pub(super) fn run_lanes(
    lanes: &mut [Lane],
    batch: usize,
    out: &mut Vec<[f32; NUM_CLASSES]>,
    work: impl Fn(&mut Lane, usize, usize) -> Result<(), KernelError> + Sync,
) -> Result<(), InferenceError> {
    let mut nothing: Vec<&mut [f32]> = Vec::new();
    run_lanes_with(lanes, &mut nothing, batch, out, |lane, _, first, count| {
        work(lane, first, count)
    })
}

/// [`run_lanes`] where each lane also gets its own mutable chunk of `extra` (the streaming
/// states); an empty `extra` gives every lane an empty slice.
pub(super) fn run_lanes_with(
    lanes: &mut [Lane],
    extra: &mut [&mut [f32]],
    batch: usize,
    out: &mut Vec<[f32; NUM_CLASSES]>,
    work: impl Fn(&mut Lane, &mut [f32], usize, usize) -> Result<(), KernelError> + Sync,
) -> Result<(), InferenceError> {
    let share = lane_share(batch, lanes.len());
    let used = batch.div_ceil(share);
    let lanes = lanes.get_mut(..used).ok_or(InferenceError::EmptyBatch)?;
    let run = |(index, (lane, extra)): (usize, (&mut Lane, &mut [f32]))| {
        lane.out.clear();
        let first = index * share;
        let count = share.min(batch - first);
        work(lane, extra, first, count)
    };
    let mut empty: Vec<&mut [f32]> = Vec::new();
    let extra: &mut [&mut [f32]] = if extra.is_empty() {
        empty.extend((0..used).map(|_| &mut [][..]));
        &mut empty
    } else {
        extra
    };
    if used == 1 {
        lanes
            .iter_mut()
            .zip(extra.iter_mut().map(|e| &mut **e))
            .enumerate()
            .try_for_each(run)?;
    } else {
        lanes
            .par_iter_mut()
            .zip(extra.par_iter_mut().map(|e| &mut **e))
            .enumerate()
            .try_for_each(run)?;
    }
    for lane in lanes.iter() {
        out.extend_from_slice(&lane.out);
    }
    Ok(())
}
