use crate::api::keys::{get_key_stats, get_needs_attention, list_keys};
use crate::api::projects::list_projects;
use crate::components::keys::{
    CREATE_DIALOG, CREATE_WITHOUT_SCRIPT, ColumnPicker, CreateKeyDialog, EmptyKeys, KeysTable, RevokeDialog,
    ShownColumns, StatsBar, TokenDialog, TokenReveal, keys_url,
};
use crate::components::{
    ErrorMessage, RelativeTime, RequireSession, StatusBadge, after, current_member, format_time, iso_time,
    provide_key_actions, use_key_actions,
};
use crate::model::{
    ApiKey, AppError, CreatedKey, DecoyUse, Environment, KeyPage, KeyQuery, KeySort, KeyStats, KeyStatus,
    NeedsAttention, PAGE_SIZES, Permission, Project, Staleness, grouped,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Form, Redirect};
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use strum::VariantArray;

/// The page's data, loaded from the page itself and read inside its suspense: a resource created
/// inside a suspense is created again each time the suspense re-runs its children (on the server,
/// once more as the session arrives), and fetched again.
#[derive(Clone, Copy)]
struct KeysData {
    query: Memo<KeyQuery>,
    set_query: Callback<KeyQuery>,
    keys: Resource<Result<KeyPage, AppError>>,
    stats: Resource<Result<KeyStats, AppError>>,
    projects: Resource<Result<Vec<Project>, AppError>>,
    /// Keys that no longer work and are still presented, and keys about to expire.
    attention: Resource<Result<NeedsAttention, AppError>>,
    /// The answer to the create form sent without JavaScript, when this page is that answer.
    sent: Resource<Option<Result<CreatedKey, AppError>>>,
    /// At `/keys/new`: the create form is open as the page loads.
    create_asked: bool,
}

/// The answer to the create form posted without JavaScript (`POST /keys/new`): the server renders
/// the keys page with it, in the request's context. The new token reaches the browser in that one
/// page and is kept nowhere.
#[derive(Clone)]
pub struct CreateFormAnswer(pub Result<CreatedKey, AppError>);

#[component]
pub fn KeysPage() -> impl IntoView {
    let actions = provide_key_actions();
    let (query, set_query) = use_key_query();
    // Lists and figures follow every change: they refetch when any key action completes.
    let keys = Resource::new(move || (query.get(), actions.version()), |(q, _)| list_keys(q));
    let stats = Resource::new(move || actions.version(), |_| get_key_stats());
    let projects = Resource::new(|| (), |_| list_projects());
    let attention = Resource::new(move || actions.version(), |_| get_needs_attention());
    // A resource, so that the browser hydrates the page with the answer the server rendered.
    let sent = Resource::new(
        || (),
        |()| {
            let answer = use_context::<CreateFormAnswer>().map(|CreateFormAnswer(answer)| answer);
            async move { answer }
        },
    );
    let create_asked = use_location().pathname.with_untracked(|path| path == CREATE_WITHOUT_SCRIPT);
    let data = KeysData { query, set_query, keys, stats, projects, attention, sent, create_asked };
    view! {
        <Title text="API Keys" />
        <RequireSession>
            <KeysView data />
        </RequireSession>
    }
}

/// The view lives in the URL (`?q=…&status=…&page=…`): a reload or a shared link shows the same keys.
fn use_key_query() -> (Memo<KeyQuery>, Callback<KeyQuery>) {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| KeyQuery::from_params(|k| p.get(k))));
    let navigate = use_navigate();
    let set_query = Callback::new(move |query: KeyQuery| {
        let options = NavigateOptions { replace: true, scroll: false, ..Default::default() };
        navigate(&keys_url(&query), options);
    });
    (query, set_query)
}

#[component]
fn KeysView(data: KeysData) -> impl IntoView {
    let actions = use_key_actions();
    let KeysData { query, set_query, keys, stats, projects, attention, sent, create_asked } = data;

    let create_open = RwSignal::new(false);
    let revoke_target = RwSignal::new(None::<ApiKey>);
    let create = actions.create;
    // The new token lives only in the action's value (or, sent without JavaScript, in the page's
    // answer), and is dropped when its dialog closes.
    let created = TokenReveal::from_action(create.value());
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            create_open.set(false);
        }
    });
    Effect::new(move |_| {
        if matches!(actions.revoke.value().get(), Some(Ok(_))) {
            revoke_target.set(None);
        }
    });
    let open_create = Callback::new(move |()| create_open.set(true));
    let columns = ShownColumns::remembered();

    view! {
        <div class="page-header">
            <div>
                <h1>"API Keys"</h1>
                <p class="lead">"Keys your services and customers use to call your API."</p>
            </div>
            // A new organization's one Create button is in its quickstart, below.
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let stats = stats.await.unwrap_or_default();
                    (!first_key(keys.await, query)).then(|| view! { <CreateButton stats on_create=open_create /> })
                })}
            </Transition>
        </div>

        // Figures and filters once there is something to count and filter.
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let stats = stats.await;
                let projects = projects.await.unwrap_or_default();
                (!first_key(keys.await, query)).then(|| view! {
                    {stats.map(|stats| view! { <StatsBar stats /> })}
                    <Toolbar query set_query projects />
                })
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                attention.await.ok().filter(|found| !found.is_empty()).map(|found| view! { <AttentionPanel found /> })
            })}
        </Transition>

        <KeyList keys query set_query columns on_create=open_create
            on_revoke=Callback::new(move |key| revoke_target.set(Some(key))) />

        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let projects = projects.await.unwrap_or_default();
                let sent = sent.await;
                // Open at `/keys/new`, unless this page answers the form: then only to show why
                // it was refused (a key made is shown in the token's dialog instead).
                let refused = sent.as_ref().and_then(|answer| answer.as_ref().err().cloned());
                if refused.is_some() || (create_asked && sent.is_none()) {
                    create_open.set(true);
                }
                view! {
                    <CreateKeyDialog open=create_open on_close=Callback::new(move |()| create_open.set(false))
                        action=create projects refused />
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // Shown once: closing the dialog forgets it.
                let created_without_script = RwSignal::new(sent.await.and_then(Result::ok).as_ref().map(TokenReveal::from));
                let reveal = Signal::derive(move || created.get().or_else(|| created_without_script.get()));
                let on_close = Callback::new(move |()| {
                    create.value().set(None);
                    created_without_script.set(None);
                });
                view! { <TokenDialog reveal on_close /> }
            })}
        </Transition>
        <RevokeDialog target=revoke_target action=actions.revoke />
    }
}

/// The page of keys the URL asks for, with its pagination; or, for an organization without keys,
/// how to make the first.
#[component]
fn KeyList(
    keys: Resource<Result<KeyPage, AppError>>,
    query: Memo<KeyQuery>,
    set_query: Callback<KeyQuery>,
    columns: ShownColumns,
    on_create: Callback<()>,
    on_revoke: Callback<ApiKey>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                let page = keys.await;
                if first_key(page.clone(), query) {
                    return view! { <EmptyKeys on_create /> }.into_any();
                }
                match page {
                    // Past the last page (an old link, keys deleted since): the last page, by a real
                    // redirect on the server.
                    Ok(page) if page.keys.is_empty() && page.total > 0 && page.page > page.pages() => {
                        let last = KeyQuery { page: page.pages(), ..query.get_untracked() };
                        let options = NavigateOptions { replace: true, ..Default::default() };
                        view! { <Redirect path=keys_url(&last) options /> }.into_any()
                    }
                    Ok(page) if page.keys.is_empty() => view! {
                        <div class="empty-results" role="status">
                            <p>"No keys match this search and these filters."</p>
                            <a class="button" href="/keys">"Clear filters"</a>
                        </div>
                        <Pagination page set_query query />
                    }.into_any(),
                    Ok(page) => {
                        let rows = page.keys.clone();
                        let member = current_member();
                        let selectable = rows.iter().any(|k| k.status.can_disable() && member.as_ref().is_some_and(|m| m.may_change(k)));
                        let select_for = selectable.then_some(BULK_DISABLE);
                        view! {
                            <div class="table-tools">
                                {selectable.then(|| view! { <BulkDisable /> })}
                                <ColumnPicker columns />
                            </div>
                            <KeysTable keys=rows columns on_revoke select_for />
                            <Pagination page set_query query />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

const BULK_DISABLE: &str = "bulk-disable";

/// Disables the keys ticked in the table (their boxes belong to this form), in one transaction.
/// A form: it works before the page's code arrives.
#[component]
fn BulkDisable() -> impl IntoView {
    let action = use_key_actions().disable_many;
    let pending = action.pending();
    view! {
        <ActionForm action attr:id=BULK_DISABLE attr:class="inline-form bulk-actions">
            <button type="submit" class="button" disabled=move || pending.get()>
                {move || if pending.get() { "Disabling…" } else { "Disable selected" }}
            </button>
        </ActionForm>
    }
}

/// Keys that no longer work and are still presented (an integration never updated after a
/// rotation, or a copy that leaked), and keys that expire within a week.
#[component]
fn AttentionPanel(found: NeedsAttention) -> impl IntoView {
    let summary = found.summary();
    let NeedsAttention { decoys_used, still_presented, expiring } = found;
    let folded = !(still_presented.is_empty() && expiring.is_empty());
    let presented = (!still_presented.is_empty()).then(|| {
        view! {
            <p class="hint">"Still presented after they stopped working: something was not updated after a rotation, or someone holds a copy."</p>
            <ul>
                {still_presented.into_iter().map(|k| {
                    let times = if k.refused.count == 1 { "once".to_owned() } else { format!("{} times", grouped(k.refused.count)) };
                    view! {
                        <li>
                            <a href=format!("/keys/{}", k.key_id)>{k.name}</a>" "<code>{k.prefix}</code>" "
                            <StatusBadge status=k.status />
                            {format!(" presented {times}, last ")}
                            <RelativeTime at=k.refused.last_at />
                            {k.refused.last_address.map(|a| view! { " from "<code>{a}</code> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    });
    let expiring = (!expiring.is_empty()).then(|| {
        view! {
            <p class="hint">"Expiring soon: rotate them, or give them a later date, before they stop working."</p>
            <ul>
                {expiring.into_iter().map(|k| view! {
                    <li>
                        <a href=format!("/keys/{}", k.key_id)>{k.name}</a>" "<code>{k.prefix}</code>" expires "
                        <time datetime=iso_time(k.expires_at)>{format_time(k.expires_at)}</time>
                    </li>
                }).collect_view()}
            </ul>
        }
    });
    // Folded to one line, so that the table stays in view on a phone; opened, it says which.
    view! {
        {(!decoys_used.is_empty()).then(|| view! { <DecoyAlert uses=decoys_used /> })}
        {folded.then(|| view! {
            <section class="attention" aria-labelledby="attention-title">
                <details>
                    <summary><h2 id="attention-title">"Needs attention"</h2>{summary}</summary>
                    {presented}
                    {expiring}
                </details>
            </section>
        })}
    }
}

/// Decoy keys that were used: never folded, since each use means someone holds a copy of a key
/// that was only left where an intruder would find it.
#[component]
fn DecoyAlert(uses: Vec<DecoyUse>) -> impl IntoView {
    view! {
        <section class="decoy-alert" role="alert" aria-labelledby="decoy-alert-title">
            <h2 id="decoy-alert-title">"Decoy key used"</h2>
            <p>"Someone holds a copy of a decoy: find out where it was left, and who could read it there."</p>
            <ul>
                {uses.into_iter().map(|u| view! {
                    <li>
                        <a href=format!("/keys/{}", u.key_id)>{u.key_name}</a>" "<code>{u.prefix}</code>" "
                        {u.surface.describe()}
                        {u.ip.map(|ip| view! { " from "<code>{ip}</code> })}", "
                        <RelativeTime at=u.at />
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The organization has no key at all (not only none that matches): its first is still to make.
fn first_key(page: Result<KeyPage, AppError>, query: Memo<KeyQuery>) -> bool {
    page.is_ok_and(|page| page.total == 0) && query.with_untracked(|q| *q == KeyQuery::default())
}

/// Create, or, at the plan's limit, why not and where to upgrade.
#[component]
fn CreateButton(stats: KeyStats, on_create: Callback<()>) -> impl IntoView {
    let at_limit = stats.max_keys.filter(|max| stats.live >= u64::from(*max));
    let role_refusal = current_member()
        .filter(|m| !m.can(Permission::ApiKeysCreate))
        .map(|m| m.role.refusal(Permission::ApiKeysCreate));
    let described_by = match (&role_refusal, at_limit) {
        (Some(_), _) => Some("create-refused"),
        (None, Some(_)) => Some("plan-limit"),
        (None, None) => None,
    };
    view! {
        <div class="create-area">
            <button type="button" class="button button-primary" disabled=at_limit.is_some() || role_refusal.is_some()
                aria-describedby=described_by commandfor=CREATE_DIALOG command="show-modal"
                on:click=move |_| on_create.run(())>
                "Create API Key"
            </button>
            {role_refusal.map(|reason| view! { <p id="create-refused" class="upgrade-prompt" role="note">{reason}</p> })}
            {at_limit.map(|max| view! {
                <p id="plan-limit" class="upgrade-prompt" role="note">
                    {format!("Your plan allows {max} active keys, and all are in use. ")}
                    <a href="/settings">"Upgrade your plan"</a>
                    " or revoke a key to create another."
                </p>
            })}
        </div>
    }
}

/// Search (debounced) and filters. Every change goes into the URL and back to page 1.
/// Applies a change of the list's filters, which starts it again at page 1.
fn refilter(query: Memo<KeyQuery>, set_query: Callback<KeyQuery>, change: impl FnOnce(&mut KeyQuery)) {
    let mut next = query.get_untracked();
    change(&mut next);
    next.page = 1;
    set_query.run(next);
}

#[component]
fn Toolbar(query: Memo<KeyQuery>, set_query: Callback<KeyQuery>, projects: Vec<Project>) -> impl IntoView {
    let update = move |change: &dyn Fn(&mut KeyQuery)| refilter(query, set_query, change);
    let current = move || query.get();
    // What the form does not show, carried along when it is sent.
    let per_page = query.with_untracked(|q| (q.per_page != KeyQuery::default().per_page).then_some(q.per_page));

    // A GET form, as the audit log's: without JavaScript (or before it arrives) it loads the page
    // its fields describe. Once the page runs, each change applies as it is made.
    view! {
        <Form method="GET" action="/keys" attr:class="toolbar" attr:role="search">
            {per_page.map(|n| view! { <input type="hidden" name="per_page" value=n.to_string() /> })}
            // The keys of one customer (a key's page links here): kept while the rest changes.
            {move || current().external_id.map(|id| {
                let everyone = keys_url(&KeyQuery { external_id: None, page: 1, ..current() });
                view! {
                    <input type="hidden" name="external_id" value=id.clone() />
                    <span class="filter-chip">
                        "External ID "<code>{id}</code>
                        <A href=everyone attr:aria-label="Show the keys of every external ID">"×"</A>
                    </span>
                }
            })}
            <SearchBox query set_query />
            <label class="filter">
                "Project "
                <select name="project"
                    on:change=move |ev| { let v = event_target_value(&ev); update(&|q| q.project = v.parse().ok()) }>
                    <option value="" selected=move || current().project.is_none()>"All"</option>
                    {projects.into_iter().map(|p| view! {
                        <option value=p.id.to_string() selected=move || current().project == Some(p.id)>{p.name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter">
                "Environment "
                <select name="env"
                    on:change=move |ev| { let v = event_target_value(&ev); update(&|q| q.environment = v.parse().ok()) }>
                    <option value="" selected=move || current().environment.is_none()>"All"</option>
                    {Environment::VARIANTS.iter().copied().map(|e| view! {
                        <option value=e.as_str() selected=move || current().environment == Some(e)>{e.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter">
                "Status "
                <select name="status"
                    on:change=move |ev| { let v = event_target_value(&ev); update(&|q| q.status = KeyStatus::from_name(&v)) }>
                    <option value="" selected=move || current().status.is_none()>"All"</option>
                    {[KeyStatus::Active, KeyStatus::Disabled, KeyStatus::Expired, KeyStatus::Revoked].into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || current().status == Some(s)>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter filter-unused">
                "Unused "
                <select name="unused"
                    on:change=move |ev| { let v = event_target_value(&ev); update(&|q| q.unused = v.parse().ok()) }>
                    <option value="" selected=move || current().unused.is_none()>"Any"</option>
                    {Staleness::VARIANTS.iter().copied().map(|u| view! {
                        <option value=u.as_str() selected=move || current().unused == Some(u)>{u.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="filter check">
                <input type="checkbox" name="hide_revoked" value="1" checked=query.with_untracked(|q| q.hide_revoked)
                    prop:checked=move || current().hide_revoked
                    on:change=move |ev| { let on = event_target_checked(&ev); update(&|q| q.hide_revoked = on) } />
                "Hide revoked"
            </label>
            <label class="filter">
                "Sort "
                <select name="sort" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    update(&|q| q.sort = KeySort::from_name(&v).unwrap_or_default())
                }>
                    {KeySort::VARIANTS.iter().copied().map(|s| view! {
                        <option value=s.as_str() selected=move || current().sort == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button button-quiet">"Apply"</button>
        </Form>
    }
}

/// The search field: a search runs once typing pauses, and the × clears it.
#[component]
fn SearchBox(query: Memo<KeyQuery>, set_query: Callback<KeyQuery>) -> impl IntoView {
    let search = RwSignal::new(query.get_untracked().search);
    let typed = StoredValue::new(0u64);
    // A search the URL changes by itself ("Clear filters", Back) shows in the field; one being
    // typed (which may end in a space the URL trims) is left alone.
    Effect::new(move |_| {
        let searched = query.with(|q| q.search.clone());
        if search.with_untracked(|s| s.trim() != searched) {
            search.set(searched);
        }
    });
    let on_search = move |ev| {
        let text = event_target_value(&ev);
        search.set(text.clone());
        // Debounce: only the last keystroke within 300 ms searches.
        let stamp = typed.get_value() + 1;
        typed.set_value(stamp);
        after(300, move || {
            if typed.get_value() == stamp {
                refilter(query, set_query, |q| q.search = text.trim().to_owned());
            }
        });
    };
    let clear = move |_| {
        search.set(String::new());
        typed.update_value(|s| *s += 1);
        refilter(query, set_query, |q| q.search.clear());
    };
    view! {
        <div class="search">
            <label for="key-search" class="visually-hidden">"Search keys"</label>
            // The attribute for the server's HTML (a form sent without JavaScript keeps the
            // search); the property once the page runs.
            <input id="key-search" type="search" name="q" placeholder="Search by name or prefix" autocomplete="off"
                value=query.with_untracked(|q| q.search.clone()) prop:value=move || search.get() on:input=on_search />
            <Show when=move || !search.with(String::is_empty)>
                <button type="button" class="clear" aria-label="Clear search" on:click=clear>"×"</button>
            </Show>
        </div>
    }
}

#[component]
fn Pagination(page: KeyPage, set_query: Callback<KeyQuery>, query: Memo<KeyQuery>) -> impl IntoView {
    let link = move |page: u32| keys_url(&KeyQuery { page, ..query.get_untracked() });
    let (current, pages) = (page.page, page.pages());
    let kept: Vec<_> = query
        .with_untracked(KeyQuery::to_params)
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "page" | "per_page"))
        .collect();
    view! {
        <nav class="pagination" aria-label="Pagination">
            <span class="range" role="status">{page.range_label()}</span>
            // A GET form of its own, which keeps the list's filters and starts again at page 1: its
            // Show button loads the page without JavaScript; once the page runs, a change applies.
            <Form method="GET" action="/keys" attr:class="per-page">
                {kept.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
                <label class="filter">
                    "Per page "
                    <select name="per_page" on:change=move |ev| {
                        let mut next = query.get_untracked();
                        next.per_page = event_target_value(&ev).parse().unwrap_or(next.per_page);
                        next.page = 1;
                        set_query.run(next);
                    }>
                        {PAGE_SIZES.into_iter().map(|n| view! {
                            <option value=n.to_string() selected=n == page.per_page>{n}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button button-quiet">"Show"</button>
            </Form>
            // Links: they work before the page's code arrives, and without it.
            {page.has_previous().then(|| view! { <a class="button" href=link(current - 1)>"Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {page.has_next().then(|| view! { <a class="button" href=link(current + 1)>"Next"</a> })}
        </nav>
    }
}
