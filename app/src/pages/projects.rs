//! Projects: the APIs an organization's keys are for, and the custom scopes each one understands.

use crate::api::projects::{
    CreateProject, DefineProjectScope, RemoveProjectScope, RenameProject, SetProjectArchived, list_project_overview,
};
use crate::components::{
    ErrorMessage, FieldMessage, FormError, FormErrors, RequireSession, current_member, error_message, format_date,
    use_toasts,
};
use crate::model::{AppError, ChartWindow, Permission, ProjectOverview};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use strum::VariantArray;
use uuid::Uuid;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <Title text="Projects" />
        <RequireSession>
            <ProjectsView />
        </RequireSession>
    }
}

/// The page's actions. The list refetches after each one that succeeds: after a refusal it stays,
/// with what was typed, and the refusal under the form of the project it was for.
#[derive(Clone, Copy)]
struct ProjectActions {
    create: ServerAction<CreateProject>,
    rename: ServerAction<RenameProject>,
    archive: ServerAction<SetProjectArchived>,
    define: ServerAction<DefineProjectScope>,
    remove: ServerAction<RemoveProjectScope>,
    /// The project whose card sent the last change.
    sent_from: RwSignal<Option<Uuid>>,
    /// Changes that succeeded: the list refetches on each.
    successes: RwSignal<usize>,
}

impl ProjectActions {
    /// The card's last refusal, whichever of its forms it came from.
    fn refusal_for(&self, project: Uuid) -> Option<AppError> {
        if self.sent_from.get() != Some(project) {
            return None;
        }
        let error = |v: Option<Result<_, AppError>>| v.and_then(Result::err);
        error(self.rename.value().get().map(|r| r.map(|_| ())))
            .or_else(|| error(self.archive.value().get().map(|r| r.map(|_| ()))))
            .or_else(|| error(self.define.value().get().map(|r| r.map(|_| ()))))
            .or_else(|| error(self.remove.value().get().map(|r| r.map(|_| ()))))
    }
}

#[component]
fn ProjectsView() -> impl IntoView {
    let actions = ProjectActions {
        create: ServerAction::new(),
        rename: ServerAction::new(),
        archive: ServerAction::new(),
        define: ServerAction::new(),
        remove: ServerAction::new(),
        sent_from: RwSignal::new(None),
        successes: RwSignal::new(0),
    };
    let projects = Resource::new(move || actions.successes.get(), |_| list_project_overview());
    let may_manage = current_member().is_some_and(|m| m.can(Permission::SettingsManage));
    let new_project = NodeRef::<leptos::html::Form>::new();
    report(actions, new_project);
    let errors = FormErrors::of(actions.create.value());

    view! {
        <div class="page-header">
            <div>
                <h1>"Projects"</h1>
                <p class="lead">"Each key belongs to one project: the API it is for, with the custom scopes that API understands."</p>
            </div>
        </div>
        {may_manage.then(|| view! {
            <section class="card" aria-labelledby="new-project-title">
                <h2 id="new-project-title">"New project"</h2>
                <ActionForm action=actions.create node_ref=new_project attr:class="form form-inline">
                    <div class="field">
                        <label for="new-project-name">"Project name"</label>
                        <input id="new-project-name" type="text" name="name" required maxlength="80"
                            aria-invalid=errors.invalid("name")
                            aria-describedby=errors.described_by("name", "new-project-name", None) />
                        <FieldMessage errors field="name" id="new-project-name" />
                    </div>
                    <FormError errors shown=&["name"] />
                    <button type="submit" class="button button-primary" disabled=move || actions.create.pending().get()>
                        "Create project"
                    </button>
                </ActionForm>
            </section>
        })}
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading projects…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) => list
                        .into_iter()
                        .map(|project| view! { <ProjectCard project may_manage actions /> })
                        .collect_view()
                        .into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Every success shows as a toast, and the new project's form empties; refusals show in place.
fn report(actions: ProjectActions, new_project: NodeRef<leptos::html::Form>) {
    let toasts = use_toasts();
    Effect::new(move |_| {
        if let Some(Ok(project)) = actions.create.value().get() {
            actions.successes.update(|n| *n += 1);
            toasts.success(format!("Project {} created.", project.name));
            if let Some(form) = new_project.get() {
                form.reset();
            }
        }
    });
    let outcome = move |result: Option<Result<String, AppError>>| {
        if let Some(Ok(message)) = result {
            actions.successes.update(|n| *n += 1);
            toasts.success(message);
        }
    };
    Effect::new(move |_| outcome(actions.rename.value().get().map(|r| r.map(|()| "Project renamed.".to_owned()))));
    Effect::new(move |_| {
        outcome(actions.archive.value().get().map(|r| {
            r.map(|archived| {
                if archived { "Project archived: it takes no new keys." } else { "Project restored." }.to_owned()
            })
        }))
    });
    Effect::new(move |_| outcome(actions.define.value().get().map(|r| r.map(|s| format!("Scope {} saved.", s.name)))));
    Effect::new(move |_| outcome(actions.remove.value().get().map(|r| r.map(|()| "Scope removed.".to_owned()))));
}

#[component]
fn ProjectCard(project: ProjectOverview, may_manage: bool, actions: ProjectActions) -> impl IntoView {
    let ProjectOverview { id, name, created_at, archived_at, live_keys, scopes } = project;
    let archived = archived_at.is_some();
    let (title_id, labelled_by) = (format!("project-{id}"), format!("project-{id}"));
    let (rename_id, scope_id, description_id) =
        (format!("rename-{id}"), format!("scope-name-{id}"), format!("scope-description-{id}"));
    let (rename_for, scope_for, description_for) = (rename_id.clone(), scope_id.clone(), description_id.clone());
    // The card's last refusal: said once under its name, each field it names marked and described by it.
    let errors = FormErrors::new(Signal::derive(move || actions.refusal_for(id)));
    let error_id = StoredValue::new(format!("project-{id}-error"));
    let described_by = move |field: &'static str| move || errors.about(field).map(|_| error_id.get_value());
    let keys = match live_keys {
        1 => "1 live key".to_owned(),
        n => format!("{n} live keys"),
    };
    let toggle_label = format!("{} {name}", if archived { "Restore" } else { "Archive" });
    let scope_list = if scopes.is_empty() {
        view! { <p class="hint">"None yet. Scopes given to this project's keys are added here as they are first used."</p> }
            .into_any()
    } else {
        let project_name = name.clone();
        view! {
            <ul class="scope-list">
                {scopes.into_iter().map(|scope| {
                    let label = format!("Remove {} from {project_name}", scope.name);
                    let scope_name = scope.name.clone();
                    view! {
                        <li>
                            <code>{scope.name}</code>
                            <span class="hint">
                                {if scope.description.is_empty() { "No description".to_owned() } else { scope.description }}
                            </span>
                            {may_manage.then(|| view! {
                                <ActionForm action=actions.remove on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="inline-form">
                                    <input type="hidden" name="project_id" value=id.to_string() />
                                    <input type="hidden" name="scope" value=scope_name />
                                    <button type="submit" class="button button-danger-quiet button-small" aria-label=label
                                        disabled=move || actions.remove.pending().get()>
                                        "Remove"
                                    </button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card project" aria-labelledby=labelled_by>
            <div class="section-header">
                <h2 id=title_id>
                    {name.clone()}
                    {archived.then(|| view! { " " <span class="badge status-revoked">"Archived"</span> })}
                </h2>
                {may_manage.then(|| view! {
                    <ActionForm action=actions.archive on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="inline-form">
                        <input type="hidden" name="project_id" value=id.to_string() />
                        <input type="hidden" name="archived" value=(!archived).to_string() />
                        <button type="submit" class="button button-quiet" aria-label=toggle_label
                            disabled=move || actions.archive.pending().get()>
                            {if archived { "Restore" } else { "Archive" }}
                        </button>
                    </ActionForm>
                })}
            </div>
            <p class="hint">
                {keys}" · created "{format_date(created_at)}
                {archived_at.map(|at| format!(" · archived {}: no new keys; its keys work until revoked", format_date(at)))}
                " · "<A href=format!("/keys?project={id}")>"View keys"</A>
            </p>
            // Drawn by the server: images, which load when opened and cost the page no code.
            <details class="traffic">
                <summary>"Verifications: last 24 hours, 7 days, 30 days"</summary>
                {ChartWindow::VARIANTS.iter().map(|w| view! {
                    <img src=format!("/projects/{id}/traffic.svg?window={}", w.as_str()) loading="lazy" width="720"
                        alt=format!("Verifications of {name} by verdict over the {}, and its most verified keys", w.label()) />
                }).collect_view()}
            </details>
            {may_manage.then(|| view! {
                <ActionForm action=actions.rename on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="form-row">
                    <input type="hidden" name="project_id" value=id.to_string() />
                    <label for=rename_for>"Name"</label>
                    <input id=rename_id type="text" name="name" required maxlength="80" value=name.clone()
                        aria-invalid=errors.invalid("name") aria-describedby=described_by("name") />
                    <button type="submit" class="button">"Rename"</button>
                </ActionForm>
            })}
            {move || actions.refusal_for(id).map(|error| view! {
                <p id=error_id.get_value() class="form-error" role="alert">{error_message(&error)}</p>
            })}
            <h3>"Custom scopes"</h3>
            {scope_list}
            {may_manage.then(|| view! {
                <ActionForm action=actions.define on:submit=move |_| actions.sent_from.set(Some(id)) attr:class="form-row">
                    <input type="hidden" name="project_id" value=id.to_string() />
                    <label for=scope_for>"Scope"</label>
                    <input id=scope_id type="text" name="scope" required placeholder="telemetry.write" autocomplete="off"
                        aria-invalid=errors.invalid("scope") aria-describedby=described_by("scope") />
                    <label for=description_for>"Description"</label>
                    <input id=description_id type="text" name="description" maxlength="200" placeholder="What it allows"
                        aria-invalid=errors.invalid("description") aria-describedby=described_by("description") />
                    <button type="submit" class="button">"Add scope"</button>
                </ActionForm>
            })}
        </section>
    }
}
