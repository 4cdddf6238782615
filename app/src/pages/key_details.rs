use crate::api::keys::{get_decoy_uses, get_key_details, get_key_insight, get_key_usage, get_key_verifications};
use crate::api::leaks::ReportLeakedKey;
use crate::components::keys::{
    CREDIT_FIELDS, CreditFields, ExpiryChoice, ExpiryFields, NameFields, REVOKE_DIALOG, RateLimitFields,
    RevokeKeyDialog, TokenDialog, TokenReveal, credits_in_words, keys_url,
};
use crate::components::{
    ConfirmButtons, CopyButton, ErrorMessage, FieldMessage, FormError, FormErrors, KeyActions, Modal, RelativeTime,
    RelativeTimeOr, RequireSession, ScopeChoice, ScopePicker, StatusBadge, UsageChart, current_member, format_date,
    format_time, provide_key_actions, use_key_actions, use_toasts,
};
use crate::model::{
    ApiKey, AppError, CustomScope, Environment, KeyCredits, KeyDetails, KeyInsight, KeyLeak, KeyQuery, KeyStatus,
    RateLimit, RefusedUse, Revocation, Rotation, RotationGrace, ScopeSet, UsageHistory, VerificationPage, VerifyCode,
    capitalize, grouped,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use strum::VariantArray;
use uuid::Uuid;

/// The key's details and usage, loaded from the page itself and read inside its suspense (see
/// `KeysData` in the keys page for why).
#[component]
pub fn KeyDetailsPage() -> impl IntoView {
    let actions = provide_key_actions();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok())));
    let details = of_the_key(id, actions, get_key_details);
    // Created here, with the details, and not once they have arrived: a resource created after an
    // await is numbered in the order the awaits happen to end, which on a busy server differs from
    // the browser's, and then hydration reads another resource's data and panics.
    let usage = of_the_key(id, actions, get_key_usage);
    let insight = of_the_key(id, actions, get_key_insight);
    // The log's filter and page are the URL's, so that a filtered list can be linked and works
    // without the page's code.
    let query = use_query_map();
    let verifications: KeyVerificationsResource = Resource::new(
        move || {
            let (outcome, page) = query.with(|q| (q.get("outcome"), q.get("vpage").and_then(|p| p.parse().ok())));
            (id.get(), outcome, page.unwrap_or(1), actions.version())
        },
        move |(id, outcome, page, _)| async move {
            match id {
                Some(id) => get_key_verifications(id, outcome, page).await.map(Some),
                None => Ok(None),
            }
        },
    );

    view! {
        <Title text="API key" />
        <RequireSession>
            <KeyDetailsView details usage verifications insight />
        </RequireSession>
    }
}

/// What `fetch` says of the key the URL names (none when the URL's id is not one), fetched again
/// after every key action.
fn of_the_key<T, Fut>(
    id: Memo<Option<Uuid>>,
    actions: KeyActions,
    fetch: impl Fn(Uuid) -> Fut + Copy + Send + Sync + 'static,
) -> Resource<Result<Option<T>, AppError>>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    Resource::new(
        move || (id.get(), actions.version()),
        move |(id, _)| async move {
            match id {
                Some(id) => fetch(id).await.map(Some),
                None => Ok(None),
            }
        },
    )
}

type KeyDetailsResource = Resource<Result<Option<KeyDetails>, AppError>>;

#[component]
fn KeyDetailsView(
    details: KeyDetailsResource,
    usage: KeyUsageResource,
    verifications: KeyVerificationsResource,
    insight: KeyInsightResource,
) -> impl IntoView {
    let actions = use_key_actions();
    // After a delete, back to the list.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if matches!(actions.delete.value().get(), Some(Ok(()))) {
            navigate("/keys", Default::default());
        }
    });

    view! {
        <p><a href="/keys">"← API Keys"</a></p>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading key…"</p> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(Some(details)) => view! { <KeyDetailsBody details usage verifications insight /> }.into_any(),
                    Ok(None) => view! { <p class="form-error" role="alert">"API key not found."</p> }.into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The key's page once its details have arrived: what it is, its usage, scopes and rotations, and,
/// for a member who may change it, the changes they can make.
#[component]
fn KeyDetailsBody(
    details: KeyDetails,
    usage: KeyUsageResource,
    verifications: KeyVerificationsResource,
    insight: KeyInsightResource,
) -> impl IntoView {
    let KeyDetails { key, rotations, revocation, project_scopes } = details;
    let may_change = current_member().is_some_and(|m| m.may_change(&key));
    view! {
        <div class="page-header">
            <div>
                <h1>{key.name.clone()}</h1>
                <p class="lead">{key.description.clone().unwrap_or_default()}</p>
            </div>
            <StatusBadge status=key.status />
        </div>
        {revocation.map(|Revocation { by, at }| view! {
            <p class="revoked-note" role="note">"Revoked by "<strong>{by}</strong>", "<RelativeTime at />"."</p>
        })}
        {key.leak.clone().map(|leak| view! { <LeakedNote leak status=key.status /> })}
        {key.decoy.then(|| view! { <DecoyUses id=key.id /> })}
        <StillPresented insight />
        {if may_change {
            view! { <KeyChanges key=key.clone() project_scopes /> }.into_any()
        } else {
            view! {
                <p class="hint" role="note">"You can see this key. Only the member who created it, an admin or an owner can change it."</p>
            }.into_any()
        }}
        <KeyProperties key=key.clone() />
        <section aria-labelledby="usage-title">
            <h2 id="usage-title">"Usage"</h2>
            <KeyUsage usage />
        </section>
        <section aria-labelledby="verifications-title">
            <h2 id="verifications-title">"Recent verifications"</h2>
            <KeyVerifications id=key.id verifications />
        </section>
        <section aria-labelledby="scopes-title">
            <h2 id="scopes-title">{format!("Scopes ({})", key.scopes.summary())}</h2>
            <ul class="scope-list">
                {key.scopes.to_strings().into_iter().map(|s| view! { <li><code>{s}</code></li> }).collect_view()}
            </ul>
            <ScopeUseView id=key.id held=key.scopes.clone() insight may_change=may_change && key.status.can_edit() />
        </section>
        <RotationHistory rotations />
        {(may_change && key.status.can_delete()).then(|| view! { <DangerZone id=key.id name=key.name.clone() /> })}
    }
}

type KeyInsightResource = Resource<Result<Option<KeyInsight>, AppError>>;

/// A decoy key's page: what it is for, and every recorded use of it.
#[component]
fn DecoyUses(id: Uuid) -> impl IntoView {
    let uses = Resource::new(move || id, get_decoy_uses);
    view! {
        <section class="decoy-note" aria-labelledby="decoy-title">
            <h2 id="decoy-title">"Decoy key"</h2>
            <p>
                "This key never works. Leave it where an intruder would look (a config file, a wiki page, a \
                 CI variable): every use of it is recorded here, sent as a key.decoy_used event, and shown \
                 on the keys page. Repeats from one address within 10 seconds count once."
            </p>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading uses…"</p> }>
                {move || Suspend::new(async move {
                    match uses.await {
                        Ok(uses) if uses.is_empty() => view! { <p class="hint">"Not used so far."</p> }.into_any(),
                        Ok(uses) => view! {
                            <ul>
                                {uses.into_iter().map(|u| view! {
                                    <li>
                                        {capitalize(u.surface.describe())}
                                        {u.ip.map(|ip| view! { " from "<code>{ip}</code> })}", "
                                        <RelativeTime at=u.at />
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A key whose current secret was reported leaked: by whom, when, where it was found, and what to
/// do now. Gone once the key is rotated.
#[component]
fn LeakedNote(leak: KeyLeak, status: KeyStatus) -> impl IntoView {
    let KeyLeak { at, reported_by, url } = leak;
    // A scanner's URL is shown as a link only when it is a web address.
    let place = url.map(|url| {
        if url.starts_with("https://") || url.starts_with("http://") {
            let text = url.clone();
            view! { " at "<a href=url rel="noopener noreferrer nofollow">{text}</a> }.into_any()
        } else {
            view! { " in "<code>{url}</code> }.into_any()
        }
    });
    let next = match status {
        KeyStatus::Revoked => "The key is revoked: create a new one for its users.",
        KeyStatus::Disabled => "Rotate the key, give its users the new secret, then enable it again.",
        _ => "Rotate the key and give its users the new secret: the leaked one then stops at once.",
    };
    view! {
        <div class="leak-note" role="note">
            <strong>"Leaked. "</strong>
            "This key's secret was reported leaked by "{reported_by}" "<RelativeTime at />{place}". "{next}
        </div>
    }
}

/// A key that no longer works and is still presented: the integration that was never updated, or
/// a copy that leaked. Said at the top of its page.
#[component]
fn StillPresented(insight: KeyInsightResource) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(Some(KeyInsight { log_days, refused: Some(refused), .. })) = insight.await else {
                    return None;
                };
                let RefusedUse { count, last_at, last_address, last_outcome } = refused;
                let times = if count == 1 { "once".to_owned() } else { format!("{} times", grouped(count)) };
                Some(view! {
                    <div class="attention-note" role="note">
                        <strong>"Still presented. "</strong>
                        {format!("Verifications refused this key {times} in the last {log_days} days; the last ")}
                        <RelativeTime at=last_at />
                        {last_address.map(|a| view! { " from "<code>{a}</code> })}
                        {format!(" ({}). Something still uses it: update that integration, or find out who holds a copy.", last_outcome.as_str())}
                    </div>
                })
            })}
        </Transition>
    }
}

const NARROW_DIALOG: &str = "narrow-scopes";

/// The key's custom scopes beside those its verifications asked for, and, for a member who may
/// change it, "Narrow to the scopes used": a normal scope edit, confirmed first.
#[component]
fn ScopeUseView(id: Uuid, held: ScopeSet, insight: KeyInsightResource, may_change: bool) -> impl IntoView {
    let held = StoredValue::new(held);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(Some(KeyInsight { log_days, scopes, .. })) = insight.await else {
                    return None;
                };
                if log_days == 0 || (scopes.used.is_empty() && scopes.unused.is_empty()) {
                    return None;
                }
                let can_narrow = may_change && scopes.can_narrow();
                let kept = held.with_value(|held| {
                    held.iter().map(|s| s.as_str()).filter(|s| !scopes.unused.iter().any(|u| u == s)).collect::<Vec<_>>().join(" ")
                });
                let unused = StoredValue::new(scopes.unused.clone());
                let summary = if scopes.verifications == 0 {
                    format!("No verification of this key in the last {log_days} days: which scopes it needs is not known yet.")
                } else {
                    format!(
                        "{} of its {} custom scopes were asked for by its verifications in the last {log_days} days.",
                        scopes.used.len(),
                        scopes.used.len() + scopes.unused.len()
                    )
                };
                let open = RwSignal::new(false);
                Some(view! {
                    <h3>"Scope use"</h3>
                    <p class="hint">{summary}</p>
                    <ul class="scope-use">
                        {scopes.used.iter().map(|s| view! { <li><code>{s.clone()}</code>" "<span class="used">"used"</span></li> }).collect_view()}
                        {scopes.unused.iter().map(|s| view! { <li><code>{s.clone()}</code>" "<span class="unused">"never asked for"</span></li> }).collect_view()}
                    </ul>
                    {can_narrow.then(|| view! {
                        <button type="button" class="button" commandfor=NARROW_DIALOG command="show-modal"
                            on:click=move |_| open.set(true)>"Narrow to the scopes used"</button>
                        <NarrowScopesDialog id open kept unused />
                    })}
                })
            })}
        </Transition>
    }
}

#[component]
fn NarrowScopesDialog(id: Uuid, open: RwSignal<bool>, kept: String, unused: StoredValue<Vec<String>>) -> impl IntoView {
    let actions = use_key_actions();
    let pending = actions.scopes.pending();
    let kept = StoredValue::new(kept);
    Effect::new(move |_| {
        if matches!(actions.scopes.value().get(), Some(Ok(_))) {
            open.set(false);
        }
    });
    view! {
        <Modal id=NARROW_DIALOG title="Narrow to the scopes used" open on_close=Callback::new(move |()| open.set(false))
            opens_without_script=true>
            <p>"These scopes were never asked for by a verification of this key, and will be removed:"</p>
            <ul class="scope-list">
                {move || unused.get_value().into_iter().map(|s| view! { <li><code>{s}</code></li> }).collect_view()}
            </ul>
            <p class="hint">"Management scopes are kept: the key's own API calls use them, and the log does not record those."</p>
            <ActionForm action=actions.scopes>
                <input type="hidden" name="id" value=id.to_string() />
                <input type="hidden" name="scopes" value=kept.get_value() />
                <ConfirmButtons dialog=NARROW_DIALOG on_cancel=Callback::new(move |()| open.set(false)) pending
                    label="Remove unused scopes" busy="Saving…" />
            </ActionForm>
        </Modal>
    }
}

/// What cannot be undone, apart and last on the page.
#[component]
fn DangerZone(id: Uuid, name: String) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <section class="danger-zone" aria-labelledby="danger-title">
            <h2 id="danger-title">"Danger zone"</h2>
            <p>"Deleting the key removes it and its history from the list. The audit log keeps what was done to it."</p>
            <button type="button" class="button button-danger-quiet" on:click=move |_| open.set(true)>
                "Delete permanently"
            </button>
            <DeleteDialog id open name />
        </section>
    }
}

/// The changes a member may make to the key, as its status allows, and the dialogs they open. Each
/// dialog closes once its change is made.
#[component]
fn KeyChanges(key: ApiKey, project_scopes: Vec<CustomScope>) -> impl IntoView {
    let actions = use_key_actions();
    let (id, status) = (key.id, key.status);
    let edit_open = RwSignal::new(false);
    let scopes_open = RwSignal::new(false);
    let limit_open = RwSignal::new(false);
    let credits_open = RwSignal::new(false);
    let network_open = RwSignal::new(false);
    let rotate_open = RwSignal::new(false);
    let revoke_open = RwSignal::new(false);
    let disable_open = RwSignal::new(false);
    let leak_open = RwSignal::new(false);
    let report_leak = ServerAction::<ReportLeakedKey>::new();
    actions.report(report_leak, true, |k| format!("\"{}\" reported leaked: {}.", k.key_name, k.action.describe()));
    let production = key.environment == Environment::Production;
    for (action_done, open) in [
        (Signal::derive(move || matches!(actions.edit.value().get(), Some(Ok(_)))), edit_open),
        (Signal::derive(move || matches!(actions.scopes.value().get(), Some(Ok(_)))), scopes_open),
        (Signal::derive(move || matches!(actions.rate_limit.value().get(), Some(Ok(_)))), limit_open),
        (Signal::derive(move || matches!(actions.credits.value().get(), Some(Ok(_)))), credits_open),
        (Signal::derive(move || matches!(actions.ip_allowlist.value().get(), Some(Ok(_)))), network_open),
        (Signal::derive(move || matches!(actions.rotate.value().get(), Some(Ok(_)))), rotate_open),
        (Signal::derive(move || matches!(actions.revoke.value().get(), Some(Ok(_)))), revoke_open),
        (Signal::derive(move || matches!(actions.disable.value().get(), Some(Ok(_)))), disable_open),
        (Signal::derive(move || matches!(report_leak.value().get(), Some(Ok(_)))), leak_open),
    ] {
        Effect::new(move |_| {
            if action_done.get() {
                open.set(false);
            }
        });
    }
    let rotate = actions.rotate;
    let reveal = TokenReveal::from_action(rotate.value());

    view! {
        <div class="key-actions" role="group" aria-label="Key actions">
            {matches!(status, KeyStatus::Active | KeyStatus::Disabled).then(|| view! {
                <button type="button" class="button" on:click=move |_| edit_open.set(true)>"Edit details"</button>
            })}
            {status.can_edit().then(|| view! {
                <button type="button" class="button" on:click=move |_| scopes_open.set(true)>"Edit scopes"</button>
                <button type="button" class="button" on:click=move |_| limit_open.set(true)>"Edit rate limit"</button>
                <button type="button" class="button" on:click=move |_| credits_open.set(true)>"Edit credits"</button>
                <button type="button" class="button" on:click=move |_| network_open.set(true)>"Edit IP allowlist"</button>
            })}
            {status.can_rotate().then(|| view! {
                <button type="button" class="button" on:click=move |_| rotate_open.set(true)>"Rotate"</button>
            })}
            // Forms, so that they work before the page's code has arrived, and without it.
            // A production key is asked about first: disabling it stops live traffic.
            {(status.can_disable() && !production).then(|| view! {
                <ActionForm action=actions.disable attr:class="inline-form">
                    <input type="hidden" name="id" value=id.to_string() />
                    <button type="submit" class="button" disabled=move || actions.disable.pending().get()>"Disable"</button>
                </ActionForm>
            })}
            {(status.can_disable() && production).then(|| view! {
                <button type="button" class="button" commandfor=DISABLE_DIALOG command="show-modal"
                    on:click=move |_| disable_open.set(true)>"Disable"</button>
            })}
            {status.can_enable().then(|| view! {
                <ActionForm action=actions.enable attr:class="inline-form">
                    <input type="hidden" name="id" value=id.to_string() />
                    <button type="submit" class="button" disabled=move || actions.enable.pending().get()>"Enable"</button>
                </ActionForm>
            })}
            // Opens its dialog without the page's code too (an invoker command), where the
            // browser has them; the dialog's form then posts and comes back.
            {status.can_revoke().then(|| view! {
                <button type="button" class="button button-danger-quiet" commandfor=REVOKE_DIALOG command="show-modal"
                    on:click=move |_| revoke_open.set(true)>"Revoke"</button>
            })}
            {(status.can_revoke() && key.leak.is_none() && !key.decoy).then(|| view! {
                <button type="button" class="button button-danger-quiet" commandfor=LEAK_DIALOG command="show-modal"
                    on:click=move |_| leak_open.set(true)>"Report as leaked"</button>
            })}
        </div>
        <EditDetailsDialog key=key.clone() open=edit_open />
        <EditScopesDialog id open=scopes_open initial=key.scopes.clone() defined=project_scopes />
        <EditRateLimitDialog id open=limit_open initial=key.rate_limit />
        <EditCreditsDialog id open=credits_open initial=key.credits />
        <EditIpAllowlistDialog id open=network_open initial=key.ip_allowlist.clone() />
        <RotateDialog id open=rotate_open name=key.name.clone() />
        {status.can_revoke().then(|| view! { <RevokeKeyDialog key=key.clone() open=revoke_open action=actions.revoke /> })}
        {(status.can_disable() && production).then(|| view! { <DisableDialog id open=disable_open name=key.name.clone() /> })}
        {(status.can_revoke() && key.leak.is_none() && !key.decoy).then(|| view! { <ReportLeakDialog id open=leak_open name=key.name.clone() action=report_leak /> })}
        <TokenDialog reveal on_close=Callback::new(move |()| rotate.value().set(None)) />
    }
}

/// What the key is: its preview (and a previous secret still in its grace), where it works, its
/// limits, and who made it when.
#[component]
fn KeyProperties(key: ApiKey) -> impl IntoView {
    let toasts = use_toasts();
    let grace = key.previous_valid_until.map(|until| format!("The previous secret works until {}", format_time(until)));
    view! {
        <dl class="properties">
            <dt>"Key"</dt><dd><code>{key.preview}</code>
                {grace.map(|grace| view! { <span class="grace">{grace}</span> })}
            </dd>
            // The management API names a key by its id.
            <dt>"ID"</dt><dd class="copyable"><code>{key.id.to_string()}</code>
                <CopyButton text=Signal::stored(key.id.to_string()) label="Copy the key's ID".to_owned()
                    on_result=Callback::new(move |copied: bool| if !copied { toasts.error("Could not copy the ID. Select it and copy it by hand.") }) />
            </dd>
            <dt>"Project"</dt><dd>{key.project_name}</dd>
            <dt>"Environment"</dt><dd>{key.environment.label()}</dd>
            <dt>"Rate limit"</dt><dd>{key.rate_limit.map_or_else(|| "None".to_owned(), RateLimit::summary)}</dd>
            <dt>"Credits"</dt><dd>{credits_in_words(key.credits)}</dd>
            <dt>"IP allowlist"</dt>
            <dd>
                {if key.ip_allowlist.is_empty() {
                    "Any address".into_any()
                } else {
                    view! {
                        <ul class="networks">
                            {key.ip_allowlist.into_iter().map(|network| view! { <li><code>{network}</code></li> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </dd>
            <dt>"Expires"</dt><dd>{key.expires_at.map_or_else(|| "Never".to_owned(), format_date)}</dd>
            <dt>"Last used"</dt>
            <dd>
                <RelativeTimeOr at=key.last_used_at />
            </dd>
            <dt>"Created by"</dt><dd>{key.created_by}</dd>
            <dt>"Created"</dt><dd>{format_time(key.created_at)}</dd>
            // Who it is for in the team's own system, linked to that customer's other keys.
            <dt>"External ID"</dt>
            <dd>
                {match key.external_id {
                    Some(id) => {
                        let others = keys_url(&KeyQuery { external_id: Some(id.clone()), ..KeyQuery::default() });
                        view! { <code>{id}</code>" · "<A href=others>"All its keys"</A> }.into_any()
                    }
                    None => "None".into_any(),
                }}
            </dd>
            <dt>"Metadata"</dt>
            <dd>{match key.meta {
                Some(meta) => view! { <pre class="meta"><code>{meta}</code></pre> }.into_any(),
                None => "None".into_any(),
            }}</dd>
        </dl>
    }
}

#[component]
fn RotationHistory(rotations: Vec<Rotation>) -> impl IntoView {
    view! {
        <section aria-labelledby="rotations-title">
            <h2 id="rotations-title">"Rotation history"</h2>
            {if rotations.is_empty() {
                view! { <p class="hint">"Never rotated."</p> }.into_any()
            } else {
                view! {
                    <table class="keys-table">
                        <thead><tr>
                            <th scope="col">"Rotated"</th><th scope="col">"By"</th>
                            <th scope="col">"Old prefix"</th><th scope="col">"New prefix"</th><th scope="col">"Old secret valid until"</th>
                        </tr></thead>
                        <tbody>
                            {rotations.into_iter().map(|r| view! {
                                <tr>
                                    <td>{format_time(r.rotated_at)}</td><td>{r.rotated_by}</td>
                                    <td><code>{r.old_prefix}</code></td><td><code>{r.new_prefix}</code></td>
                                    <td>{r.grace_until.map_or_else(|| "Stopped at once".to_owned(), format_time)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// The key's name, description and expiry.
#[component]
fn EditDetailsDialog(key: ApiKey, open: RwSignal<bool>) -> impl IntoView {
    let actions = use_key_actions();
    let errors = FormErrors::of(actions.edit.value());
    let current = StoredValue::new(key);
    view! {
        <Modal id="edit-details" title="Edit details" open on_close=Callback::new(move |()| open.set(false))>
            {move || {
                let key = current.get_value();
                let keep = key.expires_at.map_or_else(|| "never expires".to_owned(), |at| format!("expires {}", format_date(at)));
                view! {
                    <ActionForm action=actions.edit attr:class="form">
                        <input type="hidden" name="id" value=key.id.to_string() />
                        <NameFields errors name=key.name description=key.description.unwrap_or_default() editing=true />
                        <ExpiryFields errors choice=ExpiryChoice::keeping() keep />
                        <div class="field">
                            <label for="edit-key-external-id">"External ID (optional)"</label>
                            <input id="edit-key-external-id" name="external_id" type="text" maxlength="256" autocomplete="off"
                                value=key.external_id placeholder="e.g. cus_42, your customer or tenant"
                                aria-invalid=errors.invalid("external_id")
                                aria-describedby=errors.described_by("external_id", "edit-key-external-id", Some("edit-key-external-id-hint")) />
                            <small id="edit-key-external-id-hint" class="hint">
                                "Who the key is for in your own system. Verification answers with it."
                            </small>
                            <FieldMessage errors field="external_id" id="edit-key-external-id" />
                        </div>
                        <div class="field">
                            <label for="edit-key-meta">"Metadata (optional)"</label>
                            <textarea id="edit-key-meta" name="meta" rows="3" class="code" spellcheck="false"
                                placeholder="{\"plan\": \"pro\"}"
                                aria-invalid=errors.invalid("meta")
                                aria-describedby=errors.described_by("meta", "edit-key-meta", Some("edit-key-meta-hint"))>
                                {key.meta.unwrap_or_default()}
                            </textarea>
                            <small id="edit-key-meta-hint" class="hint">
                                "A JSON object of up to 16 KB, kept as you write it. Verification answers with it."
                            </small>
                            <FieldMessage errors field="meta" id="edit-key-meta" />
                        </div>
                        <FormError errors shown=&["name", "description", "expiration", "expires_on", "external_id", "meta"] />
                        <div class="dialog-actions">
                            <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                            <button type="submit" class="button button-primary" disabled=move || actions.edit.pending().get()>
                                "Save"
                            </button>
                        </div>
                    </ActionForm>
                }
            }}
        </Modal>
    }
}

#[component]
fn EditScopesDialog(id: Uuid, open: RwSignal<bool>, initial: ScopeSet, defined: Vec<CustomScope>) -> impl IntoView {
    let actions = use_key_actions();
    // Kept, so the dialog's content can be built again each time it opens.
    let (initial, defined) = (StoredValue::new(initial), StoredValue::new(defined));
    let errors = FormErrors::of(actions.scopes.value());
    view! {
        <Modal id="edit-scopes" title="Edit scopes" open on_close=Callback::new(move |()| open.set(false))>
            <ActionForm action=actions.scopes attr:class="form">
                <input type="hidden" name="id" value=id.to_string() />
                <ScopePicker choice=ScopeChoice::new(&initial.get_value()) defined=defined.get_value() errors />
                <FormError errors shown=&["scopes"] />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-primary">"Save scopes"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}

#[component]
fn EditRateLimitDialog(id: Uuid, open: RwSignal<bool>, initial: Option<RateLimit>) -> impl IntoView {
    let actions = use_key_actions();
    let errors = FormErrors::of(actions.rate_limit.value());
    view! {
        <Modal id="edit-rate-limit" title="Edit rate limit" open on_close=Callback::new(move |()| open.set(false))>
            <ActionForm action=actions.rate_limit attr:class="form">
                <input type="hidden" name="id" value=id.to_string() />
                <RateLimitFields errors initial />
                <FormError errors shown=&["rate_limit_window", "rate_limit_requests"] />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-primary">"Save rate limit"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}

/// Sets the credits anew (saving counts as a refill: the next comes at the refill's next moment).
#[component]
fn EditCreditsDialog(id: Uuid, open: RwSignal<bool>, initial: Option<KeyCredits>) -> impl IntoView {
    let actions = use_key_actions();
    let errors = FormErrors::of(actions.credits.value());
    view! {
        <Modal id="edit-credits" title="Edit credits" open on_close=Callback::new(move |()| open.set(false))>
            <ActionForm action=actions.credits attr:class="form">
                <input type="hidden" name="id" value=id.to_string() />
                <CreditFields errors initial />
                <FormError errors shown=CREDIT_FIELDS />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-primary">"Save credits"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}

/// The networks the key may be used from, one per line; blank: anywhere.
#[component]
fn EditIpAllowlistDialog(id: Uuid, open: RwSignal<bool>, initial: Vec<String>) -> impl IntoView {
    let actions = use_key_actions();
    let errors = FormErrors::of(actions.ip_allowlist.value());
    let rows = initial.len().clamp(3, 10);
    // Read again each time the dialog's content is made.
    let text = StoredValue::new(initial.join("\n"));
    view! {
        <Modal id="edit-ip-allowlist" title="Edit IP allowlist" open on_close=Callback::new(move |()| open.set(false))>
            <ActionForm action=actions.ip_allowlist attr:class="form">
                <input type="hidden" name="id" value=id.to_string() />
                <div class="field">
                    <label for="key-ip-allowlist">"Addresses and CIDRs"</label>
                    <textarea id="key-ip-allowlist" name="ip_allowlist" rows=rows.to_string() spellcheck="false"
                        placeholder="203.0.113.0/24\n2001:db8::/32"
                        aria-invalid=errors.invalid("ip_allowlist")
                        aria-describedby=errors.described_by("ip_allowlist", "key-ip-allowlist", Some("key-ip-allowlist-hint"))>
                        {text.get_value()}
                    </textarea>
                    <small id="key-ip-allowlist-hint" class="hint">
                        "One per line, IPv4 or IPv6, up to 100. Blank: any address. Its calls to the API must come \
                        from these, and its verifications must name a caller (ip) within them."
                    </small>
                    <FieldMessage errors field="ip_allowlist" id="key-ip-allowlist" />
                </div>
                <FormError errors shown=&["ip_allowlist"] />
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-primary">"Save IP allowlist"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}

/// A page of the key's verifications from the log, or none for an id that is no key.
type KeyVerificationsResource = Resource<Result<Option<VerificationPage>, AppError>>;

/// The key's verifications, newest first: each one's time, verdict, caller's address, scopes asked
/// and credits spent, filtered by verdict and paged through the URL.
#[component]
fn KeyVerifications(id: Uuid, verifications: KeyVerificationsResource) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let outcome = move || query.with(|q| q.get("outcome")).unwrap_or_default();
    let here = format!("/keys/{id}");
    let page_link = move |page: u32| {
        let outcome = outcome();
        let filter = if outcome.is_empty() { String::new() } else { format!("outcome={outcome}&") };
        format!("/keys/{id}?{filter}vpage={page}")
    };
    view! {
        <Form method="GET" action=here attr:class="toolbar" attr:aria-label="Filter the verifications">
            <label class="filter">
                "Verdict "
                // Applied as it changes (the button is for the page without its code).
                <select name="outcome" on:change=move |ev| {
                    let outcome = event_target_value(&ev);
                    let filter = if outcome.is_empty() { String::new() } else { format!("?outcome={outcome}") };
                    navigate(&format!("/keys/{id}{filter}"), Default::default());
                }>
                    <option value="">"Any verdict"</option>
                    {VerifyCode::VARIANTS.iter().copied().map(|code| view! {
                        <option value=code.as_str() selected=move || outcome() == code.as_str()>{code.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <noscript><button type="submit" class="button">"Show"</button></noscript>
        </Form>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading verifications…"</p> }>
            {move || Suspend::new(async move {
                match verifications.await {
                    Ok(Some(page)) if page.records.is_empty() => view! {
                        <p class="hint">"No verifications logged yet (they are written every few seconds)."</p>
                    }.into_any(),
                    Ok(Some(page)) => {
                        let (current, last, total) = (page.page, page.last_page(), page.total);
                        view! {
                            <div class="table-wrap">
                                <table class="keys-table verifications">
                                    <caption class="visually-hidden">"Recent verifications"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Verdict"</th>
                                            <th scope="col">"Caller's address"</th>
                                            <th scope="col">"Scopes asked"</th>
                                            <th scope="col">"Credits spent"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.records.into_iter().map(|record| view! {
                                            <tr>
                                                <td data-label="When">
                                                    <RelativeTime at=record.at />
                                                    {(record.count > 1).then(|| view! { " · "{record.count}" times" })}
                                                </td>
                                                <td data-label="Verdict"><code>{record.outcome.as_str()}</code></td>
                                                <td data-label="Caller's address">{record.address.unwrap_or_else(|| "Not given".to_owned())}</td>
                                                <td data-label="Scopes asked">{record.scopes.join(" ")}</td>
                                                <td data-label="Credits spent">{record.credits_spent}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pager" aria-label="Verification pages">
                                {(current > 1).then(|| view! { <a href=page_link(current - 1)>"Newer"</a> })}
                                <span>{format!("Page {current} of {last} · {} entries", grouped(total))}</span>
                                {(current < last).then(|| view! { <a href=page_link(current + 1)>"Older"</a> })}
                            </nav>
                        }.into_any()
                    }
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A key's calls per hour over the last seven days, or none for an id that is no key.
type KeyUsageResource = Resource<Result<Option<UsageHistory>, AppError>>;

/// Calls per hour over the last seven days. Written by the usage flush every few seconds.
#[component]
fn KeyUsage(usage: KeyUsageResource) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(Some(history)) => view! { <UsageChart history /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A new secret; the old one stops now or after a grace period.
#[component]
fn RotateDialog(id: Uuid, open: RwSignal<bool>, name: String) -> impl IntoView {
    let actions = use_key_actions();
    let pending = actions.rotate.pending();
    view! {
        <Modal id="rotate-key" title="Rotate API key" open on_close=Callback::new(move |()| open.set(false))>
            <p>{format!("\"{name}\" gets a new secret; its name, scopes, limits, project and environment stay.")}</p>
            <ActionForm action=actions.rotate>
                <input type="hidden" name="id" value=id.to_string() />
                <div class="field">
                    <label for="rotate-grace">"Keep the old secret working for"</label>
                    <select id="rotate-grace" name="grace">
                        {RotationGrace::VARIANTS.iter().copied().map(|g| view! {
                            <option value=g.as_str() selected=g == RotationGrace::SUGGESTED>{g.label()}</option>
                        }).collect_view()}
                    </select>
                    // Shown by the style sheet while "None" is picked.
                    <small class="field-warning stops-now">
                        "Every integration that uses the old secret stops working now."
                    </small>
                </div>
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Rotating…" } else { "Rotate key" }}
                    </button>
                </div>
            </ActionForm>
        </Modal>
    }
}

/// The id of the disable dialog, which a `commandfor` names.
const DISABLE_DIALOG: &str = "disable-key";

/// Asks before disabling a production key; in the page while closed, so that it opens (and its
/// form posts) without the page's code too.
#[component]
fn DisableDialog(id: Uuid, open: RwSignal<bool>, name: String) -> impl IntoView {
    let actions = use_key_actions();
    let pending = actions.disable.pending();
    let question = Signal::stored(format!(
        "\"{name}\" is a production key: every request that uses it will be refused until it is enabled again."
    ));
    view! {
        <Modal id=DISABLE_DIALOG title="Disable production key" open on_close=Callback::new(move |()| open.set(false))
            opens_without_script=true>
            <p>{question}</p>
            <ActionForm action=actions.disable>
                <input type="hidden" name="id" value=id.to_string() />
                <ConfirmButtons dialog=DISABLE_DIALOG on_cancel=Callback::new(move |()| open.set(false)) pending
                    label="Disable key" busy="Disabling…" danger=true />
            </ActionForm>
        </Modal>
    }
}

const LEAK_DIALOG: &str = "report-leak";

/// Asks before reporting a key leaked: the organization's policy then disables it (by default),
/// revokes it, or only records the report. Opens and posts without the page's code too.
#[component]
fn ReportLeakDialog(
    id: Uuid,
    open: RwSignal<bool>,
    name: String,
    action: ServerAction<ReportLeakedKey>,
) -> impl IntoView {
    let pending = action.pending();
    let question = Signal::stored(format!(
        "Report \"{name}\" as leaked? Your organization's policy for leaked keys (Settings) is applied at once: \
         by default the key is disabled until it is rotated and enabled again. The report is recorded in the \
         audit log and sent as a key.leaked event."
    ));
    view! {
        <Modal id=LEAK_DIALOG title="Report key as leaked" open on_close=Callback::new(move |()| open.set(false))
            opens_without_script=true>
            <p>{question}</p>
            <ActionForm action>
                <input type="hidden" name="id" value=id.to_string() />
                <ConfirmButtons dialog=LEAK_DIALOG on_cancel=Callback::new(move |()| open.set(false)) pending
                    label="Report as leaked" busy="Reporting…" danger=true />
            </ActionForm>
        </Modal>
    }
}

/// Deleting is final: the person types the key's name to confirm.
#[component]
fn DeleteDialog(id: Uuid, open: RwSignal<bool>, name: String) -> impl IntoView {
    let actions = use_key_actions();
    let typed = RwSignal::new(String::new());
    let expected = name.clone();
    let confirmed = Memo::new(move |_| typed.with(|t| t.trim() == expected));
    // Copy, so the dialog's content can be built again each time it opens.
    let confirm_label = Signal::stored(format!("Type \"{name}\" to confirm"));
    view! {
        <Modal id="delete-key" title="Delete API key" open on_close=Callback::new(move |()| open.set(false))>
            <p>{format!("\"{name}\" and its history will be deleted. This cannot be undone.")}</p>
            <ActionForm action=actions.delete>
                <input type="hidden" name="id" value=id.to_string() />
                <div class="field">
                    <label for="delete-confirm">{confirm_label}</label>
                    // Not sent: the name only guards the button.
                    <input id="delete-confirm" type="text" autocomplete="off" prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                </div>
                <div class="dialog-actions">
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="button button-danger"
                        disabled=move || !confirmed.get() || actions.delete.pending().get()>
                        "Delete key"
                    </button>
                </div>
            </ActionForm>
        </Modal>
    }
}
