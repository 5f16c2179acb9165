//! `--webhook`: the bench tenant with a tenant webhook subscribed to `message_created`, so
//! that every send also queues a delivery — what a webhook costs a send — and the receiver
//! it points at: a server on loopback that answers every request 204 and counts them.
//! The bench server must allow loopback webhooks (`WEBHOOK_ALLOWED_HOSTS=127.0.0.1`, as
//! scripts/bench.sh starts it).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use poem::{
    endpoint::make_sync,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    Server,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::setup::Tenant;

/// The receiver's count of the deliveries it answered.
pub struct Receiver {
    received: Arc<AtomicU64>,
}

impl Receiver {
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Starts the receiver and subscribes a webhook of `tenant` to it.
pub async fn subscribe(pool: &PgPool, tenant: &Tenant) -> Receiver {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind the webhook receiver");
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|addr| addr.as_socket_addr().copied())
        .expect("the webhook receiver's address");
    let received = Arc::new(AtomicU64::new(0));
    let counted = received.clone();
    let answer = make_sync(move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
        StatusCode::NO_CONTENT
    });
    tokio::spawn(Server::new_with_acceptor(acceptor).run(answer));
    // A row as `POST /api/admin/webhooks/` writes it (the bench writes its tenant's rows
    // in bulk; the webhook secret is not checked by this receiver).
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret)
         VALUES ($1, $2, $3, '{message_created}', 'whsec_bench')",
    )
    .bind(Uuid::new_v4())
    .bind(tenant.id)
    .bind(format!("http://{addr}/"))
    .execute(pool)
    .await
    .expect("create the bench webhook");
    Receiver { received }
}
