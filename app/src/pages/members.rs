//! Members: who belongs to the organization, with which role; invitations by one-time link.

use crate::api::members::{
    ChangeMemberRole, InviteMember, RemoveMember, RevokeInvitation, SetMemberSuspended, list_members,
};
use crate::components::{
    CopyButton, DataTable, ErrorMessage, FieldMessage, FormError, FormErrors, Modal, RelativeTimeOr, RequireSession,
    current_member, error_message, format_date, site_origin, use_toasts,
};
use crate::model::{INVITATION_DAYS, MemberList, MemberStatus, MemberView, NewInvitation, Permission, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use strum::VariantArray;

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <Title text="Members" />
        <RequireSession>
            <MembersView />
        </RequireSession>
    }
}

/// The member actions of this page; the list refetches after any of them.
#[derive(Clone, Copy)]
struct MemberActions {
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    role: ServerAction<ChangeMemberRole>,
    suspend: ServerAction<SetMemberSuspended>,
    remove: ServerAction<RemoveMember>,
}

impl MemberActions {
    fn version(&self) -> usize {
        self.invite.version().get()
            + self.revoke.version().get()
            + self.role.version().get()
            + self.suspend.version().get()
            + self.remove.version().get()
    }
}

#[component]
fn MembersView() -> impl IntoView {
    let actions = MemberActions {
        invite: ServerAction::new(),
        revoke: ServerAction::new(),
        role: ServerAction::new(),
        suspend: ServerAction::new(),
        remove: ServerAction::new(),
    };
    let list = Resource::new(move || actions.version(), |_| list_members());
    let me = current_member();
    let may_invite = me.as_ref().is_some_and(|m| m.can(Permission::MembersInvite));
    let invite_open = RwSignal::new(false);
    report(actions);

    view! {
        <div class="page-header">
            <div>
                <h1>"Members"</h1>
                <p class="lead">"Who can see and manage this organization's keys, and with which role."</p>
            </div>
            {may_invite.then(|| view! {
                <button type="button" class="button button-primary" on:click=move |_| invite_open.set(true)>
                    "Invite member"
                </button>
            })}
        </div>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading members…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <MemberTables list actions /> }.into_any(),
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                }
            })}
        </Transition>
        <InviteDialog open=invite_open action=actions.invite />
    }
}

/// Every result shows: a toast for success, a toast with the reason for a refusal.
fn report(actions: MemberActions) {
    let toasts = use_toasts();
    Effect::new(move |_| match actions.role.value().get() {
        Some(Ok(m)) => toasts.success(format!("{} is now {}.", m.name, m.role.label())),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    Effect::new(move |_| match actions.suspend.value().get() {
        Some(Ok(m)) if m.status == MemberStatus::Suspended => toasts.success(format!("{} is suspended.", m.name)),
        Some(Ok(m)) => toasts.success(format!("{} is active again.", m.name)),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    Effect::new(move |_| match actions.remove.value().get() {
        Some(Ok(())) => toasts.success("Member removed."),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
    Effect::new(move |_| match actions.revoke.value().get() {
        Some(Ok(())) => toasts.success("Invitation revoked: its link no longer works."),
        Some(Err(e)) => toasts.error(error_message(&e)),
        None => {}
    });
}

#[component]
fn MemberTables(list: MemberList, actions: MemberActions) -> impl IntoView {
    let me = current_member();
    let may_manage = me.as_ref().is_some_and(|m| m.can(Permission::MembersRoleChange));
    let may_invite = me.as_ref().is_some_and(|m| m.can(Permission::MembersInvite));
    let my_role = me.as_ref().map_or(Role::Viewer, |m| m.role);
    let my_id = me.map(|m| m.user_id);
    let remove_target = RwSignal::new(None::<MemberView>);
    let rows = list
        .members
        .into_iter()
        .map(|member| {
            // Another member, whom this role may change (only an owner changes an owner).
            let changeable =
                may_manage && Some(member.user_id) != my_id && (member.role != Role::Owner || my_role == Role::Owner);
            view! { <MemberRow member changeable my_role actions remove_target /> }
        })
        .collect_view();
    let invitations = list.invitations;
    const MEMBER_COLUMNS: &[&str] = &["Name", "Email", "Role", "Status", "Joined", "Last active"];
    const INVITATION_COLUMNS: &[&str] = &["Email", "Role", "Invited by", "Expires"];
    view! {
        <DataTable caption="Members" columns=MEMBER_COLUMNS actions=true>{rows}</DataTable>
        {(!invitations.is_empty()).then(|| view! {
            <h2>"Open invitations"</h2>
            <DataTable caption="Open invitations" columns=INVITATION_COLUMNS actions=true>
                    {invitations.into_iter().map(|i| {
                        let label = format!("Revoke the invitation for {}", i.email);
                        let id = i.id;
                        view! {
                            <tr>
                                <th scope="row">{i.email}</th>
                                <td>{i.role.label()}</td>
                                <td data-label="Invited by">{i.invited_by}</td>
                                <td data-label="Expires">{format_date(i.expires_at)}</td>
                                <td class="actions">
                                    {may_invite.then(|| view! {
                                        <ActionForm action=actions.revoke attr:class="inline-form">
                                            <input type="hidden" name="id" value=id.to_string() />
                                            <button type="submit" class="button button-danger-quiet" aria-label=label>
                                                "Revoke"
                                            </button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
            </DataTable>
        })}
        <RemoveDialog target=remove_target action=actions.remove />
    }
}

#[component]
fn MemberRow(
    member: MemberView,
    changeable: bool,
    my_role: Role,
    actions: MemberActions,
    remove_target: RwSignal<Option<MemberView>>,
) -> impl IntoView {
    let user_id = member.user_id;
    let suspended = member.status == MemberStatus::Suspended;
    let role_label = format!("Role of {}", member.name);
    let target = member.clone();
    let suspend_label = format!("{} {}", if suspended { "Reactivate" } else { "Suspend" }, member.name);
    // A form with its own button, not a select that acts as it changes: it works before the page's
    // code runs, and choosing a role (with the keyboard, option by option) changes nothing by itself.
    let change_label = format!("Change role of {}", member.name);
    let role_cell = if changeable {
        view! {
            <ActionForm action=actions.role attr:class="inline-form">
                <input type="hidden" name="user_id" value=user_id.to_string() />
                <select name="role" aria-label=role_label>
                    {Role::VARIANTS.iter().copied().filter(|r| my_role.may_assign(*r)).map(|r| view! {
                        <option value=r.as_str() selected=r == member.role>{r.label()}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button button-quiet" aria-label=change_label
                    disabled=move || actions.role.pending().get()>"Change role"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! { <span>{member.role.label()}</span> }.into_any()
    };
    view! {
        <tr>
            <th scope="row">{member.name.clone()}</th>
            <td>{member.email.clone()}</td>
            <td>{role_cell}</td>
            <td><span class=format!("badge status-{}", if suspended { "disabled" } else { "active" })>{member.status.label()}</span></td>
            <td data-label="Joined">{format_date(member.joined_at)}</td>
            <td data-label="Last active">
                <RelativeTimeOr at=member.last_active_at />
            </td>
            <td class="actions">
                {changeable.then(|| view! {
                    <ActionForm action=actions.suspend attr:class="inline-form">
                        <input type="hidden" name="user_id" value=user_id.to_string() />
                        <input type="hidden" name="suspended" value=(!suspended).to_string() />
                        <button type="submit" class="button button-quiet" aria-label=suspend_label.clone()>
                            {if suspended { "Reactivate" } else { "Suspend" }}
                        </button>
                    </ActionForm>
                    <button type="button" class="button button-danger-quiet" aria-label=format!("Remove {}", member.name)
                        on:click=move |_| remove_target.set(Some(target.clone()))>
                        "Remove"
                    </button>
                })}
            </td>
        </tr>
    }
}

#[component]
fn InviteDialog(open: RwSignal<bool>, action: ServerAction<InviteMember>) -> impl IntoView {
    let value = action.value();
    let pending = action.pending();
    let invited = Signal::derive(move || value.get().and_then(Result::ok));
    let errors = FormErrors::of(value);
    let my_role = current_member().map_or(Role::Viewer, |m| m.role);
    let close = Callback::new(move |()| {
        open.set(false);
        // The link is shown once: forgetting it here means it is gone from the page.
        value.set(None);
    });
    view! {
        <Modal id="invite-member" title="Invite member" open on_close=close>
            {move || match invited.get() {
                Some(invitation) => view! { <InvitationLink invitation on_done=close /> }.into_any(),
                None => view! {
                    <ActionForm action attr:class="form">
                        <div class="field">
                            <label for="invite-email">"Email"</label>
                            <input id="invite-email" name="email" type="email" required autocomplete="off"
                                aria-invalid=errors.invalid("email")
                                aria-describedby=errors.described_by("email", "invite-email", None) />
                            <FieldMessage errors field="email" id="invite-email" />
                        </div>
                        <div class="field">
                            <label for="invite-role">"Role"</label>
                            <select id="invite-role" name="role" aria-invalid=errors.invalid("role")
                                aria-describedby=errors.described_by("role", "invite-role", None)>
                                {Role::VARIANTS.iter().copied().filter(|r| my_role.may_assign(*r)).map(|r| view! {
                                    <option value=r.as_str() selected=r == Role::Developer>{r.label()}</option>
                                }).collect_view()}
                            </select>
                            <FieldMessage errors field="role" id="invite-role" />
                        </div>
                        <FormError errors shown=&["email", "role"] />
                        <div class="dialog-actions">
                            <button type="button" class="button button-quiet" on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="button button-primary" disabled=move || pending.get()>
                                {move || if pending.get() { "Creating…" } else { "Create invitation" }}
                            </button>
                        </div>
                    </ActionForm>
                }.into_any(),
            }}
        </Modal>
    }
}

/// The one-time link, with what the inviter needs to know to pass it on.
#[component]
fn InvitationLink(invitation: NewInvitation, on_done: Callback<()>) -> impl IntoView {
    let link = format!("{}{}", site_origin(), invitation.path());
    // Said in the dialog: a toast would sit behind it.
    let failed = RwSignal::new(false);
    view! {
        <p>{format!("Send this link to {}. It makes them a {} of this organization.", invitation.invitation.email, invitation.invitation.role.label().to_lowercase())}</p>
        <div class="token-box">
            <code class="token" aria-label="Invitation link">{link.clone()}</code>
            <CopyButton text=Signal::stored(link) label="Copy the invitation link".to_owned()
                on_result=Callback::new(move |copied: bool| failed.set(!copied)) />
        </div>
        {move || failed.get().then(|| view! {
            <p class="form-error" role="alert">"Could not copy. Select the link and copy it by hand."</p>
        })}
        <p class="warning" role="note">
            <strong>"This link will not be shown again."</strong>
            {format!(" It works once and expires in {INVITATION_DAYS} days.")}
        </p>
        <div class="dialog-actions">
            <button type="button" class="button button-primary" on:click=move |_| on_done.run(())>"Done"</button>
        </div>
    }
}

#[component]
fn RemoveDialog(target: RwSignal<Option<MemberView>>, action: ServerAction<RemoveMember>) -> impl IntoView {
    let open = Signal::derive(move || target.with(Option::is_some));
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            target.set(None);
        }
    });
    let name = move || target.with(|t| t.as_ref().map(|m| m.name.clone()).unwrap_or_default());
    view! {
        <Modal id="remove-member" title="Remove member" open on_close=Callback::new(move |()| target.set(None))>
            <p>{move || format!("{} will lose access to this organization at once. Their account and the keys they created stay.", name())}</p>
            <ActionForm action>
                <input type="hidden" name="user_id"
                    value=move || target.with(|t| t.as_ref().map(|m| m.user_id.to_string()).unwrap_or_default()) />
                <div class="dialog-actions">
                    <button type="button" class="button button-quiet" on:click=move |_| target.set(None)>"Cancel"</button>
                    <button type="submit" class="button button-danger" disabled=move || action.pending().get()>
                        "Remove member"
                    </button>
                </div>
            </ActionForm>
        </Modal>
    }
}
