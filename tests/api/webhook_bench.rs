//! Delivery engine throughput, run on demand (not a pass/fail test):
//! `cargo nextest run --test api webhook_bench --run-ignored only --no-capture`.
//! Queues `WEBHOOK_BENCH_DELIVERIES` (default 5000) deliveries to one local receiver that
//! answers 200 at once, and prints deliveries per second from the first claim to the
//! last recorded outcome.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{receiver::Receiver, webhooks::spawn_with_hooks};

#[sqlx::test]
#[ignore = "a measurement: run on demand"]
async fn webhook_bench(pool: PgPool) {
    let count: i64 = std::env::var("WEBHOOK_BENCH_DELIVERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let mut hook = Receiver::ok().await;
    let app = spawn_with_hooks(pool.clone(), |_| {}).await;
    let acme = app.tenant("acme").await;
    let endpoint = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, '{message_created}', 'whsec_bench')",
    )
    .bind(endpoint)
    .bind(acme.id)
    .bind(&hook.url)
    .execute(&pool)
    .await
    .unwrap();
    // One statement, then one ring of the engine (as a send rings it after its commit),
    // which finds them all due.
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event, payload)
         SELECT gen_random_uuid(), $1, $2, 'message_created', jsonb_build_object('n', n, 'text', repeat('x', 200))
         FROM generate_series(1, $3) AS n",
    )
    .bind(acme.id)
    .bind(endpoint)
    .bind(count)
    .execute(&pool)
    .await
    .unwrap();
    app.state.as_ref().unwrap().webhooks.doorbell().ring();
    let mut received = 0;
    while received < count {
        hook.next().await;
        received += 1;
    }
    let delivered = loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if done == count {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "webhook bench: {count} deliveries to one local receiver in {:.2} s = {:.0} deliveries/s",
        delivered.as_secs_f64(),
        count as f64 / delivered.as_secs_f64()
    );
}
