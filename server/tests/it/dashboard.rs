//! The dashboard's pages over real HTTP: what one render costs the database, and how a page that
//! sends a person elsewhere answers.

use crate::api::{SITE_FILE, another_servers_router, start, start_recording_statements};
use app::ssr::services::{Client, auth};
use app::ssr::test_support::PASSWORD;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, COOKIE, LOCATION};

/// The most SQL statements one server render of `/keys` may run. A budget, not a timing: a page
/// that signs in again per server function, reads per key, or fetches a resource twice goes over.
/// Today's 12: the sign-in (1, joined), the organizations to switch to (2), the page of keys with its
/// count, projects and creators (4), the projects to filter by (2), the decoy keys used (1: the
/// uses; their keys only when there are some), the keys still presented after they stopped
/// working (1: the log, grouped by key; their names only when there are some), the keys expiring
/// within a week (1). The figures above the table (5 more) come from their cache, which a render
/// after a change fills again.
const KEYS_PAGE_STATEMENTS: usize = 12;
/// The same just after a change, with the figures read again.
const KEYS_PAGE_STATEMENTS_AFTER_A_CHANGE: usize = 17;
/// The same for a key's own page. Today's 15: the sign-in (1), the organizations (2), the key with
/// its rotations, creator, project and project's scopes (7), its usage (1), its recent verifications
/// (2: the key, within the member's reach, and one page of its log; counted only past one page),
/// what the log tells of it (2: the key, and its verifications by verdict; the latest refusal only
/// when there is one, the scopes asked only when it holds custom scopes).
const KEY_PAGE_STATEMENTS: usize = 15;

#[tokio::test]
async fn one_render_of_the_keys_page_or_a_keys_page_runs_a_fixed_number_of_statements() {
    let (s, statements) = start_recording_statements().await;
    let take = || std::mem::take(&mut *statements.lock().expect("statements"));
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let mut last = None;
    for i in 0..30 {
        last = Some(s.key(&format!("service-{i:02}"), &["api_keys.read"]).await.0);
    }
    let key = last.expect("a key");
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let cookie = format!("kw_session={}", session.token);
    let render = |path: String| {
        let request = s.http.get(format!("{root}{path}")).header(COOKIE, &cookie).header(ACCEPT, "text/html");
        async move {
            let response = request.send().await.expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.text().await.expect("page")
        }
    };
    // The first request of a session records its activity (a write every few minutes, not per page).
    render("/keys".into()).await;

    take();
    let page = render("/keys".into()).await;
    let keys_page = take();
    assert!(page.contains("service-29"), "the keys are in the server's HTML");

    s.key("service-30", &["api_keys.read"]).await;
    take();
    let page = render("/keys".into()).await;
    let after_a_change = take();
    assert!(page.contains("service-30"), "the new key is on the page");

    let page = render(format!("/keys/{key}")).await;
    let key_page = take();
    assert!(page.contains("service-29"), "the key is in the server's HTML");

    assert!(
        keys_page.len() <= KEYS_PAGE_STATEMENTS,
        "/keys ran {} statements:\n{}",
        keys_page.len(),
        keys_page.join("\n")
    );
    assert!(
        after_a_change.len() <= KEYS_PAGE_STATEMENTS_AFTER_A_CHANGE,
        "/keys after a change ran {} statements:\n{}",
        after_a_change.len(),
        after_a_change.join("\n")
    );
    assert!(
        key_page.len() <= KEY_PAGE_STATEMENTS,
        "a key's page ran {} statements:\n{}",
        key_page.len(),
        key_page.join("\n")
    );
}

#[tokio::test]
async fn a_page_that_sends_a_person_elsewhere_answers_with_a_real_redirect() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::api::ANSWER_WITHIN)
        .build()
        .expect("client");
    // Whatever the client accepts: a browser without JavaScript, curl, a crawler.
    for accept in ["text/html", "*/*", ""] {
        for (path, to) in [("/", "/sign-in"), ("/keys", "/sign-in"), ("/audit", "/sign-in")] {
            let mut request = http.get(format!("{root}{path}"));
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept);
            }
            let response = request.send().await.expect("response");
            assert_eq!(response.status(), StatusCode::FOUND, "{path} accepting {accept:?}");
            assert_eq!(response.headers().get(LOCATION).and_then(|v| v.to_str().ok()), Some(to), "{path}");
        }
    }
    // A page that stays answers 200, without a Location.
    let response = http.get(format!("{root}/sign-in")).send().await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn each_request_signs_in_its_own_member_however_they_interleave() {
    use app::model::Role;
    use app::ssr::test_support::member;
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    member(&s.core.db, &s.owner, Role::Viewer, "Grace").await;
    let cookie = |email: &'static str| {
        let core = s.core.clone();
        async move {
            let session = auth::sign_in(&core, email, PASSWORD, &Client::default()).await.expect("signed in");
            format!("kw_session={}", session.token)
        }
    };
    let (ada, grace) = (cookie("ada@acme.test").await, cookie("grace@acme.test").await);
    let page = |cookie: String| {
        let request = s.http.get(format!("{root}/account")).header(COOKIE, cookie).header(ACCEPT, "text/html");
        async move { request.send().await.expect("response").text().await.expect("page") }
    };
    let pages =
        futures::future::join_all((0..8).map(|i| page(if i % 2 == 0 { ada.clone() } else { grace.clone() }))).await;
    for (i, html) in pages.iter().enumerate() {
        let (mine, theirs) =
            if i % 2 == 0 { ("ada@acme.test", "grace@acme.test") } else { ("grace@acme.test", "ada@acme.test") };
        assert!(html.contains(mine) && !html.contains(theirs), "request {i} shows {mine} only");
    }
}

/// A server whose organization has these keys, its dashboard's address, and the owner's session
/// cookie.
async fn owner_signed_in(keys: &[&str]) -> (crate::api::Server, String, String) {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    for name in keys {
        s.key(name, &["api_keys.read"]).await;
    }
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    (s, root, format!("kw_session={}", session.token))
}

/// leptos stops every resource of the process from loading while it works out an app's pages
/// (leptos-rs/leptos#4773): a page rendered meanwhile waited for its data forever. The pages are
/// worked out once per process, so another server starting (the tests start many) holds up no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_another_server_starts_in_the_same_process() {
    let (s, root, cookie) = owner_signed_in(&["service-while-starting"]).await;
    let core = s.core.clone();
    let starting = tokio::task::spawn_blocking(move || {
        for _ in 0..40 {
            drop(another_servers_router(&core));
        }
    });
    let render = || {
        let request = s.http.get(format!("{root}/keys")).header(COOKIE, &cookie).header(ACCEPT, "text/html");
        async move {
            let answer = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                let response = request.send().await.expect("response");
                assert_eq!(response.status(), StatusCode::OK);
                response.text().await.expect("page")
            });
            answer.await.expect("the page answers within 10 s while another server starts")
        }
    };
    let mut rendered = 0;
    while !starting.is_finished() || rendered < 20 {
        let (first, second) = tokio::join!(render(), render());
        assert!(first.contains("service-while-starting") && second.contains("service-while-starting"));
        rendered += 2;
    }
    starting.await.expect("routers built");
}

/// Many renders at once on two threads: each page's `<head>` is its own, with its title and its one
/// stylesheet. (leptos_meta writes a head tag into the context it finds while the HTML is written,
/// and a render resumed on a thread that rendered another page since could find that page's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_page_rendered_at_once_has_its_own_head() {
    let (s, root, cookie) = owner_signed_in(&["service-0", "service-1", "service-2", "service-3", "service-4"]).await;
    for round in 0..20 {
        let pages = (0..8).map(|i| {
            let path = if i % 2 == 0 { "/keys" } else { "/members" };
            let request = s.http.get(format!("{root}{path}")).header(COOKIE, &cookie).header(ACCEPT, "text/html");
            async move { (path, request.send().await.expect("response").text().await.expect("page")) }
        });
        for (path, html) in futures::future::join_all(pages).await {
            let title = if path == "/keys" {
                "<title>API Keys · Keyward</title>"
            } else {
                "<title>Members · Keyward</title>"
            };
            assert!(html.contains(title), "round {round}: {path} lacks {title}");
            assert_eq!(html.matches("rel=\"stylesheet\"").count(), 1, "round {round}: {path}'s stylesheet links");
        }
    }
}

/// Pages and the site's files requested at once, as a browser loading a page does: every page keeps
/// its own policy and `no-store`, and no file carries a page's headers. (leptos's file handler once
/// answered a file with the headers of a page being rendered for someone else on the same worker
/// thread; that page then had none, and could not hydrate: a quarter of the pages, here, before.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_site_files_served_at_once_each_keep_their_own_headers() {
    let (s, root, cookie) = owner_signed_in(&["service-0", "service-1", "service-2", "service-3", "service-4"]).await;
    let header = |response: &reqwest::Response, name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let mut problems = Vec::new();
    for round in 0..60 {
        let page = s.http.get(format!("{root}/keys")).header(COOKIE, &cookie).header(ACCEPT, "text/html").send();
        let file = s.http.get(format!("{root}/pkg/{SITE_FILE}")).send();
        let other_file = s.http.get(format!("{root}/pkg/{SITE_FILE}")).header("Accept-Encoding", "br, gzip").send();
        let (page, file, other_file) = tokio::join!(page, file, other_file);
        let page = page.expect("page");
        assert_eq!(page.status(), StatusCode::OK);
        if !header(&page, "content-security-policy").contains("'nonce-") || header(&page, "cache-control") != "no-store"
        {
            problems.push(format!("round {round}: the page lost its headers: {:?}", page.headers()));
        }
        for file in [file.expect("file"), other_file.expect("file")] {
            assert_eq!(file.status(), StatusCode::OK);
            if header(&file, "content-security-policy").contains("'nonce-") || file.headers().contains_key("set-cookie")
            {
                problems.push(format!("round {round}: a file took a page's headers: {:?}", file.headers()));
            }
        }
    }
    assert!(problems.is_empty(), "{} of 60 rounds:\n{}", problems.len(), problems.join("\n"));

    let missing =
        s.http.get(format!("{root}/pkg/nothing-here.wasm")).header(ACCEPT, "text/html").send().await.expect("answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "a missing file is the app's own not-found page");
    assert!(header(&missing, "content-security-policy").contains("'nonce-"));
}

/// The create form as a browser without JavaScript sends it (`POST /keys/new`, same origin): each
/// attack is refused with nothing created, and the key made shows its token in the answer, once.
#[tokio::test]
async fn the_create_form_sent_without_javascript_answers_with_the_token_once_and_refuses_attacks() {
    use app::model::Role;
    use app::ssr::entities::api_key;
    use app::ssr::services::projects;
    use app::ssr::test_support::{member, organization};
    use sea_orm::{EntityTrait, PaginatorTrait};
    use uuid::Uuid;

    let (s, root, ada) = owner_signed_in(&[]).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::api::ANSWER_WITHIN)
        .build()
        .expect("client");
    let keys = || async { api_key::Entity::find().count(&s.core.db).await.expect("keys") };
    let project = s.project.id.to_string();
    let send = |cookie: Option<&str>, origin: &str, fields: Vec<(&'static str, String)>| {
        let mut request = http.post(format!("{root}/keys/new")).header("Origin", origin).form(&fields);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        async move {
            let response = request.send().await.expect("response");
            let (status, headers) = (response.status(), response.headers().clone());
            (status, headers, response.text().await.expect("page"))
        }
    };
    let form = |name: &str, project: &str, form_id: &str| {
        vec![
            ("form_id", form_id.to_owned()),
            ("name", name.to_owned()),
            ("project_id", project.to_owned()),
            ("environment", "production".to_owned()),
            ("scopes", "api_keys.read".to_owned()),
            ("expiration", "never".to_owned()),
            ("rate_limit_window", "none".to_owned()),
        ]
    };
    let before = keys().await;

    // Made: the answer is the keys page with the new key's token, which verifies.
    let form_id = Uuid::now_v7().to_string();
    let (status, headers, page) = send(Some(&ada), &root, form("Billing worker", &project, &form_id)).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let token = token_in(&page).expect("the token is on the page");
    assert_eq!(s.verify(&token).await["valid"], true, "the token shown is the key's");
    assert!(page.contains("Billing worker"), "the new key is in the list");
    assert_eq!(keys().await, before + 1);

    // Without JavaScript the checked boxes are sent themselves (`scope[]`), and they are the key's.
    let mut boxes = form("Boxes", &project, &Uuid::now_v7().to_string());
    boxes.retain(|(name, _)| *name != "scopes");
    boxes.extend([("scopes", String::new()), ("scope[]", "api_keys.read".into()), ("scope[]", "stats.read".into())]);
    let (status, _, page) = send(Some(&ada), &root, boxes).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let verdict = s.verify(&token_in(&page).expect("a token")).await;
    let mut scopes: Vec<String> =
        serde_json::from_value(verdict["scopes"].clone()).expect("the verdict lists the key's scopes");
    scopes.sort();
    assert_eq!(scopes, ["api_keys.read", "stats.read"]);
    let before = before + 1;

    // The same form again (a reload of the answer): no second key, no token.
    let (status, _, page) = send(Some(&ada), &root, form("Billing worker", &project, &form_id)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(token_in(&page).is_none() && page.contains("already sent"), "{page}");
    // Nor does the keys page, loaded again, show it.
    let page = http.get(format!("{root}/keys")).header(COOKIE, &ada).send().await.expect("page");
    assert!(token_in(&page.text().await.expect("page")).is_none());
    assert_eq!(keys().await, before + 1);

    // Bad input: the field named, on the page with the form open; nothing made.
    let fresh = || Uuid::now_v7().to_string();
    for (fields, field) in [
        (form("   ", &project, &fresh()), "Name"),
        (form("Fine", "not-a-uuid", &fresh()), "Project id"),
        (form("Fine", &project, "not-a-uuid"), "Form id"),
        ([&form("Fine", &project, &fresh())[1..]].concat(), "Form id"),
        ([form("Fine", &project, &fresh()), vec![("expiration", "someday".to_owned())]].concat(), "Expiration"),
    ] {
        let (status, _, page) = send(Some(&ada), &root, fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(page.contains(field) && token_in(&page).is_none(), "{field}: {page}");
    }
    // A body over the limit server functions have too.
    let (status, _, page) = send(Some(&ada), &root, form(&"x".repeat(70 * 1024), &project, &fresh())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("larger than 64 KB") && token_in(&page).is_none());
    // Another organization's project.
    let other = organization(&s.core.db, "Globex", "hank@globex.test").await;
    let theirs = projects::list(&s.core.db, &other).await.expect("projects").remove(0).id.to_string();
    let (status, _, page) = send(Some(&ada), &root, form("Fine", &theirs, &fresh())).await;
    assert!(status.is_client_error() && token_in(&page).is_none(), "another organization's project: {status}");
    // A viewer, who may not create keys.
    member(&s.core.db, &s.owner, Role::Viewer, "Grace").await;
    let grace = auth::sign_in(&s.core, "grace@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let grace = format!("kw_session={}", grace.token);
    let (status, _, page) = send(Some(&grace), &root, form("Fine", &project, &fresh())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(token_in(&page).is_none());
    // The checked boxes are checked as strictly as the field the page's code fills: a scope that
    // is not one is named, and a developer cannot hand out a scope their role may not use.
    let boxed = |scope: &str| {
        let mut fields = form("Fine", &project, &fresh());
        fields.push(("scope[]", scope.to_owned()));
        fields
    };
    let (status, _, page) = send(Some(&ada), &root, boxed("Not A Scope!")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Scopes") && token_in(&page).is_none(), "{page}");
    member(&s.core.db, &s.owner, Role::Developer, "Lin").await;
    let lin = auth::sign_in(&s.core, "lin@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let (status, _, page) = send(Some(&format!("kw_session={}", lin.token)), &root, boxed("api_keys.manage_all")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(token_in(&page).is_none());
    // Another site's page, with Ada's cookie.
    let (status, _, _) = send(Some(&ada), "https://evil.example", form("Fine", &project, &fresh())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // No session: on to sign in.
    let (status, headers, _) = send(None, &root, form("Fine", &project, &fresh())).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(LOCATION).and_then(|v| v.to_str().ok()), Some("/sign-in"));

    assert_eq!(keys().await, before + 1, "no refused form made a key");
}

/// A whole key token in a page's HTML (not a prefix or a masked preview), if there is one.
fn token_in(page: &str) -> Option<String> {
    page.match_indices("kw_")
        .map(|(at, _)| page[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>())
        .find(|candidate| app::model::token::KeyToken::parse(candidate).is_ok())
}
