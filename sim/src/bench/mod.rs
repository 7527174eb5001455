//! Reference models for comparing simulation engines (`../shared/bench/`), run on the
//! engine's own clock, event queue, timers and network model.

pub mod block_fetch;

pub use block_fetch::{BlockFetch, BlockFetchError, BlockFetchOutcome, BlockFetchParams};
