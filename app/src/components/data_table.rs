use leptos::prelude::*;

/// A table of records: named by its (visually hidden) caption, with column headers and, when
/// `actions` is set, a last column of buttons whose header only screen readers hear.
#[component]
pub fn DataTable(
    caption: &'static str,
    columns: &'static [&'static str],
    #[prop(optional)] actions: bool,
    /// Extra classes, for a table with a layout of its own.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class=format!("keys-table {class}")>
                <caption class="visually-hidden">{caption}</caption>
                <thead>
                    <tr>
                        {columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}
                        {actions.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
