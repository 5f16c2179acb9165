//! https webhooks against local TLS receivers. The test makes its own CA (rcgen) and
//! hands its certificate to the server through `WEBHOOK_CA_FILE`, as an operator with a
//! private CA would; a receiver whose certificate comes from another CA is not trusted.
//! Certificates are made per test rather than committed: nothing expires, and no private
//! key sits in the repository.

use std::{path::PathBuf, sync::Arc, time::Duration};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use sqlx::PgPool;
use tenantchat::domain::Role;
use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

use crate::{
    receiver::Receiver,
    webhooks::{create_bot, create_webhook, group_with_bot, log_until, spawn_with_hooks, verify},
};

/// A certificate authority made for one test.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("tenantchat test CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A TLS server presenting a certificate for 127.0.0.1 signed by this CA.
    fn server(&self) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        Arc::new(config)
    }

    /// The CA's certificate in a PEM file of its own, for `WEBHOOK_CA_FILE`.
    fn pem_file(&self) -> PathBuf {
        let path = std::env::temp_dir().join(format!("tenantchat-test-ca-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

#[sqlx::test]
async fn an_https_webhook_of_a_trusted_ca_gets_signed_deliveries(pool: PgPool) {
    let ca = TestCa::new("trusted");
    let ca_file = ca.pem_file();
    let app = spawn_with_hooks(pool, |c| c.webhook_ca_file = Some(ca_file.clone())).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.member(&acme, "Bruno", Role::Write).await;
    let mut hook = Receiver::start_tls(Arc::new(|_| (200, String::new())), ca.server()).await;
    assert!(hook.url.starts_with("https://"));
    let (bot_id, _, secret) = create_bot(&mut ana, &hook.url).await;
    let id = group_with_bot(&mut ana, bruno.user_id, &bot_id).await;
    ana.say(&id, "over TLS").await;

    let received = hook.next().await;
    verify(&received, &secret);
    assert_eq!(received.json()["data"]["message"]["content"], "over TLS");
    let log = log_until(&mut ana, &format!("/api/admin/bots/{bot_id}/"), |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(log["last_status"], 200);
    std::fs::remove_file(ca_file).unwrap();
}

#[sqlx::test]
async fn a_receiver_with_an_untrusted_certificate_is_a_failed_attempt(pool: PgPool) {
    let trusted = TestCa::new("trusted");
    let ca_file = trusted.pem_file();
    let app = spawn_with_hooks(pool, |c| c.webhook_ca_file = Some(ca_file.clone())).await;
    let acme = app.tenant("acme").await;
    let mut ana = app.member(&acme, "Ana", Role::Admin).await;
    let bruno = app.user(&acme, "Bruno", Role::Write).await;
    let stranger = TestCa::new("stranger");
    let mut hook = Receiver::start_tls(Arc::new(|_| (200, String::new())), stranger.server()).await;
    let webhook = create_webhook(&mut ana, &hook.url, &["message_created"]).await;
    let id = ana.start_with(bruno).await;
    ana.say(&id, "to a stranger").await;

    let path = format!("/api/admin/webhooks/{}/", webhook["id"].as_str().unwrap());
    let log = log_until(&mut ana, &path, |d| !d["last_error"].is_null()).await;
    let error = log["last_error"].as_str().unwrap();
    assert!(error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
    assert!(log["last_status"].is_null(), "no HTTP answer");
    assert_eq!(log["status"], "pending", "retried later, like any failed attempt");
    assert!(hook.next_within(Duration::from_millis(300)).await.is_none());
    std::fs::remove_file(ca_file).unwrap();
}
