//! A socket's connection, shared by its task and the hub: the task reads and writes
//! through tungstenite as before, and the hub writes events straight to it
//! (`realtime::listener::Outlet`) while the task waits, with no task woken.
//!
//! Two writers on one byte stream: a frame must go out whole before another begins. So
//! a write here takes all it is given or nothing: once the kernel takes part of it, the
//! rest is kept (the backlog) and goes out before anything written after it. A task's
//! write waits while there is a backlog, and the hub does not write at all then (nor
//! while the task waits to write, as the hub's write would take the place of the task's
//! wake-up for the connection becoming writable). The backlog is at most one frame of
//! each writer.

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{ready, Context, Poll, Waker},
};

use bytes::{Buf, Bytes};
use poem::Upgraded;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::{
    coding::{Data, OpCode},
    FrameHeader,
};

use super::frames;
use crate::{
    realtime::listener::{Offered, Outlet, Written, WrittenForm},
    telemetry::metrics::EVENTS_SENT,
};

/// The connection under a socket's `WebSocketStream`; `outlet` is the hub's handle to it.
#[derive(Clone)]
pub struct SharedConnection(Arc<Mutex<Connection>>);

struct Connection {
    io: Upgraded,
    /// Bytes taken but not yet written, in order.
    backlog: VecDeque<Bytes>,
    /// The task's last write found the connection full: its wake-up is registered.
    task_waits: bool,
}

impl SharedConnection {
    pub fn new(io: Upgraded) -> SharedConnection {
        SharedConnection(Arc::new(Mutex::new(Connection {
            io,
            backlog: VecDeque::new(),
            task_waits: false,
        })))
    }

    pub fn outlet(&self) -> Arc<dyn Outlet> {
        self.0.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0.lock().expect("socket connection")
    }
}

impl Connection {
    /// Writes the backlog out; `Pending` (the task's wake-up registered) until it is empty.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.backlog.front_mut() {
            match Pin::new(&mut self.io).poll_write(cx, front) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => {
                    front.advance(written);
                    if front.is_empty() {
                        self.backlog.pop_front();
                    }
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    self.task_waits = true;
                    return Poll::Pending;
                }
            }
        }
        self.task_waits = false;
        Poll::Ready(Ok(()))
    }

    /// Writes `buf` (the backlog empty), keeping what the kernel does not take now.
    fn write_all_or_keep(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write(cx, buf) {
            Poll::Ready(Ok(written)) if written > 0 => {
                if written < buf.len() {
                    self.backlog.push_back(Bytes::copy_from_slice(&buf[written..]));
                }
                Poll::Ready(Ok(buf.len()))
            }
            other => other,
        }
    }
}

impl Outlet for Mutex<Connection> {
    fn try_write(&self, offered: &Offered<'_>) -> Written {
        let mut conn = self.lock().expect("socket connection");
        if conn.task_waits || !conn.backlog.is_empty() {
            return Written::Nothing;
        }
        let Some(form) = offered.written_form(text_frame) else {
            return Written::Nothing;
        };
        // No waker of the task's to register: it waits for the hub, not for the
        // connection (`task_waits` is false).
        let mut cx = Context::from_waker(Waker::noop());
        match conn.write_all_or_keep(&mut cx, &form.bytes) {
            Poll::Ready(Ok(written)) if written > 0 => {
                metrics::counter!(EVENTS_SENT, "type" => form.kind).increment(1);
                if conn.backlog.is_empty() {
                    Written::All
                } else {
                    Written::Part
                }
            }
            // Full, or closed or broken (the task finds out when it writes the event
            // itself).
            _ => Written::Nothing,
        }
    }
}

/// The text frame of `event`, header and event in one buffer, so one system call sends it
/// (poem's `Upgraded` has no vectored write). `None` when it is not UTF-8 (never so from
/// this server): it is queued, and the task closes the socket with 1013.
fn text_frame(event: &Bytes) -> Option<WrittenForm> {
    std::str::from_utf8(event).ok()?;
    let header = FrameHeader {
        opcode: OpCode::Data(Data::Text),
        ..FrameHeader::default()
    };
    let mut frame = Vec::with_capacity(event.len() + 14);
    header.format(event.len() as u64, &mut frame).expect("writes to a Vec");
    frame.extend_from_slice(event);
    Some(WrittenForm {
        bytes: frame.into(),
        kind: frames::event_type(event),
    })
}

impl AsyncRead for SharedConnection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.lock().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut conn = self.lock();
        ready!(conn.drain(cx))?;
        let written = conn.write_all_or_keep(cx, buf);
        conn.task_waits = written.is_pending();
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut conn = self.lock();
        ready!(conn.drain(cx))?;
        Pin::new(&mut conn.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut conn = self.lock();
        ready!(conn.drain(cx))?;
        Pin::new(&mut conn.io).poll_shutdown(cx)
    }
}
