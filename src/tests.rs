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
fn interest_converts_to_every_loop_flavour() {
    assert_eq!(Interest::BOTH.to_poll(), libc::POLLIN | libc::POLLOUT);
    assert_eq!(Interest::READABLE.to_epoll(), libc::EPOLLIN as u32);
    assert_eq!(Interest::WRITABLE.to_mio(), Some(mio::Interest::WRITABLE));
    assert_eq!(Interest::NONE.to_mio(), None);
    assert!(Interest::NONE.is_none());
}
