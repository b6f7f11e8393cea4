use super::super::{Connection, Phase};
use super::Watch;
use crate::{ClientOptions, PollEvents, Target};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What an open fd refers to: fstat's device and inode.
type FileId = (u64, u64);

/// Each watcher call: what was told, and what `old_fd` referred to at that moment.
type Log = Arc<Mutex<Vec<(Watch, Option<FileId>)>>>;

/// fstat's (device, inode) of `fd`, if it is open.
fn identity(fd: RawFd) -> Option<FileId> {
    // SAFETY: fstat writes into a zeroed stat it is given; any fd number is allowed.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some((st.st_dev, st.st_ino))
    }
}

/// A client given two addresses, the first refusing (nothing listens there): its fd changes
/// from the first socket to the second, and the watcher is told so with the first one still
/// open; it is closed once the watcher returned.
#[test]
fn a_refused_address_then_the_next_one_is_told_as_an_fd_change() {
    let good = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target = Target::Addr(good.local_addr().unwrap());
    let mut c = Connection::client(target, ClientOptions::default()).unwrap();
    c.phase = Connection::start_addrs(vec![refused, good.local_addr().unwrap()], 0, None, &c.cfg)
        .unwrap();
    assert!(matches!(c.phase, Phase::Connecting { .. }));
    let first = c.pollfd();
    let first_id = identity(first).unwrap();
    let seen: Log = Arc::default();
    let s = seen.clone();
    c.set_watcher(Some(Box::new(move |w: &Watch| {
        s.lock().unwrap().push((*w, identity(w.old_fd)));
    })));
    let end = Instant::now() + Duration::from_secs(20);
    while !c.is_connected() {
        assert!(Instant::now() < end, "connected in time: {:?}", c.error());
        let mut p = libc::pollfd {
            fd: c.pollfd(),
            events: c.events().to_poll(),
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut p, 1, 100) };
        c.step().unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen[0].0.fd, first);
    assert_eq!(seen[0].0.old_fd, -1);
    assert_eq!(seen[0].0.events, PollEvents::WRITABLE);
    let change = seen
        .iter()
        .find(|(w, _)| w.fd_changed() && w.old_fd == first)
        .unwrap_or_else(|| panic!("the change from the refused socket: {seen:?}"));
    assert_eq!(change.0.fd, c.pollfd());
    assert_ne!(change.0.fd, first);
    assert_eq!(
        change.1,
        Some(first_id),
        "the refused socket was open when told"
    );
    assert_ne!(identity(first), Some(first_id), "and closed after");
}

/// Without a watcher nothing is kept: the old socket closes at once.
#[test]
fn without_a_watcher_nothing_is_retired() {
    let good = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::Addr(good.local_addr().unwrap());
    let mut c = Connection::client(target, ClientOptions::default()).unwrap();
    let fd = c.pollfd();
    let id = identity(fd).unwrap();
    c.close_now();
    assert!(c.watch.is_none());
    assert_ne!(identity(fd), Some(id));
}
