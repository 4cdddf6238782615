//! Choosing a key's scopes: a preset, or a grouped checklist, plus custom scopes for the project's API
//! (those the project defines as checkboxes, any other typed in).

use super::{FieldMessage, FormErrors};
use crate::model::{CustomScope, ManagementScope, ScopePreset, ScopeSet};
use leptos::prelude::*;
use std::collections::BTreeSet;
use strum::VariantArray;

/// The checkboxes' own name: what a form sent without the page's code posts (each checked
/// scope); the page's code posts `scopes` instead, which it fills.
pub const CHECKED_SCOPE: &str = "scope[]";

/// The scopes being picked: the checked management scopes, and the custom scopes' text. Made
/// where the form is made, so that what else the form shows (the create dialog's summary) can
/// follow it.
#[derive(Debug, Clone, Copy)]
pub struct ScopeChoice {
    checked: RwSignal<BTreeSet<String>>,
    /// The custom scopes, as typed; the checkboxes of the project's defined ones edit it.
    custom: RwSignal<String>,
}

impl ScopeChoice {
    pub fn new(initial: &ScopeSet) -> Self {
        let (management, custom): (Vec<_>, Vec<_>) =
            initial.iter().map(|s| s.to_string()).partition(|s| ManagementScope::from_name(s).is_some());
        Self { checked: RwSignal::new(management.into_iter().collect()), custom: RwSignal::new(custom.join(" ")) }
    }

    /// The valid scopes picked so far (a bad custom scope is named when the form is sent).
    pub fn scopes(&self) -> ScopeSet {
        let checked = self.checked.get();
        let custom = self.custom.get();
        let valid = checked
            .iter()
            .map(String::as_str)
            .chain(custom.split([' ', ',']))
            .filter(|s| crate::model::Scope::parse(s).is_ok())
            .collect::<Vec<_>>();
        ScopeSet::parse(valid).unwrap_or_default()
    }
}

/// Posts `scopes` (the checked management scopes, space-separated) and `custom_scopes`.
#[component]
pub fn ScopePicker(
    choice: ScopeChoice,
    /// The custom scopes the key's project defines.
    #[prop(into, optional)]
    defined: Signal<Vec<CustomScope>>,
    /// The form's refusal: a bad scope (almost always a typed one) is said under the custom scopes.
    errors: FormErrors,
) -> impl IntoView {
    let ScopeChoice { checked, custom } = choice;
    let joined = move || checked.with(|c| c.iter().cloned().collect::<Vec<_>>().join(" "));

    view! {
        <fieldset class="scope-picker">
            <legend>"Scopes"</legend>
            <input type="hidden" name="scopes" prop:value=joined />
            <Presets checked />
            <ManagementScopes checked />
            <ProjectScopes defined custom />
            <div class="field">
                <label for="custom-scopes">"Custom scopes for your API"</label>
                <input id="custom-scopes" name="custom_scopes" type="text" autocomplete="off"
                    value=custom.get_untracked() prop:value=move || custom.get()
                    on:input=move |ev| custom.set(event_target_value(&ev))
                    placeholder="e.g. telemetry.write orders.read" aria-invalid=errors.invalid("scopes")
                    aria-describedby=errors.described_by("scopes", "custom-scopes", Some("custom-scopes-hint")) />
                <small id="custom-scopes-hint" class="hint">"resource.action, separated by spaces or commas."</small>
                <FieldMessage errors field="scopes" id="custom-scopes" />
            </div>
        </fieldset>
    }
}

/// One button per preset, pressed while the checked scopes are exactly its own.
#[component]
fn Presets(checked: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let matches = move |preset: ScopePreset| {
        checked.with(|c| {
            c.iter().eq(preset.scopes().iter().map(|s| s.as_str().to_owned()).collect::<BTreeSet<_>>().iter())
        })
    };
    let apply = move |preset: ScopePreset| checked.set(preset.scopes().to_strings().into_iter().collect());
    view! {
        <div class="presets" role="group" aria-label="Presets">
            {ScopePreset::VARIANTS.iter().copied().map(|preset| view! {
                <button type="button" class="button button-small" aria-pressed=move || matches(preset).to_string()
                    on:click=move |_| apply(preset)>
                    {preset.label()}
                </button>
            }).collect_view()}
        </div>
    }
}

/// Keyward's own scopes, a checkbox each, grouped by what they concern.
#[component]
fn ManagementScopes(checked: RwSignal<BTreeSet<String>>) -> impl IntoView {
    ManagementScope::grouped()
        .into_iter()
        .map(|(group, scopes)| {
            view! {
                <fieldset class="scope-group">
                    <legend>{group}</legend>
                    {scopes.into_iter().map(|scope| {
                        let name = scope.as_str();
                        let id = format!("scope-{}", name.replace('.', "-"));
                        let label_for = id.clone();
                        view! {
                            <label class="check" for=label_for>
                                <input type="checkbox" id=id name=CHECKED_SCOPE value=name
                                    checked=checked.with_untracked(|c| c.contains(name))
                                    prop:checked=move || checked.with(|c| c.contains(name))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        checked.update(|c| { if on { c.insert(name.to_owned()); } else { c.remove(name); } });
                                    } />
                                <code>{name}</code>
                                <span class="hint">{scope.description()}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            }
        })
        .collect_view()
}

/// The custom scopes the project defines, as checkboxes that add their names to (or take them
/// from) the custom scopes' text field.
#[component]
fn ProjectScopes(defined: Signal<Vec<CustomScope>>, custom: RwSignal<String>) -> impl IntoView {
    let has = move |name: &str| custom.with(|c| c.split([' ', ',']).any(|s| s == name));
    let toggle = move |name: &str, on: bool| {
        custom.update(|c| {
            let mut names: Vec<String> =
                c.split([' ', ',']).filter(|s| !s.is_empty() && *s != name).map(str::to_owned).collect();
            if on {
                names.push(name.to_owned());
            }
            *c = names.join(" ");
        });
    };
    move || {
        let defined = defined.get();
        (!defined.is_empty()).then(|| {
            view! {
                <fieldset class="scope-group">
                    <legend>"Defined in this project"</legend>
                    {defined.into_iter().map(|scope| {
                        let id = format!("custom-scope-{}", scope.name.replace('.', "-"));
                        let label_for = id.clone();
                        let (checked_name, toggled_name) = (scope.name.clone(), scope.name.clone());
                        view! {
                            <label class="check" for=label_for>
                                <input type="checkbox" id=id name=CHECKED_SCOPE value=scope.name.clone()
                                    prop:checked=move || has(&checked_name)
                                    on:change=move |ev| toggle(&toggled_name, event_target_checked(&ev)) />
                                <code>{scope.name}</code>
                                <span class="hint">{scope.description}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            }
        })
    }
}
