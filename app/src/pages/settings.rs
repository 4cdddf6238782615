use crate::api::keys::get_key_stats;
use crate::api::leaks::{CheckLeakedToken, SetLeakPolicy, get_leak_policy};
use crate::api::members::list_members;
use crate::api::organization::{RenameOrganization, TransferOrganization};
use crate::components::{
    ActionError, FieldMessage, FormError, FormErrors, RequireSession, WebhookSettings, current_member,
    provide_key_actions, use_auth, use_key_actions,
};
use crate::model::{LeakHandled, LeakPolicy, MemberStatus, Permission, Plan, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use strum::VariantArray;

/// The organization's plan and usage; an owner switches plan here (no billing).
#[component]
pub fn SettingsPage() -> impl IntoView {
    provide_key_actions();
    view! {
        <Title text="Settings" />
        <RequireSession>
            <SettingsView />
        </RequireSession>
    }
}

#[component]
fn SettingsView() -> impl IntoView {
    let auth = use_auth();
    let actions = use_key_actions();
    let stats = Resource::new(move || actions.version(), |_| get_key_stats());
    let session = move || auth.session.get().and_then(Result::ok).flatten();
    // The plan shown follows the last change without waiting for the session to refetch.
    let current_plan = move || match actions.plan.value().get() {
        Some(Ok(plan)) => Some(plan),
        _ => session().map(|s| s.plan),
    };
    let is_owner = move || session().is_some_and(|s| s.role == Role::Owner);

    view! {
        <div class="page-header"><h1>"Settings"</h1></div>
        <OrganizationSettings />
        <section class="card" aria-labelledby="plan-title">
            <h2 id="plan-title">"Plan"</h2>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let stats = stats.await.unwrap_or_default();
                    let usage = match stats.max_keys {
                        Some(max) => format!("{} of {max} keys", stats.live),
                        None => format!("{} keys (unlimited)", stats.live),
                    };
                    view! {
                        <p class="usage">
                            <strong>{move || current_plan().map(|p| p.label()).unwrap_or_default()}</strong>
                            " plan · "<span>{usage}</span>
                        </p>
                    }
                })}
            </Transition>
            <ActionForm action=actions.plan attr:class="form">
                <fieldset class="plans" disabled=move || !is_owner()>
                    <legend>"Change plan"</legend>
                    {Plan::VARIANTS.iter().copied().map(|plan| {
                        let limit = plan.max_keys().map_or_else(|| "Unlimited keys".to_owned(), |n| format!("{n} keys"));
                        view! {
                            <label class="check">
                                <input type="radio" name="plan" value=plan.as_str() prop:checked=move || current_plan() == Some(plan) />
                                <strong>{plan.label()}</strong>" · "{limit}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <ActionError value=actions.plan.value() />
                <Show when=is_owner fallback=|| view! { <p class="hint">"Only an owner can change the plan."</p> }>
                    <button type="submit" class="button button-primary">"Save plan"</button>
                </Show>
            </ActionForm>
        </section>
        <LeakedKeys />
        <WebhookSettings />
    }
}

/// What happens to a key reported leaked (owners and admins choose), and "Check a leaked token",
/// open to everyone in the organization: a token found in a log, a ticket or a commit is pasted
/// here and, if it is one of the organization's keys, handled as the policy says.
#[component]
fn LeakedKeys() -> impl IntoView {
    let auth = use_auth();
    let actions = use_key_actions();
    let (check_leak, leak_policy) = (ServerAction::<CheckLeakedToken>::new(), ServerAction::<SetLeakPolicy>::new());
    actions.report(check_leak, false, |k| format!("\"{}\" reported leaked: {}.", k.key_name, k.action.describe()));
    actions.report(leak_policy, false, |_| "Policy for leaked keys saved.".to_owned());
    let policy = Resource::new(move || actions.version(), |_| get_leak_policy());
    let may_set = move || {
        auth.session.get().and_then(Result::ok).flatten().is_some_and(|s| s.role.can(Permission::SettingsManage))
    };
    let check_errors = FormErrors::of(check_leak.value());
    // A token checked is not left on the screen.
    let check_form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (check_leak.value().get(), check_form.get()) {
            form.reset();
        }
    });
    let checked = move || match check_leak.value().get() {
        Some(Ok(LeakHandled { key_id, key_name, prefix, action })) => Some(view! {
            <p class="form-success" role="status">
                <code>{prefix}</code>" is "<a href=format!("/keys/{key_id}")>{key_name}</a>": "{action.describe()}"."
            </p>
        }),
        _ => None,
    };
    view! {
        <section class="card" aria-labelledby="leaks-title">
            <h2 id="leaks-title">"Leaked keys"</h2>
            <p class="hint">
                "A key is reported leaked by a secret scanner (GitHub's secret scanning, when this server is \
                 registered with it), from its page, or below. Each report is in the audit log and sent as a \
                 key.leaked event."
            </p>
            <ActionForm action=leak_policy attr:class="form">
                <fieldset class="plans" disabled=move || !may_set()>
                    <legend>"When a key is reported leaked"</legend>
                    <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            let current = policy.await.unwrap_or_default();
                            <LeakPolicy as strum::VariantArray>::VARIANTS.iter().copied().map(|choice| view! {
                                <label class="check">
                                    <input type="radio" name="policy" value=choice.as_str() checked=choice == current />
                                    {choice.label()}
                                </label>
                            }).collect_view()
                        })}
                    </Transition>
                </fieldset>
                <ActionError value=leak_policy.value() />
                <Show when=may_set fallback=|| view! { <p class="hint">"Only an owner or an admin can change this."</p> }>
                    <button type="submit" class="button button-primary" disabled=move || leak_policy.pending().get()>
                        "Save policy"
                    </button>
                </Show>
            </ActionForm>
            <ActionForm action=check_leak node_ref=check_form attr:class="form">
                <div class="field">
                    <label for="leaked-token">"Check a leaked token"</label>
                    <input id="leaked-token" type="text" name="token" required autocomplete="off" spellcheck="false"
                        placeholder="kw_live_…" aria-invalid=check_errors.invalid("token")
                        aria-describedby=check_errors.described_by("token", "leaked-token", Some("leaked-token-hint")) />
                    <small id="leaked-token-hint" class="hint">
                        "If it is one of this organization's keys, the policy above is applied to it."
                    </small>
                    <FieldMessage errors=check_errors field="token" id="leaked-token" />
                </div>
                <FormError errors=check_errors shown=&["token"] />
                {checked}
                <button type="submit" class="button" disabled=move || check_leak.pending().get()>
                    {move || if check_leak.pending().get() { "Checking…" } else { "Check token" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// The organization's name (owners and admins rename it) and its ownership (an owner hands it to
/// another member, becoming an admin).
#[component]
fn OrganizationSettings() -> impl IntoView {
    let auth = use_auth();
    let actions = use_key_actions();
    let (rename, transfer) = (ServerAction::<RenameOrganization>::new(), ServerAction::<TransferOrganization>::new());
    actions.report(rename, false, |name| format!("The organization is now called {name}."));
    actions.report(transfer, false, |_| "Ownership transferred. You are now an admin.".to_owned());
    // The frame shows the organization's name and what the member may do: both read again.
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(_))) || matches!(transfer.value().get(), Some(Ok(_))) {
            auth.session.refetch();
        }
    });
    // What the server rendered with, so that hydration meets the same elements.
    let me = current_member();
    let (name, may_rename) =
        me.as_ref().map_or((String::new(), false), |m| (m.organization.clone(), m.can(Permission::SettingsManage)));
    let is_owner = me.as_ref().is_some_and(|m| m.role == Role::Owner);
    let my_id = me.map(|m| m.user_id);
    let (rename_errors, transfer_errors) = (FormErrors::of(rename.value()), FormErrors::of(transfer.value()));
    let members = Resource::new(move || transfer.version().get(), |_| list_members());
    // Those it can go to: active members who are not owners already.
    let new_owners = move || {
        Suspend::new(async move {
            let list = members.await.unwrap_or_default();
            let options = list
                .members
                .into_iter()
                .filter(|m| m.status == MemberStatus::Active && m.role != Role::Owner && Some(m.user_id) != my_id)
                .map(|m| {
                    let label = format!("{} ({}, {})", m.name, m.email, m.role.label());
                    view! { <option value=m.user_id.to_string()>{label}</option> }
                })
                .collect_view();
            view! {
                <select id="new-owner" name="user_id" required aria-invalid=transfer_errors.invalid("user_id")
                    aria-describedby=transfer_errors.described_by("user_id", "new-owner", Some("new-owner-hint"))>
                    <option value="">"Choose a member"</option>
                    {options}
                </select>
            }
        })
    };

    view! {
        <section class="card" aria-labelledby="organization-title">
            <h2 id="organization-title">"Organization"</h2>
            <ActionForm action=rename attr:class="form">
                <div class="field">
                    <label for="organization-name">"Name"</label>
                    <input id="organization-name" name="name" type="text" required maxlength="80" value=name
                        disabled=!may_rename aria-invalid=rename_errors.invalid("name")
                        aria-describedby=rename_errors.described_by("name", "organization-name", None) />
                    <FieldMessage errors=rename_errors field="name" id="organization-name" />
                </div>
                <FormError errors=rename_errors shown=&["name"] />
                {if may_rename {
                    view! {
                        <button type="submit" class="button" disabled=move || rename.pending().get()>"Save name"</button>
                    }.into_any()
                } else {
                    view! { <p class="hint">"Only an owner or an admin can rename the organization."</p> }.into_any()
                }}
            </ActionForm>
            // Hidden once handed over: its sender is no longer an owner.
            {is_owner.then(|| view! {
                <ActionForm action=transfer attr:class="form"
                    attr:hidden=move || matches!(transfer.value().get(), Some(Ok(())))>
                    <div class="field">
                        <label for="new-owner">"Transfer ownership to"</label>
                        <Transition fallback=|| view! { <p class="loading" role="status">"Loading members…"</p> }>
                            {new_owners}
                        </Transition>
                        <small id="new-owner-hint" class="hint">
                            "They become an owner, and you an admin: you can no longer change the plan or hand the \
                             organization over. Your keys keep only what an admin may do."
                        </small>
                        <FieldMessage errors=transfer_errors field="user_id" id="new-owner" />
                    </div>
                    <label class="check">
                        <input type="checkbox" required />
                        "I understand that I will no longer be an owner."
                    </label>
                    <FormError errors=transfer_errors shown=&["user_id"] />
                    <button type="submit" class="button button-danger" disabled=move || transfer.pending().get()>
                        {move || if transfer.pending().get() { "Transferring…" } else { "Transfer ownership" }}
                    </button>
                </ActionForm>
            })}
        </section>
    }
}
