//! Models per market: a routing table binds each model to candle subject filters, and the
//! router runs one pipeline per route (see `router`). `filter` is NATS subject-filter matching
//! and overlap, `table` the validated table (one live model per candle at most), `promote` a shadow
//! taking over its subjects.

mod filter;
mod promote;
mod router;
mod table;

pub use filter::{FilterError, SubjectFilter};
pub use promote::{PromoteError, Roles, promote, settings_roles, with_roles};
pub use router::{Lane, Router, ShadowSignal};
pub use table::{Role, Route, RouteSpec, RoutingError, RoutingTable};
