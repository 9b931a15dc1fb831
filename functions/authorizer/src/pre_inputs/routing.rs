//! `routes` and `unmatched_routes`: the route table as written, checked and compiled.

use serde::Deserialize;

use super::document::{Entry, Flag};
use super::model::ValidationStyle;
use super::problems::Problems;
use crate::routes::{Need, Route, RouteTable, Unmatched};
use tokengate_shared::Scope;

/// The most routes a table may hold: each is a method ARN in every policy, and a `*`
/// method is seven (docs/authorizer.md, "Per-route scopes").
pub const MAX_ROUTES: usize = 100;

/// The largest policy the route table may write, in bytes of resources, with a method ARN
/// prefix of 96 characters (a long region, account, API id and stage): API Gateway's
/// authorizer response is held to 8 KB here, with room left for the context.
pub const MAX_POLICY_BYTES: usize = 7_168;
const ARN_PREFIX_BYTES: usize = 96;

/// One route as written.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with method, path and scopes or public"
)]
pub(super) struct RouteEntry {
    method: String,
    path: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default, rename = "match")]
    match_: Option<MatchName>,
    #[serde(default)]
    public: Option<Flag>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case", expecting = "all or any")]
enum MatchName {
    All,
    Any,
}

/// `unmatched_routes`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case", expecting = "deny or allow")]
pub(super) enum UnmatchedName {
    Deny,
    Allow,
}

/// The route table, when `routes` is given and every route in it is sound; every problem
/// is recorded under its key.
pub(super) fn routes(
    problems: &mut Problems,
    entries: Option<Entry<Vec<Entry<RouteEntry>>>>,
    unmatched: Option<Entry<UnmatchedName>>,
    style: &ValidationStyle,
) -> Option<RouteTable> {
    let unmatched = match problems.take("unmatched_routes", unmatched) {
        Some(UnmatchedName::Allow) => Unmatched::Allow,
        _ => Unmatched::Deny,
    };
    let entries = problems.take("routes", entries)?;
    if matches!(style, ValidationStyle::Forward) {
        problems.add(
            "routes",
            "need scopes, and the forward style has none: use rfc7662, jwt or tokengate",
        );
        return None;
    }
    if entries.is_empty() || entries.len() > MAX_ROUTES {
        problems.add("routes", format!("must hold 1 to {MAX_ROUTES} routes"));
        return None;
    }
    let before = problems.0.len();
    let routes: Vec<Route> = entries
        .into_iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let at = format!("routes[{i}]");
            let entry = problems.take(&at, Some(entry))?;
            route(problems, &at, entry)
        })
        .collect();
    if problems.0.len() > before {
        return None;
    }
    let table = RouteTable::new(routes, unmatched);
    for conflict in table.conflicts() {
        problems.add("routes", conflict);
    }
    let bytes: usize = table
        .routes
        .iter()
        .flat_map(Route::patterns)
        .map(|p| ARN_PREFIX_BYTES + p.len() + 3)
        .sum();
    if bytes > MAX_POLICY_BYTES {
        problems.add(
            "routes",
            format!("would write a policy of about {bytes} bytes, more than the {MAX_POLICY_BYTES} API Gateway's authorizer response leaves room for: fewer routes, or * methods written as the methods used"),
        );
    }
    Some(table)
}

fn route(problems: &mut Problems, at: &str, entry: RouteEntry) -> Option<Route> {
    let public = entry.public.is_some_and(|Flag(b)| b);
    let scopes = entry.scopes.unwrap_or_default();
    if let Some(bad) = scopes.iter().find(|s| !Scope::is_token(s)) {
        problems.add(
            format!("{at}.scopes"),
            format!(
                "'{}' is not a scope (RFC 6749 §3.3)",
                bad.chars().take(64).collect::<String>()
            ),
        );
        return None;
    }
    let need = match (public, entry.match_) {
        (true, _) if !scopes.is_empty() || entry.match_.is_some() => {
            problems.add(at, "a public route takes no scopes and no match");
            return None;
        }
        (true, _) => Need::Public,
        (false, Some(MatchName::Any)) if scopes.is_empty() => {
            problems.add(format!("{at}.match"), "any needs at least one scope");
            return None;
        }
        (false, Some(MatchName::Any)) => Need::Any(scopes),
        (false, _) => Need::All(scopes),
    };
    Route::new(&entry.method, &entry.path, need)
        .map_err(|problem| problems.add(at, problem))
        .ok()
}
