//! The pre-inputs' `routes` as the REST API's own paths: each route its own method, with
//! the scopes it needs in its security requirement, so that the API's document says what
//! each route needs; a public route without the authorizer, as API Gateway should serve it.
//! Requests no route names still reach the catch-all `/{proxy+}`, behind the authorizer,
//! which answers them by `unmatched_routes`.

use authorizer::PreInputs;
use authorizer::routes::{Need, Route};
use serde_json::{Map, Value, json};

/// Adds the routes' paths to `definition`'s, a route's method beside (or in place of) what
/// a path already has.
pub(super) fn add_route_paths(
    definition: &mut Value,
    pre_inputs: &PreInputs,
    security: &Value,
    mappings: &Map<String, Value>,
) {
    let Some(paths) = definition["paths"].as_object_mut() else {
        return;
    };
    for (path, operations) in route_paths(pre_inputs, security, mappings) {
        match (
            paths.get_mut(&path).and_then(Value::as_object_mut),
            operations,
        ) {
            (Some(existing), Value::Object(operations)) => existing.extend(operations),
            (_, operations) => {
                paths.insert(path, operations);
            }
        }
    }
}

/// The paths for the routes, each method an operation; `security` is the security
/// requirement of an authorized route with no scopes, `mappings` the header mappings every
/// authorized route carries.
fn route_paths(
    pre_inputs: &PreInputs,
    security: &Value,
    mappings: &Map<String, Value>,
) -> Map<String, Value> {
    let mut paths = Map::new();
    for route in pre_inputs.routes.iter().flat_map(|table| &table.routes) {
        let method = match route.method.as_str() {
            "*" => "x-amazon-apigateway-any-method".to_owned(),
            method => method.to_ascii_lowercase(),
        };
        let operation = operation(route, security, mappings);
        if let Value::Object(path) = paths.entry(route.path.clone()).or_insert_with(|| json!({})) {
            path.insert(method, operation);
        }
    }
    paths
}

fn operation(route: &Route, security: &Value, mappings: &Map<String, Value>) -> Value {
    let names: Vec<&str> = route.parameters().collect();
    let mut request_parameters = Map::new();
    for name in &names {
        request_parameters.insert(
            format!("integration.request.path.{name}"),
            format!("method.request.path.{name}").into(),
        );
    }
    let security = match &route.need {
        Need::Public => json!([]),
        need => with_scopes(security, need.scopes()),
    };
    if !matches!(route.need, Need::Public) {
        request_parameters.extend(mappings.clone());
    }
    let parameters: Vec<Value> = names
        .iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    json!({
        "parameters": parameters,
        "security": security,
        "x-amazon-apigateway-integration": {
            "type": "http_proxy",
            "httpMethod": "ANY",
            "uri": {"Fn::Sub": format!("${{BackendUrl}}{}", route.path.replace("+}", "}"))},
            "passthroughBehavior": "when_no_match",
            "requestParameters": request_parameters,
        },
    })
}

/// The security requirement naming `scopes` under the `tokengate` scheme.
fn with_scopes(security: &Value, scopes: &[String]) -> Value {
    let mut security = security.clone();
    if let Some(requirement) = security.get_mut(0).and_then(Value::as_object_mut) {
        requirement.insert("tokengate".into(), json!(scopes));
    }
    security
}

#[cfg(test)]
mod tests {
    use super::super::definition;
    use authorizer::PreInputs;
    use serde_json::json;

    #[test]
    fn each_route_is_rendered_with_its_scopes_and_a_public_one_without_the_authorizer() {
        let pre_inputs = PreInputs::parse_unresolved(
            &json!({
                "validation": {"style": "tokengate"},
                "inject_headers": {"X-Client-Id": "$.client_id"},
                "routes": [
                    {"method": "GET", "path": "/orders/{id}", "scopes": ["orders:read"]},
                    {"method": "POST", "path": "/orders", "scopes": ["orders:write", "orders:admin"], "match": "any"},
                    {"method": "*", "path": "/health", "public": true}
                ]
            })
            .to_string(),
        )
        .unwrap();
        let definition = definition(&pre_inputs);
        let paths = &definition["paths"];
        let read = &paths["/orders/{id}"]["get"];
        assert_eq!(read["security"], json!([{"tokengate": ["orders:read"]}]));
        let integration = &read["x-amazon-apigateway-integration"];
        assert_eq!(integration["uri"]["Fn::Sub"], "${BackendUrl}/orders/{id}");
        let parameters = &integration["requestParameters"];
        assert_eq!(
            parameters["integration.request.path.id"],
            "method.request.path.id"
        );
        assert_eq!(
            parameters["integration.request.header.X-Client-Id"],
            "context.authorizer.inject_x_client_id"
        );
        assert_eq!(
            paths["/orders"]["post"]["security"],
            json!([{"tokengate": ["orders:write", "orders:admin"]}])
        );
        let health = &paths["/health"]["x-amazon-apigateway-any-method"];
        assert_eq!(health["security"], json!([]));
        assert!(
            health["x-amazon-apigateway-integration"]["requestParameters"]
                .get("integration.request.header.X-Client-Id")
                .is_none()
        );
        assert!(paths["/{proxy+}"]["x-amazon-apigateway-any-method"].is_object());
    }
}
