//! Unit tests of the server's tables and clocks; the server itself is tested over real
//! sockets in tests/pollable_server.rs.

use super::deadlines::{AnswerClock, ConnClock};
use super::fifo::Fifo;
use super::slab::{Key, Slab};
use std::time::{Duration, Instant};

#[test]
fn a_removed_record_key_finds_nothing_even_when_its_place_is_reused() {
    let mut s = Slab::new();
    let a = s.insert("a");
    assert_eq!(s.get(a), Some(&"a"));
    assert_eq!(s.remove(a), Some("a"));
    assert_eq!(s.get(a), None);
    let b = s.insert("b");
    assert_eq!(b.index, a.index, "the place is reused");
    assert_eq!(s.get(a), None, "the old key is stale");
    assert_eq!(s.get(b), Some(&"b"));
    assert_eq!(s.remove(a), None);
    assert_eq!(s.len(), 1);
    assert_eq!(s.keys(), vec![b]);
}

#[test]
fn next_key_is_the_key_insert_gives() {
    let mut s = Slab::new();
    let a = s.insert(1);
    s.insert(2);
    s.remove(a);
    let k = s.next_key();
    assert_eq!(s.insert(3), k);
}

#[test]
fn conn_clock_keeps_the_earliest_entry_and_skips_later_ones() {
    let t0 = Instant::now();
    let key = Key { index: 0, gen: 0 };
    let mut clock = ConnClock::new();
    let mut armed = None;
    clock.arm(key, &mut armed, t0 + Duration::from_secs(5), 1);
    // A later deadline adds nothing: the earlier entry fires and the connection re-arms.
    clock.arm(key, &mut armed, t0 + Duration::from_secs(9), 1);
    assert_eq!(clock.len(), 1);
    // An earlier one is added.
    clock.arm(key, &mut armed, t0 + Duration::from_secs(1), 1);
    assert_eq!(armed, Some(t0 + Duration::from_secs(1)));
    assert_eq!(clock.next(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(clock.pop_due(t0), None);
    let (t, k) = clock.pop_due(t0 + Duration::from_secs(1)).unwrap();
    assert_eq!((t, k), (t0 + Duration::from_secs(1), key));
}

#[test]
fn conn_clock_compacts_stale_entries() {
    let t0 = Instant::now() + Duration::from_secs(100_000);
    let key = Key { index: 3, gen: 1 };
    let mut clock = ConnClock::new();
    let mut armed = None;
    for i in 0..5000u64 {
        clock.arm(key, &mut armed, t0 - Duration::from_secs(i), 1);
    }
    assert!(clock.len() <= 2 + 1024 + 1, "{} entries", clock.len());
    assert_eq!(clock.next(), armed);
}

#[test]
fn answer_clock_gives_due_requests_in_order_and_drops_finished_ones() {
    let t0 = Instant::now();
    let mut clock = AnswerClock::new();
    for i in 0..3000u32 {
        clock.push(
            t0 + Duration::from_millis(u64::from(i)),
            Key { index: i, gen: 0 },
        );
        clock.retain_live(|k| k.index % 1000 == 0, 3);
    }
    assert_eq!(clock.next(), Some(t0));
    assert_eq!(clock.pop_due(t0).map(|k| k.index), Some(0));
    // Finished requests' entries were dropped along the way; the live ones remain in order.
    let due = t0 + Duration::from_secs(10);
    let mut left = Vec::new();
    while let Some(k) = clock.pop_due(due) {
        left.push(k.index);
    }
    assert!(left.contains(&1000) && left.contains(&2000));
    assert!(left.len() < 1100, "{} entries kept", left.len());
}

#[test]
fn fifo_gives_items_in_order_across_compactions() {
    let mut q = Fifo::new();
    let mut next_out = 0u32;
    // Never read to the end: the part read is dropped along the way, order kept.
    for i in 0..10_000u32 {
        q.push_back(i);
        if i % 3 != 0 {
            assert_eq!(q.pop_front(), Some(next_out));
            next_out += 1;
        }
    }
    assert_eq!(q.len(), 10_000 - next_out as usize);
    assert_eq!(q.front(), Some(&next_out));
    assert_eq!(q.back(), Some(&9_999));
    q.retain(|i| i % 2 == 0);
    let mut last = None;
    while let Some(i) = q.pop_front() {
        assert!(i % 2 == 0 && i >= next_out && last.is_none_or(|l| l < i));
        last = Some(i);
    }
    assert!(q.is_empty() && q.front().is_none() && q.back().is_none());
    q.push_back(7);
    assert_eq!((q.len(), q.pop_front(), q.pop_front()), (1, Some(7), None));
}

#[test]
fn answer_clock_keeps_its_order_when_the_time_to_answer_is_shortened() {
    let t0 = Instant::now();
    let mut clock = AnswerClock::new();
    let key = |i| Key { index: i, gen: 0 };
    clock.push(t0 + Duration::from_secs(60), key(0));
    clock.push(t0 + Duration::from_secs(61), key(1));
    // The timeout went down to 5 s: a later request is due first.
    clock.push(t0 + Duration::from_secs(6), key(2));
    assert_eq!(clock.next(), Some(t0 + Duration::from_secs(6)));
    assert_eq!(clock.pop_due(t0 + Duration::from_secs(6)), Some(key(2)));
    assert_eq!(clock.pop_due(t0 + Duration::from_secs(6)), None);
    let late = t0 + Duration::from_secs(61);
    assert_eq!(clock.pop_due(late), Some(key(0)));
    assert_eq!(clock.pop_due(late), Some(key(1)));
}
