//! Per-route rules: the scopes each route of the API needs, decided for the request at
//! hand and, for a REST API, written as one IAM policy that answers every route at once.
//!
//! API Gateway's authorizer cache is keyed by identity, not by route: the policy one
//! request was answered with is evaluated again for the caller's next route. So the policy
//! lists every route the token may call (Allow) and every route it may not (an explicit
//! Deny), as method-ARN patterns. IAM's `*` matches any characters, `/` included, so a
//! route's path parameters become `*` and `/orders/{id}` also covers `/orders/1/items`.
//! The decision made here reads routes the same way, so that the cached policy and a fresh
//! decision never disagree: a request is allowed when every route whose pattern matches it
//! is satisfied.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::value::RawValue;

/// The HTTP methods a `*` route stands for in a policy: IAM's `*` would cross the `/`
/// after the method, so a `*` method is written as each method.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// What a route needs of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing: the route is public, and a deployed API calls no authorizer for it.
    Public,
    /// A token with every one of these scopes (none: any valid token).
    All(Vec<String>),
    /// A token with at least one of these scopes.
    Any(Vec<String>),
}

impl Need {
    /// Whether a token holding the scopes `held` says it has meets this need.
    pub fn met_by(&self, held: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Self::Public => true,
            Self::All(scopes) => scopes.iter().all(|s| held(s)),
            Self::Any(scopes) => scopes.iter().any(|s| held(s)),
        }
    }

    /// The scopes it names.
    pub fn scopes(&self) -> &[String] {
        match self {
            Self::Public => &[],
            Self::All(scopes) | Self::Any(scopes) => scopes,
        }
    }

    /// Whether every token that meets this need meets `other` too.
    fn implies(&self, other: &Self) -> bool {
        let within = |a: &[String], b: &[String]| a.iter().all(|s| b.contains(s));
        match (self, other) {
            (_, Self::Public) => true,
            (Self::Public, _) => false,
            (Self::All(mine), Self::All(theirs)) => within(theirs, mine),
            (Self::All(mine), Self::Any(theirs)) => theirs.iter().any(|s| mine.contains(s)),
            (Self::Any(mine), Self::All(theirs)) => {
                mine.iter().all(|s| theirs.iter().all(|t| t == s))
            }
            (Self::Any(mine), Self::Any(theirs)) => within(mine, theirs),
        }
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("public"),
            Self::All(scopes) if scopes.is_empty() => f.write_str("any valid token"),
            Self::All(scopes) => write!(f, "all of {}", scopes.join(" ")),
            Self::Any(scopes) => write!(f, "one of {}", scopes.join(" ")),
        }
    }
}

/// One route: a method (or `*`) and a path template in API Gateway's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The method, uppercase, or `*`.
    pub method: String,
    /// The path template as configured (`/orders/{id}`).
    pub path: String,
    /// What it needs.
    pub need: Need,
    /// Its method-ARN patterns, after the stage (`GET/orders/*`).
    patterns: Vec<String>,
}

impl Route {
    /// A route, or why its method or path cannot be a method ARN's.
    pub fn new(method: &str, path: &str, need: Need) -> Result<Self, String> {
        let method = method.to_ascii_uppercase();
        if method != "*" && !METHODS.contains(&method.as_str()) && method != "ANY" {
            return Err(format!("method must be one of {} or *", METHODS.join(", ")));
        }
        let method = if method == "ANY" {
            "*".to_owned()
        } else {
            method
        };
        let path_pattern = path_pattern(path)?;
        let patterns = if method == "*" {
            METHODS
                .iter()
                .map(|m| format!("{m}{path_pattern}"))
                .collect()
        } else {
            vec![format!("{method}{path_pattern}")]
        };
        Ok(Self {
            method,
            path: path.to_owned(),
            need,
            patterns,
        })
    }

    /// The names of its path parameters, in order (`/orders/{id}` → `id`).
    pub fn parameters(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter_map(parameter)
    }

    /// Its method-ARN patterns, after the stage.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    fn matches_arn(&self, method_and_path: &str) -> bool {
        self.patterns.iter().any(|p| glob_match(p, method_and_path))
    }

    fn matches_route_key(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method == method) && self.path == path
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A path template as the part of a method-ARN pattern after the method: `{name}` and
/// `{name+}` become `*`. Only what a resource path may hold is accepted.
fn path_pattern(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err("path must start with /".into());
    }
    let mut pattern = String::with_capacity(path.len());
    let last = path.split('/').count() - 1;
    for (i, segment) in path.split('/').enumerate().skip(1) {
        pattern.push('/');
        if let Some(name) = parameter(segment) {
            let greedy_last = segment.ends_with("+}") && i != last;
            if name.is_empty() || greedy_last || !name.bytes().all(is_name_byte) {
                return Err(format!(
                    "path segment {segment} is not a parameter API Gateway accepts"
                ));
            }
            pattern.push('*');
        } else if segment.bytes().all(is_path_byte) {
            pattern.push_str(segment);
        } else {
            return Err(format!(
                "path segment {segment} holds a character a method ARN cannot"
            ));
        }
    }
    Ok(pattern)
}

/// A path segment's parameter name (`{id}` and `{proxy+}` → `id`, `proxy`), if it is one.
fn parameter(segment: &str) -> Option<&str> {
    let name = segment.strip_prefix('{')?.strip_suffix('}')?;
    Some(name.strip_suffix('+').unwrap_or(name))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// What a resource path segment may hold, and never an IAM wildcard.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:@!$&'()+,;=".contains(&b)
}

/// What happens to a request no route matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmatched {
    /// Denied (the default).
    #[default]
    Deny,
    /// Allowed to any valid token.
    Allow,
}

/// The routes and the rule for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// The routes, as configured.
    pub routes: Vec<Route>,
    /// The rule for requests no route matches.
    pub unmatched: Unmatched,
    /// Policies already written, by the stage's ARN and the routes a token satisfies: a
    /// policy depends on nothing else, and a cache hit need not write its ARNs again.
    pub written: Written,
}

/// The most policies kept: a stage or two, times the scope sets tokens come with.
const MAX_WRITTEN: usize = 256;

/// Written policies, each a JSON text, by stage ARN and satisfied routes.
#[derive(Default)]
pub struct Written(Mutex<HashMap<WrittenFor, Arc<RawValue>>>);

/// A stage's ARN and the routes a token satisfies.
type WrittenFor = (String, Vec<bool>);

impl Written {
    /// The policy written for `base` and `satisfied`, writing it with `write` the first time.
    pub fn get_or_write(
        &self,
        base: &str,
        satisfied: &[bool],
        write: impl FnOnce() -> Arc<RawValue>,
    ) -> Arc<RawValue> {
        let key = (base.to_owned(), satisfied.to_vec());
        let mut written = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(policy) = written.get(&key) {
            return policy.clone();
        }
        if written.len() >= MAX_WRITTEN {
            written.clear();
        }
        let policy = write();
        written.insert(key, policy.clone());
        policy
    }
}

impl fmt::Debug for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Written")
    }
}

/// A copy starts empty: what was written is a cache, not part of the table.
impl Clone for Written {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Written {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Written {}

/// What the routes say of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every route that matches it is satisfied.
    Allowed,
    /// No route matches, and unmatched routes are denied.
    Unmatched,
    /// A route that matches it needs what the token lacks.
    Missing(String),
}

/// What a valid token may do on every route of the table: the policy a REST API caches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGrants {
    /// The table.
    pub table: std::sync::Arc<RouteTable>,
    /// Whether the token meets each route's need, in table order.
    pub satisfied: Vec<bool>,
}

impl RouteGrants {
    /// The method-ARN patterns (after the stage) an Allow lists, and those a Deny lists.
    pub fn patterns(&self) -> (Vec<&str>, Vec<&str>) {
        let (mut allow, mut deny) = (Vec::new(), Vec::new());
        for (route, ok) in self.table.routes.iter().zip(&self.satisfied) {
            let list = if *ok { &mut allow } else { &mut deny };
            list.extend(route.patterns.iter().map(String::as_str));
        }
        if self.table.unmatched == Unmatched::Allow {
            allow.push("*");
        }
        (allow, deny)
    }
}

impl RouteTable {
    /// A table of these routes.
    pub fn new(routes: Vec<Route>, unmatched: Unmatched) -> Self {
        Self {
            routes,
            unmatched,
            written: Written::default(),
        }
    }

    /// Which routes a token's scopes satisfy, in table order.
    pub fn satisfied(&self, held: &dyn Fn(&str) -> bool) -> Vec<bool> {
        self.routes.iter().map(|r| r.need.met_by(held)).collect()
    }

    /// The verdict for a REST request, by its method ARN's part after the stage
    /// (`GET/orders/1`), read as the policy is.
    pub fn verdict_for_arn(&self, method_and_path: &str, satisfied: &[bool]) -> Verdict {
        self.verdict(satisfied, |route| route.matches_arn(method_and_path))
    }

    /// The verdict for an HTTP API request, by its `routeKey` (`GET /orders/{id}`).
    pub fn verdict_for_route_key(&self, route_key: &str, satisfied: &[bool]) -> Verdict {
        let Some((method, path)) = route_key.split_once(' ') else {
            return self.verdict(satisfied, |_| false);
        };
        let method = if method == "ANY" { "*" } else { method };
        self.verdict(satisfied, |route| route.matches_route_key(method, path))
    }

    fn verdict(&self, satisfied: &[bool], matches: impl Fn(&Route) -> bool) -> Verdict {
        let mut matched = false;
        for (route, ok) in self.routes.iter().zip(satisfied) {
            if matches(route) {
                if !ok {
                    return Verdict::Missing(route.need.to_string());
                }
                matched = true;
            }
        }
        match (matched, self.unmatched) {
            (true, _) | (false, Unmatched::Allow) => Verdict::Allowed,
            (false, Unmatched::Deny) => Verdict::Unmatched,
        }
    }

    /// Whether API Gateway serves `method` `path` by a public route, which calls no
    /// authorizer: one whose template matches the path as API Gateway routes, segment by
    /// segment (`{name}` one segment, `{name+}` one or more).
    pub fn is_public(&self, method: &str, path: &str) -> bool {
        self.routes.iter().any(|route| {
            route.need == Need::Public
                && (route.method == "*" || route.method == method)
                && template_matches(&route.path, path)
        })
    }

    /// Pairs of routes a cached policy could not answer as a fresh decision would: their
    /// patterns overlap, and the narrower one's need does not include the wider one's.
    pub fn conflicts(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (i, a) in self.routes.iter().enumerate() {
            for b in &self.routes[i + 1..] {
                if a.need == b.need || !overlap(a, b) {
                    continue;
                }
                let fine = (within(a, b) && a.need.implies(&b.need))
                    || (within(b, a) && b.need.implies(&a.need));
                if !fine {
                    found.push(format!(
                        "routes {a} ({}) and {b} ({}) overlap in a method ARN (a path parameter matches any characters, / included), and neither needs all the other does: give them the same scopes, or make the narrower one need the wider one's too",
                        a.need, b.need
                    ));
                }
            }
        }
        found
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut wanted = template.split('/').skip(1);
    let mut given = path.split('/').skip(1);
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with("+}") => {
                return !p.is_empty() || given.next().is_some();
            }
            (Some(t), Some(p)) if t.starts_with('{') => {
                if p.is_empty() {
                    return false;
                }
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

fn overlap(a: &Route, b: &Route) -> bool {
    a.patterns
        .iter()
        .any(|p| b.patterns.iter().any(|q| globs_overlap(p, q)))
}

/// Whether every method ARN `a` matches, `b` matches too.
fn within(a: &Route, b: &Route) -> bool {
    a.patterns
        .iter()
        .all(|p| b.patterns.iter().any(|q| glob_within(p, q)))
}

/// IAM's wildcard match: `*` is any run of characters, `?` any one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Whether some text matches both patterns (`*` only).
fn globs_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // reach[i][j]: a[..i] and b[..j] can match one common text.
    let mut reach = vec![vec![false; b.len() + 1]; a.len() + 1];
    reach[0][0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach[i][j] {
                continue;
            }
            let (sa, sb) = (a.get(i) == Some(&b'*'), b.get(j) == Some(&b'*'));
            if sa {
                reach[i + 1][j] = true;
                if j < b.len() {
                    reach[i][j + 1] = true;
                }
            }
            if sb {
                reach[i][j + 1] = true;
                if i < a.len() {
                    reach[i + 1][j] = true;
                }
            }
            if i < a.len() && j < b.len() && !sa && !sb && a[i] == b[j] {
                reach[i + 1][j + 1] = true;
            }
        }
    }
    reach[a.len()][b.len()]
}

/// Whether every text `a` matches, `b` matches (`*` only): `b` must match `a` read as text
/// in which each `*` is a character only `b`'s `*` can stand for.
fn glob_within(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut reach = vec![vec![false; a.len() + 1]; b.len() + 1];
    reach[0][0] = true;
    for j in 0..=b.len() {
        for i in 0..=a.len() {
            if !reach[j][i] {
                continue;
            }
            match b.get(j) {
                Some(b'*') => {
                    reach[j + 1][i] = true;
                    if i < a.len() {
                        reach[j][i + 1] = true;
                    }
                }
                Some(&c) if i < a.len() && a[i] == c && c != b'*' => reach[j + 1][i + 1] = true,
                _ => {}
            }
        }
    }
    reach[b.len()][a.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str, need: Need) -> Route {
        Route::new(method, path, need).unwrap()
    }

    fn all(scopes: &[&str]) -> Need {
        Need::All(scopes.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn path_parameters_become_wildcards_and_a_star_method_each_method() {
        assert_eq!(
            route("get", "/orders/{id}", all(&[])).patterns(),
            ["GET/orders/*"]
        );
        assert_eq!(route("POST", "/", all(&[])).patterns(), ["POST/"]);
        assert_eq!(route("*", "/health", Need::Public).patterns().len(), 7);
        for bad in ["orders", "/orders/{proxy+}/x", "/a*b", "/{}", "/a?"] {
            assert!(Route::new("GET", bad, all(&[])).is_err(), "{bad}");
        }
        assert!(Route::new("FETCH", "/", all(&[])).is_err());
    }

    #[test]
    fn a_public_route_is_matched_as_api_gateway_routes_segment_by_segment() {
        let table = RouteTable::new(
            vec![
                route("*", "/health", Need::Public),
                route("GET", "/docs/{page+}", Need::Public),
                route("GET", "/orders/{id}", all(&["read"])),
            ],
            Unmatched::Deny,
        );
        assert!(table.is_public("POST", "/health"));
        assert!(table.is_public("GET", "/docs/a/b"));
        assert!(!table.is_public("GET", "/docs"));
        assert!(!table.is_public("GET", "/health/x"));
        assert!(!table.is_public("GET", "/orders/1"));
        assert!(!table.is_public("POST", "/docs/a"));
    }

    #[test]
    fn iam_wildcards_match_across_slashes() {
        assert!(glob_match("GET/orders/*", "GET/orders/1/items"));
        assert!(glob_match("GET/o?ders", "GET/orders"));
        assert!(!glob_match("GET/orders/*", "GET/orders"));
        assert!(!glob_match("GET/orders", "POST/orders"));
    }

    #[test]
    fn overlap_and_containment_are_decided_on_the_patterns() {
        assert!(globs_overlap("GET/a/*", "GET/*/b"));
        assert!(!globs_overlap("GET/a/*", "GET/b/*"));
        assert!(glob_within("GET/orders/*/items", "GET/orders/*"));
        assert!(!glob_within("GET/orders/*", "GET/orders/*/items"));
        assert!(!glob_within("GET/a/*", "GET/*/b"));
    }

    #[test]
    fn overlapping_routes_conflict_unless_the_narrower_needs_what_the_wider_does() {
        let table = |narrow: Need| {
            RouteTable::new(
                vec![
                    route("GET", "/orders/{id}", all(&["read"])),
                    route("GET", "/orders/{id}/refunds", narrow),
                ],
                Unmatched::Deny,
            )
        };
        assert_eq!(table(all(&["read", "admin"])).conflicts().len(), 0);
        let conflicts = table(all(&["admin"])).conflicts();
        assert_eq!(conflicts.len(), 1);
        assert!(
            conflicts[0].contains("GET /orders/{id} (all of read)"),
            "{conflicts:?}"
        );
        assert!(conflicts[0].contains("GET /orders/{id}/refunds (all of admin)"));
    }

    #[test]
    fn a_request_is_allowed_when_every_route_matching_it_is_satisfied() {
        let table = RouteTable::new(
            vec![
                route("GET", "/orders/{id}", all(&["read"])),
                route(
                    "POST",
                    "/orders",
                    Need::Any(vec!["write".into(), "admin".into()]),
                ),
            ],
            Unmatched::Deny,
        );
        let held = |scopes: &'static [&'static str]| move |s: &str| scopes.contains(&s);
        let reader = table.satisfied(&held(&["read"]));
        assert_eq!(
            table.verdict_for_arn("GET/orders/7", &reader),
            Verdict::Allowed
        );
        assert_eq!(
            table.verdict_for_arn("POST/orders", &reader),
            Verdict::Missing("one of write admin".into())
        );
        assert_eq!(
            table.verdict_for_arn("GET/other", &reader),
            Verdict::Unmatched
        );
        assert_eq!(
            table.verdict_for_route_key("GET /orders/{id}", &reader),
            Verdict::Allowed
        );
        assert_eq!(
            table.verdict_for_route_key("$default", &reader),
            Verdict::Unmatched
        );
    }
}
