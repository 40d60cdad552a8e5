//! The console's dashboard comes from the rollup kept with the case index
//! (`sync-server/src/store/figures.rs`); these tests check that what a real server shows at every
//! level — province, city, county, township, village — equals a full recount of the case index,
//! on SQLite and on PostgreSQL, after the demo's cases have walked every path of the procedure
//! (each step a command that changed the index, so the counts were kept incrementally), and
//! again after the rollup was thrown away and rebuilt by a restarted server.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{TimeZone, Utc};
use yijian_core::division::DivisionCode;
use yijian_server::blobstore::DiskBlobStore;
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::procedure::Procedure;
use yijian_server::ops::demo::seed;
use yijian_server::store::figures::on_time_window_start;
use yijian_server::store::rows::CaseQuery;
use yijian_server::store::{self, Storage, read};
use yijian_server::web::console::stats;
use yijian_tests::pg::PgCluster;
use yijian_tests::register_file;
use yijian_tests::server::TestServer;
use yijian_tests::web::Browser;

/// The dashboard's JSON as the page embeds it, without the department table (which is read from
/// the warnings, not from the rollup).
fn served_figures(body: &str) -> Result<serde_json::Value> {
    let start = body
        .find(r#"<script id="dashboard-data" type="application/json">"#)
        .context("dashboard-data in the page")?;
    let rest = &body[start..];
    let json = &rest[rest.find('>').context("script tag")? + 1
        ..rest.find("</script>").context("script end")?];
    let mut v: serde_json::Value = serde_json::from_str(&json.replace("<\\/", "</"))?;
    v.as_object_mut()
        .context("dashboard object")?
        .remove("by_department");
    Ok(v)
}

async fn recounted(storage: &Arc<dyn Storage>, scope: &DivisionCode) -> Result<serde_json::Value> {
    let procedure = Procedure::current(&**storage).await?;
    let today = yijian_core::time::china_date(Utc::now());
    let s = scope.to_string();
    let (rows, done) = read(&**storage, move |tx| {
        let rows = tx.case_rows(&CaseQuery {
            scope: s.clone(),
            open_only: false,
            due_by: None,
            limit: None,
        })?;
        Ok((rows, tx.steps_done(&s, on_time_window_start(today))?))
    })
    .await?;
    // Through JSON text like the page's, so both sides' floats are parsed alike (serde_json's
    // default float parsing can differ from the computed value in the last place).
    let mut v: serde_json::Value = serde_json::from_str(&serde_json::to_string(&stats::recount(
        scope,
        &rows,
        &done,
        today,
        &procedure.calendar,
    ))?)?;
    v.as_object_mut()
        .context("dashboard object")?
        .remove("by_department");
    Ok(v)
}

/// Every division that holds a case, with all its ancestors.
async fn scopes_with_cases(storage: &Arc<dyn Storage>) -> Result<BTreeSet<DivisionCode>> {
    let rows = read(&**storage, |tx| {
        tx.case_rows(&CaseQuery {
            scope: "62".into(),
            ..CaseQuery::default()
        })
    })
    .await?;
    let mut scopes = BTreeSet::new();
    for r in rows {
        let village = DivisionCode::parse(&r.village)?;
        scopes.extend(village.ancestors());
        scopes.insert(village);
    }
    Ok(scopes)
}

async fn compare_every_level(server: &TestServer, storage: &Arc<dyn Storage>) -> Result<usize> {
    let scopes = scopes_with_cases(storage).await?;
    if scopes.len() < 8 {
        bail!("the demo's cases lie in too few divisions to test: {scopes:?}");
    }
    let mut browser = Browser::new(&server.url())?;
    // 孙立新, the demo's province user (scope 62).
    browser.sign_in("13800000041").await?;
    for scope in &scopes {
        let page = browser.get(&format!("/console?scope={scope}")).await?;
        if page.status != 200 {
            bail!("dashboard of {scope}: {}", page.status);
        }
        let shown = served_figures(&page.body)?;
        let counted = recounted(storage, scope).await?;
        if shown != counted {
            bail!(
                "dashboard of {scope} differs from a recount:\nshown   {}\ncounted {}",
                serde_json::to_string(&shown)?,
                serde_json::to_string(&counted)?
            );
        }
        assert!(
            shown["total"].as_u64().unwrap_or(0) > 0,
            "{scope} holds a case but shows none"
        );
        overdue_page_agrees(&mut browser, scope, &counted).await?;
    }
    Ok(scopes.len())
}

/// The overdue page of a province or a city counts each unit below from the rollup, equal to a
/// recount, each unit with something overdue or due soon once and no other; a county's and
/// those below list the cases.
async fn overdue_page_agrees(
    browser: &mut Browser,
    scope: &DivisionCode,
    counted: &serde_json::Value,
) -> Result<()> {
    use yijian_core::division::Level;
    let page = browser
        .get(&format!("/console/overdue?scope={scope}"))
        .await?;
    if page.status != 200 {
        bail!("overdue page of {scope}: {}", page.status);
    }
    if !matches!(scope.level(), Level::Province | Level::City) {
        if !page.body.contains(r#"id="overdue""#) {
            bail!("the overdue page of {scope} lists no cases");
        }
        return Ok(());
    }
    if page.body.contains(r#"id="overdue""#) {
        bail!("the overdue page of {scope} lists every case");
    }
    let expected: Vec<String> = counted["children"]
        .as_array()
        .context("children")?
        .iter()
        .filter(|c| c["overdue"].as_u64().unwrap_or(0) + c["due_soon"].as_u64().unwrap_or(0) > 0)
        .map(|c| {
            format!(
                r#"data-code="{}" data-overdue="{}" data-due-soon="{}""#,
                c["code"].as_str().unwrap_or_default(),
                c["overdue"],
                c["due_soon"]
            )
        })
        .collect();
    for row in &expected {
        if !page.body.contains(row) {
            bail!("the overdue page of {scope} has no row {row}");
        }
    }
    let rows = page.body.matches("data-overdue=").count();
    if rows != expected.len() {
        bail!(
            "the overdue page of {scope} has {rows} units, the recount {}",
            expected.len()
        );
    }
    let total = format!(
        "已逾期{}件，2个工作日内到期{}件",
        counted["overdue"], counted["due_soon"]
    );
    if !page.body.contains(&total) {
        bail!("the overdue page of {scope} does not say {total}");
    }
    Ok(())
}

async fn dashboards_equal_a_recount(
    location: DatabaseLocation,
    dir: &std::path::Path,
) -> Result<()> {
    let storage = store::open(&location).await?;
    let blobs = Arc::new(DiskBlobStore::open(dir.join("blobs")).await?);
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 4, 0, 0)
        .single()
        .context("time")?;
    seed(Arc::clone(&storage), blobs, now).await?;

    let server = TestServer::start(location.clone()).await?;
    compare_every_level(&server, &storage).await?;
    server.stop().await?;

    // The generated register's cases of one county (what `make bench-scale` writes at province
    // size): every stage, clocks due around today, completed clocks on time and late.
    let county = DivisionCode::parse("621102")?;
    let cases = register_file::generated_cases(&county, 8_000, yijian_core::time::china_date(now));
    assert!(cases.len() > 150, "{} cases", cases.len());
    register_file::index_cases(&*storage, &cases).await?;
    let server = TestServer::start(location.clone()).await?;
    let levels = compare_every_level(&server, &storage).await?;
    server.stop().await?;

    // A database from before the rollup: the counts are gone; the next start rebuilds them.
    match &location {
        DatabaseLocation::Sqlite { data_dir } => {
            let db =
                rusqlite::Connection::open(data_dir.join(yijian_server::store::sqlite::DB_FILE))?;
            db.execute("DELETE FROM case_figures", [])?;
        }
        DatabaseLocation::Postgres { url } => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            let conn = tokio::spawn(conn);
            client.execute("DELETE FROM case_figures", &[]).await?;
            drop(client);
            conn.await??;
        }
    }
    let empty = read(&*storage, |tx| {
        tx.figures_in(
            &DivisionCode::parse("62")
                .map_err(|e| yijian_server::store::StorageError::Corrupt(e.to_string()))?,
        )
    })
    .await?;
    assert!(empty.is_empty(), "the rollup was not emptied");
    let server = TestServer::start(location.clone()).await?;
    let again = compare_every_level(&server, &storage).await?;
    assert_eq!(levels, again);
    server.stop().await?;

    // The deadline job on the generated clocks (as `bench-scale`'s load runs it): each due or
    // overdue clock is noticed once, and the next run opens no transaction for any of them.
    // (The month of deadlines in `oversight.rs` checks what the notices say and to whom.)
    let first = yijian_server::domain::deadlines::run_once(&*storage, now).await?;
    assert!(
        first.reminded + first.escalated > 10,
        "the generated clocks were not noticed: {first:?}"
    );
    let second = yijian_server::domain::deadlines::run_once(&*storage, now).await?;
    assert_eq!((second.reminded, second.escalated), (0, 0), "{second:?}");
    // Escalated clocks are not even read again; only those due soon are.
    assert!(second.examined < first.examined, "{first:?} {second:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_equal_a_recount_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    dashboards_equal_a_recount(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        dir.path(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_equal_a_recount_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_figures").await?;
    let dir = tempfile::tempdir()?;
    dashboards_equal_a_recount(DatabaseLocation::Postgres { url }, dir.path()).await
}
