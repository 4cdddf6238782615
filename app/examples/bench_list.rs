//! `make bench`: the keys list at 100,000 keys in one organization, against the same queries at
//! 1,000 keys in another organization of the same database (the baseline, measured in the same run).
//!
//! Usage: `bench_list <sqlite-file> [keys]`. Leaves the database behind for the SSR load test and
//! prints a session cookie for the big organization's owner on its last line.

use app::model::{Environment, KeyQuery, KeySort, KeyStatus, Plan, SetupForm};
use app::ssr::entities::{api_key, organization};
use app::ssr::services::{Client, Member, auth, keys, organizations};
use app::ssr::{Core, crypto, db};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set, TransactionTrait};
use std::time::Instant;
use uuid::Uuid;

const ITERATIONS: usize = 40;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: bench_list <sqlite-file> [keys]")?;
    let big: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let _ = std::fs::remove_file(&path);
    let db = db::connect_and_migrate(&format!("sqlite://{path}")).await?;

    let (big_owner, session) = organization_with_keys(&db, "Big", "big@bench.test", big).await?;
    let (small_owner, _) = organization_with_keys(&db, "Small", "small@bench.test", 1_000).await?;
    // As a server started on this database: the planner's statistics for the keys now, read by
    // connections opened after them (the seeding's own connections read none).
    db::refresh_planner_statistics(&db).await?;
    db.close().await?;
    let db = db::connect(&format!("sqlite://{path}")).await?;
    let core = Core::new(db.clone());

    let cases: Vec<(&str, KeyQuery)> = vec![
        ("first page (25, newest)", KeyQuery::default()),
        ("search by name", KeyQuery { search: "service 0042".into(), ..KeyQuery::default() }),
        ("search by prefix", KeyQuery { search: "kw_stage_0000".into(), ..KeyQuery::default() }),
        (
            "filtered page 3 (staging, active)",
            KeyQuery {
                environment: Some(Environment::Staging),
                status: Some(KeyStatus::Active),
                page: 3,
                ..KeyQuery::default()
            },
        ),
        ("sorted by name, 100 per page", KeyQuery { sort: KeySort::Name, per_page: 100, ..KeyQuery::default() }),
        ("sorted by last used", KeyQuery { sort: KeySort::LastUsed, ..KeyQuery::default() }),
    ];
    println!("keys list server function (service), median / p95 over {ITERATIONS} runs");
    println!(
        "(\"counted\": the list's total counted every run, as after a change; else cached, as a person paging sees it)"
    );
    println!("{:<46} {:>22} {:>22} {:>8}", "query", format!("{big} keys"), "1000 keys (baseline)", "ratio");
    for (label, query) in cases {
        for counted in [true, false] {
            let (big_median, big_p95) = time(&core, &big_owner, &query, counted).await?;
            let (small_median, small_p95) = time(&core, &small_owner, &query, counted).await?;
            let label = format!("{label}{}", if counted { ", counted" } else { "" });
            println!(
                "{label:<46} {:>9.2} / {:>7.2} ms {:>9.2} / {:>7.2} ms {:>7.1}x",
                big_median,
                big_p95,
                small_median,
                small_p95,
                big_median / small_median.max(0.001)
            );
        }
    }
    core.stats.forget(big_owner.organization_id);
    let stats_started = Instant::now();
    keys::stats(&core, &big_owner).await?;
    println!("stats (counts, 24h calls) at {big} keys: {:.2} ms", stats_started.elapsed().as_secs_f64() * 1000.0);
    println!("SESSION={session}");
    Ok(())
}

async fn time(
    core: &Core,
    member: &Member,
    query: &KeyQuery,
    counted: bool,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        if counted {
            core.stats.forget(member.organization_id);
        }
        let started = Instant::now();
        let page = keys::list(core, member, query).await?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(page.keys.len() <= query.per_page as usize, "a page never holds more than its size");
    }
    samples.sort_by(f64::total_cmp);
    Ok((samples[ITERATIONS / 2], samples[ITERATIONS * 95 / 100]))
}

/// An Enterprise organization with `count` keys, inserted in bulk (the service's own path, with its
/// argon2 and per-create locking, would only measure the seeding).
async fn organization_with_keys(
    db: &DatabaseConnection,
    name: &str,
    email: &str,
    count: usize,
) -> Result<(Member, String), Box<dyn std::error::Error>> {
    let form = SetupForm {
        organization: name.into(),
        name: format!("{name} owner"),
        email: email.into(),
        password: "benchmark password".into(),
    };
    let core = Core::new(db.clone());
    let session = auth::register_organization(&core, form, &Client::default()).await?;
    let owner = auth::authenticate(&core, &session.token).await?;
    organizations::change_plan(&core, &owner, Plan::Enterprise).await?;
    let owner = Member { plan: Plan::Enterprise, ..owner };
    let project = app::ssr::services::projects::list(db, &owner).await?.remove(0);

    let now = Utc::now();
    let txn = db.begin().await?;
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let rows = chunk.iter().map(|&i| {
            let environment = [Environment::Production, Environment::Staging, Environment::Development][i % 3];
            let prefix = format!("kw_{}_{:08}", environment.token_segment(), i);
            api_key::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(owner.organization_id),
                project_id: Set(project.id),
                environment: Set(environment),
                name: Set(format!("service {i:04}")),
                description: Set(None),
                preview: Set(format!("{prefix}••••••••")),
                prefix: Set(prefix),
                digest: Set(crypto::digest(&format!("{email}-{i}"))),
                status: Set(if i % 10 == 0 { KeyStatus::Revoked } else { KeyStatus::Active }),
                expires_at: Set(None),
                created_by: Set(owner.user_id),
                created_at: Set(now - Duration::seconds(i64::try_from(count - i).unwrap_or_default())),
                last_used_at: Set((i % 4 == 0).then(|| now - Duration::minutes(i64::try_from(i).unwrap_or_default()))),
                revoked_at: Set(None),
                scopes: Set("api_keys.read".into()),
                rate_limit_requests: Set(None),
                rate_limit_window: Set(None),
                previous_digest: Set(None),
                previous_valid_until: Set(None),
                external_id: Set(None),
                meta: Set(None),
                // Unlimited, and usable from anywhere.
                ..Default::default()
            }
        });
        api_key::Entity::insert_many(rows).exec(&txn).await?;
    }
    let mut org = organization::Entity::find_by_id(owner.organization_id)
        .one(&txn)
        .await?
        .ok_or("organization")?
        .into_active_model();
    org.keys_created_total = Set(i64::try_from(count)?);
    org.keys_stored = Set(i64::try_from(count)?);
    org.update(&txn).await?;
    txn.commit().await?;
    Ok((owner, session.token))
}
