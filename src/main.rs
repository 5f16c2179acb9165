//! The `tenantchat` command: serve (default), migrate, tenant/user administration, demo.

use std::{path::PathBuf, process::ExitCode};

/// mimalloc instead of glibc's malloc: glibc keeps what a burst of logins freed (each
/// argon2 hash allocates 19 MiB) in its arenas for good, mimalloc gives it back. The
/// library does not choose; embedders and tests keep their own allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc.h), which its -sys crate does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once, not after mimalloc's purge delay (1 s):
/// measured with `scripts/bench.sh`, RSS after 1,200 password logins was 86–88 MiB with
/// the delay and 41–45 MiB without (34 instead of 54–56 MiB at start), for no CPU cost
/// the fan-out or the closed-loop sends could show. `MIMALLOC_PURGE_DELAY` still decides
/// when set.
fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option, before this process does any work.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

use clap::{Parser, Subcommand};
use tenantchat::{
    accounts::{self, NewUser, TenantSlug},
    archive,
    audit::{self, Verification},
    domain::Role,
    Config,
};

#[derive(Parser)]
#[command(name = "tenantchat", version, about = "Multi-tenant realtime chat server")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API and pages (the default).
    Serve,
    /// Apply pending migrations.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Create the demo tenant with a few users and conversations (idempotent).
    Demo,
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Encryption at rest (docs/encryption.md): counts per key, rotation to the current key,
    /// decryption to turn it off.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Ask the server on BIND whether it is ready (`GET /readyz`): exit 0 if so, 2 if not.
    /// For container health checks; needs no database and no other tool in the image.
    Healthcheck,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute a tenant's hash chain; names the first row that does not add up.
    Verify {
        #[arg(long, value_parser = parse_slug)]
        tenant: TenantSlug,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the records (messages, earlier versions, files) per key id; `plain` for unencrypted.
    Status,
    /// Re-encrypt every record with CHAT_ENCRYPTION_KEY, in batches, while the server runs;
    /// safe to interrupt and run again. Names the earlier keys nothing uses any more.
    Rotate {
        /// Records per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
    },
    /// Turn encryption off: write every sealed record back in plaintext, in batches, while
    /// the server runs; safe to interrupt and run again. The keys go in
    /// CHAT_ENCRYPTION_OLD_KEYS, none in CHAT_ENCRYPTION_KEY (here and on the servers).
    Decrypt {
        /// Records per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch_size: i64,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id.
    Create {
        #[arg(long, value_parser = parse_slug)]
        slug: TenantSlug,
        #[arg(long)]
        name: String,
    },
    /// Write a tenant's data to a JSON-lines archive FILE, its files to FILE.files/.
    /// Running it again replaces the archive (written aside, then renamed into place).
    Export {
        #[arg(long, value_parser = parse_slug)]
        slug: TenantSlug,
        #[arg(long)]
        out: PathBuf,
    },
    /// Load an archive made by `tenant export` into this database, in one transaction;
    /// refuses when the tenant's slug exists here.
    Import {
        #[arg(long = "in")]
        input: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user in a tenant; prints its id.
    Create {
        /// The tenant's slug.
        #[arg(long, value_parser = parse_slug)]
        tenant: TenantSlug,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: String,
        #[arg(long, value_parser = Role::parse)]
        role: Role,
        /// Make the user a support agent.
        #[arg(long)]
        agent: bool,
    },
}

fn parse_slug(s: &str) -> Result<TenantSlug, String> {
    TenantSlug::parse(s)
}

#[tokio::main]
async fn main() -> ExitCode {
    purge_freed_memory_at_once();
    let cli = Cli::parse();
    tenantchat::telemetry::init_logs(cli.config.log_format);
    match run(cli).await {
        Ok(output) => {
            if !output.is_empty() {
                println!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<String, String> {
    cli.config.validate()?;
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Healthcheck = command {
        // Asks the server, not the database: it must work while the database is away.
        return tenantchat::health::probe(&cli.config.bind)
            .await
            .map(|()| String::new());
    }
    let pool = tenantchat::connect(&cli.config).await?;
    if !matches!(command, Command::Migrate) {
        // Every command works on the current schema; serve and demo bring it up to date.
        tenantchat::migrate(&pool).await?;
    }
    match command {
        Command::Serve => {
            // The schema is current now: the serving pool can ready its connections for sends.
            pool.close().await;
            let pool = tenantchat::connect_for_serving(&cli.config).await?;
            tenantchat::serve(cli.config, pool).await.map(|_| String::new())
        }
        Command::Migrate => tenantchat::migrate(&pool).await.map(|_| "migrations applied".into()),
        Command::Tenant(TenantCommand::Create { slug, name }) => accounts::create_tenant(&pool, &slug, &name)
            .await
            .map(|id| id.to_string())
            .map_err(|e| e.to_string()),
        Command::Tenant(TenantCommand::Export { slug, out }) => {
            let done = archive::export::export(&pool, &cli.config.media_root, &slug, &out)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "exported {}: {} rows, {} files ({} missing) to {}",
                slug.as_str(),
                done.rows,
                done.files,
                done.missing_files,
                out.display()
            ))
        }
        Command::Tenant(TenantCommand::Import { input }) => {
            let done = archive::import::import(&pool, &cli.config.media_root, &input)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "imported {}: {} rows, {} files",
                done.tenant, done.rows, done.files
            ))
        }
        Command::User(UserCommand::Create {
            tenant,
            email,
            name,
            password,
            role,
            agent,
        }) => {
            let tenant_id = accounts::tenant_id_by_slug(&pool, &tenant)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no tenant with slug {:?}", tenant.as_str()))?;
            let new = NewUser {
                email: &email,
                name: &name,
                password: &password,
                role,
            };
            accounts::create_user_as(&pool, tenant_id, new, agent)
                .await
                .map(|id| id.to_string())
                .map_err(|e| e.to_string())
        }
        Command::Healthcheck => unreachable!("answered before connecting"),
        Command::Demo => tenantchat::demo::seed(&pool).await.map_err(|e| e.to_string()),
        Command::Keys(command) => {
            let keyring = tenantchat::crypto::Keyring::from_config(&cli.config)?;
            tenantchat::crypto::install(keyring.clone());
            match command {
                KeysCommand::Status => {
                    tenantchat::chat::keys::check(&pool, &keyring).await?;
                    tenantchat::chat::keys::status(&pool).await
                }
                KeysCommand::Rotate { batch_size } => {
                    tenantchat::chat::keys::rotate(&pool, &keyring, &cli.config.media_root, batch_size).await
                }
                KeysCommand::Decrypt { batch_size } => {
                    tenantchat::chat::keys::decrypt(&pool, &keyring, &cli.config.media_root, batch_size).await
                }
            }
        }
        Command::Audit(AuditCommand::Verify { tenant }) => {
            let tenant_id = accounts::tenant_id_by_slug(&pool, &tenant)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no tenant with slug {:?}", tenant.as_str()))?;
            match audit::verify(&pool, tenant_id).await.map_err(|e| e.to_string())? {
                Verification::Intact { rows } => {
                    Ok(format!("audit log of {}: {rows} rows, chain intact", tenant.as_str()))
                }
                Verification::Broken { id, problem, .. } => Err(format!(
                    "audit log of {}: row {id} {}",
                    tenant.as_str(),
                    problem.reason()
                )),
            }
        }
    }
}
