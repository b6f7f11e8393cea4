//! The abuse counters: how many RST_STREAM, SETTINGS, PING and empty or invalid frames a peer
//! may send within `H2Config::flood_window` before the connection ends with ENHANCE_YOUR_CALM.

use super::config::H2Config;
use super::flow::Flood;

/// The flood counters (see [`H2Config`]).
#[derive(Debug)]
pub(super) struct Floods {
    pub(super) resets: Flood,
    pub(super) settings: Flood,
    pub(super) pings: Flood,
    pub(super) empty: Flood,
}

impl Floods {
    /// Every counter empty, with the bounds of `cfg`.
    pub(super) fn new(cfg: &H2Config) -> Floods {
        Floods {
            resets: Flood::new(cfg.max_resets),
            settings: Flood::new(cfg.max_settings),
            pings: Flood::new(cfg.max_pings),
            empty: Flood::new(cfg.max_empty_frames),
        }
    }
}
