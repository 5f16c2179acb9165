//! One socket's mailbox in the hub (`hub.rs`): its bounded queue, the flag that says it
//! missed an event, and the outlet the hub may write to instead of queueing.
//!
//! Written through: a listener with an outlet (a socket's connection) whose task waits
//! with nothing queued gets an event written to the outlet by the dispatch itself, with
//! no task woken. A wake-up and the socket task's turn cost about as much as the write's
//! system call (a quarter of a delivery's CPU in a group of 1,000); what the socket
//! receives, and in what order, is the same as through the queue: the hub writes only
//! while nothing is queued before the event and the task has not held the outlet (it
//! holds it while it answers a client frame, so a `send_ok` comes before its own
//! `message_created`, and from when it starts closing).

use std::{
    cell::OnceCell,
    collections::VecDeque,
    future::poll_fn,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    task::Poll,
};

use bytes::Bytes;
use futures_util::task::AtomicWaker;

use super::envelope::Delivery;
use crate::telemetry::metrics::EVENTS_DROPPED;

/// Slots a drained queue keeps; a burst's larger allocation goes back.
const KEEP_SLOTS: usize = 8;

/// Where the hub may write an event itself instead of queueing it: a socket's connection.
pub trait Outlet: Send + Sync {
    /// Writes the event (`Offered::written_form`) now if that needs no waiting.
    fn try_write(&self, offered: &Offered<'_>) -> Written;
}

/// A delivery as one dispatch offers it to every listener of its groups. What an outlet
/// writes for an event (its WebSocket frame) is the same for every socket, so the first
/// outlet that writes makes it and the others share it: no framing, copy or check per
/// socket.
pub struct Offered<'a> {
    delivery: &'a Delivery,
    written_form: OnceCell<Option<WrittenForm>>,
}

/// The bytes outlets write for an event, and the kind it is counted as.
pub struct WrittenForm {
    pub bytes: Bytes,
    pub kind: &'static str,
}

impl<'a> Offered<'a> {
    pub fn new(delivery: &'a Delivery) -> Offered<'a> {
        Offered {
            delivery,
            written_form: OnceCell::new(),
        }
    }

    /// The event's written form, made from the event by `make` at the first call of the
    /// dispatch; `None` when the delivery is no event or `make` refused it (it is queued).
    pub fn written_form(&self, make: impl FnOnce(&Bytes) -> Option<WrittenForm>) -> Option<&WrittenForm> {
        let Delivery::Event(event) = self.delivery else {
            return None;
        };
        self.written_form.get_or_init(|| make(event)).as_ref()
    }
}

/// How far `Outlet::try_write` got.
pub enum Written {
    All,
    /// Begun: the outlet keeps the rest, which its task must finish (`Delivery::Flush`)
    /// before writing anything else.
    Part,
    /// Nothing: the event is queued as if there were no outlet.
    Nothing,
}

/// One socket's mailbox: a bounded queue, and a flag raised when a delivery could not be
/// queued (the socket then closes with 1013 instead of growing without bound or carrying
/// on with a gap).
///
/// Its own queue rather than tokio's `mpsc`: that one allocates a block of 32 slots when
/// made (1.3 KB for every idle socket, at 19,000 sockets the largest single part of
/// their memory); this one allocates as it fills, and a missed delivery ends the same
/// wait as a queued one, so a socket waits on one future instead of two.
pub struct Listener {
    pub(super) id: u64,
    /// When it joined, in ms since the Unix epoch: a `missed` marker from another node
    /// concerns only the listeners that were there before the failed publish.
    pub(super) joined_ms: u64,
    capacity: usize,
    inbox: Mutex<Inbox>,
    missed: AtomicBool,
    waker: AtomicWaker,
}

#[derive(Default)]
struct Inbox {
    queue: VecDeque<Delivery>,
    outlet: Option<Arc<dyn Outlet>>,
    /// The hub may write to the outlet: the task waits, nothing is queued, and the task
    /// has not held the outlet since it last found the queue empty.
    write_through: bool,
}

impl Listener {
    pub(super) fn new(id: u64, joined_ms: u64, capacity: usize) -> Listener {
        Listener {
            id,
            joined_ms,
            capacity,
            inbox: Mutex::default(),
            missed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    pub fn has_missed(&self) -> bool {
        self.missed.load(Ordering::Relaxed)
    }

    /// Lets the hub write events to `outlet` while the task waits with nothing queued.
    pub fn attach(&self, outlet: Arc<dyn Outlet>) {
        self.inbox.lock().expect("listener inbox").outlet = Some(outlet);
    }

    /// Stops the hub writing to the outlet until the task next waits with nothing queued:
    /// what the task writes meanwhile comes before any event that arrives meanwhile.
    pub fn hold(&self) {
        self.inbox.lock().expect("listener inbox").write_through = false;
    }

    /// The next delivery, in order; `None` once the listener has missed one (whatever came
    /// after would leave a gap): its socket closes with 1013. Only one task may wait on it.
    /// Waiting with nothing queued lets the hub write to the outlet.
    pub async fn next(&self) -> Option<Delivery> {
        poll_fn(|cx| {
            // Registered before looking, so a delivery queued meanwhile wakes this task.
            self.waker.register(cx.waker());
            if self.has_missed() {
                return Poll::Ready(None);
            }
            let mut inbox = self.inbox.lock().expect("listener inbox");
            match inbox.queue.pop_front() {
                Some(delivery) => {
                    inbox.write_through = false;
                    if inbox.queue.is_empty() && inbox.queue.capacity() > KEEP_SLOTS {
                        inbox.queue.shrink_to(KEEP_SLOTS);
                    }
                    Poll::Ready(Some(delivery))
                }
                None => {
                    inbox.write_through = inbox.outlet.is_some();
                    Poll::Pending
                }
            }
        })
        .await
    }

    pub(super) fn mark_missed(&self) {
        self.missed.store(true, Ordering::Relaxed);
        self.waker.wake();
    }

    /// Writes an event through to the outlet, or queues a delivery; false when it was
    /// dropped (counted).
    pub(super) fn offer(&self, offered: &Offered<'_>) -> bool {
        if !self.has_missed() {
            let mut inbox = self.inbox.lock().expect("listener inbox");
            if let (true, Some(outlet), Delivery::Event(_)) = (inbox.write_through, &inbox.outlet, offered.delivery) {
                match outlet.try_write(offered) {
                    Written::All => return true,
                    Written::Part => {
                        inbox.write_through = false;
                        inbox.queue.push_back(Delivery::Flush);
                        drop(inbox);
                        self.waker.wake();
                        return true;
                    }
                    Written::Nothing => {}
                }
            }
            if inbox.queue.len() < self.capacity {
                inbox.write_through = false;
                inbox.queue.push_back(offered.delivery.clone());
                drop(inbox);
                self.waker.wake();
                return true;
            }
            drop(inbox);
            self.mark_missed();
        }
        metrics::counter!(EVENTS_DROPPED).increment(1);
        false
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    /// An outlet that takes what `answer` says of each event (the real one is a socket's
    /// connection, tested through sockets in tests/api/realtime.rs).
    struct Taking {
        answer: Mutex<Vec<Written>>,
        written: Mutex<Vec<Bytes>>,
    }

    impl Outlet for Taking {
        fn try_write(&self, offered: &Offered<'_>) -> Written {
            let answer = self.answer.lock().unwrap().pop().unwrap_or(Written::All);
            if !matches!(answer, Written::Nothing) {
                let form = offered.written_form(|event| {
                    Some(WrittenForm {
                        bytes: event.clone(),
                        kind: "event",
                    })
                });
                self.written.lock().unwrap().push(form.unwrap().bytes.clone());
            }
            answer
        }
    }

    /// A listener with an outlet that answers `answers` (last first), then takes all.
    fn with_outlet(answers: Vec<Written>) -> (Listener, Arc<Taking>) {
        let listener = Listener::new(1, 0, 8);
        let outlet = Arc::new(Taking {
            answer: Mutex::new(answers),
            written: Mutex::new(Vec::new()),
        });
        listener.attach(outlet.clone());
        (listener, outlet)
    }

    fn event(n: u64) -> Delivery {
        Delivery::Event(Bytes::from(n.to_string()))
    }

    /// Offers `delivery` as a dispatch of its own.
    fn offer(listener: &Listener, delivery: Delivery) {
        listener.offer(&Offered::new(&delivery));
    }

    fn n(delivery: Option<Delivery>) -> u64 {
        match delivery {
            Some(Delivery::Event(json)) => std::str::from_utf8(&json).unwrap().parse().unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn waits(listener: &Listener) {
        assert!(listener.next().now_or_never().is_none());
    }

    #[tokio::test]
    async fn a_waiting_listener_gets_events_written_through_and_a_held_one_gets_them_queued_first() {
        let (listener, outlet) = with_outlet(Vec::new());
        offer(&listener, event(1));
        assert!(outlet.written.lock().unwrap().is_empty(), "not before its task waits");
        assert_eq!(n(listener.next().await), 1);

        let mut waiting = Box::pin(listener.next());
        assert!(waiting.as_mut().now_or_never().is_none());
        offer(&listener, event(2));
        assert_eq!(outlet.written.lock().unwrap().len(), 1, "written by the dispatch");

        // Answering a client frame: what comes meanwhile waits for the answer.
        listener.hold();
        offer(&listener, event(3));
        assert_eq!(outlet.written.lock().unwrap().len(), 1);
        assert_eq!(n(waiting.await), 3);
        // And once something was queued, the next events queue behind it.
        offer(&listener, event(4));
        assert_eq!(n(listener.next().await), 4);
        assert_eq!(outlet.written.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_event_half_written_is_finished_before_the_next_and_one_not_written_is_queued() {
        let (listener, outlet) = with_outlet(vec![Written::Nothing, Written::Part]);
        waits(&listener);
        offer(&listener, event(1));
        offer(&listener, event(2));
        assert_eq!(outlet.written.lock().unwrap().len(), 1, "the first, begun");
        assert!(matches!(listener.next().await, Some(Delivery::Flush)));
        assert_eq!(n(listener.next().await), 2);
        waits(&listener);
        offer(&listener, event(3));
        assert_eq!(outlet.written.lock().unwrap().len(), 1, "the outlet was full");
        assert_eq!(n(listener.next().await), 3);
    }
}
