//! The audit log: every change, who made it, from where. Filters live in the URL (a plain GET
//! form), so a filtered view can be shared, reloaded, and exported as it is.

use crate::api::audit::list_audit;
use crate::components::{DataTable, ErrorMessage, RequireSession, format_time, iso_time, use_auth, use_hydrated};
use crate::model::{AuditAction, AuditEntry, AuditPage, AuditQuery, Permission, capitalize};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use strum::VariantArray;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <RequireSession>
            <AuditView />
        </RequireSession>
    }
}

fn query_string(query: &AuditQuery) -> String {
    let mut map = ParamsMap::new();
    for (key, value) in query.to_params() {
        map.insert(key, value);
    }
    map.to_query_string()
}

#[component]
fn AuditView() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| AuditQuery::from_params(|k| p.get(k))));
    let page = Resource::new(move || query.get(), list_audit);
    let auth = use_auth();
    let may_export =
        move || auth.session.get().and_then(Result::ok).flatten().is_some_and(|s| s.role.can(Permission::AuditExport));

    view! {
        <div class="page-header">
            <div>
                <h1>"Audit log"</h1>
                <p class="lead">"Every change to keys, members, projects and the plan: who, what, when and from where."</p>
            </div>
            <Show when=may_export>
                <a class="button" href=move || format!("/audit/export.csv{}", query_string(&AuditQuery { page: 1, ..query.get() })) download="keyward-audit.csv" rel="external">
                    "Export CSV"
                </a>
            </Show>
        </div>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! {
                        <Filters query=query.get_untracked() page=page.clone() />
                        <Entries page query=query.get_untracked() />
                    }.into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A GET form: without JavaScript its button loads the filtered page. Once the page's code runs,
/// each filter applies as it changes, and the URL names only the filters that are set.
#[component]
fn Filters(query: AuditQuery, page: AuditPage) -> impl IntoView {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    // The key filtered on, by name: the entries about it carry it.
    let key_name = query.key.map(|key| {
        page.entries
            .iter()
            .find(|e| e.target_kind == "key" && e.target_id == Some(key))
            .map_or_else(|| "this key".to_owned(), |e| e.target_name.clone())
    });
    let without_key = format!("/audit{}", query_string(&AuditQuery { key: None, page: 1, ..query.clone() }));
    let current = StoredValue::new(query.clone());
    let hydrated = use_hydrated();
    let navigate = use_navigate();
    let apply = move |change: &dyn Fn(&mut AuditQuery, String), ev: leptos::ev::Event| {
        let mut next = current.get_value();
        change(&mut next, event_target_value(&ev));
        next.page = 1;
        navigate(&format!("/audit{}", query_string(&next)), NavigateOptions { scroll: false, ..Default::default() });
    };
    let day = |v: &str| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
    let (on_actor, on_action, on_from, on_to) = (apply.clone(), apply.clone(), apply.clone(), apply);
    view! {
        <Form method="GET" action="/audit" attr:class="toolbar" attr:aria-label="Filter the audit log">
            <label class="filter">
                "Actor "
                <select name="actor" on:change=move |ev| on_actor(&|q, v| q.actor = v.parse().ok(), ev)>
                    <option value="">"Anyone"</option>
                    {page.members.into_iter().map(|m| {
                        let selected = query.actor == Some(m.user_id);
                        view! { <option value=m.user_id.to_string() selected=selected>{m.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="filter">
                "Action "
                <select name="action" on:change=move |ev| on_action(&|q, v| q.action = AuditAction::parse(&v), ev)>
                    <option value="">"Any action"</option>
                    {AuditAction::VARIANTS.iter().copied().map(|a| view! {
                        <option value=a.as_str() selected=query.action == Some(a)>{a.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            {query.key.zip(key_name).map(|(key, name)| view! {
                <span class="filter key-filter">
                    <input type="hidden" name="key" value=key.to_string() />
                    "Key "<strong>{name.clone()}</strong>
                    <a href=without_key aria-label=format!("Stop filtering on {name}")>"×"</a>
                </span>
            })}
            <label class="filter">"From "
                // Each end of the range bounds the other, as the server checks.
                <input type="date" name="from" value=date(query.from) max=query.to.map(|d| d.to_string())
                    on:change=move |ev| on_from(&|q, v| q.from = day(&v), ev) />
            </label>
            <label class="filter">"To "
                <input type="date" name="to" value=date(query.to) min=query.from.map(|d| d.to_string())
                    on:change=move |ev| on_to(&|q, v| q.to = day(&v), ev) />
            </label>
            // For a page without its code, which cannot apply a change as it is made.
            <button type="submit" class="button" hidden=hydrated>"Apply filters"</button>
            <a class="button button-quiet" href="/audit">"Clear"</a>
        </Form>
    }
}

#[component]
fn Entries(page: AuditPage, query: AuditQuery) -> impl IntoView {
    if page.entries.is_empty() {
        return view! { <p class="empty-results" role="status">"Nothing recorded matches these filters."</p> }
            .into_any();
    }
    let (current, pages, total) = (page.page, page.pages(), page.total);
    let link = move |to: u32| format!("/audit{}", query_string(&AuditQuery { page: to, ..query.clone() }));
    let (previous, next) = (link(current.saturating_sub(1).max(1)), link(current + 1));
    const COLUMNS: &[&str] = &["When", "Actor", "Action", "Target", "Change", "IP"];
    view! {
        <DataTable caption="Recorded changes, newest first" columns=COLUMNS class="audit-table">
            {page.entries.into_iter().map(|entry| view! { <EntryRow entry /> }).collect_view()}
        </DataTable>
        <nav class="pagination" aria-label="Pagination">
            <span class="range" role="status">{format!("{total} recorded")}</span>
            {(current > 1).then(|| view! { <a class="button" href=previous>"Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a class="button" href=next>"Next"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn EntryRow(entry: AuditEntry) -> impl IntoView {
    let change = entry.change.into_iter().map(|line| view! { <span class="change-line">{line}</span> }).collect_view();
    let target = match (entry.target_kind.as_str(), entry.target_id) {
        ("key", Some(id)) => {
            view! { <a href=format!("/audit?key={id}")>{format!("Key {}", entry.target_name)}</a> }.into_any()
        }
        _ => view! { <span>{format!("{} {}", capitalize(&entry.target_kind), entry.target_name)}</span> }.into_any(),
    };
    view! {
        <tr>
            <td><time datetime=iso_time(entry.at)>{format_time(entry.at)}</time></td>
            <td>{entry.actor.name}</td>
            <td>{entry.action.label()}</td>
            <td>{target}</td>
            <td class="audit-change">{change}</td>
            <td data-label="From">{entry.ip.unwrap_or_else(|| "—".to_owned())}</td>
        </tr>
    }
}
