use super::*;

fn send<T: Send>() {}

#[test]
fn connections_and_listeners_can_move_between_threads() {
    send::<Connection>();
    send::<Listener>();
    send::<Error>();
    send::<Headers>();
}

#[test]
fn poll_events_convert_to_every_loop_flavour() {
    assert_eq!(PollEvents::BOTH.to_poll(), libc::POLLIN | libc::POLLOUT);
    assert_eq!(PollEvents::READABLE.to_epoll(), libc::EPOLLIN as u32);
    assert_eq!(PollEvents::WRITABLE.to_mio(), Some(mio::Interest::WRITABLE));
    assert_eq!(PollEvents::NONE.to_mio(), None);
    assert!(PollEvents::NONE.is_none());
}
