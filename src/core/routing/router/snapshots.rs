//! The routes' series state in snapshots: one per route and series, under `<route>/<series id>`
//! (the series id alone for the single route, so a single-model deployment keeps its keys).

use super::{Lane, Router};
use crate::contract::SeriesKey;
use crate::core::series_snapshot::{SeriesSnapshot, SnapshotError};

impl Router {
    /// The snapshot id of `key` in lane `lane`: the series id alone for the only route (so a
    /// single-model deployment keeps its keys), `<route>/<series id>` with routing settings.
    fn snapshot_id(&self, lane: &Lane, key: &SeriesKey) -> String {
        match self.single {
            true => key.id(),
            false => format!("{}/{}", lane.name, key.id()),
        }
    }

    /// Every snapshot id a series may have (one per route).
    pub fn snapshot_ids_of(&self, keys: &[SeriesKey]) -> Vec<String> {
        keys.iter()
            .flat_map(|key| self.lanes.iter().map(|lane| self.snapshot_id(lane, key)))
            .collect()
    }

    /// The snapshot id of every series with state, in every route.
    pub fn snapshot_ids(&self) -> Vec<String> {
        self.lanes
            .iter()
            .flat_map(|lane| {
                lane.pipeline
                    .series_keys()
                    .into_iter()
                    .map(|key| self.snapshot_id(lane, &key))
            })
            .collect()
    }

    /// [`Pipeline::checkpoint`] of every route, each snapshot with its id.
    pub fn checkpoint(
        &mut self,
        through_sequence: u64,
        all: bool,
    ) -> Vec<(String, SeriesSnapshot)> {
        let single = self.single;
        self.lanes
            .iter_mut()
            .flat_map(|lane| {
                let name = lane.name.clone();
                lane.pipeline
                    .checkpoint(through_sequence, all)
                    .into_iter()
                    .map(move |s| {
                        let id = match single {
                            true => s.series.id(),
                            false => format!("{name}/{}", s.series.id()),
                        };
                        (id, s)
                    })
            })
            .collect()
    }

    /// Resumes the series of snapshot `id` in its route; an id of no route here is refused.
    /// The route keeps the series' features only if it is the one computing them; call
    /// [`Router::align_resumed`] once every snapshot is in.
    pub fn resume(&mut self, id: &str, snapshot: &SeriesSnapshot) -> Result<(), SnapshotError> {
        let index = match self.single {
            true => Some(0),
            false => {
                let route = id.split_once('/').map(|(route, _)| route);
                self.lanes
                    .iter()
                    .position(|l| Some(l.name.as_str()) == route)
            }
        };
        let Some(index) = index else {
            return Err(SnapshotError::UnknownRoute(id.to_owned()));
        };
        let computes = self.computes(index, &snapshot.series);
        match self.lanes.get_mut(index) {
            Some(lane) => lane.pipeline.resume_computing(snapshot, computes),
            None => Err(SnapshotError::UnknownRoute(id.to_owned())),
        }
    }
}
