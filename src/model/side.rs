//! The three classes the network predicts and the side a signal takes.
//!
//! One enum serves both the label (what happened) and the decision (what to signal), so the class
//! order of the network's output cannot drift from the meaning of a signal.

// The side type is the wire contract's own (imported from there, never re-exported), so a
// signal's side and the network's class can never be two enums that drift apart.
use crate::contract::Side;

/// The order of the network's output classes: index `i` of every probability vector is the
/// probability of `CLASS_ORDER[i]`. Fixed here, written nowhere else, so the head, the labels,
/// the metrics and the signal all agree. Changing it invalidates every saved model.
pub const CLASS_ORDER: [Side; 3] = [Side::Long, Side::Short, Side::Neutral];

/// The number of classes of the head (the length of [`CLASS_ORDER`]).
pub const NUM_CLASSES: usize = CLASS_ORDER.len();

impl Side {
    /// The index of this side in [`CLASS_ORDER`], i.e. in the network's output.
    pub const fn class_index(self) -> usize {
        match self {
            Side::Long => 0,
            Side::Short => 1,
            Side::Neutral => 2,
        }
    }

    /// The side at `index` of [`CLASS_ORDER`], `None` past the end.
    pub fn from_class_index(index: usize) -> Option<Side> {
        CLASS_ORDER.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_index_round_trips_through_class_order() {
        for (i, side) in CLASS_ORDER.iter().enumerate() {
            assert_eq!(side.class_index(), i);
            assert_eq!(Side::from_class_index(i), Some(*side));
        }
        assert_eq!(Side::from_class_index(NUM_CLASSES), None);
    }

    #[test]
    fn serde_names_are_lowercase() {
        assert_eq!(
            serde_json::to_string(&Side::Long).ok().as_deref(),
            Some("\"long\"")
        );
        let parsed: Result<Side, _> = serde_json::from_str("\"neutral\"");
        assert_eq!(parsed.ok(), Some(Side::Neutral));
    }
}
