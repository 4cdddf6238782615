//! Every change a person can make to keys, shared by the keys table and the details page, with
//! the result of each reported once, as a toast.

use super::{Toasts, error_message, use_toasts};
use crate::api::keys::{
    CreateKey, DeleteKey, DisableKey, DisableKeys, EditKey, EnableKey, RevokeKey, RotateKey, UpdateKeyCredits,
    UpdateKeyIpAllowlist, UpdateKeyRateLimit, UpdateKeyScopes,
};
use crate::api::organization::ChangePlan;
use crate::model::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[derive(Clone, Copy)]
pub struct KeyActions {
    pub create: ServerAction<CreateKey>,
    pub revoke: ServerAction<RevokeKey>,
    pub disable: ServerAction<DisableKey>,
    /// The keys ticked in the table, at once.
    pub disable_many: ServerAction<DisableKeys>,
    pub enable: ServerAction<EnableKey>,
    pub delete: ServerAction<DeleteKey>,
    pub rotate: ServerAction<RotateKey>,
    pub scopes: ServerAction<UpdateKeyScopes>,
    pub rate_limit: ServerAction<UpdateKeyRateLimit>,
    pub credits: ServerAction<UpdateKeyCredits>,
    pub ip_allowlist: ServerAction<UpdateKeyIpAllowlist>,
    pub edit: ServerAction<EditKey>,
    pub plan: ServerAction<ChangePlan>,
    succeeded: RwSignal<usize>,
}

impl KeyActions {
    /// Changes whenever one of the actions succeeds: lists and figures refetch on it. Not after a
    /// refusal, which changed nothing: refetched, the page would be made again, and a dialog
    /// showing the refusal with what was typed would close.
    pub fn version(&self) -> usize {
        self.succeeded.get()
    }

    /// Reports an action of one page's own (a leak report, a policy) as these are reported, and
    /// counts its successes with theirs: its code then loads with that page, not with every page
    /// that changes keys.
    pub fn report<S>(self, action: ServerAction<S>, errors_too: bool, message: fn(&S::Output) -> String)
    where
        S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        report(action, Report { toasts: use_toasts(), succeeded: self.succeeded }, errors_too, message);
    }
}

pub fn use_key_actions() -> KeyActions {
    expect_context::<KeyActions>()
}

/// The key actions of a page that changes keys (the keys, a key's page, the plan in settings),
/// provided to its components. Made by the page, so that their code loads with it, not with the
/// app's frame.
pub fn provide_key_actions() -> KeyActions {
    let actions = KeyActions {
        create: ServerAction::new(),
        revoke: ServerAction::new(),
        disable: ServerAction::new(),
        disable_many: ServerAction::new(),
        enable: ServerAction::new(),
        delete: ServerAction::new(),
        rotate: ServerAction::new(),
        scopes: ServerAction::new(),
        rate_limit: ServerAction::new(),
        credits: ServerAction::new(),
        ip_allowlist: ServerAction::new(),
        edit: ServerAction::new(),
        plan: ServerAction::new(),
        succeeded: RwSignal::new(0),
    };
    let toasts = Report { toasts: use_toasts(), succeeded: actions.succeeded };
    // Forms (create, scopes, rate limit, plan) show their errors inline; the others as toasts.
    report(actions.create, toasts, false, |k| format!("API key \"{}\" created.", k.key.name));
    report(actions.revoke, toasts, true, |k| format!("API key \"{}\" revoked.", k.name));
    report(actions.disable, toasts, true, |k| format!("API key \"{}\" disabled.", k.name));
    report(actions.disable_many, toasts, true, crate::model::BulkDisabled::summary);
    report(actions.enable, toasts, true, |k| format!("API key \"{}\" enabled.", k.name));
    report(actions.delete, toasts, true, |()| "API key deleted.".to_owned());
    report(actions.rotate, toasts, true, |k| format!("API key \"{}\" rotated.", k.key.name));
    report(actions.scopes, toasts, false, |k| format!("Scopes of \"{}\" saved.", k.name));
    report(actions.rate_limit, toasts, false, |k| format!("Rate limit of \"{}\" saved.", k.name));
    report(actions.credits, toasts, false, |k| format!("Credits of \"{}\" saved.", k.name));
    report(actions.ip_allowlist, toasts, false, |k| format!("IP allowlist of \"{}\" saved.", k.name));
    report(actions.edit, toasts, false, |k| format!("\"{}\" saved.", k.name));
    report(actions.plan, toasts, false, |p| format!("Plan changed to {p}."));
    provide_context(actions);
    actions
}

/// Where an action's result is told: a toast, and the count of successes.
#[derive(Clone, Copy)]
struct Report {
    toasts: Toasts,
    succeeded: RwSignal<usize>,
}

fn report<S>(action: ServerAction<S>, toasts: Report, errors_too: bool, message: fn(&S::Output) -> String)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| match action.value().get() {
        Some(Ok(output)) => {
            toasts.succeeded.update(|n| *n += 1);
            toasts.toasts.success(message(&output));
        }
        Some(Err(e)) if errors_too => toasts.toasts.error(error_message(&e)),
        _ => {}
    });
}
