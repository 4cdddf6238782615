//! The pieces of the API Keys page.

use super::{
    ConfirmButtons, CopyButton, FieldMessage, FormError, FormErrors, Modal, RelativeTimeOr, ScopeChoice, ScopePicker,
    StatusBadge, current_member, format_date, format_time, iso_time, now, site_origin, use_hydrated,
};
use crate::api::keys::{CreateKey, RevokeKey};
use crate::model::{
    ApiKey, AppError, CreatedKey, Environment, Expiration, KeyCredits, KeyName, KeyOutline, KeyQuery, KeyStats,
    MAX_CREDITS, NewKey, Project, RateLimit, RateWindow, RefillPeriod, RotatedKey, ScopePreset, grouped,
    verify_command,
};
use leptos::prelude::*;
use std::collections::BTreeSet;
use strum::VariantArray;

/// The columns a person may add to the keys table; the others (name, key, environment, status,
/// last use and the row's menu) are always there, and fit a 1280-pixel screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, strum::VariantArray, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum OptionalColumn {
    Project,
    ExternalId,
    Scopes,
    RateLimit,
    Expires,
    CreatedBy,
    Created,
}

impl OptionalColumn {
    pub const fn label(self) -> &'static str {
        match self {
            Self::Project => "Project",
            Self::ExternalId => "External ID",
            Self::Scopes => "Scopes",
            Self::RateLimit => "Rate limit",
            Self::Expires => "Expires",
            Self::CreatedBy => "Created by",
            Self::Created => "Created",
        }
    }

    fn name(self) -> &'static str {
        self.into()
    }
}

/// The optional columns shown, as the person chose them on this browser (kept in its storage).
#[derive(Debug, Clone, Copy)]
pub struct ShownColumns(RwSignal<BTreeSet<OptionalColumn>>);

impl ShownColumns {
    const STORAGE_KEY: &'static str = "keyward.keys.columns";

    /// None at first, the same on the server and in the hydrating browser; the browser's choice is
    /// read once the page's code runs.
    pub fn remembered() -> Self {
        let shown = Self(RwSignal::new(BTreeSet::new()));
        Effect::new(move |_| {
            if let Some(saved) = storage().and_then(|s| s.get_item(Self::STORAGE_KEY).ok().flatten()) {
                shown.0.set(
                    OptionalColumn::VARIANTS
                        .iter()
                        .copied()
                        .filter(|c| saved.split(',').any(|n| n == c.name()))
                        .collect(),
                );
            }
        });
        shown
    }

    pub fn contains(&self, column: OptionalColumn) -> bool {
        self.0.with(|s| s.contains(&column))
    }

    fn set(&self, column: OptionalColumn, on: bool) {
        self.0.update(|s| {
            if on {
                s.insert(column);
            } else {
                s.remove(&column);
            }
        });
        let names = self.0.with_untracked(|s| s.iter().map(|c| c.name()).collect::<Vec<_>>().join(","));
        if let Some(storage) = storage() {
            let _ = storage.set_item(Self::STORAGE_KEY, &names);
        }
    }

    /// The table's classes: one `show-…` per optional column shown.
    fn table_class(&self) -> String {
        self.0.with(|s| {
            s.iter().fold("keys-table".to_owned(), |mut class, c| {
                class.push_str(" show-");
                class.push_str(c.name());
                class
            })
        })
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Nowhere to keep a choice while the server renders.
#[cfg(not(feature = "hydrate"))]
fn storage() -> Option<NoStorage> {
    None
}

#[cfg(not(feature = "hydrate"))]
struct NoStorage;

#[cfg(not(feature = "hydrate"))]
impl NoStorage {
    fn get_item(&self, _: &str) -> Result<Option<String>, ()> {
        Ok(None)
    }
    fn set_item(&self, _: &str, _: &str) -> Result<(), ()> {
        Ok(())
    }
}

/// Turns the optional columns on and off: a disclosure of checkboxes, shown once the page's code
/// runs (which keeps the choice).
#[component]
pub fn ColumnPicker(columns: ShownColumns) -> impl IntoView {
    let hydrated = use_hydrated();
    move || {
        hydrated.get().then(|| {
            view! {
                <details class="column-picker">
                    <summary>"Columns"</summary>
                    <fieldset>
                        <legend class="visually-hidden">"Columns shown"</legend>
                        {OptionalColumn::VARIANTS.iter().copied().map(|column| {
                            let id = format!("column-{}", column.name());
                            let label_for = id.clone();
                            view! {
                                <label class="check" for=label_for>
                                    <input type="checkbox" id=id prop:checked=move || columns.contains(column)
                                        on:change=move |ev| columns.set(column, event_target_checked(&ev)) />
                                    {column.label()}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                </details>
            }
        })
    }
}

/// The keys page showing `query`: only what differs from the defaults is in the URL.
pub fn keys_url(query: &KeyQuery) -> String {
    let mut params = leptos_router::params::ParamsMap::new();
    for (key, value) in query.to_params() {
        params.insert(key, value);
    }
    format!("/keys{}", params.to_query_string())
}

/// One page of the organization's keys. Only prefixes and masked previews: never a secret.
#[component]
pub fn KeysTable(
    keys: Vec<ApiKey>,
    columns: ShownColumns,
    on_revoke: Callback<ApiKey>,
    /// A box per key the member may disable, sent with the form of this id.
    select_for: Option<&'static str>,
) -> impl IntoView {
    use OptionalColumn::*;
    let member = current_member();
    let rows = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            // Only what the member may do is offered; the server refuses the rest anyway.
            let may_change = member.as_ref().is_some_and(|m| m.may_change(&key));
            let revocable = key.status.can_revoke() && may_change;
            let selectable = key.status.can_disable() && may_change;
            let grace = key.previous_valid_until.is_some();
            // A box named by its row's key, as the name cell reads (so the row's own name still
            // starts with the key's).
            let name_id = format!("key-name-{}", key.id);
            let select = select_for.map(|form| {
                let labelled_by = name_id.clone();
                view! {
                    <td class="select">
                        {selectable.then(|| view! {
                            <input type="checkbox" form=form name=format!("key_ids[{i}]") value=key.id.to_string()
                                aria-labelledby=labelled_by />
                        })}
                    </td>
                }
            });
            view! {
                <tr>
                    {select}
                    <th scope="row">
                        <a id=name_id class="key-name" href=format!("/keys/{}", key.id)>{key.name.clone()}</a>
                        {key.decoy.then(|| view! { " "<span class="badge badge-decoy">"Decoy"</span> })}
                        {key.leak.is_some().then(|| view! { " "<span class="badge badge-revoked">"Leaked"</span> })}
                        {key.description.clone().map(|d| view! { <span class="key-description">{d}</span> })}
                    </th>
                    <td class="col-key">
                        <code class="key-preview" title=key.prefix.clone()>{key.preview.clone()}</code>
                        {grace.then(|| view! { <span class="grace">"Old secret still valid"</span> })}
                    </td>
                    <td class="col-project">{key.project_name.clone()}</td>
                    // Who it is for, linked to that customer's keys.
                    <td class="col-external_id">
                        {key.external_id.clone().map(|id| {
                            let theirs = keys_url(&KeyQuery { external_id: Some(id.clone()), ..KeyQuery::default() });
                            view! { <a href=theirs>{id}</a> }
                        })}
                    </td>
                    <td><span class=format!("env env-{}", key.environment.as_str())>{key.environment.label()}</span></td>
                    <td>
                        <StatusBadge status=key.status />
                        // A metered key's credits, where a person looks for whether it still works.
                        {key.credits.map(|credits| view! { <span class="credits-left">{credits.summary()}</span> })}
                    </td>
                    <td class="col-scopes">{key.scopes.summary()}</td>
                    <td class="col-rate_limit">{key.rate_limit.map_or_else(|| "None".to_owned(), crate::model::RateLimit::summary)}</td>
                    <td class="col-expires">{key.expires_at.map_or_else(|| "Never".to_owned(), format_date)}</td>
                    <td class="col-last-used">
                        <RelativeTimeOr at=key.last_used_at />
                    </td>
                    <td class="col-created_by">{key.created_by.clone()}</td>
                    <td class="col-created">
                        <time datetime=iso_time(key.created_at) title=format_time(key.created_at)>{format_date(key.created_at)}</time>
                    </td>
                    <td class="actions"><RowMenu key revocable on_revoke /></td>
                </tr>
            }
        })
        .collect_view();
    let header = |column: OptionalColumn| {
        view! { <th scope="col" class=format!("col-{}", column.name())>{column.label()}</th> }
    };

    view! {
        <div class="table-wrap">
            <table class=move || columns.table_class()>
                <caption class="visually-hidden">"API keys"</caption>
                <thead>
                    <tr>
                        {select_for.map(|_| view! { <th scope="col" class="select"><span class="visually-hidden">"Select"</span></th> })}
                        <th scope="col">"Name"</th>
                        <th scope="col" class="col-key">"Key"</th>
                        {header(Project)}
                        {header(ExternalId)}
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Status"</th>
                        {header(Scopes)}
                        {header(RateLimit)}
                        {header(Expires)}
                        <th scope="col" class="col-last-used">"Last used"</th>
                        {header(CreatedBy)}
                        {header(Created)}
                        <th scope="col" class="actions"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// A row's "⋯" menu: a popover its button opens (the browser does it, and closes it on a click
/// elsewhere or Escape), anchored to the button, with the key's page and what the member may do.
#[component]
fn RowMenu(key: ApiKey, revocable: bool, on_revoke: Callback<ApiKey>) -> impl IntoView {
    let menu_id = format!("key-menu-{}", key.id);
    let menu_label = format!("Actions for {}", key.name);
    let revoke_label = format!("Revoke {}", key.name);
    let href = format!("/keys/{}", key.id);
    view! {
        <button type="button" class="button button-quiet row-menu-button" popovertarget=menu_id.clone()
            aria-label=menu_label>
            "⋯"
        </button>
        <div id=menu_id class="row-menu" popover="auto">
            <a href=href>"Open"</a>
            {revocable.then(|| view! {
                <button type="button" class="button button-danger-quiet" aria-label=revoke_label
                    on:click=move |_| on_revoke.run(key.clone())>
                    "Revoke"
                </button>
            })}
        </div>
    }
}

/// Shown when the organization has no key yet: the one Create button, and the three steps from
/// nothing to a verified key.
#[component]
pub fn EmptyKeys(on_create: Callback<()>) -> impl IntoView {
    let command = verify_command(&site_origin(), "kw_live_…");
    view! {
        <section class="empty-state" aria-labelledby="empty-keys-title">
            <h2 id="empty-keys-title">"No API keys yet"</h2>
            <p>
                "API keys let your services and customers call your API. Create one per integration, "
                "so that you can revoke it alone when it is no longer needed."
            </p>
            <ol class="quickstart">
                <li>
                    <strong>"Create a verifier key"</strong>
                    " with the Verifier preset: your API presents it when it asks Keyward about a key, "
                    "and it can do nothing else."
                </li>
                <li><strong>"Create a key"</strong>" for a customer or an integration, with the scopes it needs."</li>
                <li>
                    <strong>"Verify it"</strong>" as your API will, with the new key in place of kw_live_…:"
                    <code class="command">{command}</code>
                </li>
            </ol>
            <button type="button" class="button button-primary" commandfor=CREATE_DIALOG command="show-modal"
                on:click=move |_| on_create.run(())>
                "Create API Key"
            </button>
        </section>
    }
}

/// The id of the create dialog, which a `commandfor` names.
pub const CREATE_DIALOG: &str = "create-key";

/// Where the create form goes without JavaScript (or before it runs): a route that creates the
/// key and answers with the keys page showing its token (see `server/src/dashboard.rs`).
pub const CREATE_WITHOUT_SCRIPT: &str = "/keys/new";

/// The create form, in a dialog, in the page while closed: a button naming [`CREATE_DIALOG`] in its
/// `commandfor` opens it with or without the page's code. Once that code runs, the form posts to
/// the `create_key` server function; without it, to [`CREATE_WITHOUT_SCRIPT`], whose refusal comes
/// back as `refused`.
#[component]
pub fn CreateKeyDialog(
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    action: ServerAction<CreateKey>,
    projects: Vec<Project>,
    refused: Option<AppError>,
) -> impl IntoView {
    let value = action.value();

    // The dialog's content is made afresh each time it opens (so no stale input); a stale error
    // from the last attempt is cleared too.
    Effect::new(move |_| {
        if open.get() && value.with_untracked(|v| matches!(v, Some(Err(_)))) {
            value.set(None);
        }
    });
    let projects = StoredValue::new(projects);
    // A refusal of the form sent without JavaScript, until the form is sent again from here.
    let refused = StoredValue::new(refused);
    let refused = move || value.with(Option::is_none).then(|| refused.get_value()).flatten();

    view! {
        <Modal id=CREATE_DIALOG title="Create API Key" open on_close opens_without_script=true>
            <CreateKeyForm action projects refused=Signal::derive(refused) on_close />
        </Modal>
    }
}

/// The fields the create form marks itself: their messages sit under each.
const CREATE_FIELDS: &[&str] = &[
    "name",
    "description",
    "project_id",
    "environment",
    "scopes",
    "expiration",
    "expires_on",
    "rate_limit_window",
    "rate_limit_requests",
    "credits",
    "refill",
    "refill_amount",
    "refill_day",
];

/// The create form's content, made afresh each time the dialog opens: its inputs, and the
/// sentence that sums up the key they describe.
#[component]
fn CreateKeyForm(
    action: ServerAction<CreateKey>,
    projects: StoredValue<Vec<Project>>,
    refused: Signal<Option<AppError>>,
    on_close: Callback<()>,
) -> impl IntoView {
    let pending = action.pending();
    // What this form's last attempt was refused for: sent from here, or without JavaScript.
    let errors = FormErrors::of(action.value()).or(refused);
    // The scopes offered follow the project picked.
    let picked = RwSignal::new(projects.with_value(|all| all.first().map(|p| p.id)));
    let defined = Signal::derive(move || {
        let picked = picked.get();
        projects
            .with_value(|all| all.iter().find(|p| Some(p.id) == picked).map(|p| p.scopes.clone()).unwrap_or_default())
    });
    // Least privilege first: anything more is a choice the person makes.
    let scopes = ScopeChoice::new(&ScopePreset::FOR_NEW_KEYS.scopes());
    let environment = RwSignal::new(Environment::VARIANTS[0]);
    let expiry = ExpiryChoice::default();

    view! {
        <ActionForm action attr:class="form">
            // Sent only without JavaScript: the same form posted twice (a reload of its answer)
            // creates one key.
            <input type="hidden" name="form_id" value=form_id() />
            <NameFields errors />
            <div class="field-row">
                <div class="field">
                    <label for="key-project">"Project"</label>
                    <select id="key-project" name="project_id" aria-invalid=errors.invalid("project_id")
                        aria-describedby=errors.described_by("project_id", "key-project", None)
                        on:change=move |ev| picked.set(event_target_value(&ev).parse().ok())>
                        {projects.get_value().into_iter().map(|p| view! {
                            <option value=p.id.to_string()>{p.name}</option>
                        }).collect_view()}
                    </select>
                    <FieldMessage errors field="project_id" id="key-project" />
                </div>
                <div class="field">
                    <label for="key-environment">"Environment"</label>
                    <select id="key-environment" name="environment" aria-invalid=errors.invalid("environment")
                        aria-describedby=errors.described_by("environment", "key-environment", None)
                        on:change=move |ev| {
                            if let Ok(e) = event_target_value(&ev).parse() {
                                environment.set(e);
                            }
                        }>
                        {Environment::VARIANTS.iter().copied().map(|e| view! {
                            <option value=e.as_str()>{e.label()}</option>
                        }).collect_view()}
                    </select>
                    <FieldMessage errors field="environment" id="key-environment" />
                </div>
            </div>
            <ScopePicker choice=scopes defined errors />
            <ExpiryFields errors choice=expiry />
            <RateLimitFields errors initial=None />
            <CreditFields errors initial=None />
            <div class="field">
                <label class="check">
                    <input type="checkbox" name="decoy" value="true" aria-describedby="key-decoy-hint" />
                    "Decoy key (honeytoken)"
                </label>
                <small id="key-decoy-hint" class="hint">
                    "It never works. Leave it where an intruder would look: every use of it raises an alert. \
                     Decoys do not count against your plan."
                </small>
            </div>
            <NewKeyOutline scopes environment expiry />
            <FormError errors shown=CREATE_FIELDS />
            <div class="dialog-actions">
                <button type="button" class="button" commandfor=CREATE_DIALOG command="close"
                    on:click=move |_| on_close.run(())>"Cancel"</button>
                <button type="submit" class="button button-primary" formaction=CREATE_WITHOUT_SCRIPT
                    disabled=move || pending.get()>
                    {move || if pending.get() { "Creating…" } else { "Create key" }}
                </button>
            </div>
        </ActionForm>
    }
}

/// A key's name and description, as the create form and a key's edit form both ask for them (the
/// latter with the key's own, and ids of its own, since a page may hold both forms).
#[component]
pub fn NameFields(
    errors: FormErrors,
    #[prop(optional)] name: Option<String>,
    #[prop(optional)] description: Option<String>,
    #[prop(optional)] editing: bool,
) -> impl IntoView {
    let (name_id, hint_id, description_id) = if editing {
        ("edit-key-name", "edit-key-name-hint", "edit-key-description")
    } else {
        ("key-name", "key-name-hint", "key-description")
    };
    view! {
        <div class="field">
            <label for=name_id>"Name"</label>
            <input id=name_id name="name" type="text" required value=name maxlength=KeyName::MAX_CHARS.to_string()
                autocomplete="off" placeholder="e.g. Production backend"
                aria-invalid=errors.invalid("name") aria-describedby=errors.described_by("name", name_id, Some(hint_id)) />
            <small id=hint_id class="hint">"1 to 64 characters, to recognise the key later."</small>
            <FieldMessage errors field="name" id=name_id />
        </div>
        <div class="field">
            <label for=description_id>"Description (optional)"</label>
            <textarea id=description_id name="description" rows="2" maxlength=NewKey::MAX_DESCRIPTION_CHARS.to_string()
                aria-invalid=errors.invalid("description")
                aria-describedby=errors.described_by("description", description_id, None)>
                {description}
            </textarea>
            <FieldMessage errors field="description" id=description_id />
        </div>
    }
}

/// One sentence that sums up the key before it is made: "Can read keys and the audit log, in
/// Production, expires 23 Feb 2027." Kept true by the page's code, so shown only with it.
#[component]
fn NewKeyOutline(scopes: ScopeChoice, environment: RwSignal<Environment>, expiry: ExpiryChoice) -> impl IntoView {
    let hydrated = use_hydrated();
    let sentence = move || {
        let scopes = scopes.scopes();
        let environment = environment.get();
        let now = now();
        match Expiration::from_form(&expiry.choice.get(), Some(&expiry.date.get())).and_then(|e| e.expires_at(now)) {
            Ok(expires_at) => KeyOutline { scopes, environment, expires_at }.to_string(),
            // No date yet, or a bad one (its field says why once the form is sent).
            Err(_) => format!("{}, in {}; pick the day it expires.", scopes.in_words(), environment.label()),
        }
    };
    move || {
        hydrated.get().then(|| {
            view! {
                <p class="key-outline" aria-live="polite">
                    <span class="visually-hidden">"Summary: "</span>{sentence}
                </p>
            }
        })
    }
}

/// A new id for each create form the server renders; the browser's code needs none.
fn form_id() -> String {
    #[cfg(feature = "ssr")]
    return uuid::Uuid::now_v7().to_string();
    #[cfg(not(feature = "ssr"))]
    String::new()
}

/// A new token (from a create or a rotation), shown this once, with a Copy button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReveal {
    pub key_name: String,
    pub token: String,
}

impl From<&CreatedKey> for TokenReveal {
    fn from(created: &CreatedKey) -> Self {
        Self { key_name: created.key.name.clone(), token: created.token.clone() }
    }
}

impl From<&RotatedKey> for TokenReveal {
    fn from(rotated: &RotatedKey) -> Self {
        Self { key_name: rotated.key.name.clone(), token: rotated.token.clone() }
    }
}

impl TokenReveal {
    /// The token an action just returned, if it succeeded.
    pub fn from_action<T>(value: MappedSignal<Option<Result<T, AppError>>>) -> Signal<Option<Self>>
    where
        T: Send + Sync + 'static,
        for<'a> &'a T: Into<TokenReveal>,
    {
        Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).map(Into::into)))
    }
}

const TOKEN_DIALOG: &str = "new-token";

/// The token, shown once: Copy answers as it is pressed, a `curl` line tries the key, and
/// Escape before Copy asks whether the key was saved (the explicit "I have saved it" does not).
#[component]
pub fn TokenDialog(#[prop(into)] reveal: Signal<Option<TokenReveal>>, on_close: Callback<()>) -> impl IntoView {
    let copied_once = RwSignal::new(false);
    let asking = RwSignal::new(false);
    // Said in the dialog: a toast would sit behind it.
    let copy_failed = RwSignal::new(false);
    let open = Signal::derive(move || reveal.with(Option::is_some));
    let token = move || reveal.with(|r| r.as_ref().map(|r| r.token.clone()).unwrap_or_default());
    let name = move || reveal.with(|r| r.as_ref().map(|r| r.key_name.clone()).unwrap_or_default());
    let origin = StoredValue::new(site_origin());
    let command = move || origin.with_value(|origin| verify_command(origin, &token()));
    // Each new token starts uncopied.
    Effect::new(move |_| {
        if open.get() {
            copied_once.set(false);
            asking.set(false);
            copy_failed.set(false);
        }
    });

    // The button says so at once: the clipboard can take most of a second to answer, and a
    // person who sees nothing clicks again. A refusal takes it back and says what to do.
    let on_copied = Callback::new(move |copied: bool| {
        copy_failed.set(!copied);
        if !copied {
            copied_once.set(false);
        }
    });
    // Pressing Copy counts at once (Escape then closes without asking); a refusal undoes it.
    let copy_pressed = Callback::new(move |()| {
        copied_once.set(true);
        asking.set(false);
    });
    let may_dismiss = Callback::new(move |()| {
        let saved = copied_once.get_untracked() || asking.get_untracked();
        asking.set(true);
        saved
    });
    let close = move || {
        asking.set(false);
        on_close.run(());
    };

    view! {
        <Modal id=TOKEN_DIALOG title="Save your API key" open on_close may_dismiss>
            <p>"The key "<strong>{name}</strong>" is ready:"</p>
            <div class="token-box">
                <code class="token" aria-label="API key">{token}</code>
                <CopyButton text=Signal::derive(token) on_press=copy_pressed on_result=on_copied />
            </div>
            {move || copy_failed.get().then(|| view! {
                <p class="form-error" role="alert">"Could not copy. Select the key and copy it by hand."</p>
            })}
            <p class="warning" role="note">
                <strong>"This key will not be shown again."</strong>
                " Store it somewhere safe now, such as your secrets manager. If you lose it, rotate or revoke the key."
            </p>
            <p class="token-label" id="try-it">"Try it: verify the key with a verifier key of its project"</p>
            <div class="token-box">
                <code class="command" aria-labelledby="try-it">{command}</code>
                <CopyButton text=Signal::derive(command) label="Copy the command".to_owned()
                    on_result=Callback::new(move |copied: bool| copy_failed.set(!copied)) />
            </div>
            {move || asking.get().then(|| view! {
                <div class="warning" role="alert">
                    <p><strong>"Did you save the key?"</strong>" Once this closes, nobody can see it again."</p>
                    <div class="dialog-actions">
                        <button type="button" class="button" on:click=move |_| asking.set(false)>"Not yet"</button>
                        <button type="button" class="button button-danger" on:click=move |_| close()>
                            "Yes, close"
                        </button>
                    </div>
                </div>
            })}
            <div class="dialog-actions">
                <button type="button" class="button button-primary" commandfor=TOKEN_DIALOG command="close"
                    on:click=move |_| close()>
                    "I have saved it"
                </button>
            </div>
        </Modal>
    }
}

/// Asks before revoking: revocation is permanent. In the keys table, it opens for the key its row's
/// button sets as `target`.
#[component]
pub fn RevokeDialog(target: RwSignal<Option<ApiKey>>, action: ServerAction<RevokeKey>) -> impl IntoView {
    let open = Signal::derive(move || target.with(Option::is_some));
    view! { <RevokeConfirmation target open on_close=Callback::new(move |()| target.set(None)) action /> }
}

/// The same for one key, on its own page: in the page while closed, it is opened by the button
/// naming [`REVOKE_DIALOG`] in its `commandfor`, with or without the page's code.
#[component]
pub fn RevokeKeyDialog(key: ApiKey, open: RwSignal<bool>, action: ServerAction<RevokeKey>) -> impl IntoView {
    let target = RwSignal::new(Some(key));
    view! {
        <RevokeConfirmation target open on_close=Callback::new(move |()| open.set(false)) action opens_without_script=true />
    }
}

/// The id of the revoke dialog, which a `commandfor` names.
pub const REVOKE_DIALOG: &str = "revoke-key";

#[component]
fn RevokeConfirmation(
    target: RwSignal<Option<ApiKey>>,
    #[prop(into)] open: Signal<bool>,
    on_close: Callback<()>,
    action: ServerAction<RevokeKey>,
    #[prop(optional)] opens_without_script: bool,
) -> impl IntoView {
    let pending = action.pending();
    let name = move || target.with(|k| k.as_ref().map(|k| k.name.clone()).unwrap_or_default());
    let prefix = move || target.with(|k| k.as_ref().map(|k| k.prefix.clone()).unwrap_or_default());

    view! {
        <Modal id=REVOKE_DIALOG title="Revoke API key" open on_close opens_without_script>
            <p>
                "Revoke "<strong>{name}</strong>" ("<code>{prefix}</code>")? Every request that uses it will be refused "
                "immediately. This cannot be undone; the key stays listed as revoked."
            </p>
            <ActionForm action>
                <input type="hidden" name="id"
                    value=move || target.with(|k| k.as_ref().map(|k| k.id.to_string()).unwrap_or_default()) />
                <ConfirmButtons dialog=REVOKE_DIALOG on_cancel=on_close pending label="Revoke key" busy="Revoking…"
                    danger=true />
            </ActionForm>
        </Modal>
    }
}

/// When the key will stop working, as picked: `never`, a number of days, or `date` and the date.
#[derive(Debug, Clone, Copy)]
pub struct ExpiryChoice {
    pub choice: RwSignal<String>,
    pub date: RwSignal<String>,
}

impl Default for ExpiryChoice {
    fn default() -> Self {
        Self { choice: RwSignal::new(Expiration::SUGGESTED_DAYS.to_string()), date: RwSignal::new(String::new()) }
    }
}

impl ExpiryChoice {
    /// For a key that has one already: "keep" it, to start with.
    pub fn keeping() -> Self {
        Self { choice: RwSignal::new(KEEP.to_owned()), date: RwSignal::new(String::new()) }
    }
}

/// The expiry choice that leaves a key's expiry as it is.
const KEEP: &str = "keep";

/// When the key stops working: a period (90 days to start with), a date, or never; for a key that
/// exists, also as it is (`keep`, which names its current expiry).
#[component]
pub fn ExpiryFields(errors: FormErrors, choice: ExpiryChoice, #[prop(optional)] keep: Option<String>) -> impl IntoView {
    let ExpiryChoice { choice, date } = choice;
    let picked = choice.get_untracked();
    view! {
        <div class="field-row">
            <div class="field">
                <label for="key-expiration">"Expiration"</label>
                <select id="key-expiration" name="expiration" aria-invalid=errors.invalid("expiration")
                    aria-describedby=errors.described_by("expiration", "key-expiration", None)
                    on:change=move |ev| choice.set(event_target_value(&ev))>
                    {keep.map(|current| view! { <option value=KEEP selected=true>{format!("As it is: {current}")}</option> })}
                    <option value="never">"Never"</option>
                    {Expiration::PRESET_DAYS.into_iter().map(|d| view! {
                        <option value=d.to_string() selected=picked == d.to_string()>
                            {if d == 365 { "1 year".to_owned() } else { format!("{d} days") }}
                        </option>
                    }).collect_view()}
                    <option value="date">"On a date"</option>
                </select>
                // Shown by the style sheet while "Never" is picked, with or without the page's code.
                <small class="field-warning never-expires">
                    "A key that never expires works until someone revokes it, long after it is forgotten."
                </small>
                <FieldMessage errors field="expiration" id="key-expiration" />
            </div>
            // In the server's HTML whatever the choice, so that a date can be given without the
            // page's code (it is read only for "On a date"); once the code runs, shown and
            // required only then, and whenever its date was refused.
            <div class="field" prop:hidden=move || choice.with(|c| c != "date") && errors.about("expires_on").is_none()>
                <label for="key-expires-on">"Expires on"</label>
                <input id="key-expires-on" name="expires_on" type="date"
                    min=format_date(now() + chrono::Duration::days(1))
                    max=format_date(now() + chrono::Duration::days(Expiration::MAX_DAYS))
                    prop:required=move || choice.with(|c| c == "date")
                    on:input=move |ev| date.set(event_target_value(&ev))
                    aria-invalid=errors.invalid("expires_on")
                    aria-describedby=errors.described_by("expires_on", "key-expires-on", None) />
                <FieldMessage errors field="expires_on" id="key-expires-on" />
            </div>
        </div>
    }
}

/// Requests per second, minute or hour, or none.
#[component]
pub fn RateLimitFields(errors: FormErrors, initial: Option<RateLimit>) -> impl IntoView {
    let window = RwSignal::new(initial.map_or("none", |l| l.window.as_str()).to_owned());
    let requests = initial.map_or_else(|| "100".to_owned(), |l| l.requests.to_string());
    view! {
        <div class="field-row">
            <div class="field">
                <label for="key-rate-window">"Rate limit"</label>
                <select id="key-rate-window" name="rate_limit_window" aria-invalid=errors.invalid("rate_limit_window")
                    aria-describedby=errors.described_by("rate_limit_window", "key-rate-window", None)
                    on:change=move |ev| window.set(event_target_value(&ev))>
                    <option value="none" selected=move || window.with(|w| w == "none")>"No limit"</option>
                    {RateWindow::VARIANTS.iter().copied().map(|w| view! {
                        <option value=w.as_str() selected=move || window.with(|c| c == w.as_str())>
                            {format!("Per {}", w.as_str())}
                        </option>
                    }).collect_view()}
                </select>
                <FieldMessage errors field="rate_limit_window" id="key-rate-window" />
            </div>
            <div class="field">
                <label for="key-rate-requests">"Requests"</label>
                <input id="key-rate-requests" name="rate_limit_requests" type="number" min="1"
                    max=RateLimit::MAX_REQUESTS.to_string() value=requests
                    // Without the page's code the field stays open (it is read only with a window).
                    prop:disabled=move || window.with(|w| w == "none")
                    aria-invalid=errors.invalid("rate_limit_requests")
                    aria-describedby=errors.described_by("rate_limit_requests", "key-rate-requests", None) />
                <FieldMessage errors field="rate_limit_requests" id="key-rate-requests" />
            </div>
        </div>
    }
}

/// "37 of 50 left, refills on the 1st", or "Unlimited".
pub fn credits_in_words(credits: Option<KeyCredits>) -> String {
    credits.map_or_else(|| "Unlimited".to_owned(), KeyCredits::summary)
}

/// The fields of a key's credits, as the create form and the credits dialog ask for them.
pub const CREDIT_FIELDS: &[&str] = &["credits", "refill", "refill_amount", "refill_day"];

/// How many successful verifications a key may have (blank: unlimited), and how they come back:
/// never, daily, or monthly on a day, set to an amount.
#[component]
pub fn CreditFields(errors: FormErrors, initial: Option<KeyCredits>) -> impl IntoView {
    let refill = initial.and_then(|c| c.refill);
    let period = RwSignal::new(refill.map_or("none", |r| r.period.as_str()).to_owned());
    let credits = initial.map(|c| c.remaining.to_string());
    let amount = refill.map(|r| r.amount.to_string());
    let day =
        refill.filter(|r| r.period == RefillPeriod::Monthly).map_or_else(|| "1".to_owned(), |r| r.day.to_string());
    let max = MAX_CREDITS.to_string();
    view! {
        <div class="field-row">
            <div class="field">
                <label for="key-credits">"Credits"</label>
                <input id="key-credits" name="credits" type="number" min="0" max=max.clone() value=credits
                    inputmode="numeric" placeholder="Unlimited"
                    aria-invalid=errors.invalid("credits")
                    aria-describedby=errors.described_by("credits", "key-credits", Some("key-credits-hint")) />
                <small id="key-credits-hint" class="hint">"Valid verifications allowed; blank for unlimited."</small>
                <FieldMessage errors field="credits" id="key-credits" />
            </div>
            <div class="field">
                <label for="key-refill">"Refill"</label>
                <select id="key-refill" name="refill" aria-invalid=errors.invalid("refill")
                    aria-describedby=errors.described_by("refill", "key-refill", None)
                    on:change=move |ev| period.set(event_target_value(&ev))>
                    <option value="none" selected=move || period.with(|p| p == "none")>"Never"</option>
                    <option value="daily" selected=move || period.with(|p| p == "daily")>"Daily"</option>
                    <option value="monthly" selected=move || period.with(|p| p == "monthly")>"Monthly"</option>
                </select>
                <FieldMessage errors field="refill" id="key-refill" />
            </div>
        </div>
        <div class="field-row">
            <div class="field">
                <label for="key-refill-amount">"Refill to"</label>
                <input id="key-refill-amount" name="refill_amount" type="number" min="1" max=max value=amount
                    inputmode="numeric" placeholder="The credits above"
                    // Without the page's code the fields stay open (they are read only with a refill).
                    prop:disabled=move || period.with(|p| p == "none")
                    aria-invalid=errors.invalid("refill_amount")
                    aria-describedby=errors.described_by("refill_amount", "key-refill-amount", None) />
                <FieldMessage errors field="refill_amount" id="key-refill-amount" />
            </div>
            <div class="field">
                <label for="key-refill-day">"Day of the month"</label>
                <input id="key-refill-day" name="refill_day" type="number" min="1" max="31" value=day
                    prop:disabled=move || period.with(|p| p != "monthly")
                    aria-invalid=errors.invalid("refill_day")
                    aria-describedby=errors.described_by("refill_day", "key-refill-day", Some("key-refill-day-hint")) />
                <small id="key-refill-day-hint" class="hint">"31: the month's last day. Refills at 00:00 UTC."</small>
                <FieldMessage errors field="refill_day" id="key-refill-day" />
            </div>
        </div>
    }
}

/// The figures above the table.
#[component]
pub fn StatsBar(stats: KeyStats) -> impl IntoView {
    // What counts toward the plan is every key not revoked: disabled and expired ones too.
    let counted = match stats.max_keys {
        Some(max) => format!(
            "{} of {} allowed by your plan; every key not revoked counts, decoys aside",
            grouped(stats.live),
            grouped(max.into())
        ),
        None => format!("{} not revoked; your plan has no limit", grouped(stats.live)),
    };
    view! {
        <dl class="stats">
            <div class="stat"><dt>"Total keys"</dt><dd>{grouped(stats.total_created)}</dd><dd class="note">"ever created"</dd></div>
            <div class="stat"><dt>"Active keys"</dt><dd>{grouped(stats.active)}</dd><dd class="note">{counted}</dd></div>
            <div class="stat">
                <dt>"API calls (24h)"</dt><dd>{grouped(stats.calls_24h)}</dd>
                <dd class="note">"verifications and API calls"</dd>
            </div>
            <div class="stat">
                <dt>"Last call"</dt>
                <dd>
                    <RelativeTimeOr at=stats.last_call />
                </dd>
                <dd class="note">"any key"</dd>
            </div>
        </dl>
    }
}
