use super::*;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    A,
    B,
}

impl TimerKind for Kind {
    const ALL: &'static [Kind] = &[Kind::A, Kind::B];
    fn index(self) -> usize {
        self as usize
    }
}

#[test]
fn each_kind_is_armed_and_cleared_on_its_own() {
    let t0 = Instant::now();
    let mut t = Timers::<Kind, 2>::new();
    assert!(!t.is_armed(Kind::A) && !t.is_armed(Kind::B));
    t.start(Kind::A, t0);
    assert_eq!((t.since(Kind::A), t.since(Kind::B)), (Some(t0), None));
    t.start_unless_armed(Kind::A, t0 + Duration::from_secs(1));
    assert_eq!(t.since(Kind::A), Some(t0), "an armed clock keeps its start");
    t.start(Kind::A, t0 + Duration::from_secs(2));
    assert_eq!(
        t.since(Kind::A),
        Some(t0 + Duration::from_secs(2)),
        "start re-arms"
    );
    assert_eq!(t.take(Kind::A), Some(t0 + Duration::from_secs(2)));
    assert!(!t.is_armed(Kind::A));
    t.start(Kind::B, t0);
    t.stop(Kind::B);
    assert_eq!(t.take(Kind::B), None);
}
