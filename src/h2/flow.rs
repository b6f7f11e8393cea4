//! Flow-control windows (RFC 9113 §5.2, §6.9) and the flood counters that bound what a peer
//! may make us do per unit of time.
//!
//! A send window is debited when a DATA frame is queued and credited by the peer's
//! WINDOW_UPDATEs and SETTINGS_INITIAL_WINDOW_SIZE changes; it may go negative (§6.9.2). A
//! receive window is debited when DATA arrives and credited when the application has read the
//! bytes (not when they arrive), in batches of at least half the window, so a slow reader holds
//! the peer back instead of growing our buffers.

use h2_codec_lite::MAX_WINDOW_SIZE;
use std::time::{Duration, Instant};

/// One flow-control window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window(i64);

impl Window {
    pub(crate) fn new(size: u32) -> Window {
        Window(size as i64)
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn get(self) -> i64 {
        self.0
    }

    /// What may be sent now (0 when the window is negative).
    pub(crate) fn available(self) -> usize {
        self.0.max(0) as usize
    }

    /// Adds credit (a WINDOW_UPDATE, a SETTINGS delta); `false` when the window would pass
    /// 2^31-1, a FLOW_CONTROL_ERROR (§6.9.1).
    pub(crate) fn credit(&mut self, n: i64) -> bool {
        let v = self.0 + n;
        if v > MAX_WINDOW_SIZE as i64 {
            return false;
        }
        self.0 = v;
        true
    }

    /// Takes `n` bytes; `false` (and nothing taken) when the window does not have them.
    pub(crate) fn take(&mut self, n: u32) -> bool {
        if (n as i64) > self.0 {
            return false;
        }
        self.0 -= n as i64;
        true
    }
}

/// Credit read by the application and not yet returned to the peer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Unreturned(u32);

impl Unreturned {
    /// Adds `n` read bytes; returns the increment to send once it reaches `threshold`.
    pub(crate) fn add(&mut self, n: usize, threshold: u32) -> Option<u32> {
        self.0 = self.0.saturating_add(n.min(u32::MAX as usize) as u32);
        if self.0 >= threshold.max(1) {
            // One WINDOW_UPDATE carries at most 2^31-1; the rest waits for the next.
            let inc = self.0.min(MAX_WINDOW_SIZE);
            self.0 -= inc;
            Some(inc)
        } else {
            None
        }
    }
}

/// Counts events in a fixed window of time; reports when there were too many.
#[derive(Debug, Clone)]
pub(crate) struct Flood {
    start: Option<Instant>,
    count: u32,
    max: u32,
}

impl Flood {
    pub(crate) fn new(max: u32) -> Flood {
        Flood {
            start: None,
            count: 0,
            max,
        }
    }

    /// Counts one event at `now`; `true` once more than `max` fell in one window.
    pub(crate) fn hit(&mut self, now: Instant, window: Duration) -> bool {
        match self.start {
            Some(s) if now.saturating_duration_since(s) < window => {}
            _ => {
                self.start = Some(now);
                self.count = 0;
            }
        }
        self.count += 1;
        self.count > self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_refuse_overflow_and_may_go_negative() {
        let mut w = Window::new(MAX_WINDOW_SIZE - 1);
        assert!(w.credit(1));
        assert!(!w.credit(1), "2^31 is a FLOW_CONTROL_ERROR");
        assert_eq!(w.get(), MAX_WINDOW_SIZE as i64);
        let mut w = Window::new(10);
        assert!(!w.take(11));
        assert!(w.take(10));
        assert!(w.credit(-5));
        assert_eq!((w.get(), w.available()), (-5, 0));
    }

    #[test]
    fn credit_goes_back_in_batches() {
        let mut u = Unreturned::default();
        assert_eq!(u.add(100, 500), None);
        assert_eq!(u.add(400, 500), Some(500));
        assert_eq!(u.add(1, 500), None);
    }

    #[test]
    fn floods_are_counted_per_window() {
        let t = Instant::now();
        let w = Duration::from_secs(1);
        let mut f = Flood::new(2);
        assert!(!f.hit(t, w) && !f.hit(t, w));
        assert!(f.hit(t, w));
        assert!(!f.hit(t + w, w), "a new window starts from zero");
    }
}
